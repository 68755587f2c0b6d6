"""OpenAI Codex CLI rollouts (``~/.codex/sessions/**/rollout-*.jsonl[.zst]``) to traces.

A rollout is one session. Model calls are delimited by ``token_count`` events: the output
items (reasoning, assistant messages, tool calls) since the previous call form one ``chat``
span whose usage is that event's ``last_token_usage`` (``total_token_usage`` is cumulative, a
``token_count`` with ``info: null`` carries nothing, and a repeated total is a duplicate event).
The model comes from the latest ``turn_context``. Text that appears both as an ``event_msg``
and as a ``response_item`` is kept once. Tool calls join their outputs on ``call_id``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agenttrace import semconv
from agenttrace.importers import _genai as genai
from agenttrace.importers._base import Importer, ImportUnit, finish
from agenttrace.importers._io import (
    Line,
    ProblemLog,
    int_or_zero,
    iso_to_ns,
    iter_json_lines,
    str_or_none,
)
from agenttrace.importers._model import EventDraft, SpanDraft, TraceDraft, span_id_for, trace_id_for

SOURCE = "codex"
DEFAULT_PROVIDER = "openai"

_OUTPUT_ITEMS = frozenset(
    {"reasoning", "function_call", "custom_tool_call", "local_shell_call", "web_search_call"}
)
_RESULT_ITEMS = frozenset({"function_call_output", "custom_tool_call_output"})
_IGNORED_EVENTS = frozenset(
    {
        "task_started",
        "task_complete",
        "turn_aborted",
        "agent_reasoning",
        "agent_reasoning_raw_content",
        "agent_reasoning_section_break",
        "context_compacted",
        "exec_command_begin",
        "exec_command_end",
        "patch_apply_begin",
        "patch_apply_end",
        "mcp_tool_call_begin",
        "mcp_tool_call_end",
        "turn_diff",
        "entered_review_mode",
        "exited_review_mode",
    }
)
_EXIT_CODE = re.compile(r"^Exit code:\s*(-?\d+)", re.MULTILINE)


@dataclass(slots=True)
class _Call:
    """One model call being assembled."""

    start_ns: int
    first_line: int
    end_ns: int = 0
    model: str | None = None
    inputs: list[dict[str, Any]] = field(default_factory=list)
    parts: list[dict[str, Any]] = field(default_factory=list)
    events: list[EventDraft] = field(default_factory=list)


@dataclass(slots=True)
class _Session:
    path: Path
    session_id: str
    provider: str = DEFAULT_PROVIDER
    version: str | None = None
    cwd: str | None = None
    git_branch: str | None = None
    forked_from: str | None = None
    model: str | None = None
    first_ns: int | None = None
    last_ns: int | None = None
    last_input_ns: int | None = None
    last_total: dict[str, Any] | None = None
    call: _Call | None = None
    pending_inputs: list[dict[str, Any]] = field(default_factory=list)
    pending_events: list[EventDraft] = field(default_factory=list)
    item_texts: set[tuple[str, str]] = field(default_factory=set)
    event_texts: list[tuple[str, str]] = field(default_factory=list)
    spans: list[SpanDraft] = field(default_factory=list)
    tools: dict[str, SpanDraft] = field(default_factory=dict)
    events: list[EventDraft] = field(default_factory=list)
    calls: int = 0


class CodexImporter(Importer):
    source = SOURCE
    patterns = ("rollout-*.jsonl", "rollout-*.jsonl.zst")

    def convert(
        self, unit: ImportUnit, problems: ProblemLog
    ) -> Iterator[ExportTraceServiceRequest]:
        path = unit.files[0]
        session = _Session(path, session_id=_session_id_from_name(path))
        for line in iter_json_lines(path, problems):
            _read_line(session, line, problems)
        _close_call(session, None, None)
        if session.first_ns is None:
            return
        yield finish(_draft(session))


def _read_line(s: _Session, line: Line, problems: ProblemLog) -> None:
    data = line.data
    ns = iso_to_ns(data.get("timestamp"))
    if ns is None:
        ns = s.last_ns if s.last_ns is not None else 0
    else:
        s.first_ns = ns if s.first_ns is None else min(s.first_ns, ns)
        s.last_ns = ns if s.last_ns is None else max(s.last_ns, ns)
    kind = data.get("type")
    payload = data.get("payload")
    if not isinstance(payload, dict):
        problems.add(s.path, line.number, f"{kind!r} line without a payload object; skipped")
        return
    if kind == "session_meta":
        _read_meta(s, payload)
    elif kind == "turn_context":
        s.model = str_or_none(payload.get("model")) or s.model
        s.cwd = s.cwd or str_or_none(payload.get("cwd"))
    elif kind == "response_item":
        _read_item(s, payload, ns, line)
    elif kind == "event_msg":
        _read_event(s, payload, ns, line)
    elif kind == "compacted":
        s.events.append(
            genai.compaction_event(
                ns,
                strategy="summarize",
                summary=str_or_none(payload.get("message")),
                line=line.number,
            )
        )
    else:
        _unknown(s, str(kind), ns, line)


def _read_meta(s: _Session, payload: dict[str, Any]) -> None:
    s.session_id = str_or_none(payload.get("id")) or s.session_id
    s.version = str_or_none(payload.get("cli_version")) or s.version
    s.cwd = str_or_none(payload.get("cwd")) or s.cwd
    s.provider = str_or_none(payload.get("model_provider")) or s.provider
    s.forked_from = str_or_none(payload.get("forked_from_id")) or s.forked_from
    git = payload.get("git")
    if isinstance(git, dict):
        s.git_branch = str_or_none(git.get("branch")) or s.git_branch


def _read_item(s: _Session, item: dict[str, Any], ns: int, line: Line) -> None:
    kind = item.get("type")
    if kind == "message":
        role = str(item.get("role") or "user")
        text = _content_text(item.get("content"))
        s.item_texts.add((role, text))
        if role == "assistant":
            _call_for_output(s, ns, line.number).parts.append({"type": "text", "content": text})
        else:
            s.pending_inputs.append(genai.text_message(role, text))
            s.last_input_ns = ns
    elif kind in _OUTPUT_ITEMS:
        call = _call_for_output(s, ns, line.number)
        if kind == "reasoning":
            summary = item.get("summary")
            texts = [
                str(part.get("text"))
                for part in (summary if isinstance(summary, list) else [])
                if isinstance(part, dict) and part.get("text")
            ]
            if texts:
                call.parts.append({"type": "reasoning", "content": "\n".join(texts)})
        else:
            _start_tool(s, call, item, ns, line)
    elif kind in _RESULT_ITEMS:
        _finish_tool(s, item, ns)
        s.last_input_ns = ns
    else:
        _unknown(s, f"response_item/{kind}", ns, line)


def _read_event(s: _Session, event: dict[str, Any], ns: int, line: Line) -> None:
    kind = event.get("type")
    if kind == "token_count":
        info = event.get("info")
        if not isinstance(info, dict):
            return  # a rate-limit heartbeat: no usage
        total = info.get("total_token_usage")
        if total is not None and total == s.last_total:
            return  # the same event written twice
        usage = info.get("last_token_usage")
        if not isinstance(usage, dict):
            usage = _delta(total, s.last_total)
        s.last_total = total if isinstance(total, dict) else s.last_total
        _close_call(s, ns, _usage(usage))
    elif kind in ("user_message", "agent_message"):
        role = "user" if kind == "user_message" else "assistant"
        message = event.get("message")
        if isinstance(message, str):
            s.event_texts.append((role, message))
    elif kind in ("error", "stream_error"):
        s.pending_events.extend(
            genai.api_error_events(
                ns,
                error_type=str(kind),
                message=str_or_none(event.get("message")),
                retry_attempt=None,
                line=line.number,
            )
        )
    elif kind not in _IGNORED_EVENTS:
        _unknown(s, f"event_msg/{kind}", ns, line)


def _event_only_texts(s: _Session, role: str) -> list[str]:
    """Texts of ``role`` seen only as ``event_msg`` (the same text as a ``response_item`` is a
    duplicate); they are taken out of the queue."""
    texts = [text for r, text in s.event_texts if r == role and (r, text) not in s.item_texts]
    s.event_texts = [(r, text) for r, text in s.event_texts if r != role]
    return texts


def _call_for_output(s: _Session, ns: int, line_number: int) -> _Call:
    if s.call is None:
        for text in _event_only_texts(s, "user"):
            s.pending_inputs.append(genai.text_message("user", text))
        start = s.last_input_ns if s.last_input_ns is not None else ns
        s.call = _Call(start_ns=min(start, ns), first_line=line_number, model=s.model)
        s.call.inputs, s.pending_inputs = s.pending_inputs, []
        s.call.events, s.pending_events = s.pending_events, []
    s.call.end_ns = max(s.call.end_ns, ns)
    return s.call


def _start_tool(s: _Session, call: _Call, item: dict[str, Any], ns: int, line: Line) -> None:
    kind = item.get("type")
    call_id = str_or_none(item.get("call_id")) or str_or_none(item.get("id"))
    if kind == "function_call":
        name, arguments = str(item.get("name") or ""), item.get("arguments")
    elif kind == "custom_tool_call":
        name, arguments = str(item.get("name") or ""), item.get("input")
    elif kind == "local_shell_call":
        name, arguments = "local_shell", item.get("action")
    else:
        name, arguments = "web_search", item.get("action")
    call.parts.append({"type": "tool_call", "id": call_id, "name": name, "arguments": arguments})
    key = call_id or f"line-{line.number}"
    span = SpanDraft(
        span_id_for(SOURCE, s.session_id, "tool", key),
        None,
        "",
        ns,
        ns,
        {semconv.AGENTTRACE_IMPORT_LINE: line.number},
    )
    genai.tool_span(span, name=name, call_id=call_id, arguments=arguments)
    if item.get("status") in ("failed", "incomplete"):
        genai.mark_tool_error(span, f"tool call {item.get('status')}")
    s.spans.append(span)
    if call_id is not None:
        s.tools[call_id] = span


def _finish_tool(s: _Session, item: dict[str, Any], ns: int) -> None:
    span = s.tools.get(str(item.get("call_id")))
    if span is None or semconv.GEN_AI_TOOL_CALL_RESULT in span.attributes:
        return
    output = item.get("output")
    text, failed = _tool_output(output)
    span.extend_to(ns)
    span.attributes[semconv.GEN_AI_TOOL_CALL_RESULT] = text
    if failed:
        genai.mark_tool_error(span, text)


def _close_call(s: _Session, ns: int | None, usage: genai.Usage | None) -> None:
    """End the call being assembled (a ``token_count`` arrived, or the file ended)."""
    for text in _event_only_texts(s, "assistant"):
        _call_for_output(s, ns or s.last_ns or 0, 0).parts.append({"type": "text", "content": text})
    call = s.call
    if call is None:
        if usage is None:
            return
        # Usage without output items (e.g. an interrupted response) still has to count.
        start = s.last_input_ns if s.last_input_ns is not None else (ns or 0)
        call = _Call(start_ns=min(start, ns or start), first_line=0, model=s.model)
        call.inputs, s.pending_inputs = s.pending_inputs, []
        call.events, s.pending_events = s.pending_events, []
    s.call = None
    s.calls += 1
    end = max(call.end_ns, ns or 0)
    span = SpanDraft(
        span_id_for(SOURCE, s.session_id, "chat", str(s.calls)),
        None,
        "",
        call.start_ns,
        end,
        {semconv.AGENTTRACE_IMPORT_LINE: call.first_line} if call.first_line else {},
        call.events,
    )
    genai.chat_span(span, model=call.model, provider=s.provider, usage=usage)
    genai.set_messages(span, semconv.GEN_AI_INPUT_MESSAGES, call.inputs)
    if call.parts:
        genai.set_messages(
            span, semconv.GEN_AI_OUTPUT_MESSAGES, [{"role": "assistant", "parts": call.parts}]
        )
    s.spans.append(span)
    s.last_input_ns = end


def _draft(s: _Session) -> TraceDraft:
    draft = TraceDraft(SOURCE, SOURCE, trace_id_for(SOURCE, s.session_id))
    attrs = genai.agent_attributes(
        source=SOURCE, agent_name=SOURCE, conversation_id=s.session_id, provider=s.provider
    )
    attrs.update(genai.harness_attributes(SOURCE, s.version, s.cwd, s.git_branch))
    if s.forked_from:
        attrs[semconv.AGENTTRACE_RUN_PARENT_ID] = s.forked_from
    root = SpanDraft(
        span_id_for(SOURCE, s.session_id, "root"),
        None,
        f"{genai.INVOKE_AGENT} {SOURCE}",
        s.first_ns or 0,
        s.last_ns or 0,
        attrs,
        s.events + s.pending_events,
    )
    for span in s.spans:
        span.parent_id = root.span_id
    draft.spans = [root, *s.spans]
    return draft


def _unknown(s: _Session, kind: str, ns: int, line: Line) -> None:
    s.events.append(
        genai.unknown_entry_event(
            ns, source=SOURCE, entry_type=kind, line=line.number, raw=line.raw
        )
    )


def _usage(raw: object) -> genai.Usage | None:
    if not isinstance(raw, dict):
        return None
    # OpenAI's input_tokens already include cached tokens, as GenAI's do.
    return genai.Usage(
        input=int_or_zero(raw.get("input_tokens")),
        output=int_or_zero(raw.get("output_tokens")),
        cache_read=int_or_zero(raw.get("cached_input_tokens")),
        reasoning=int_or_zero(raw.get("reasoning_output_tokens")),
    )


def _delta(total: object, previous: object) -> dict[str, Any] | None:
    """Per-call usage from two cumulative totals (older builds have no last_token_usage)."""
    if not isinstance(total, dict):
        return None
    before = previous if isinstance(previous, dict) else {}
    return {key: int_or_zero(total.get(key)) - int_or_zero(before.get(key)) for key in total}


def _tool_output(output: object) -> tuple[str, bool]:
    """The output text and whether it reports a failure (a non-zero exit code)."""
    if isinstance(output, list):
        text = "\n".join(
            str(item.get("text"))
            for item in output
            if isinstance(item, dict) and isinstance(item.get("text"), str)
        )
        return text, False
    if isinstance(output, dict):
        return genai.dumps(output), output.get("success") is False
    text = output if isinstance(output, str) else genai.dumps(output)
    if text.startswith("{"):
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("metadata"), dict):
            return text, int_or_zero(parsed["metadata"].get("exit_code")) != 0
    match = _EXIT_CODE.search(text[:200])
    return text, bool(match and int(match.group(1)) != 0)


def _content_text(content: object) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = []
    for part in content:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif part.get("type") == "input_image":
            texts.append("[image omitted]")
    return "\n".join(texts)


def _session_id_from_name(path: Path) -> str:
    name = path.name.split(".jsonl")[0]
    match = re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", name)
    return match.group(0) if match else name
