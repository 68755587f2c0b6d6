"""Decorated functions keep their signatures for type checkers (ParamSpec), checked with mypy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SNIPPET = """
import agenttrace

@agenttrace.tool
def add(a: int, b: int) -> int:
    return a + b

@agenttrace.agent(name="x")
async def run(q: str) -> str:
    return q

reveal_type(add)
reveal_type(run)
add("a", 2)
"""


def test_signatures_survive_for_mypy(tmp_path: Path) -> None:
    source = tmp_path / "snippet.py"
    source.write_text(SNIPPET)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = result.stdout
    assert 'Revealed type is "def (a: int, b: int) -> int"' in out, out
    assert "def (q: str) -> typing.Coroutine[Any, Any, str]" in out, out
    assert 'Argument 1 to "add" has incompatible type "str"; expected "int"' in out, out
    assert "untyped" not in out, out
