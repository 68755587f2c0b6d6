"""Fixtures for collector tests: an in-process collector and a moto S3 server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from collector_helpers import BUCKET, S3_ENV, collector_config, free_port

from agenttrace.collector.service import Collector


@pytest.fixture
async def collector(tmp_path: Path) -> AsyncIterator[Collector]:
    """An in-process collector on free loopback ports with a local store under tmp_path."""
    service = Collector(collector_config(tmp_path))
    await service.start()
    try:
        yield service
    finally:
        await service.shutdown()


@pytest.fixture
def moto_server() -> Iterator[dict[str, Any]]:
    """A moto S3 server on loopback with bucket ``traces``; ``restart()`` after ``stop()``."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    # moto keeps buckets in process memory across servers: a fresh prefix isolates each test.
    state: dict[str, Any] = {
        "port": port,
        "endpoint": f"http://127.0.0.1:{port}",
        "url": f"s3://{BUCKET}/agents-{port}",
    }
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    state["server"] = server

    def restart() -> None:
        # moto keeps its in-memory backend across server restarts in the same process
        fresh = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        fresh.start()
        state["server"] = fresh

    state["restart"] = restart
    old_env = {k: os.environ.get(k) for k in S3_ENV}
    os.environ.update(S3_ENV)
    client = boto3.client("s3", endpoint_url=state["endpoint"], region_name="us-east-1")
    if BUCKET not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=BUCKET)
    try:
        yield state
    finally:
        state["server"].stop()
        for key, value in old_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
