"""Fixtures for store tests: a real S3-protocol server (moto) on loopback.

Other test packages can copy ``MotoS3`` and the ``moto_s3``/``s3_store`` fixtures: the server
binds 127.0.0.1 on a free port, serves path-style S3 over plain HTTP, enforces If-None-Match,
and is stopped at the end of the session.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from agenttrace.store.objectstore import ObjectStore, open_store


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class MotoS3:
    """A moto server that can be stopped and started again on the same port (an outage).

    moto keeps its buckets in process memory, so data survives a restart, as it would on a
    real S3 service that was only unreachable.
    """

    access_key_id = "testing"
    secret_access_key = "testing"
    region = "us-east-1"

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server: ThreadedMotoServer | None = None

    def start(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def options(self) -> dict[str, str]:
        """Store options for :func:`open_store` (no environment variables needed)."""
        return {
            "endpoint": self.endpoint,
            "region": self.region,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
        }

    def create_bucket(self, name: str | None = None) -> str:
        bucket = name or f"bucket-{uuid.uuid4().hex[:12]}"
        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
        )
        client.create_bucket(Bucket=bucket)
        return bucket

    def open(self, bucket: str, prefix: str = "traces") -> ObjectStore:
        return open_store(f"s3://{bucket}/{prefix}", options=self.options)


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    server = MotoS3()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_store(moto_s3: MotoS3) -> ObjectStore:
    """A store under a prefix of a fresh bucket on the shared moto server."""
    return moto_s3.open(moto_s3.create_bucket())


@pytest.fixture
def local_store(tmp_path: object) -> ObjectStore:
    return open_store(str(tmp_path) + "/store")


@pytest.fixture(params=["local", "s3"])
def any_store(request: pytest.FixtureRequest) -> ObjectStore:
    """Each test using this runs once per backend."""
    name = "local_store" if request.param == "local" else "s3_store"
    store: ObjectStore = request.getfixturevalue(name)
    return store
