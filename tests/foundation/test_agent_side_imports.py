"""Agent-side modules stay light: they never import the service side's heavy dependencies.

Each check imports a module in a fresh interpreter and lists which forbidden modules ended up in
``sys.modules``; a second check proves the detector works by importing a module that does pull
in pyarrow.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

AGENT_SIDE = [
    "agenttrace",
    "agenttrace.sdk",
    "agenttrace.semconv",
    "agenttrace.semconv.mappings",
    "agenttrace.redaction",
    "agenttrace.integrations",
    "agenttrace.otlp_json",
    "agenttrace.testing",
]
FORBIDDEN = [
    "pyarrow",
    "duckdb",
    "grpc",
    "aiohttp",
    "yaml",
    "typer",
    "rich",
    "hyperscan",
    "agenttrace.collector",
    "agenttrace.store",
    "agenttrace.query",
    "agenttrace.cli",
]
_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
forbidden = json.loads(sys.argv[2])
print(json.dumps(sorted(m for m in forbidden if m in sys.modules)))
"""


def forbidden_imports(module: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, module, json.dumps(FORBIDDEN)],
        capture_output=True,
        text=True,
        check=True,
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", AGENT_SIDE)
def test_agent_side_module_imports_nothing_heavy(module: str) -> None:
    try:
        __import__(module)
    except ModuleNotFoundError:
        pytest.fail(f"{module} is part of the public agent-side API and must exist")
    assert forbidden_imports(module) == []


def test_detector_sees_a_heavy_import() -> None:
    # A service-side module must show up as a violation, so the check above cannot pass vacuously.
    assert "pyarrow" in forbidden_imports("pyarrow.parquet")
