"""Redaction throughput on realistic trace text, on one core.

Measures, in the same run and on the same values:

* ``re loop``: the reference, a plain Python loop that applies every detector pattern with
  ``re.sub`` to every value (no keyword gating, no validators);
* ``redact_text``: :meth:`Redactor.redact_text` value by value, with the Hyperscan gate and
  with ``re`` alone (``accelerate: false``, what an agent without Hyperscan gets);
* the column path (:class:`ColumnRedactor`) with each prefilter engine: hyperscan, RE2 through
  pyarrow.compute, an Aho-Corasick keyword prefilter, and none (every value through Python).

The values mix chat messages, tool output (shell, test runs, JSON API responses), code and
``gen_ai`` message JSON; about 1% hold a secret or personal data.

With ``--session-mb N`` it also writes an N MB Claude Code style session file and reports the
wall time and peak RSS of ``agenttrace redact`` on it (memory must stay bounded).

Usage: python bench/redaction.py [--mb 16] [--session-mb 200]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa

from agenttrace.redaction import DETECTORS, RedactionConfig, Redactor
from agenttrace.redaction.columnar import ColumnRedactor

RNG = random.Random(7)
WORDS = [
    "the",
    "agent",
    "model",
    "tool",
    "call",
    "result",
    "file",
    "test",
    "build",
    "error",
    "output",
    "function",
    "value",
    "config",
    "request",
    "response",
    "token",
    "budget",
    "step",
    "plan",
    "retry",
    "cache",
    "query",
    "user",
    "assistant",
    "system",
    "message",
    "return",
    "import",
    "class",
    "def",
    "self",
    "data",
    "path",
    "line",
    "column",
    "index",
    "commit",
    "branch",
    "merge",
    "diff",
    "patch",
    "install",
    "package",
    "version",
    "update",
    "schema",
    "table",
    "row",
    "field",
    "type",
    "string",
    "number",
    "list",
    "dict",
]


def _sentence() -> str:
    words = [RNG.choice(WORDS) for _ in range(RNG.randint(6, 18))]
    if RNG.random() < 0.3:
        words.insert(RNG.randrange(len(words)), str(RNG.randint(1, 99999)))
    return " ".join(words).capitalize() + "."


def _prose() -> str:
    return " ".join(_sentence() for _ in range(RNG.randint(2, 12)))


def _shell_output() -> str:
    lines = []
    for _ in range(RNG.randint(5, 40)):
        kind = RNG.random()
        if kind < 0.3:
            size, day = RNG.randint(100, 99999), RNG.randint(1, 28)
            lines.append(
                f"-rw-r--r--  1 dev staff {size:>6} May {day:>2} 12:{day:02d} src/{RNG.choice(WORDS)}_{RNG.randint(1, 9)}.py"
            )
        elif kind < 0.5:
            lines.append(f"{uuid.UUID(int=RNG.getrandbits(128)).hex[:7]} {_sentence()}")
        elif kind < 0.7:
            lines.append(
                f"tests/test_{RNG.choice(WORDS)}.py::test_{RNG.choice(WORDS)} PASSED [{RNG.randint(1, 100):>3}%]"
            )
        else:
            lines.append(
                f"2024-05-{RNG.randint(1, 28):02d}T12:{RNG.randint(0, 59):02d}:03.{RNG.randint(0, 999):03d}Z INFO {_sentence()}"
            )
    return "\n".join(lines)


def _api_json() -> str:
    items = [
        {
            "id": str(uuid.UUID(int=RNG.getrandbits(128))),
            "created_at": 1714564803123 + RNG.randint(0, 10**9),
            "name": RNG.choice(WORDS),
            "sha": f"{RNG.getrandbits(160):040x}",
            "version": f"{RNG.randint(0, 9)}.{RNG.randint(0, 30)}.{RNG.randint(0, 99)}",
            "score": round(RNG.random(), 4),
        }
        for _ in range(RNG.randint(1, 15))
    ]
    return json.dumps({"data": items, "request_id": f"req_{RNG.getrandbits(96):024x}"}, indent=1)


def _code() -> str:
    name = RNG.choice(WORDS)
    body = "\n".join(
        f"    {RNG.choice(WORDS)}_{i} = {RNG.choice(WORDS)}.get({RNG.choice(WORDS)!r}, {RNG.randint(0, 100)})"
        for i in range(RNG.randint(3, 25))
    )
    return f"def {name}(self, {RNG.choice(WORDS)}: str) -> dict:\n{body}\n    return locals()\n"


def _messages() -> str:
    messages = [
        {
            "role": RNG.choice(["user", "assistant"]),
            "parts": [{"type": "text", "content": _prose()}],
        }
        for _ in range(RNG.randint(1, 6))
    ]
    return json.dumps(messages)


GENERATORS: list[Callable[[], str]] = [_prose, _shell_output, _api_json, _code, _messages]


def _finding() -> str:
    return RNG.choice(
        [
            "contact jane.doe@corp-mail.com",
            "call +44 20 7946 0958",
            "export GITHUB_TOKEN=ghp_" + "x7Kq9Zb2Lm4Np6Rt8Vw0Yc3Ef5Hj7Gk9Mn1P",
            "key AKIA" + "IOSFODNN7EXAMPLE",
            "card 4111 1111 1111 1111",
            "client 203.0.113.7",
            'password = "' + 'Tr0ub4dor&3"',
        ]
    )


def make_values(total_bytes: int) -> list[str]:
    values, size = [], 0
    while size < total_bytes:
        value = RNG.choice(GENERATORS)()
        if RNG.random() < 0.01:
            cut = RNG.randrange(len(value))
            value = value[:cut] + " " + _finding() + " " + value[cut:]
        values.append(value)
        size += len(value.encode())
    return values


def _reference_loop(values: list[str]) -> list[str]:
    patterns = [(p, f"[REDACTED:{d.name}]") for d in DETECTORS for p in d.patterns]
    out = []
    for value in values:
        for pattern, marker in patterns:
            value = pattern.sub(marker, value)
        out.append(value)
    return out


def _timed(fn: Callable[[], object], repeat: int = 3) -> float:
    """Best CPU time of ``repeat`` runs: the machine is shared, so wall time is noise."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def throughput(total_mb: float) -> None:
    values = make_values(int(total_mb * 1e6))
    mb = sum(len(v.encode()) for v in values) / 1e6
    array = pa.array(values, pa.string())
    redactor = Redactor()
    redactor.warm_up()
    with_findings = sum(1 for v in values if redactor.find(v))
    print(f"{len(values)} values, {mb:.1f} MB, {with_findings / len(values):.2%} with findings")

    reference = _timed(lambda: _reference_loop(values), repeat=1)
    rows = [("re loop (reference)", reference, None)]
    rows.append(("redact_text", _timed(lambda: [redactor.redact_text(v) for v in values], 1), None))
    plain = Redactor(RedactionConfig(accelerate=False))
    rows.append(
        ("redact_text, re only", _timed(lambda: [plain.redact_text(v) for v in values], 1), None)
    )
    for engine in ("hyperscan", "re2", "keywords", "python"):
        column = ColumnRedactor(redactor, engine=engine)
        flagged = len(column.candidates(array)) / len(values)
        prefilter = _timed(lambda column=column: column.candidates(array))
        total = _timed(
            lambda column=column: column.redact(array), repeat=1 if engine == "python" else 3
        )
        rows.append((f"column, {engine} prefilter only", prefilter, None))
        rows.append((f"column, {engine}", total, flagged))
    print("\n| path | MB/s | vs re loop | rows to precise path |\n|---|---:|---:|---:|")
    for name, seconds, flagged in rows:
        share = f"{flagged:.1%}" if flagged is not None else ""
        print(f"| {name} | {mb / seconds:.1f} | {reference / seconds:.1f}x | {share} |")


