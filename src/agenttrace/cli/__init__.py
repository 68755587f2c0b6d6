"""The ``agenttrace`` command.

Each command group lives in its own module and registers itself on :data:`app`. Heavy
dependencies (pyarrow, duckdb, grpc) are imported inside the command functions so that
``agenttrace --help`` stays fast.
"""

from __future__ import annotations

from agenttrace.cli._app import app

# Importing a command module registers its commands on ``app``.
from agenttrace.cli import analysis as analysis  # noqa: E402
from agenttrace.cli import collector as collector  # noqa: E402
from agenttrace.cli import importer as importer  # noqa: E402
from agenttrace.cli import redact as redact  # noqa: E402


def main() -> None:
    app()


__all__ = ["app", "main"]
