"""Run a collector as a subprocess (for demos, tests and notebooks) and stop it cleanly.

with run_in_background("/tmp/store", roll_interval_s=1) as collector:
    exporter = OTLPSpanExporter(endpoint=collector.http_traces_url)
    ...
# leaving the block sends SIGTERM: the collector drains and publishes, then exits 0
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType


class CollectorStartError(RuntimeError):
    """The collector subprocess exited or did not become ready in time."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class BackgroundCollector:
    """A collector subprocess. Use :func:`run_in_background` to create one."""

    def __init__(
        self,
        store: str,
        wal_dir: str | os.PathLike[str],
        http_port: int,
        grpc_port: int,
        config: str | os.PathLike[str] | None = None,
        roll_interval_s: float | None = None,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        log_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.store = store
        self.wal_dir = Path(wal_dir)
        self.http_port = http_port
        self.grpc_port = grpc_port
        args = [sys.executable, "-m", "agenttrace", "collector", "--store", store]
        args += ["--wal-dir", str(wal_dir), "--http-port", str(http_port)]
        args += ["--grpc-port", str(grpc_port)]
        if config is not None:
            args += ["--config", str(config)]
        if roll_interval_s is not None:
            args += ["--roll-interval", str(roll_interval_s)]
        self.args = [*args, *extra_args]
        self.env = {**os.environ, **(env or {})}
        self.log_path = Path(log_path) if log_path else self.wal_dir.parent / "collector.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def http_traces_url(self) -> str:
        return f"{self.http_url}/v1/traces"

    @property
    def grpc_endpoint(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self, ready_timeout_s: float = 30.0) -> BackgroundCollector:
        self.launch()
        self.wait_ready(ready_timeout_s)
        return self

    def launch(self) -> None:
        """Start the process without waiting (then :meth:`wait_ready`), to start several at once."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.args, stdout=log, stderr=log, env=self.env)

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise CollectorStartError(f"collector exited; see {self.log_path}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.http_url}/readyz", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise CollectorStartError(f"collector not ready after {timeout_s}s; see {self.log_path}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def terminate(self) -> None:
        """Send SIGTERM (graceful drain and publish) without waiting."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout_s: float = 60.0) -> int:
        """SIGTERM (graceful drain and publish) and wait; returns the exit code."""
        if self.process is None:
            return 0
        self.terminate()
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def kill(self) -> None:
        """SIGKILL, as in a crash: nothing acknowledged may be lost."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> BackgroundCollector:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.stop()
        finally:
            self.kill()


def run_in_background(
    store: str | os.PathLike[str],
    *,
    wal_dir: str | os.PathLike[str] | None = None,
    http_port: int | None = None,
    grpc_port: int | None = None,
    config: str | os.PathLike[str] | None = None,
    roll_interval_s: float | None = 1.0,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    ready_timeout_s: float = 30.0,
    wait: bool = True,
) -> BackgroundCollector:
    """Start ``agenttrace collector`` as a subprocess on free loopback ports; wait for /readyz.

    With ``wait=False`` the process is launched and ``wait_ready()`` is left to the caller.

    ``wal_dir`` defaults to ``<store>/../.agenttrace-wal-<store name>`` for a local store.
    Use the result as a context manager, or call ``stop()`` (SIGTERM, graceful) yourself.
    """
    store_text = os.fspath(store)
    if wal_dir is None:
        base = Path(store_text) if "://" not in store_text else Path.cwd() / "store"
        wal_dir = base.parent / f".agenttrace-wal-{base.name}"
    collector = BackgroundCollector(
        store_text,
        wal_dir,
        http_port if http_port is not None else free_port(),
        grpc_port if grpc_port is not None else free_port(),
        config=config,
        roll_interval_s=roll_interval_s,
        extra_args=extra_args,
        env=env,
    )
    if not wait:
        collector.launch()
        return collector
    return collector.start(ready_timeout_s)
