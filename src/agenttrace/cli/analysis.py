"""`agenttrace` analysis commands: traces, show, stats, diff, search, failures, export, sql.

Every command reads the store named by ``--store`` (a path or ``s3://bucket/prefix``; default
``./data`` or ``$AGENTTRACE_STORE``), brings the summary index up to date, and prints rich text
or, with ``--json``, a JSON document for scripts. Errors exit with status 2 and a message.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from agenttrace.cli._app import app as app

if TYPE_CHECKING:
    from rich.console import Console

    from agenttrace.query.engine import QueryEngine, TraceFilter
    from agenttrace.redaction import Redactor

StoreOption = Annotated[
    str,
    typer.Option("--store", "-s", envvar="AGENTTRACE_STORE", help="Store path or s3:// URL."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
SinceOption = Annotated[
    str | None, typer.Option("--since", help="Start time: ISO-8601 or an age like 2h, 7d.")
]
UntilOption = Annotated[str | None, typer.Option("--until", help="End time (exclusive).")]
ServiceOption = Annotated[str | None, typer.Option("--service", help="Only this service.name.")]
AgentOption = Annotated[str | None, typer.Option("--agent", help="Only traces with this agent.")]
ModelOption = Annotated[str | None, typer.Option("--model", help="Only traces using this model.")]
StatusOption = Annotated[
    str | None,
    typer.Option("--status", help="ok, error, unset, or an outcome: success, failure, aborted."),
]


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(2)


@contextmanager
def _errors() -> Iterator[None]:
    from agenttrace.query.errors import QueryError
    from agenttrace.store.errors import StoreError

    try:
        yield
    except (QueryError, StoreError) as exc:
        _fail(str(exc))


def _engine(store: str) -> QueryEngine:
    from agenttrace.query.engine import open_engine

    return open_engine(store)


def _filter(
    since: str | None = None,
    until: str | None = None,
    service: str | None = None,
    agent: str | None = None,
    model: str | None = None,
    status: str | None = None,
    **extra: Any,
) -> TraceFilter:
    from agenttrace.query.engine import TraceFilter, parse_time

    return TraceFilter(
        since=parse_time(since) if since else None,
        until=parse_time(until) if until else None,
        service=service,
        agent=agent,
        model=model,
        status=status,
        **extra,
    )


def _console() -> Console:
    from rich.console import Console

    # Piped output (docs, CI logs) gets a wide fixed width instead of rich's 80 columns, unless
    # COLUMNS asks for one (rich reads it).
    wide = sys.stdout.isatty() or os.environ.get("COLUMNS", "").isdigit()
    return Console(highlight=False, width=None if wide else 160)


def _print_json(value: Any) -> None:
    import orjson

    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")


def _money(value: float) -> str:
    return f"${value:.4f}" if value < 100 else f"${value:,.2f}"


def _ms(value: float) -> str:
    if value >= 60_000:
        return f"{value / 60_000:.1f}m"
    return f"{value / 1000:.2f}s" if value >= 1000 else f"{value:.0f}ms"


@app.command("traces")
def traces_command(
    store: StoreOption = "./data",
    since: SinceOption = None,
    until: UntilOption = None,
    service: ServiceOption = None,
    agent: AgentOption = None,
    model: ModelOption = None,
    status: StatusOption = None,
    min_cost: Annotated[float | None, typer.Option("--min-cost", help="Minimum cost, USD.")] = None,
    min_duration: Annotated[
        float | None, typer.Option("--min-duration", help="Minimum duration, ms.")
    ] = None,
    text: Annotated[
        str | None, typer.Option("--text", help="Only traces whose content mentions this.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many; 0 = all.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List traces, newest first, with their summaries."""
    with _errors():
        engine = _engine(store)
        selection = _filter(
            since,
            until,
            service,
            agent,
            model,
            status,
            min_cost=min_cost,
            min_duration_ms=min_duration,
            limit=limit or None,
        )
        if text:
            from agenttrace.query.search import matching_trace_ids

            selection.trace_ids = matching_trace_ids(engine, text, selection.since, selection.until)
        rows = engine.traces(selection)
    if as_json:
        _print_json(rows)
        return
    from rich.table import Table

    table = Table(title=f"{len(rows)} trace(s)", title_justify="left")
    columns = (
        "trace_id",
        "start (UTC)",
        "root",
        "duration",
        "outcome",
        "spans",
        "model/tool",
        "err/retry",
        "tokens in/out",
        "cost",
    )
    for column in columns:
        table.add_column(
            column,
            justify="left" if column in ("trace_id", "start (UTC)", "root", "outcome") else "right",
            no_wrap=column in ("trace_id", "start (UTC)", "root"),
        )
    for row in rows:
        outcome = row["outcome"]
        table.add_row(
            row["trace_id"],
            row["start_time"][:19].replace("T", " "),
            row["root_name"],
            _ms(row["duration_ms"]),
            f"[red]{outcome}[/]" if outcome != "success" else outcome,
            str(row["span_count"]),
            f"{row['model_calls']}/{row['tool_calls']}",
            f"{row['errors']}/{row['retries']}",
            f"{row['input_tokens']:,}/{row['output_tokens']:,}",
            _money(row["cost_usd"]),
        )
    _console().print(table)


