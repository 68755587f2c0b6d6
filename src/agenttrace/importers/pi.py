"""Pi coding agent sessions (``~/.pi/agent/sessions/--<cwd>--/<ts>_<uuid>.jsonl``) to traces.

A session file is a tree: entries link through ``id``/``parentId`` and the leaf (the last
entry written) is the current position. Entries on the path from the leaf to the root are the
live conversation; every other entry is an abandoned branch, imported all the same and marked
``agenttrace.branch.abandoned``. Version 1 files have no ids: entries form one chain in file
order, and the model lives in the header. Entry timestamps are ISO strings; message
timestamps are epoch milliseconds (used as the start of a model call).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agenttrace import semconv
from agenttrace.importers import _genai as genai
from agenttrace.importers._base import Importer, ImportUnit, finish
from agenttrace.importers._io import (
    Line,
    ProblemLog,
    epoch_to_ns,
    int_or_zero,
    iso_to_ns,
    iter_json_lines,
    str_or_none,
)
from agenttrace.importers._model import SpanDraft, TraceDraft, span_id_for, trace_id_for

SOURCE = "pi"
_IGNORED_TYPES = frozenset(
    {"thinking_level_change", "custom", "label", "session_info", "model_change"}
)
_CONTEXT_ROLES = frozenset({"user", "custom", "hookMessage", "branchSummary", "compactionSummary"})


@dataclass(slots=True)
class _Entry:
    id: str
    parent_id: str | None
    line: Line
    ns: int


@dataclass(slots=True)
class _Session:
    path: Path
    session_id: str
    version: int = 1
    cwd: str | None = None
    header_model: str | None = None
    header_provider: str | None = None
    entries: dict[str, _Entry] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)


class PiImporter(Importer):
    source = SOURCE
    patterns = ("*.jsonl",)

    def convert(
        self, unit: ImportUnit, problems: ProblemLog
    ) -> Iterator[ExportTraceServiceRequest]:
        session = _read(unit.files[0], problems)
        if session is None or not session.entries:
            return
        yield finish(_build(session))


def _read(path: Path, problems: ProblemLog) -> _Session | None:
    session: _Session | None = None
    previous_id: str | None = None
    last_ns = 0
    for line in iter_json_lines(path, problems):
        data = line.data
        if session is None:
            if data.get("type") != "session":
                problems.add(path, line.number, "not a pi session: the first line is no header")
                return None
            session = _header(path, data)
            last_ns = iso_to_ns(data.get("timestamp")) or 0
            continue
        ns = iso_to_ns(data.get("timestamp"))
        if ns is None:
            ns = last_ns
        last_ns = max(last_ns, ns)
        # Version 1 entries have no ids: they form a single chain in file order.
        entry_id = str_or_none(data.get("id")) or f"line-{line.number}"
        parent_id = (
            str_or_none(data.get("parentId")) if "parentId" in data or "id" in data else previous_id
        )
        if entry_id in session.entries:
            problems.duplicates_skipped += 1
            continue
        session.entries[entry_id] = _Entry(entry_id, parent_id, line, ns)
        session.order.append(entry_id)
        previous_id = entry_id
    return session


def _header(path: Path, data: dict[str, Any]) -> _Session:
    session_id = str_or_none(data.get("id")) or path.stem.rsplit("_", 1)[-1]
    version = data.get("version")
    return _Session(
        path=path,
        session_id=session_id,
        version=version if isinstance(version, int) else 1,
        cwd=str_or_none(data.get("cwd")),
        header_model=str_or_none(data.get("modelId")) or str_or_none(data.get("model")),
        header_provider=str_or_none(data.get("provider")),
    )


def _build(s: _Session) -> TraceDraft:
    live = _live_path(s)
    draft = TraceDraft(SOURCE, SOURCE, trace_id_for(SOURCE, s.session_id))
    first = min(entry.ns for entry in s.entries.values())
    last = max(entry.ns for entry in s.entries.values())
    attrs = genai.agent_attributes(source=SOURCE, agent_name=SOURCE, conversation_id=s.session_id)
    attrs.update(genai.harness_attributes(SOURCE, None, s.cwd, None))
    root = SpanDraft(
        span_id_for(SOURCE, s.session_id, "root"),
        None,
        f"{genai.INVOKE_AGENT} {SOURCE}",
        first,
        last,
        attrs,
    )
    draft.spans.append(root)
    tools: dict[str, SpanDraft] = {}
    model, provider = s.header_model, s.header_provider
    for entry_id in s.order:
        entry = s.entries[entry_id]
        data = entry.line.data
        kind = data.get("type")
        new_spans: list[SpanDraft] = []
        if kind == "model_change":
            model = str_or_none(data.get("modelId")) or model
            provider = str_or_none(data.get("provider")) or provider
        if kind == "message" and isinstance(data.get("message"), dict):
            new_spans = _message_spans(s, entry, data["message"], tools, model, provider)
        elif kind in ("compaction", "branch_summary"):
            root.events.append(
                genai.compaction_event(
                    entry.ns,
                    strategy="summarize" if kind == "compaction" else "branch_summary",
                    tokens_before=int_or_zero(data.get("tokensBefore")) or None,
                    summary=str_or_none(data.get("summary")),
                    line=entry.line.number,
                )
            )
        elif kind != "message" and kind != "custom_message" and kind not in _IGNORED_TYPES:
            root.events.append(
                genai.unknown_entry_event(
                    entry.ns,
                    source=SOURCE,
                    entry_type=str(kind),
                    line=entry.line.number,
                    raw=entry.line.raw,
                )
            )
        for span in new_spans:
            span.parent_id = root.span_id
            if entry_id not in live:
                span.attributes[semconv.AGENTTRACE_BRANCH_ABANDONED] = True
            draft.spans.append(span)
    return draft


def _message_spans(
    s: _Session,
    entry: _Entry,
    message: dict[str, Any],
    tools: dict[str, SpanDraft],
    model: str | None,
    provider: str | None,
) -> list[SpanDraft]:
    role = message.get("role")
    if role == "assistant":
        return _assistant_spans(s, entry, message, tools, model, provider)
    if role == "toolResult":
        span = tools.get(str(message.get("toolCallId")))
        if span is not None:
            span.extend_to(entry.ns)
            result = _text(message.get("content"))
            span.attributes[semconv.GEN_AI_TOOL_CALL_RESULT] = result
            if message.get("isError"):
                genai.mark_tool_error(span, result)
        return []
    if role == "bashExecution":
        return [_bash_span(s, entry, message)]
    return []


def _assistant_spans(
    s: _Session,
    entry: _Entry,
    message: dict[str, Any],
    tools: dict[str, SpanDraft],
    model: str | None,
    provider: str | None,
) -> list[SpanDraft]:
    started = epoch_to_ns(message.get("timestamp"))
    start = min(started, entry.ns) if started is not None else _parent_ns(s, entry)
    model = str_or_none(message.get("model")) or model
    usage_raw = message.get("usage")
    usage = _usage(usage_raw)
    cost = usage_raw.get("cost") if isinstance(usage_raw, dict) else None
    chat = SpanDraft(
        span_id_for(SOURCE, s.session_id, "chat", entry.id),
        None,
        "",
        start,
        entry.ns,
        {semconv.AGENTTRACE_IMPORT_LINE: entry.line.number},
    )
    genai.chat_span(
        chat,
        model=model,
        provider=str_or_none(message.get("provider")) or provider,
        usage=usage,
        finish_reason=str_or_none(message.get("stopReason")),
        logged_cost_usd=_float(cost.get("total")) if isinstance(cost, dict) else None,
    )
    error = str_or_none(message.get("errorMessage"))
    if message.get("stopReason") == "error" or error:
        chat.attributes[semconv.ERROR_TYPE] = "api_error"
        chat.error = error or "model call failed"
        chat.events.extend(
            genai.api_error_events(
                entry.ns,
                error_type="api_error",
                message=error,
                retry_attempt=None,
                line=entry.line.number,
            )
        )
    genai.set_messages(chat, semconv.GEN_AI_INPUT_MESSAGES, _inputs(s, entry))
    parts: list[dict[str, Any]] = []
    spans = [chat]
    content = message.get("content")
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append({"type": "text", "content": str(block.get("text", ""))})
        elif kind == "thinking":
            parts.append({"type": "reasoning", "content": str(block.get("thinking", ""))})
        elif kind == "toolCall":
            call_id = str(block.get("id") or f"{entry.id}-{len(parts)}")
            name, arguments = str(block.get("name") or ""), block.get("arguments")
            parts.append({"type": "tool_call", "id": call_id, "name": name, "arguments": arguments})
            tool = SpanDraft(
                span_id_for(SOURCE, s.session_id, "tool", call_id),
                None,
                "",
                entry.ns,
                entry.ns,
                {semconv.AGENTTRACE_IMPORT_LINE: entry.line.number},
            )
            genai.tool_span(tool, name=name, call_id=call_id, arguments=arguments)
            tools[call_id] = tool
            spans.append(tool)
    if parts:
        genai.set_messages(
            chat, semconv.GEN_AI_OUTPUT_MESSAGES, [{"role": "assistant", "parts": parts}]
        )
    return spans


def _bash_span(s: _Session, entry: _Entry, message: dict[str, Any]) -> SpanDraft:
    """A command the user ran with ``!``: a tool call without a model call."""
    started = epoch_to_ns(message.get("timestamp"))
    span = SpanDraft(
        span_id_for(SOURCE, s.session_id, "bash", entry.id),
        None,
        "",
        min(started, entry.ns) if started is not None else entry.ns,
        entry.ns,
        {semconv.AGENTTRACE_IMPORT_LINE: entry.line.number},
    )
    exit_code = message.get("exitCode")
    failed = bool(message.get("cancelled")) or (isinstance(exit_code, int) and exit_code != 0)
    return genai.tool_span(
        span,
        name="bash",
        call_id=None,
        arguments={"command": message.get("command")},
        result=message.get("output"),
        has_result=True,
        is_error=failed,
    )


def _live_path(s: _Session) -> set[str]:
    live: set[str] = set()
    cursor: str | None = s.order[-1] if s.order else None
    while cursor is not None and cursor not in live and cursor in s.entries:
        live.add(cursor)
        cursor = s.entries[cursor].parent_id
    return live


def _inputs(s: _Session, entry: _Entry) -> list[dict[str, Any]]:
    """Context messages between this model call and the previous one on its own branch."""
    messages: list[dict[str, Any]] = []
    cursor = entry.parent_id
    seen: set[str] = set()
    while cursor is not None and cursor in s.entries and cursor not in seen:
        seen.add(cursor)
        parent = s.entries[cursor]
        data = parent.line.data
        message = data.get("message")
        kind = data.get("type")
        if kind == "custom_message":
            messages.append(genai.text_message("user", _text(data.get("content"))))
        elif kind in ("branch_summary", "compaction"):
            messages.append(genai.text_message("user", str(data.get("summary") or "")))
        elif isinstance(message, dict):
            role = message.get("role")
            if role == "assistant":
                break
            if role in _CONTEXT_ROLES:
                text = _text(message.get("content") or message.get("summary"))
                messages.append(genai.text_message("user", text))
        cursor = parent.parent_id
    messages.reverse()
    return messages


def _parent_ns(s: _Session, entry: _Entry) -> int:
    parent = s.entries.get(entry.parent_id or "")
    return min(parent.ns, entry.ns) if parent is not None else entry.ns


def _usage(raw: object) -> genai.Usage | None:
    if not isinstance(raw, dict):
        return None
    cache_read = int_or_zero(raw.get("cacheRead"))
    cache_write = int_or_zero(raw.get("cacheWrite"))
    # Pi's input excludes cache tokens (totalTokens = input + output + cacheRead + cacheWrite).
    return genai.Usage(
        input=int_or_zero(raw.get("input")) + cache_read + cache_write,
        output=int_or_zero(raw.get("output")),
        cache_read=cache_read,
        cache_write=cache_write,
    )


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = []
    for block in content:
        if isinstance(block, dict):
            if isinstance(block.get("text"), str):
                texts.append(block["text"])
            elif block.get("type") == "image":
                texts.append("[image omitted]")
    return "\n".join(texts)


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
