"""The shared typer application that every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="agenttrace",
    help="The trace layer for AI agents: collector, import, redaction and analysis.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
