import pytest

from sottovoce.core.blobs import LocalBlobStore, parse_blob_url
from sottovoce.core.errors import NotFound


def test_put_get_delete(tmp_path):
    store = LocalBlobStore(tmp_path)
    blob_id = store.put(b"ciphertext")
    assert store.get(blob_id) == b"ciphertext"
    assert list(store.ids()) == [blob_id]
    store.delete(blob_id)
    with pytest.raises(NotFound):
        store.get(blob_id)


def test_ids_are_random_and_unrelated(tmp_path):
    store = LocalBlobStore(tmp_path)
    ids = {store.put(b"x") for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == 32 for i in ids)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ab", "Z" * 32, "../" + "a" * 29])
def test_path_tricks_are_refused(tmp_path, bad):
    with pytest.raises(NotFound):
        LocalBlobStore(tmp_path).get(bad)


def test_partial_writes_are_not_listed_and_are_cleaned(tmp_path):
    store = LocalBlobStore(tmp_path)
    (tmp_path / "ab").mkdir()
    (tmp_path / "ab" / ".tmp-leftover").write_bytes(b"half")
    assert list(store.ids()) == []
    assert store.remove_partial_writes() == 1
    assert not (tmp_path / "ab" / ".tmp-leftover").exists()


def test_listing_exists_and_delete_many(tmp_path):
    store = LocalBlobStore(tmp_path)
    ids = [store.put(b"x") for _ in range(3)]
    listed = {info.blob_id: info.modified for info in store.listing()}
    assert set(listed) == set(ids)
    assert all(m > 0 for m in listed.values())
    assert store.exists(ids[0])
    assert not store.exists('0' * 32)
    assert not store.exists('../x')
    store.delete_many(ids[:2])
    assert list(store.ids()) == [ids[2]]


@pytest.mark.parametrize("url,expected", [
    ("s3://bucket/some/prefix/", ("s3", "bucket", "some/prefix")),
    ("s3://bucket", ("s3", "bucket", "")),
    ("file:///srv/blobs", ("file", "/srv/blobs", "")),
    ("/srv/blobs", ("file", "/srv/blobs", "")),
])
def test_blob_urls(url, expected):
    assert parse_blob_url(url) == expected


@pytest.mark.parametrize("url", ["s3:///prefix", "gs://bucket/x"])
def test_bad_blob_urls_are_refused(url):
    with pytest.raises(ValueError):
        parse_blob_url(url)


def test_empty_blob_url_is_the_local_folder_and_needs_no_boto3(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys; from sottovoce.core.settings import Settings; from sottovoce.core.blobs import blob_store_from_settings;"
        f"s = blob_store_from_settings(Settings(home={str(tmp_path)!r}));"
        "print(type(s).__name__, 'boto3' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["LocalBlobStore", "False"]  # the embedded default does not pay for the S3 client
