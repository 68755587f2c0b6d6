"""`agenttrace collector`: run the OTLP collector (registered on the shared app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from agenttrace.cli._app import app as app


@app.command("collector")
def collector(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="YAML config file (see collector/*.yaml)."),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option("--store", help="Store URL: a path, file://, s3://bucket/prefix ... [./data]"),
    ] = None,
    grpc_port: Annotated[
        int | None,
        typer.Option("--grpc-port", help="OTLP/gRPC port, -1 to disable. [4317]"),
    ] = None,
    http_port: Annotated[
        int | None,
        typer.Option("--http-port", help="OTLP/HTTP port, -1 to disable. [4318]"),
    ] = None,
    wal_dir: Annotated[
        str | None,
        typer.Option("--wal-dir", help="Write-ahead log directory. [.agenttrace/wal]"),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option("--host", help="Address to bind. [127.0.0.1]"),
    ] = None,
    roll_interval: Annotated[
        float | None,
        typer.Option("--roll-interval", help="Seconds before a WAL segment is published. [60]"),
    ] = None,
) -> None:
    """Receive OTLP traces (gRPC and HTTP), make them durable, publish them as Parquet."""
    import asyncio

    from agenttrace.collector.config import load_config
    from agenttrace.collector.errors import ConfigError
    from agenttrace.collector.logs import configure_logging
    from agenttrace.collector.service import Collector
    from agenttrace.collector.wal import WalLocked
    from agenttrace.store.errors import StoreError

    overrides: dict[str, dict[str, Any]] = {
        "receivers": {"grpc_port": grpc_port, "http_port": http_port, "host": host},
        "store": {"url": store},
        "wal": {"dir": wal_dir, "roll_interval_s": roll_interval},
    }
    try:
        settings = load_config(config, overrides)
    except ConfigError as err:
        typer.echo(f"error: invalid collector configuration: {err}", err=True)
        raise typer.Exit(2) from None
    configure_logging(settings.telemetry.log_level, settings.telemetry.log_format)
    try:
        asyncio.run(Collector(settings).serve_forever())
    except (ConfigError, StoreError, WalLocked, OSError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