def _span_label(node: dict[str, Any]) -> str:
    from rich.markup import escape

    parts = [
        f"[bold]{escape(node['name'])}[/]",
        f"[dim]{node['kind']}[/]",
        _ms(node["duration_ms"]),
    ]
    if node["input_tokens"] or node["output_tokens"]:
        # Only model calls count toward totals; elsewhere usage is a sum the span carries.
        sigma = "" if node["kind"] == "model" else "Σ "
        parts.append(f"tokens {sigma}{node['input_tokens']:,}→{node['output_tokens']:,}")
    if node["cost_usd"]:
        parts.append(_money(node["cost_usd"]))
    if node["retry_attempt"]:
        parts.append(f"[yellow]retry #{node['retry_attempt']}[/]")
    error = node["error"]
    if error:
        parts.append(
            f"[red]ERROR {escape(str(error['type'] or ''))}: {escape(str(error['message'] or ''))}[/]"
        )
    label = "  ".join(parts)
    for direction, text in node["preview"].items():
        if text:
            arrow = "▶" if direction == "input" else "◀"
            label += f"\n[dim]{arrow} {escape(text)}[/]"
    return label


def _add_nodes(tree: Any, nodes: list[dict[str, Any]]) -> None:
    for node in nodes:
        _add_nodes(tree.add(_span_label(node)), node["children"])


def _print_replay(console: Console, trace_id: str, steps: list[dict[str, Any]]) -> None:
    from rich.markup import escape

    from agenttrace.query.model import as_text, instructions_text
    from agenttrace.query.show import render_message

    console.print(f"[bold]Replay of {trace_id}[/]: {len(steps)} model call(s)")
    for step in steps:
        title = (
            f"Step {step['index']} · {step['model']} · agent {step['agent']} · "
            f"tokens {step['input_tokens']:,}→{step['output_tokens']:,} · {_money(step['cost_usd'])}"
        )
        console.rule(escape(title))
        if step["system_instructions"]:
            console.print(
                f"[magenta]system[/]: {escape(instructions_text(step['system_instructions']))}"
            )
        console.print(f"[bold]Input ({len(step['input_messages'])} messages)[/]")
        for message in step["input_messages"]:
            console.print(
                f"[cyan]{escape(str(message.get('role')))}[/]: {escape(render_message(message))}"
            )
        console.print("[bold]Output[/]")
        if step["error"]:
            console.print(
                f"[red]ERROR {escape(str(step['error']['type']))}: {escape(str(step['error']['message']))}[/]"
            )
        for message in step["output_messages"]:
            console.print(
                f"[green]{escape(str(message.get('role')))}[/]: {escape(render_message(message))}"
            )
        if step["tool_results"]:
            console.print("[bold]Tool results[/]")
        for result in step["tool_results"]:
            head = f"{result['tool']}({as_text(result['arguments'])})"
            if result["error"]:
                body = f"[red]ERROR {escape(str(result['error']['type']))}: {escape(str(result['error']['message']))}[/]"
            else:
                body = escape(as_text(result["result"]))
            console.print(f"[yellow]{escape(head)}[/] → {body}")


