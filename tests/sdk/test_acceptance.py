"""Runs the issue's acceptance script in a fresh interpreter (it owns the global provider)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_acceptance_script() -> None:
    script = Path(__file__).with_name("acceptance_script.py")
    result = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"AGENTTRACE_RAISE_INTERNAL_ERRORS": "1", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok ")
    assert result.stderr == ""
