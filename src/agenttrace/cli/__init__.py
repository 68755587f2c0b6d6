"""The ``agenttrace`` command.

Each command group lives in its own module and registers itself on :data:`app`. Heavy
dependencies (pyarrow, duckdb, grpc) are imported inside the command functions so that
``agenttrace --help`` stays fast.
"""

from __future__ import annotations

# Importing a command module registers its commands on ``app``.
from agenttrace.cli import analysis as analysis
from agenttrace.cli import collector as collector
from agenttrace.cli import importer as importer
from agenttrace.cli import redact as redact
from agenttrace.cli._app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
