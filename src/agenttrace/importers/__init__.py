"""Importers: turn the session logs coding agents already write into agenttrace traces.

Each source lives in its own module and exposes one :class:`Importer` subclass; the registry
below maps the CLI's source names to them. See docs/importers.md for every mapping.
"""

from __future__ import annotations

from importlib import import_module

from agenttrace.importers._base import Importer, ImportUnit
from agenttrace.importers._io import ImporterError, Problem, ProblemLog

# source name -> (module, class); modules are imported only when their source is used.
SOURCES: dict[str, tuple[str, str]] = {
    "claude-code": ("agenttrace.importers.claude_code", "ClaudeCodeImporter"),
    "codex": ("agenttrace.importers.codex", "CodexImporter"),
    "pi": ("agenttrace.importers.pi", "PiImporter"),
    "sts": ("agenttrace.importers.sts", "StsImporter"),
    "langfuse": ("agenttrace.importers.langfuse", "LangfuseImporter"),
    "openinference": ("agenttrace.importers.openinference", "OpenInferenceImporter"),
    "otlp-json": ("agenttrace.importers.otlp_json", "OtlpJsonImporter"),
}


def get_importer(source: str) -> Importer:
    """A fresh importer for ``source``, or :class:`ImporterError` naming the valid sources."""
    try:
        module_name, class_name = SOURCES[source]
    except KeyError:
        raise ImporterError(
            f"unknown source {source!r}; choose one of: {', '.join(SOURCES)}"
        ) from None
    importer: Importer = getattr(import_module(module_name), class_name)()
    return importer


__all__ = [
    "SOURCES",
    "ImportUnit",
    "Importer",
    "ImporterError",
    "Problem",
    "ProblemLog",
    "get_importer",
]