@app.command("show")
def show_command(
    trace_id: Annotated[str, typer.Argument(help="Trace id (or a unique prefix).")],
    store: StoreOption = "./data",
    replay: Annotated[
        bool, typer.Option("--replay", help="Per model call: full input, output, tool results.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Show one trace as a span tree (or, with --replay, step by step)."""
    from agenttrace.query import show

    with _errors():
        engine = _engine(store)
        full_id = engine.resolve(trace_id)
        summary = engine.summary(full_id)
        spans = engine.load_spans([full_id])[full_id]
    if replay:
        steps = show.replay(spans)
        if as_json:
            _print_json({"trace": summary, "steps": steps})
        else:
            _print_replay(_console(), full_id, steps)
        return
    tree_nodes = show.span_tree(spans)
    if as_json:
        _print_json({"trace": summary, "spans": tree_nodes})
        return
    from rich.tree import Tree

    root = Tree(
        f"[bold]trace {full_id}[/]  {summary['outcome']}  {_ms(summary['duration_ms'])}  "
        f"{summary['span_count']} spans  tokens {summary['input_tokens']:,}→"
        f"{summary['output_tokens']:,}  {_money(summary['cost_usd'])}"
    )
    _add_nodes(root, tree_nodes)
    _console().print(root)


_SHORT_HEADERS = {"occurrences": "count", "invocations": "runs", "duration_ms": "time"}


def _header(name: str) -> str:
    """A column header that wraps in narrow terminals (spaces, no unit suffix: the cells of
    ``_ms`` and ``_usd`` columns carry their unit)."""
    name = _SHORT_HEADERS.get(name, name)
    return name.removesuffix("_ms").removesuffix("_usd").replace("_", " ")


def _table(title: str, rows: list[dict[str, Any]], money: tuple[str, ...] = ("cost_usd",)) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    if not rows:
        table.add_column("(none)")
        return table
    for position, name in enumerate(rows[0]):
        # Spaces let headers wrap in narrow terminals; the label column keeps its width.
        text = isinstance(rows[0][name], str)
        table.add_column(_header(name), justify="left" if text else "right", no_wrap=position == 0)
    for row in rows:
        cells = []
        for name, value in row.items():
            if name in money and value is not None:
                cells.append(_money(float(value)))
            elif name.endswith("_ms") and value is not None:
                cells.append(_ms(float(value)))
            elif isinstance(value, int):
                cells.append(f"{value:,}")
            else:
                cells.append(str(value))
        table.add_row(*cells)
    return table


@app.command("stats")
def stats_command(
    trace_id: Annotated[
        str | None, typer.Argument(help="One trace (default: every selected trace).")
    ] = None,
    store: StoreOption = "./data",
    since: SinceOption = None,
    until: UntilOption = None,
    service: ServiceOption = None,
    agent: AgentOption = None,
    model: ModelOption = None,
    status: StatusOption = None,
    as_json: JsonOption = False,
) -> None:
    """Where tokens, cost and time go: by step, model, tool and agent; names the costliest step."""
    from agenttrace.query.stats import stats

    with _errors():
        engine = _engine(store)
        selection = _filter(since, until, service, agent, model, status)
        if trace_id:
            selection.trace_ids = [engine.resolve(trace_id)]
        report = stats(engine, selection)
    if as_json:
        _print_json(report)
        return
    console = _console()
    totals = report["totals"]
    console.print(
        f"[bold]{totals['traces']} trace(s)[/], {totals['spans']:,} spans, "
        f"{totals['model_calls']:,} model calls, {totals['tool_calls']:,} tool calls, "
        f"{totals['errors']:,} error(s) · tokens {totals['input_tokens']:,}→"
        f"{totals['output_tokens']:,} · {_money(totals['cost_usd'])}"
    )
    for key, title in (
        ("by_step", "By step"),
        ("by_model", "By model"),
        ("by_tool", "By tool"),
        ("by_agent", "By agent"),
    ):
        console.print(_table(title, report[key]))
    step = report["costliest_step"]
    if step:
        console.print(
            f"[bold]Costliest step:[/] {step['name']} ({step['kind']}) in trace {step['trace_id']}"
            f" span {step['span_id']}: {_money(step['cost_usd'])} "
            f"({step['share_of_cost']:.0%} of cost), tokens {step['input_tokens']:,}→"
            f"{step['output_tokens']:,}, {_ms(step['duration_ms'])}"
        )


def _step_text(step: dict[str, Any] | None, other_run: str) -> str:
    if step is None:
        return f"(run ended; {other_run} goes on)"
    text = f"#{step['index']} {step['kind']} {step['name']}"
    if step.get("arguments"):
        text += f" {step['arguments']}"
    if step.get("tool_calls"):
        text += " → " + "; ".join(step["tool_calls"])
    return text


@app.command("diff")
def diff_command(
    trace_a: Annotated[str, typer.Argument(help="First run (trace id or prefix).")],
    trace_b: Annotated[str, typer.Argument(help="Second run (trace id or prefix).")],
    store: StoreOption = "./data",
    as_json: JsonOption = False,
) -> None:
    """Align two runs' steps, find the first branch point, and report the deltas."""
    from agenttrace.query.diff import diff

    with _errors():
        report = diff(_engine(store), trace_a, trace_b)
    if as_json:
        _print_json(report)
        return
    from rich.markup import escape
    from rich.table import Table

    console = _console()
    a, b, deltas = report["a"], report["b"], report["deltas"]
    table = Table(title="A vs B", title_justify="left")
    for column in ("", "A", "B", "Δ (B−A)"):
        table.add_column(column, justify="right" if column else "left")
    table.add_row("trace", a["trace_id"], b["trace_id"], "")
    table.add_row("outcome", a["outcome"], b["outcome"], "")
    for name in (
        "steps",
        "model_calls",
        "tool_calls",
        "errors",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "duration_ms",
    ):
        fmt: Callable[[Any], str] = (
            _money if name == "cost_usd" else _ms if name == "duration_ms" else lambda v: f"{v:,}"
        )
        delta = deltas[name]
        sign = "+" if delta > 0 else "-" if delta < 0 else ""
        table.add_row(name, fmt(a[name]), fmt(b[name]), f"{sign}{fmt(abs(delta))}")
    console.print(table)
    branch = report["branch_point"]
    if branch is None:
        console.print("[green]No branch: both runs took the same steps.[/]")
        return
    console.print(f"[bold]First branch point at step {branch['index']}[/]")
    for step in branch["context"]:
        console.print(f"  [dim]both: {escape(_step_text(step, ''))}[/]")
    console.print(f"  [red]A: {escape(_step_text(branch['a'], 'B'))}[/]")
    console.print(f"  [green]B: {escape(_step_text(branch['b'], 'A'))}[/]")
    console.print(
        f"{report['matched_steps']} step(s) matched of {a['steps']} (A) / {b['steps']} (B)"
    )


@app.command("search")
def search_command(
    text: Annotated[str, typer.Argument(help="Text to find (case-insensitive).")],
    store: StoreOption = "./data",
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Span hits to show.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Search messages, tool arguments and results, and errors; print hits with snippets."""
    from agenttrace.query.engine import parse_time
    from agenttrace.query.search import search

    with _errors():
        report = search(
            _engine(store),
            text,
            since=parse_time(since) if since else None,
            until=parse_time(until) if until else None,
            limit=limit,
        )
    if as_json:
        _print_json(report)
        return
    from rich.markup import escape

    console = _console()
    console.print(
        f"[bold]{report['total_hits']} span hit(s) in {len(report['traces'])} trace(s)[/]"
    )
    for trace in report["traces"][:limit]:
        console.print(
            f"  {trace['trace_id']}  {trace['hits']} hit(s)  {escape(str(trace['root_name']))}"
        )
    for hit in report["hits"]:
        snippet = escape(hit["snippet"])
        console.print(
            f"[bold]{hit['trace_id'][:12]}[/] {escape(hit['name'])} [dim]{hit['field']}[/]\n"
            f"    …{snippet}…"
        )


@app.command("failures")
def failures_command(
    store: StoreOption = "./data",
    since: SinceOption = None,
    until: UntilOption = None,
    service: ServiceOption = None,
    agent: AgentOption = None,
    model: ModelOption = None,
    top: Annotated[int, typer.Option("--top", help="How many patterns.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Group failing traces by signature (error type, failing tool/step, normalized message)."""
    from agenttrace.query.failures import failures

    with _errors():
        report = failures(_engine(store), _filter(since, until, service, agent, model), top)
    if as_json:
        _print_json(report)
        return
    from rich.markup import escape

    console = _console()
    console.print(
        f"[bold]{report['failing_traces']} failing trace(s), {report['pattern_count']} pattern(s)[/]"
    )
    for rank, pattern in enumerate(report["patterns"], 1):
        step = pattern["failing_step"]
        console.print(
            f"{rank}. [red]{pattern['count']}×[/] [bold]{escape(pattern['error_type'])}[/] at "
            f"{escape(pattern['where'])}: {escape(pattern['message'])}\n"
            f"   failing step: #{step['step_index']} {escape(step['name'])} — "
            f"{escape(str(step['message']))}\n"
            f"   examples: {', '.join(pattern['example_traces'])}"
        )


def _redactor(redact: bool, config: Path | None) -> Redactor | None:
    from agenttrace.redaction import RedactionConfigError, Redactor

    if config is None and not redact:
        return None
    if config is None:
        return Redactor()
    from agenttrace.redaction.config_file import load_config

    try:
        return Redactor(load_config(config))
    except RedactionConfigError as exc:
        _fail("; ".join(exc.errors))


@app.command("export")
def export_command(
    trace_ids: Annotated[
        list[str] | None, typer.Argument(help="Traces to export (default: every selected trace).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="eval, sts or halo.")] = "eval",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File (or, for sts, a directory: one file per trace)."),
    ] = None,
    store: StoreOption = "./data",
    since: SinceOption = None,
    until: UntilOption = None,
    service: ServiceOption = None,
    agent: AgentOption = None,
    model: ModelOption = None,
    status: StatusOption = None,
    redact: Annotated[
        bool,
        typer.Option(
            "--redact/--no-redact",
            envvar="AGENTTRACE_EXPORT_REDACT",
            help="Redact secrets and personal data in the exported content.",
        ),
    ] = False,
    redaction_config: Annotated[
        Path | None,
        typer.Option(
            "--redaction-config",
            envvar="AGENTTRACE_REDACTION_CONFIG",
            help="YAML redaction config; implies --redact.",
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Records always go out as JSON Lines; with --output, also print the summary "
            "of what was written as JSON.",
        ),
    ] = False,
) -> None:
    """Export traces as JSONL: an eval dataset, Hugging Face STS sessions, or HALO spans."""
    import orjson

    from agenttrace.query.export import FORMATS, export_records

    if fmt not in FORMATS:
        _fail(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    redactor = _redactor(redact, redaction_config)
    with _errors():
        engine = _engine(store)
        selection = _filter(since, until, service, agent, model, status)
        if trace_ids:
            selection.trace_ids = [engine.resolve(t) for t in trace_ids]
        summaries = sorted(engine.traces(selection), key=lambda s: (s["start_time"], s["trace_id"]))
        if fmt == "sts" and output is not None and output.is_dir():
            for summary in summaries:
                lines = export_records(engine, [summary], fmt, redactor)
                (output / f"{summary['trace_id']}.jsonl").write_bytes(
                    b"".join(orjson.dumps(line) + b"\n" for line in lines)
                )
            _export_summary(as_json, fmt, len(summaries), len(summaries), output)
            return
        sink = open(output, "wb") if output is not None else sys.stdout.buffer  # noqa: SIM115
        try:
            count = 0
            for record in export_records(engine, summaries, fmt, redactor):
                sink.write(orjson.dumps(record) + b"\n")
                count += 1
        finally:
            if output is not None:
                sink.close()
            else:
                sink.flush()
    if output is not None:
        _export_summary(as_json, fmt, len(summaries), count, output)


def _export_summary(as_json: bool, fmt: str, traces: int, written: int, output: Path) -> None:
    if as_json:
        _print_json({"format": fmt, "traces": traces, "written": written, "output": str(output)})
    else:
        unit = "session file(s)" if output.is_dir() else "line(s)"
        print(f"wrote {written} {unit} for {traces} trace(s) to {output}", file=sys.stderr)


@app.command("sql")
def sql_command(
    query: Annotated[str, typer.Argument(help="SQL over the views traces, spans, span_index.")],
    store: StoreOption = "./data",
    since: SinceOption = None,
    until: UntilOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run raw SQL (DuckDB dialect) over the views; the summary index is read-only."""
    from agenttrace.query.engine import parse_time

    with _errors():
        columns, rows = _engine(store).sql(
            query,
            since=parse_time(since) if since else None,
            until=parse_time(until) if until else None,
        )
    if as_json:
        _print_json([dict(zip(columns, row, strict=True)) for row in rows])
        return
    from rich.table import Table

    table = Table(title=f"{len(rows)} row(s)", title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    _console().print(table)
