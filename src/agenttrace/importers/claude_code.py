"""Claude Code transcripts (``~/.claude/projects/<cwd>/<session>.jsonl``) to traces.

One session (the main transcript plus its subagent transcripts) becomes one trace:

- root ``invoke_agent claude-code`` span;
- one ``chat`` span per API response, deduplicated by ``message.id`` + ``requestId`` because
  Claude Code writes each content block of a response as its own line (usage: the last value);
- one ``execute_tool`` span per ``tool_use`` block, closed by the ``tool_result`` with its id;
- each subagent as an ``invoke_agent`` span under the Task/Agent tool call that started it;
- compaction, API errors and unknown lines as span events.

Lines already seen in this run (same ``uuid``: resumed sessions copy earlier lines) are
skipped, and responses off the live ``parentUuid`` path (rewinds) are marked abandoned.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
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

SOURCE = "claude-code"
PROVIDER = "anthropic"
SYNTHETIC_MODEL = "<synthetic>"
SUBAGENT_TOOLS = frozenset({"Task", "Agent"})
# A top-level "uuid" member; inside JSON strings quotes are escaped, so content cannot match.
_UUID_FIELD = re.compile(rb'"uuid"\s*:\s*"([^"]+)"')

# Line types that carry no trace data of their own (or are read elsewhere, like progress).
_IGNORED_TYPES = frozenset(
    {
        "file-history-snapshot",
        "queue-operation",
        "last-prompt",
        "custom-title",
        "ai-title",
        "agent-name",
        "attachment",
        "progress",
    }
)
_IGNORED_SYSTEM_SUBTYPES = frozenset(
    {"turn_duration", "stop_hook_summary", "local_command", "informational"}
)


@dataclass(slots=True)
class _Response:
    key: str
    message_id: str | None
    request_id: str | None
    first_line: int
    first_ns: int
    last_ns: int
    parent_uuid: str | None
    model: str | None = None
    stop_reason: str | None = None
    usage: dict[str, Any] | None = None
    uuids: list[str] = field(default_factory=list)
    parts: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    events: list[EventDraft] = field(default_factory=list)


@dataclass(slots=True)
class _ToolCall:
    call_id: str
    name: str
    arguments: Any
    start_ns: int
    line: int
    response_key: str
    end_ns: int | None = None
    result: Any = None
    is_error: bool = False


@dataclass(slots=True)
class _Transcript:
    """Everything read from one transcript file, ready to become spans."""

    path: Path
    agent_id: str | None = None
    session_id: str | None = None
    version: str | None = None
    cwd: str | None = None
    git_branch: str | None = None
    first_prompt: str | None = None
    first_ns: int | None = None
    last_ns: int | None = None
    leaf_uuid: str | None = None
    parents: dict[str, str | None] = field(default_factory=dict)
    ns_by_uuid: dict[str, int] = field(default_factory=dict)
    responses: dict[str, _Response] = field(default_factory=dict)
    tools: dict[str, _ToolCall] = field(default_factory=dict)
    agent_links: dict[str, str] = field(default_factory=dict)
    events: list[EventDraft] = field(default_factory=list)
    pending_inputs: list[dict[str, Any]] = field(default_factory=list)
    pending_events: list[EventDraft] = field(default_factory=list)
    summaries: list[tuple[int, str, str]] = field(default_factory=list)

    def time_of(self, line: Line) -> int:
        ns = iso_to_ns(line.data.get("timestamp"))
        if ns is None:
            # Snapshot-style lines carry no time: place them at the latest time seen.
            return self.last_ns if self.last_ns is not None else 0
        if self.first_ns is None or ns < self.first_ns:
            self.first_ns = ns
        if self.last_ns is None or ns > self.last_ns:
            self.last_ns = ns
        return ns


class ClaudeCodeImporter(Importer):
    source = SOURCE
    patterns = ("*.jsonl",)

    def collect(self, paths: Sequence[Path]) -> list[Path]:
        """A session file named on its own still brings its ``<session>/subagents/``."""
        found = super().collect(paths)
        known = set(found)
        for path in list(found):
            for sub in sorted((path.parent / path.stem / "subagents").glob("agent-*.jsonl")):
                if sub not in known:
                    known.add(sub)
                    found.append(sub)
        return found

    def group(self, files: list[Path], problems: ProblemLog) -> list[ImportUnit]:
        mains: dict[str, Path] = {}
        subagents: dict[str, list[Path]] = {}
        for path in files:
            if path.name.startswith("agent-"):
                session_id = _subagent_session_id(path)
                if session_id is None:
                    problems.add(path, None, "subagent transcript without a sessionId; skipped")
                    continue
                subagents.setdefault(session_id, []).append(path)
            else:
                mains[path.stem] = path
        units = []
        for session_id in sorted(set(mains) | set(subagents)):
            main = mains.get(session_id)
            extra = tuple(sorted(subagents.get(session_id, [])))
            files_ = ((main,) if main else ()) + extra
            units.append(ImportUnit(key=session_id, files=files_, primary=main))
        # Originals before resumed copies: the earliest session keeps the lines they share.
        units.sort(key=lambda unit: (_first_timestamp(unit.files[0]), unit.key))
        return _exclude_copied_lines(units)

    def convert(
        self, unit: ImportUnit, problems: ProblemLog
    ) -> Iterator[ExportTraceServiceRequest]:
        session_id = unit.key
        seen = set(unit.exclude)
        main = _read(unit.primary, problems, seen) if unit.primary else None
        subs = [_read(path, problems, seen) for path in unit.files if path != unit.primary]
        transcripts = ([main] if main else []) + subs
        if not any(t.first_ns is not None for t in transcripts):
            return
        draft = TraceDraft(SOURCE, SOURCE, trace_id_for(SOURCE, session_id))
        root = _root_span(session_id, transcripts)
        draft.spans.append(root)
        tools_by_id = {call_id: tool for t in transcripts for call_id, tool in t.tools.items()}
        links = {agent: tool for t in transcripts for agent, tool in t.agent_links.items()}
        prompts = {
            str(tool.arguments.get("prompt")): call_id
            for call_id, tool in tools_by_id.items()
            if tool.name in SUBAGENT_TOOLS and isinstance(tool.arguments, dict)
        }
        if main is not None:
            _emit(draft, session_id, main, root)
        for sub in subs:
            if sub.first_ns is None:
                continue
            call_id = links.get(sub.agent_id or "") or prompts.get(sub.first_prompt or "")
            task = tools_by_id.get(call_id) if call_id else None
            agent_span = _subagent_span(session_id, sub, task)
            draft.spans.append(agent_span)
            _emit(draft, session_id, sub, agent_span)
        yield finish(draft)


def _exclude_copied_lines(units: list[ImportUnit]) -> list[ImportUnit]:
    """Tell each unit which line uuids an earlier unit holds (a resumed session's copies).

    A byte-level scan keeps this cheap and lets every unit convert on its own afterwards.
    """
    owned: set[str] = set()
    result = []
    for unit in units:
        found: set[str] = set()
        for path in unit.files:
            found.update(_scan_uuids(path))
        copied = found & owned
        owned |= found
        result.append(replace(unit, exclude=frozenset(copied)) if copied else unit)
    return result


def _scan_uuids(path: Path) -> set[str]:
    if path.stat().st_size == 0:
        return set()
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return {match.decode() for match in _UUID_FIELD.findall(data)}


def _read(path: Path, problems: ProblemLog, seen: set[str]) -> _Transcript:
    """Read one transcript; lines whose uuid is in ``seen`` are repeats and are skipped."""
    transcript = _Transcript(path)
    for line in iter_json_lines(path, problems):
        uuid = str_or_none(line.data.get("uuid"))
        if uuid is not None:
            if uuid in seen:
                problems.duplicates_skipped += 1
                continue
            seen.add(uuid)
        _read_line(transcript, line, uuid, problems)
    _finish_transcript(transcript)
    return transcript


def _read_line(t: _Transcript, line: Line, uuid: str | None, problems: ProblemLog) -> None:
    data = line.data
    kind = data.get("type")
    ns = t.time_of(line)
    if uuid is not None:
        parent = str_or_none(data.get("parentUuid")) or str_or_none(data.get("logicalParentUuid"))
        t.parents[uuid] = parent
        t.ns_by_uuid[uuid] = ns
        t.leaf_uuid = uuid
        t.session_id = t.session_id or str_or_none(data.get("sessionId"))
        t.agent_id = t.agent_id or str_or_none(data.get("agentId"))
        t.version = str_or_none(data.get("version")) or t.version
        t.cwd = t.cwd or str_or_none(data.get("cwd"))
        t.git_branch = t.git_branch or str_or_none(data.get("gitBranch"))
    if kind == "assistant":
        _read_assistant(t, line, uuid, ns, problems)
    elif kind == "user":
        _read_user(t, line, ns, problems)
    elif kind == "system":
        _read_system(t, line, ns)
    elif kind == "summary":
        summary, leaf = data.get("summary"), data.get("leafUuid")
        if isinstance(summary, str) and isinstance(leaf, str):
            t.summaries.append((line.number, summary, leaf))
    elif kind == "progress":
        _read_progress(t, data)
    elif kind not in _IGNORED_TYPES:
        t.events.append(
            genai.unknown_entry_event(
                ns, source=SOURCE, entry_type=str(kind), line=line.number, raw=line.raw
            )
        )


def _read_assistant(
    t: _Transcript, line: Line, uuid: str | None, ns: int, problems: ProblemLog
) -> None:
    message = line.data.get("message")
    if not isinstance(message, dict):
        problems.add(t.path, line.number, "assistant line without a message object; skipped")
        return
    model = str_or_none(message.get("model"))
    if model == SYNTHETIC_MODEL:
        if line.data.get("isApiErrorMessage"):
            t.pending_events.extend(
                genai.api_error_events(
                    ns,
                    error_type=str(line.data.get("error") or "api_error"),
                    message=_plain_text(message.get("content")),
                    retry_attempt=None,
                    line=line.number,
                )
            )
        return
    message_id = str_or_none(message.get("id"))
    request_id = str_or_none(line.data.get("requestId"))
    key = f"{message_id}:{request_id or ''}" if message_id else f"uuid:{uuid or line.number}"
    response = t.responses.get(key)
    if response is None:
        start = t.ns_by_uuid.get(str_or_none(line.data.get("parentUuid")) or "", ns)
        response = _Response(
            key=key,
            message_id=message_id,
            request_id=request_id,
            first_line=line.number,
            first_ns=ns,
            last_ns=ns,
            parent_uuid=str_or_none(line.data.get("parentUuid")),
        )
        response.first_ns = min(start, ns)
        response.inputs, t.pending_inputs = t.pending_inputs, []
        response.events, t.pending_events = t.pending_events, []
        t.responses[key] = response
    response.last_ns = max(response.last_ns, ns)
    if uuid is not None:
        response.uuids.append(uuid)
    response.model = model or response.model
    response.stop_reason = str_or_none(message.get("stop_reason")) or response.stop_reason
    if isinstance(message.get("usage"), dict):
        response.usage = message["usage"]
    content = message.get("content")
    blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
    for block in blocks:
        if isinstance(block, dict):
            _read_output_block(t, response, block, ns, line.number)


def _read_output_block(
    t: _Transcript, response: _Response, block: dict[str, Any], ns: int, line_number: int
) -> None:
    kind = block.get("type")
    if kind == "text" and isinstance(block.get("text"), str):
        response.parts.append({"type": "text", "content": block["text"]})
    elif kind == "thinking" and isinstance(block.get("thinking"), str):
        response.parts.append({"type": "reasoning", "content": block["thinking"]})
    elif kind == "redacted_thinking":
        response.parts.append({"type": "reasoning", "content": "[redacted]"})
    elif kind == "tool_use" and isinstance(block.get("id"), str):
        call_id, name, arguments = block["id"], str(block.get("name") or ""), block.get("input")
        response.parts.append(
            {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}
        )
        if call_id not in t.tools:
            t.tools[call_id] = _ToolCall(call_id, name, arguments, ns, line_number, response.key)


def _read_user(t: _Transcript, line: Line, ns: int, problems: ProblemLog) -> None:
    data = line.data
    message = data.get("message")
    if not isinstance(message, dict):
        problems.add(t.path, line.number, "user line without a message object; skipped")
        return
    content = message.get("content")
    if data.get("isCompactSummary"):
        _attach_compact_summary(t, _plain_text(content) or "", ns, line.number)
        return
    text_parts: list[dict[str, Any]] = []
    blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
    for block in blocks:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "tool_result":
            _read_tool_result(t, data, block, ns)
        elif kind == "text" and isinstance(block.get("text"), str):
            text_parts.append({"type": "text", "content": block["text"]})
        elif kind == "image":
            text_parts.append(_image_part(block))
    if text_parts:
        t.pending_inputs.append({"role": "user", "parts": text_parts})
        if t.first_prompt is None and isinstance(content, str):
            t.first_prompt = content


def _read_tool_result(t: _Transcript, data: dict[str, Any], block: dict[str, Any], ns: int) -> None:
    call_id = block.get("tool_use_id")
    if not isinstance(call_id, str):
        return
    extra = data.get("toolUseResult")
    if isinstance(extra, dict) and isinstance(extra.get("agentId"), str):
        t.agent_links[extra["agentId"]] = call_id
    tool = t.tools.get(call_id)
    if tool is None or tool.end_ns is not None:
        return
    tool.end_ns = ns
    tool.result = _result_text(block.get("content"))
    tool.is_error = bool(block.get("is_error"))


def _read_system(t: _Transcript, line: Line, ns: int) -> None:
    data = line.data
    subtype = data.get("subtype")
    if subtype in ("compact_boundary", "microcompact_boundary"):
        metadata = data.get("compactMetadata") or data.get("microcompactMetadata") or {}
        metadata = metadata if isinstance(metadata, dict) else {}
        t.events.append(
            genai.compaction_event(
                ns,
                strategy="summarize" if subtype == "compact_boundary" else "microcompact",
                trigger=str_or_none(metadata.get("trigger")),
                tokens_before=int_or_zero(metadata.get("preTokens")) or None,
                line=line.number,
            )
        )
    elif subtype == "api_error":
        error = data.get("error")
        error_type, message = _describe_error(error)
        attempt = data.get("retryAttempt")
        t.pending_events.extend(
            genai.api_error_events(
                ns,
                error_type=error_type,
                message=message or str_or_none(data.get("content")),
                retry_attempt=attempt if isinstance(attempt, int) else None,
                line=line.number,
            )
        )
    elif subtype not in _IGNORED_SYSTEM_SUBTYPES:
        t.events.append(
            genai.unknown_entry_event(
                ns, source=SOURCE, entry_type=f"system/{subtype}", line=line.number, raw=line.raw
            )
        )


def _read_progress(t: _Transcript, data: dict[str, Any]) -> None:
    payload = data.get("data")
    if not isinstance(payload, dict) or payload.get("type") != "agent_progress":
        return
    agent_id, call_id = payload.get("agentId"), data.get("parentToolUseID")
    if isinstance(agent_id, str) and isinstance(call_id, str):
        t.agent_links.setdefault(agent_id, call_id)


def _attach_compact_summary(t: _Transcript, summary: str, ns: int, line_number: int) -> None:
    key = genai.COMPACTION_SUMMARY
    for event in reversed(t.events):
        if event.name == semconv.EVENT_COMPACTION and key not in event.attributes:
            event.attributes[key] = summary
            return
    t.events.append(
        genai.compaction_event(ns, strategy="summarize", summary=summary, line=line_number)
    )


def _finish_transcript(t: _Transcript) -> None:
    """Resolve what needs the whole file: old summaries, leftover events."""
    for line_number, summary, leaf in t.summaries:
        if leaf in t.ns_by_uuid:
            t.events.append(
                genai.compaction_event(
                    t.ns_by_uuid[leaf], strategy="summarize", summary=summary, line=line_number
                )
            )
    t.events.extend(t.pending_events)
    t.pending_events = []


def _live_uuids(t: _Transcript) -> set[str]:
    live: set[str] = set()
    cursor = t.leaf_uuid
    while cursor is not None and cursor not in live:
        live.add(cursor)
        cursor = t.parents.get(cursor)
    return live


def _emit(draft: TraceDraft, session_id: str, t: _Transcript, agent: SpanDraft) -> None:
    live = _live_uuids(t)
    agent.events.extend(t.events)
    abandoned_keys = set()
    for response in t.responses.values():
        span = SpanDraft(
            span_id_for(SOURCE, session_id, "chat", response.key),
            agent.span_id,
            "",
            response.first_ns,
            response.last_ns,
            {semconv.AGENTTRACE_IMPORT_LINE: response.first_line},
            response.events,
        )
        genai.chat_span(
            span,
            model=response.model,
            provider=PROVIDER,
            usage=_usage(response.usage),
            response_id=response.message_id,
            finish_reason=response.stop_reason,
        )
        genai.set_messages(span, semconv.GEN_AI_INPUT_MESSAGES, response.inputs)
        genai.set_messages(
            span,
            semconv.GEN_AI_OUTPUT_MESSAGES,
            [{"role": "assistant", "parts": response.parts}] if response.parts else [],
        )
        if response.uuids and live.isdisjoint(response.uuids):
            span.attributes[semconv.AGENTTRACE_BRANCH_ABANDONED] = True
            abandoned_keys.add(response.key)
        draft.spans.append(span)
    for tool in t.tools.values():
        end = tool.end_ns if tool.end_ns is not None else tool.start_ns
        span = SpanDraft(
            _tool_span_id(session_id, tool.call_id),
            agent.span_id,
            "",
            min(tool.start_ns, end),
            end,
            {semconv.AGENTTRACE_IMPORT_LINE: tool.line},
        )
        genai.tool_span(
            span,
            name=tool.name,
            call_id=tool.call_id,
            arguments=tool.arguments,
            result=tool.result,
            has_result=tool.end_ns is not None,
            is_error=tool.is_error,
        )
        if tool.response_key in abandoned_keys:
            span.attributes[semconv.AGENTTRACE_BRANCH_ABANDONED] = True
        draft.spans.append(span)
    if t.first_ns is not None and t.last_ns is not None:
        agent.extend_to(t.first_ns)
        agent.extend_to(t.last_ns)


def _root_span(session_id: str, transcripts: list[_Transcript]) -> SpanDraft:
    first = min(t.first_ns for t in transcripts if t.first_ns is not None)
    last = max(t.last_ns for t in transcripts if t.last_ns is not None)
    head = transcripts[0]
    attrs = genai.agent_attributes(
        source=SOURCE, agent_name=SOURCE, conversation_id=session_id, provider=PROVIDER
    )
    attrs.update(genai.harness_attributes(SOURCE, head.version, head.cwd, head.git_branch))
    span = SpanDraft(span_id_for(SOURCE, session_id, "root"), None, "", first, last, attrs)
    span.name = f"{genai.INVOKE_AGENT} {SOURCE}"
    return span


def _subagent_span(session_id: str, sub: _Transcript, task: _ToolCall | None) -> SpanDraft:
    agent_id = sub.agent_id or sub.path.stem.removeprefix("agent-")
    name = "subagent"
    if task is not None and isinstance(task.arguments, dict):
        name = str(task.arguments.get("subagent_type") or name)
    attrs = genai.agent_attributes(
        source=SOURCE,
        agent_name=name,
        conversation_id=session_id,
        provider=PROVIDER,
        agent_id=agent_id,
    )
    parent = (
        _tool_span_id(session_id, task.call_id)
        if task is not None
        else span_id_for(SOURCE, session_id, "root")
    )
    span = SpanDraft(
        span_id_for(SOURCE, session_id, "agent", agent_id),
        parent,
        f"{genai.INVOKE_AGENT} {name}",
        sub.first_ns or 0,
        sub.last_ns or 0,
        attrs,
    )
    return span


def _tool_span_id(session_id: str, call_id: str) -> bytes:
    return span_id_for(SOURCE, session_id, "tool", call_id)


def _usage(raw: dict[str, Any] | None) -> genai.Usage | None:
    if raw is None:
        return None
    cache_read = int_or_zero(raw.get("cache_read_input_tokens"))
    cache_write = int_or_zero(raw.get("cache_creation_input_tokens"))
    # Anthropic's input_tokens excludes cache tokens; GenAI's includes them.
    return genai.Usage(
        input=int_or_zero(raw.get("input_tokens")) + cache_read + cache_write,
        output=int_or_zero(raw.get("output_tokens")),
        cache_read=cache_read,
        cache_write=cache_write,
    )


def _describe_error(error: object) -> tuple[str, str | None]:
    if isinstance(error, dict):
        inner = error.get("error")
        if isinstance(inner, dict):
            return _describe_error(inner)
        kind = error.get("type") or error.get("status") or "api_error"
        message = error.get("message")
        return str(kind), message if isinstance(message, str) else None
    if isinstance(error, str):
        return "api_error", error
    return "api_error", None


def _plain_text(content: object) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            block["text"]
            for block in content
            if isinstance(block, dict) and isinstance(block.get("text"), str)
        ]
        return "\n".join(texts) if texts else None
    return None


def _result_text(content: object) -> Any:
    """Tool result content: strings stay strings; blocks keep their text, images a placeholder."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict) and block.get("type") == "image":
                parts.append(_image_part(block))
            else:
                parts.append(block)
        texts = [p.get("text") for p in parts if isinstance(p, dict) and p.get("type") == "text"]
        if len(texts) == len(parts) and all(isinstance(text, str) for text in texts):
            return "\n".join(str(text) for text in texts)
        return parts
    return content


def _image_part(block: dict[str, Any]) -> dict[str, Any]:
    """Images are kept as a placeholder: base64 payloads would dominate the store."""
    source = block.get("source")
    source = source if isinstance(source, dict) else {}
    data = source.get("data")
    return {
        "type": "blob",
        "modality": "image",
        "mime_type": source.get("media_type"),
        "content": f"[image omitted: {len(data) if isinstance(data, str) else 0} base64 chars]",
    }


def _subagent_session_id(path: Path) -> str | None:
    if path.parent.name == "subagents":
        return path.parent.parent.name
    for _number, data in _peek(path):
        session_id = data.get("sessionId")
        if isinstance(session_id, str):
            return session_id
    return None


def _first_timestamp(path: Path) -> int:
    for _number, data in _peek(path):
        ns = iso_to_ns(data.get("timestamp"))
        if ns is not None:
            return ns
    return 0


def _peek(path: Path, limit: int = 20) -> Iterator[tuple[int, dict[str, Any]]]:
    """The first few parseable lines: enough to find a session id or a start time."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number > limit:
                return
            try:
                data = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if isinstance(data, dict):
                yield number, data
