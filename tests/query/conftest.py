"""Stores for the query tests, written by the real store writer, locally and on moto S3.

The moto server binds 127.0.0.1 on a free port for the session. S3 settings reach the store
(and the CLI) through the standard ``AWS_*`` environment variables, and remote summary indexes
go to a temporary ``AGENTTRACE_CACHE_DIR``.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from agenttrace.query._example import write_example_store
from agenttrace.query.engine import QueryEngine, open_engine


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", endpoint)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_REGION", "us-east-1")
        patch.setenv("AGENTTRACE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        try:
            yield endpoint
        finally:
            server.stop()


def new_bucket(endpoint: str) -> str:
    bucket = f"traces-{uuid.uuid4().hex[:10]}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture
def empty_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store URL; parametrize indirectly with "local" or "s3"."""
    if getattr(request, "param", "local") == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        return f"s3://{new_bucket(endpoint)}/spans-store"
    return str(tmp_path / "store")


@pytest.fixture(scope="module", params=["local", "s3"])
def example(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[QueryEngine, dict[str, str]]:
    """The example store (docs/analysis.md) and its run name → trace id map."""
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        url = f"s3://{new_bucket(endpoint)}/example"
    else:
        url = str(tmp_path_factory.mktemp("example") / "store")
    ids = write_example_store(url)
    return open_engine(url), ids


@pytest.fixture(scope="module")
def local_example(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    """A local example store's path and trace ids (for CLI tests)."""
    url = str(tmp_path_factory.mktemp("cli") / "store")
    return url, write_example_store(url)
