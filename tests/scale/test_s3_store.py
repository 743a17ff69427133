"""The S3 blob store against a real SeaweedFS: the protocol, then deletion, orphan sweep and export."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from sqlalchemy import select

from sottovoce.accounts.data_export import export_chunks
from sottovoce.accounts.deletion import close_account, delete_recordings
from sottovoce.core.audit import OPERATOR as ACTOR
from sottovoce.core.blobs import BlobStoreUnavailable, S3BlobStore
from sottovoce.core.errors import NotFound
from sottovoce.db.models import Recording
from sottovoce.jobs.recovery import remove_orphan_blobs
from tests.holders import add_task, new_holder, record


def test_services_use_the_s3_store(services):
    assert isinstance(services.blobs, S3BlobStore)
    assert services.blobs.prefix.startswith("t-")


def test_put_get_exists_delete_list(services):
    store = services.blobs
    a, b = store.put(b"sealed-a"), store.put(b"sealed-b")
    assert store.get(a) == b'sealed-a'
    assert store.exists(a)
    assert {i.blob_id for i in store.listing()} == {a, b}
    now = time.time()
    assert all(abs(i.modified - now) < 120 for i in store.listing())  # a real timestamp, for the sweep's grace
    store.delete(a)
    assert not store.exists(a)
    with pytest.raises(NotFound):
        store.get(a)
    store.delete(a)  # deleting twice is fine (idempotent cascades)
    assert list(store.ids()) == [b]


def test_delete_many_crosses_the_1000_key_batch(services):
    store = services.blobs
    store.DELETE_BATCH = 7  # same code path as 1,000, with fewer objects
    ids = [store.put(b"x") for _ in range(20)]
    keep = store.put(b"keep")
    store.delete_many(ids)
    assert list(store.ids()) == [keep]


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ab", "Z" * 32, "../" + "a" * 29, "a" * 31 + "/"])
def test_key_tricks_are_refused(services, bad):
    with pytest.raises(NotFound):
        services.blobs.get(bad)
    assert services.blobs.exists(bad) is False


def test_prefixes_isolate_instances(services, s3_settings, seaweedfs):
    other = S3BlobStore(s3_settings.blob_url.split("/")[2], "someone-else", endpoint_url=seaweedfs.endpoint,
                        region="us-east-1", access_key_id="t", secret_access_key="t")
    theirs = other.put(b"not yours")
    mine = services.blobs.put(b"yours")
    assert list(services.blobs.ids()) == [mine]
    assert theirs in set(other.ids())
    other.delete(theirs)


def test_an_unreachable_store_is_503_not_a_hang(s3_settings):
    from sottovoce.core.blobs import blob_store_from_settings
    from tests.scale.seaweed import free_ports

    dead = s3_settings.model_copy(update={"s3_endpoint_url": f"http://127.0.0.1:{free_ports(1)[0]}", "s3_timeout_s": 1.0})
    store = blob_store_from_settings(dead)
    started = time.monotonic()
    with pytest.raises(BlobStoreUnavailable) as err:
        store.put(b"x")
    assert err.value.status == 503
    assert time.monotonic() - started < 15


def test_orphan_sweep_on_s3_spares_referenced_and_young_blobs(services):
    recording = record(services, new_holder(services).device)
    orphan = services.blobs.put(b"sealed bytes of an ingest that never committed")
    assert remove_orphan_blobs(services, grace_s=3600) == 0  # too young: maybe an ingest in flight
    assert remove_orphan_blobs(services, grace_s=0) == 1
    assert not services.blobs.exists(orphan)
    assert services.blobs.exists(recording.audio_blob_id)


def test_deleting_recordings_and_closing_an_account_remove_their_objects(services):
    holder = new_holder(services)
    account = holder.account
    recordings = [record(services, holder.device, f"words {i}") for i in range(3)]
    task = add_task(services, recordings[1], status="leased")
    assert task.rendered_blob_id
    assert services.blobs.exists(task.rendered_blob_id)
    blob_ids = [r.audio_blob_id for r in recordings]
    assert all(services.blobs.exists(b) for b in blob_ids)
    with services.sessions() as db:
        delete_recordings(services, db, account.id, [recordings[0].id], actor=ACTOR, channel="test")
    assert not services.blobs.exists(blob_ids[0])
    assert services.blobs.exists(blob_ids[1])
    with services.sessions() as db:
        close_account(services, db, account.id, ACTOR, "test")
    assert list(services.blobs.ids()) == []
    with services.sessions() as db:
        assert db.scalars(select(Recording.id)).all() == []


def test_export_reads_audio_from_s3(services):
    holder = new_holder(services)
    recording = record(services, holder.device)
    files = zipfile.ZipFile(io.BytesIO(b"".join(export_chunks(services, holder.account.id))))
    wav = files.read(f"audio/{recording.id}.wav")
    assert wav[:4] == b'RIFF'
    assert len(wav) > 44
