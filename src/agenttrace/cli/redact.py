"""`agenttrace redact [FILE|-]`: redact a session file or log before sharing it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import typer

from agenttrace.cli._app import app as app


@app.command("redact")
def redact_command(
    file: str = typer.Argument("-", help="File to redact, or '-' for standard input."),
    fmt: str = typer.Option(
        "jsonl",
        "--format",
        help="jsonl: each line is a JSON document (Claude Code, Codex, Pi sessions, OTLP-JSON"
        " lines); text: any text.",
    ),
    config: Path | None = typer.Option(
        None, "--config", help="YAML file with a redaction block (see docs/redaction.md)."
    ),
) -> None:
    """Write FILE to stdout with secrets and personal data replaced; counts go to stderr.

    Streams line by line (memory is bounded by the longest line), keeps every line and the
    JSON structure, and never drops input: invalid UTF-8 bytes pass through unchanged and
    lines that are not JSON (or nest too deep) are redacted as text and reported.
    """
    from agenttrace.redaction import RedactionConfigError, Redactor
    from agenttrace.redaction.stream import StreamFormat, redact_stream

    if fmt not in ("jsonl", "text"):
        _fail(f"--format must be jsonl or text, got {fmt!r}")
    redactor = Redactor()
    if config is not None:
        from agenttrace.redaction.config_file import load_config

        try:
            redactor = Redactor(load_config(config))
        except RedactionConfigError as exc:
            _fail("; ".join(exc.errors))
    try:
        source = sys.stdin.buffer if file == "-" else open(file, "rb")  # noqa: SIM115
    except OSError as exc:
        _fail(f"cannot open {file}: {exc.strerror}")
    try:
        with source:
            report = redact_stream(source, sys.stdout.buffer, redactor, StreamFormat(fmt))
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`agenttrace redact big.jsonl | head`): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None
    print(report.render(), file=sys.stderr)


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(2)
