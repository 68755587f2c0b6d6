"""Import throughput: a generated Claude Code projects directory into a local store.

    .venv/bin/python bench/import.py            # 500 MB, the documented figure
    .venv/bin/python bench/import.py --mb 50    # a quicker run

The generator writes realistic sessions (split responses, parallel tool calls, tool results of
a few KB, compactions) into a temporary directory. The figure is MB of session
JSONL per second from files to Parquet in the store, reported with the ratio to a reference
taken in the same run: reading and JSON-parsing every line with orjson and nothing else.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from agenttrace.importers.runner import auto_jobs, run_import
from agenttrace.importers.sinks import StoreSink

TARGET_MB_PER_S = 20.0
WORDS = [
    "the",
    "agent",
    "reads",
    "the",
    "file",
    "and",
    "runs",
    "the",
    "tests",
    "then",
    "edits",
    "the",
    "function",
    "to",
    "handle",
    "the",
    "error",
    "path",
    "while",
    "keeping",
    "the",
    "public",
    "interface",
    "stable",
    "and",
    "documenting",
    "the",
    "change",
]


class _SessionWriter:
    """Writes one session's lines with consistent uuids, parents and timestamps."""

    def __init__(self, rng: random.Random, session_id: str, start_s: float) -> None:
        self.rng = rng
        self.session_id = session_id
        self.clock = start_s
        self.parent: str | None = None
        self.counter = 0
        self.lines: list[bytes] = []

    def _text(self, words: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(words))

    def _envelope(self, kind: str, **fields: Any) -> dict[str, Any]:
        self.counter += 1
        self.clock += self.rng.uniform(0.2, 4.0)
        uuid = f"{self.session_id[:8]}-{self.counter:08d}"
        line = {
            "type": kind,
            "uuid": uuid,
            "parentUuid": self.parent,
            "sessionId": self.session_id,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.clock))
            + f".{int(self.clock * 1000) % 1000:03d}Z",
            "cwd": "/home/dev/project",
            "version": "2.0.31",
            "gitBranch": "main",
            "isSidechain": False,
            "userType": "external",
            **fields,
        }
        self.parent = uuid
        return line

    def emit(self, kind: str, **fields: Any) -> None:
        self.lines.append(orjson.dumps(self._envelope(kind, **fields)))

    def turn(self, turn: int) -> None:
        self.emit("user", message={"role": "user", "content": self._text(40)})
        for step in range(self.rng.randint(2, 6)):
            message_id = f"msg_{self.session_id[:8]}_{turn}_{step}"
            request_id = f"req_{message_id}"
            calls = [
                {
                    "type": "tool_use",
                    "id": f"toolu_{message_id}_{i}",
                    "name": self.rng.choice(["Read", "Bash", "Grep", "Edit"]),
                    "input": {"file_path": f"/home/dev/project/src/mod_{i}.py"},
                }
                for i in range(self.rng.choice([1, 1, 2, 3]))
            ]
            blocks: list[dict[str, Any]] = [
                {"type": "thinking", "thinking": self._text(60), "signature": "sig"},
                {"type": "text", "text": self._text(30)},
                *calls,
            ]
            usage = {
                "input_tokens": self.rng.randint(5, 50),
                "cache_creation_input_tokens": self.rng.randint(0, 3000),
                "cache_read_input_tokens": self.rng.randint(10_000, 80_000),
                "output_tokens": 0,
            }
            for index, block in enumerate(blocks):
                usage = {**usage, "output_tokens": 20 * (index + 1)}
                self.emit(
                    "assistant",
                    requestId=request_id,
                    message={
                        "id": message_id,
                        "type": "message",
                        "role": "assistant",
                        "model": "claude-sonnet-4-5-20250929",
                        "content": [block],
                        "stop_reason": "tool_use" if index == len(blocks) - 1 else None,
                        "usage": usage,
                    },
                )
            for call in calls:
                output = self._text(self.rng.randint(200, 1200))
                self.emit(
                    "user",
                    message={
                        "role": "user",
                        "content": [
                            {"type": "tool_result", "tool_use_id": call["id"], "content": output}
                        ],
                    },
                    toolUseResult={"stdout": output, "stderr": "", "interrupted": False},
                )


def generate(root: Path, megabytes: int, seed: int = 7) -> int:
    """Write sessions under ``root`` until ``megabytes`` MB are on disk; returns bytes."""
    rng = random.Random(seed)
    project = root / "-home-dev-project"
    project.mkdir(parents=True)
    written = 0
    session = 0
    while written < megabytes * 1_000_000:
        session += 1
        session_id = f"{session:08x}-0000-4000-8000-{rng.getrandbits(48):012x}"
        writer = _SessionWriter(rng, session_id, 1_767_000_000 + session * 7_200)
        for turn in range(rng.randint(10, 40)):
            writer.turn(turn)
            if turn == 5:
                writer.emit(
                    "system",
                    subtype="compact_boundary",
                    compactMetadata={"trigger": "auto", "preTokens": 150_000},
                )
        path = project / f"{session_id}.jsonl"
        path.write_bytes(b"\n".join(writer.lines) + b"\n")
        written += path.stat().st_size
    return written


def parse_only(root: Path) -> float:
    """The reference: seconds to read and orjson-parse every line, nothing else."""
    started = time.perf_counter()
    for path in sorted(root.rglob("*.jsonl")):
        with path.open("rb") as handle:
            for raw in handle:
                orjson.loads(raw)
    return time.perf_counter() - started


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the conversion workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=500, help="size of the generated directory")
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: auto)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="agenttrace-import-bench-"))
    try:
        sessions_dir, store_dir = work / "projects", work / "store"
        print(f"generating {args.mb} MB of Claude Code sessions in {sessions_dir} ...", flush=True)
        size = generate(sessions_dir, args.mb)
        megabytes = size / 1e6
        reference_s = parse_only(sessions_dir)
        # The store modules load on first use; keep that one-off cost out of the rate.
        import agenttrace.store.writer  # noqa: F401

        started, cpu_started = time.perf_counter(), _cpu_seconds()
        sink = StoreSink(str(store_dir), "bench")
        jobs = args.jobs or auto_jobs(size)
        summary = run_import("claude-code", [sessions_dir], [sink], jobs=jobs)
        import_s = time.perf_counter() - started
        import_cpu_s = _cpu_seconds() - cpu_started
        import_rate, parse_rate = megabytes / import_s, megabytes / reference_s
        print(f"input          {megabytes:,.1f} MB, {summary.sessions:,} sessions, {jobs} job(s)")
        print(f"spans          {summary.spans:,} ({summary.model_calls:,} model calls)")
        print(f"parse only     {reference_s:6.2f} s  {parse_rate:6.1f} MB/s  (reference)")
        print(f"import → store {import_s:6.2f} s  {import_rate:6.1f} MB/s")
        print(
            f"cpu time       {import_cpu_s:6.2f} s  {megabytes / import_cpu_s:6.1f} MB/s per "
            "CPU-second (all threads and workers; less sensitive to a busy machine)"
        )
        print(f"ratio          import takes {import_s / reference_s:.1f}x the parse-only time")
        cpu_rate = megabytes / import_cpu_s
        for label, rate in (("wall clock", import_rate), ("per CPU-second", cpu_rate)):
            verdict = "met" if rate >= TARGET_MB_PER_S else "NOT met"
            print(f"target         {TARGET_MB_PER_S:.0f} MB/s {label}: {verdict}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
