"""The memory bound: past it the collector answers 429 with Retry-After instead of growing."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from collector_helpers import make_request

from agenttrace.collector.background import run_in_background


def test_over_the_memory_bound_requests_get_429_with_retry_after(tmp_path: Path) -> None:
    # A bound far below any Python process's RSS: every export is over it.
    env = {"AGENTTRACE_COLLECTOR__LIMITS__MEMORY_LIMIT_BYTES": str(1024 * 1024)}
    with run_in_background(tmp_path / "store", wal_dir=tmp_path / "wal", env=env) as collector:
        request = urllib.request.Request(
            collector.http_traces_url,
            data=make_request(4, batch=1).SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
        )
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=10)
        with info.value as refused:
            assert refused.code == 429
            assert float(refused.headers["Retry-After"]) > 0
        with urllib.request.urlopen(f"{collector.http_url}/healthz", timeout=10) as health:
            assert health.status == 200  # refusing work is not being unhealthy
