"""``agenttrace.redaction`` is agent side: importing it pulls in no service-side dependency."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("pyarrow", "yaml", "hyperscan", "re2", "ahocorasick", "typer", "rich", "duckdb")


def test_importing_and_using_redaction_loads_no_heavy_module() -> None:
    code = (
        "import json, sys\n"
        "from agenttrace.redaction import Redactor\n"
        "from agenttrace.redaction.stream import redact_stream\n"
        "r = Redactor(); r.redact_text('short'); r.redact_json({'a': 'b'})\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert [m for m in FORBIDDEN if m in loaded] == []
    assert not any(m.startswith(("agenttrace.collector", "agenttrace.cli")) for m in loaded)
