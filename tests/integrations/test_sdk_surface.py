"""The integrations build on the SDK's documented internal surface, not its private modules."""

from __future__ import annotations

import ast
from pathlib import Path

import agenttrace.integrations
import agenttrace.sdk


def test_integrations_import_no_private_sdk_module() -> None:
    root = Path(agenttrace.integrations.__file__).parent
    private = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            private += [
                f"{path.name}:{node.lineno} {m}"
                for m in modules
                if m.startswith("agenttrace.sdk._")
            ]
    assert private == []


def test_sdk_surface_covers_what_integrations_use() -> None:
    root = Path(agenttrace.integrations.__file__).parent
    used = {
        alias.name
        for path in root.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.ImportFrom) and node.module == "agenttrace.sdk"
        for alias in node.names
    }
    assert used, "the integrations import their SDK names from agenttrace.sdk"
    assert used <= set(agenttrace.sdk.__all__)
    assert all(hasattr(agenttrace.sdk, name) for name in agenttrace.sdk.__all__)