def _session_line(index: int, image: str) -> str:
    entry = {
        "type": "assistant" if index % 2 else "user",
        "uuid": str(uuid.UUID(int=RNG.getrandbits(128))),
        "timestamp": "2024-05-01T12:00:03.123Z",
        "message": {
            "role": "user",
            "content": [{"type": "text", "text": _prose() + " " + _shell_output()}],
        },
    }
    if index % 50 == 0:
        entry["message"]["content"].append(
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": image},
            }
        )
    if index % 100 == 0:
        entry["message"]["content"][0]["text"] += " " + _finding()
    return json.dumps(entry)


def session_memory(session_mb: int) -> None:
    image = base64.b64encode(os.urandom(300_000)).decode()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "session.jsonl"
        written, index = 0, 0
        with path.open("w") as out:
            while written < session_mb * 1_000_000:
                line = _session_line(index, image) + "\n"
                out.write(line)
                written += len(line)
                index += 1
        code = (
            "import resource, subprocess, sys, time; start = time.perf_counter();"
            "p = subprocess.run([sys.executable, '-m', 'agenttrace', 'redact', sys.argv[1]],"
            " stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True);"
            "print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
            " p.returncode); print(p.stderr.strip())"
        )
        result = subprocess.run(
            [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
        )
        seconds, rss_kb, returncode = result.stdout.splitlines()[0].split()
        print(
            f"\nagenttrace redact on a {written / 1e6:.0f} MB session ({index} lines): "
            f"{float(seconds):.1f} s ({written / 1e6 / float(seconds):.1f} MB/s), "
            f"peak RSS {int(rss_kb) / 1024:.0f} MB, exit {returncode}"
        )
        print(result.stdout.splitlines()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=16.0, help="MB of trace text to scan")
    parser.add_argument("--session-mb", type=int, default=0, help="also run the CLI on this size")
    args = parser.parse_args()
    print(
        f"python {sys.version.split()[0]}, pyarrow {pa.__version__}, one core (maxrss base {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB)"
    )
    throughput(args.mb)
    if args.session_mb:
        session_memory(args.session_mb)


if __name__ == "__main__":
    main()
