"""`make demo` end to end: collector, example agent, Parquet, summary, clean stop."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq


def test_demo_runs_to_the_end(tmp_path: Path) -> None:
    store = tmp_path / "store"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "agenttrace.demo",
            "--store",
            str(store),
            "--wal-dir",
            str(tmp_path / "wal"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "collector exited with 0" in out
    assert "3 trace(s)" in out
    assert "invoke_agent summarizer" in out  # the sub-agent is nested in the tree
    assert "First branch point at step" in out
    assert "1 failing trace(s)" in out
    files = list((store / "spans").rglob("*.parquet"))
    assert files
    rows = sum(pq.read_metadata(f).num_rows for f in files)
    assert rows >= 30  # 3 runs of 7 to 13 spans
