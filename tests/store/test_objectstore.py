"""The object-store interface on a local directory and on S3 (moto)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow.fs
import pytest

from agenttrace.store import (
    ObjectNotFound,
    ObjectStore,
    StorePermanentError,
    StoreUnavailable,
    open_store,
)
from agenttrace.store.objectstore import LocalObjectStore, RemoteObjectStore

from .conftest import MotoS3


def test_put_create_is_create_only(any_store: ObjectStore) -> None:
    assert any_store.put_create("a/b/object.bin", b"original") is True
    # On S3 this is moto enforcing If-None-Match: * (412), not a client-side check.
    assert any_store.put_create("a/b/object.bin", b"replacement") is False
    assert any_store.get("a/b/object.bin") == b"original"
    assert [info.key for info in any_store.list("a/")] == ["a/b/object.bin"]


def test_get_missing_object_raises_not_found(any_store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound, match=r"missing\.bin"):
        any_store.get("missing.bin")
    with pytest.raises(KeyError):  # ObjectNotFound is also a KeyError
        any_store.get("dir/missing.bin")


def test_list_uses_plain_string_prefixes(any_store: ObjectStore) -> None:
    for key in ["spans/dt=2026-01-01/x.parquet", "spans/dt=2026-01-02/y.parquet", "other/z"]:
        any_store.put_create(key, b"12345")
    listed = any_store.list("spans/dt=2026-01")
    assert [info.key for info in listed] == [
        "spans/dt=2026-01-01/x.parquet",
        "spans/dt=2026-01-02/y.parquet",
    ]
    assert all(info.size == 5 and info.last_modified.tzinfo is not None for info in listed)
    assert [info.key for info in any_store.list()] == [
        "other/z",
        "spans/dt=2026-01-01/x.parquet",
        "spans/dt=2026-01-02/y.parquet",
    ]
    assert any_store.list("nothing/") == []


def test_exists_and_idempotent_delete(any_store: ObjectStore) -> None:
    any_store.put_create("k/v", b"1")
    assert any_store.exists("k/v")
    assert not any_store.exists("k/w")
    any_store.delete("k/v")
    any_store.delete("k/v")
    assert not any_store.exists("k/v")
    assert any_store.put_create("k/v", b"2") is True


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/../b", "dir/", ".hidden", "a/.tmp"])
def test_invalid_keys_are_rejected(any_store: ObjectStore, key: str) -> None:
    with pytest.raises(ValueError, match="invalid object key"):
        any_store.put_create(key, b"x")


def test_arrow_filesystem_reads_objects(any_store: ObjectStore) -> None:
    any_store.put_create("dir/file.txt", b"hello arrow")
    filesystem, root = any_store.arrow_filesystem()
    with filesystem.open_input_file(f"{root}/dir/file.txt") as handle:
        assert handle.read() == b"hello arrow"


def test_open_store_urls(tmp_path: Path, moto_s3: MotoS3) -> None:
    local = open_store(tmp_path)
    assert isinstance(local, LocalObjectStore)
    assert local.url == tmp_path.as_uri()
    via_url = open_store(tmp_path.as_uri())
    via_url.put_create("x", b"1")
    assert local.get("x") == b"1"

    bucket = moto_s3.create_bucket()
    remote = open_store(f"s3://{bucket}/some/prefix/", options=moto_s3.options)
    assert isinstance(remote, RemoteObjectStore)
    assert remote.url == f"s3://{bucket}/some/prefix"
    _, root = remote.arrow_filesystem()
    assert root == f"{bucket}/some/prefix"

    # GCS and Azure are built through obstore without touching the network (untested beyond).
    assert open_store("gs://bkt/pre").url == "gs://bkt/pre"
    azure = open_store(
        "az://container/pre", options={"account_name": "acct", "account_key": "a2V5"}
    )
    assert isinstance(azure, RemoteObjectStore)

    with pytest.raises(StorePermanentError, match="unsupported store URL scheme 'ftp'"):
        open_store("ftp://host/path")
    with pytest.raises(StorePermanentError, match="has no bucket"):
        open_store("s3:///prefix")
    # Options from a YAML config may be booleans and numbers.
    typed = open_store(
        f"s3://{bucket}/typed", options={**moto_s3.options, "allow_http": True, "max_retries": 1}
    )
    assert typed.put_create("k", b"v") is True

    with pytest.raises(StorePermanentError, match="max_retries"):
        open_store(f"s3://{bucket}", options={**moto_s3.options, "max_retries": "many"})


def test_s3_settings_come_from_environment(
    moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = moto_s3.create_bucket()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_s3.endpoint)
    monkeypatch.setenv("AWS_REGION", moto_s3.region)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto_s3.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto_s3.secret_access_key)
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")
    store = open_store(f"s3://{bucket}/env")
    assert store.put_create("k", b"from env") is True
    assert moto_s3.open(bucket, "env").get("k") == b"from env"


def test_s3_missing_bucket_is_permanent(moto_s3: MotoS3) -> None:
    store = moto_s3.open("no-such-bucket-here")
    with pytest.raises(StorePermanentError):
        store.put_create("k", b"1")


def test_s3_outage_is_retryable_and_recovers() -> None:
    server = MotoS3()
    server.start()
    try:
        bucket = server.create_bucket()
        store = server.open(bucket)
        assert store.put_create("before", b"1") is True

        server.stop()
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            store.put_create("during", b"2")
        with pytest.raises(StoreUnavailable):
            store.list()
        # Short internal retries: the caller learns of the outage in seconds, not minutes.
        assert time.monotonic() - started < 30

        server.start()  # same port, same in-memory data: the service is back
        assert store.put_create("during", b"2") is True
        assert [info.key for info in store.list()] == ["before", "during"]
    finally:
        server.stop()


def test_local_write_failure_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"not a directory")
    store = open_store(tmp_path)
    with pytest.raises((StoreUnavailable, StorePermanentError), match="cannot write 'file/x'"):
        store.put_create("file/x", b"1")


def test_local_temp_files_are_invisible_and_swept(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.put_create("spans/a.parquet", b"complete")
    # What a writer killed between write and link leaves behind:
    leftover = tmp_path / "spans" / ".b.parquet.0123abcd.tmp"
    leftover.write_bytes(b"partial")
    assert [info.key for info in store.list()] == ["spans/a.parquet"]
    assert pyarrow.fs.LocalFileSystem().get_file_info(str(leftover)).size == 7
    assert store.remove_stale_temp_files(older_than_s=3600) == 0  # may still be in flight
    assert store.remove_stale_temp_files(older_than_s=0) == 1
    assert not leftover.exists()
    assert store.get("spans/a.parquet") == b"complete"


def test_concurrent_creates_have_one_winner(local_store: ObjectStore) -> None:
    # Local backend only: moto's If-None-Match check is not atomic under concurrent PUTs (two
    # racing creates were both answered 200 here), while S3 itself guarantees one winner. The
    # S3 create-only contract is tested sequentially against moto above.
    payloads = [bytes([i]) * 200_000 for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda data: local_store.put_create("race/key", data), payloads))
    assert results.count(True) == 1
    assert local_store.get("race/key") == payloads[results.index(True)]
