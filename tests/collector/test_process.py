"""The collector as a real process: crash safety, graceful shutdown, S3 outages, scale-out."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from collector_helpers import (
    make_request,
    read_span_ids,
    span_id_hex,
    wait_for,
)

from agenttrace.collector.background import BackgroundCollector, run_in_background

SPANS_PER_BATCH = 40


def post(url: str, batch: int) -> int:
    body = make_request(SPANS_PER_BATCH, batch, content_bytes=500).SerializeToString()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/x-protobuf"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


class Load:
    """Threads posting unique batches; ``acked`` holds every batch answered 200."""

    def __init__(self, url: str, first_batch: int, threads: int = 4) -> None:
        self.url = url
        self.acked: set[int] = set()
        self.statuses: Counter[int] = Counter()
        self._next = first_batch
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(threads)]

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                batch, self._next = self._next, self._next + 1
            try:
                status = post(self.url, batch)
            except OSError:  # connection refused/reset: the collector is gone
                return
            with self._lock:
                self.statuses[status] += 1
                if status == 200:
                    self.acked.add(batch)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)


def acked_span_ids(batches: set[int]) -> set[str]:
    return {span_id_hex(b, i) for b in batches for i in range(SPANS_PER_BATCH)}


def assert_exactly_once(counts: Counter[str], acked: set[str]) -> None:
    missing = acked - set(counts)
    assert not missing, f"{len(missing)} acknowledged spans lost"
    duplicated = [span for span, n in counts.items() if n > 1]
    assert not duplicated, f"{len(duplicated)} spans stored twice"


def test_kill_9_during_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    store, wal = str(tmp_path / "store"), tmp_path / "wal"
    collector = run_in_background(store, wal_dir=wal, roll_interval_s=0.5)
    with Load(collector.http_traces_url, first_batch=0) as load:
        wait_for(lambda: len(load.acked) >= 30, timeout=30)
        collector.kill()
    assert load.acked
    restarted = run_in_background(
        store, wal_dir=wal, http_port=collector.http_port, grpc_port=collector.grpc_port
    )
    try:
        expected = acked_span_ids(load.acked)
        wait_for(lambda: expected <= set(read_span_ids(store)), timeout=30)
    finally:
        assert restarted.stop() == 0
    assert_exactly_once(read_span_ids(store), expected)
    assert not list((wal / "segments").iterdir())


def test_sigterm_with_data_in_flight_publishes_everything_and_exits_0(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    # A long roll interval: nothing is published before SIGTERM, the drain must do it all.
    collector = run_in_background(store, wal_dir=tmp_path / "wal", roll_interval_s=300)
    with Load(collector.http_traces_url, first_batch=0) as load:
        wait_for(lambda: len(load.acked) >= 20, timeout=30)
        assert collector.stop(timeout_s=30) == 0
    assert read_span_ids(store)
    assert_exactly_once(read_span_ids(store), acked_span_ids(load.acked))
    assert set(load.statuses) <= {200, 503}


def _s3_collector(
    tmp_path: Path, name: str, moto: dict[str, Any], wait: bool = True
) -> BackgroundCollector:
    config = tmp_path / f"{name}.yaml"
    config.write_text(
        f"store:\n  url: {moto['url']}\n  options:\n    endpoint: {moto['endpoint']}\n"
        "    max_retries: 0\n"
    )
    return run_in_background(
        moto["url"],
        wal_dir=tmp_path / f"wal-{name}",
        config=config,
        roll_interval_s=0.3,
        wait=wait,
    )


def _s3_span_ids(moto: dict[str, Any]) -> Counter[str]:
    return read_span_ids(moto["url"], {"endpoint": moto["endpoint"]})


def test_s3_outage_keeps_accepting_and_drains_when_the_store_returns(
    tmp_path: Path, moto_server: dict[str, Any]
) -> None:
    with _s3_collector(tmp_path, "a", moto_server) as collector:
        assert post(collector.http_traces_url, 1) == 200
        wait_for(lambda: span_id_hex(1, 0) in _s3_span_ids(moto_server))
        moto_server["server"].stop()
        for batch in range(2, 6):
            assert post(collector.http_traces_url, batch) == 200  # durable in the WAL
        time.sleep(1.5)  # the publisher fails and backs off meanwhile
        with urllib.request.urlopen(f"{collector.http_url}/metrics") as response:
            metrics = response.read().decode()
        assert 'agenttrace_collector_errors_total{kind="StoreUnavailable"}' in metrics
        moto_server["restart"]()
        expected = acked_span_ids(set(range(1, 6)))
        wait_for(lambda: expected <= set(_s3_span_ids(moto_server)), timeout=40)
    assert_exactly_once(_s3_span_ids(moto_server), expected)


def test_two_collectors_share_one_bucket(tmp_path: Path, moto_server: dict[str, Any]) -> None:
    first = _s3_collector(tmp_path, "one", moto_server, wait=False)
    second = _s3_collector(tmp_path, "two", moto_server, wait=False)
    try:
        first.wait_ready(30)
        second.wait_ready(30)
        for batch in range(10):
            target = first if batch % 2 else second
            assert post(target.http_traces_url, batch) == 200
    finally:
        first.terminate()
        second.terminate()
        assert first.stop() == 0
        assert second.stop() == 0
    assert_exactly_once(_s3_span_ids(moto_server), acked_span_ids(set(range(10))))
    from agenttrace.store.objectstore import open_store

    store = open_store(moto_server["url"], options={"endpoint": moto_server["endpoint"]})
    writers = {info.key.rsplit("/", 1)[1].split("-")[0] for info in store.list("spans/")}
    assert len(writers) == 2


def test_a_killed_publisher_is_restarted(tmp_path: Path) -> None:
    import os
    import signal

    store = str(tmp_path / "store")
    with run_in_background(store, wal_dir=tmp_path / "wal", roll_interval_s=0.3) as collector:
        assert collector.process is not None
        pid = collector.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        (publisher,) = [int(child) for child in children]
        os.kill(publisher, signal.SIGKILL)
        assert post(collector.http_traces_url, 1) == 200
        wait_for(lambda: span_id_hex(1, 0) in read_span_ids(store))
        with urllib.request.urlopen(f"{collector.http_url}/metrics") as response:
            assert 'errors_total{kind="PublisherExited"} 1.0' in response.read().decode()
