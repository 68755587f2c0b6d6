"""`agenttrace import SOURCE PATH...`: turn coding-agent session logs into traces."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from agenttrace.cli._app import app as app

if TYPE_CHECKING:
    from agenttrace.importers.runner import ImportSummary
    from agenttrace.redaction import RedactionConfig

# Directories smaller than this import in well under a second: no progress bar.
PROGRESS_MIN_BYTES = 8 << 20
MAX_PROBLEMS_SHOWN = 20


@app.command("import")
def import_command(
    source: str = typer.Argument(
        ...,
        help="claude-code, codex, pi, sts, langfuse, openinference or otlp-json.",
    ),
    paths: list[Path] = typer.Argument(
        ..., help="Files or directories (searched recursively with the source's file pattern)."
    ),
    store: str | None = typer.Option(
        None, "--store", help="Write into this store (directory or s3://, gs://, az:// URL)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write OTLP-JSON Lines to this file ('-' for stdout)."
    ),
    endpoint: str | None = typer.Option(
        None, "--endpoint", help="Send OTLP/HTTP protobuf to this collector URL."
    ),
    redact: bool = typer.Option(False, "--redact", help="Redact with the default rules."),
    redact_config: Path | None = typer.Option(
        None, "--redact-config", help="Redact with this YAML or JSON configuration."
    ),
    jobs: int | None = typer.Option(
        None,
        "--jobs",
        "-j",
        min=1,
        help="Worker processes for conversion (default: one per spare CPU, up to 4, for inputs "
        "over 64 MB on machines with at least 3 CPUs).",
    ),
) -> None:
    """Import agent session logs as traces (one trace per session)."""
    from rich.console import Console

    from agenttrace.importers import SOURCES, ImporterError
    from agenttrace.importers.runner import run_import

    console = Console(stderr=out is not None and str(out) == "-")
    if source not in SOURCES:
        _fail(console, f"unknown source {source!r}; choose one of: {', '.join(SOURCES)}")
    if store is None and out is None and endpoint is None:
        _fail(console, "say where the traces go: --store URL, --out FILE or --endpoint URL")
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        _fail(console, f"no such file or directory: {', '.join(missing)}")
    redaction = _redaction(console, redact, redact_config)
    try:
        sinks = _sinks(source, store, out, endpoint)
    except Exception as exc:  # an unreachable store or unwritable file: say which
        _fail(console, f"cannot open output: {exc}")
    progress, on_units, on_progress = _progress(console)
    try:
        with progress:
            summary = run_import(
                source,
                paths,
                sinks,
                redaction=redaction,
                jobs=jobs,
                on_units=on_units,
                on_progress=on_progress,
            )
    except ImporterError as exc:
        _fail(console, str(exc))
    _print_summary(console, summary)
    if summary.files == 0:
        _fail(console, f"no {source} session files found under {', '.join(map(str, paths))}")


def _fail(console: Any, message: str) -> None:
    console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


def _redaction(console: Any, redact: bool, config_path: Path | None) -> RedactionConfig | None:
    if not redact and config_path is None:
        return None
    from agenttrace.redaction import RedactionConfig, RedactionConfigError
    from agenttrace.redaction.config_file import load_config

    if config_path is None:
        return RedactionConfig()
    try:
        return load_config(config_path)  # YAML, JSON, or a collector config
    except RedactionConfigError as exc:
        _fail(console, f"invalid redaction config: {exc}")
    return None


def _sinks(source: str, store: str | None, out: Path | None, endpoint: str | None) -> list[Any]:
    from agenttrace.importers.sinks import EndpointSink, JsonLinesSink, StoreSink

    sinks: list[Any] = []
    if store is not None:
        sinks.append(StoreSink(store, source))
    if out is not None:
        stdout = sys.stdout.buffer if str(out) == "-" else None
        sinks.append(JsonLinesSink(out, stdout))
    if endpoint is not None:
        sinks.append(EndpointSink(endpoint))
    return sinks


def _progress(console: Any) -> tuple[Any, Any, Any]:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    progress = Progress(
        TextColumn("importing"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=True,
    )
    task = progress.add_task("import", total=0)

    def on_units(units: list[Any]) -> None:
        total = sum(unit.size_bytes for unit in units)
        progress.update(task, total=total)
        progress.disable = total < PROGRESS_MIN_BYTES

    def on_progress(size: int) -> None:
        progress.advance(task, size)

    return progress, on_units, on_progress


def _print_summary(console: Any, summary: ImportSummary) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"import {summary.source}", show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("files", f"{summary.files:,} ({summary.bytes_read / 1e6:,.1f} MB)"),
        ("sessions", f"{summary.sessions:,}"),
        ("spans", f"{summary.spans:,}"),
        ("model calls", f"{summary.model_calls:,}"),
        ("tool calls", f"{summary.tool_calls:,}"),
        ("input tokens", f"{summary.input_tokens:,}"),
        ("  cache read", f"{summary.cache_read_tokens:,}"),
        ("  cache write", f"{summary.cache_write_tokens:,}"),
        ("output tokens", f"{summary.output_tokens:,}"),
        ("cost", f"${summary.cost_usd:,.4f}"),
        ("repeated lines skipped", f"{summary.duplicates_skipped:,}"),
        ("problems", f"{len(summary.problems):,}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    for problem in summary.problems[:MAX_PROBLEMS_SHOWN]:
        console.print(Text.assemble(("problem: ", "yellow"), str(problem)), soft_wrap=True)
    hidden = len(summary.problems) - MAX_PROBLEMS_SHOWN
    if hidden > 0:
        console.print(f"... and {hidden:,} more problems")
