import pytest

from sottovoce.core.blobs import LocalBlobStore
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
