"""Reading one Claude Code transcript file into responses, tool calls and events.

The reader follows the format's quirks: one API response is split over several lines that
share ``message.id`` (grouped with ``requestId``, usage taken from the last line), tool
results arrive on later lines joined by ``tool_use_id``, compaction writes a boundary line
and then a summary line, and API errors are ``system`` lines attached to the next response.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agenttrace import semconv
from agenttrace.importers import _genai as genai
from agenttrace.importers._io import (
    Line,
    ProblemLog,
    int_or_zero,
    iso_to_ns,
    iter_json_lines,
    str_or_none,
)
from agenttrace.importers._model import EventDraft

SOURCE = "claude-code"
SYNTHETIC_MODEL = "<synthetic>"

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
class Response:
    """One API response, assembled from every line sharing its ``message.id`` + ``requestId``."""

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
class ToolCall:
    """One ``tool_use`` block and, once its line arrives, the matching ``tool_result``."""

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
class Transcript:
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
    responses: dict[str, Response] = field(default_factory=dict)
    tools: dict[str, ToolCall] = field(default_factory=dict)
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


def read_transcript(path: Path, problems: ProblemLog, seen: set[str]) -> Transcript:
    """Read one transcript; lines whose uuid is in ``seen`` are repeats and are skipped."""
    transcript = Transcript(path)
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


def _read_line(t: Transcript, line: Line, uuid: str | None, problems: ProblemLog) -> None:
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
    t: Transcript, line: Line, uuid: str | None, ns: int, problems: ProblemLog
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
        response = Response(
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
    t: Transcript, response: Response, block: dict[str, Any], ns: int, line_number: int
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
            t.tools[call_id] = ToolCall(call_id, name, arguments, ns, line_number, response.key)


def _read_user(t: Transcript, line: Line, ns: int, problems: ProblemLog) -> None:
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


def _read_tool_result(t: Transcript, data: dict[str, Any], block: dict[str, Any], ns: int) -> None:
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


def _read_system(t: Transcript, line: Line, ns: int) -> None:
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


def _read_progress(t: Transcript, data: dict[str, Any]) -> None:
    payload = data.get("data")
    if not isinstance(payload, dict) or payload.get("type") != "agent_progress":
        return
    agent_id, call_id = payload.get("agentId"), data.get("parentToolUseID")
    if isinstance(agent_id, str) and isinstance(call_id, str):
        t.agent_links.setdefault(agent_id, call_id)


def _attach_compact_summary(t: Transcript, summary: str, ns: int, line_number: int) -> None:
    key = genai.COMPACTION_SUMMARY
    for event in reversed(t.events):
        if event.name == semconv.EVENT_COMPACTION and key not in event.attributes:
            event.attributes[key] = summary
            return
    t.events.append(
        genai.compaction_event(ns, strategy="summarize", summary=summary, line=line_number)
    )


def _finish_transcript(t: Transcript) -> None:
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


def live_uuids(t: Transcript) -> set[str]:
    live: set[str] = set()
    cursor = t.leaf_uuid
    while cursor is not None and cursor not in live:
        live.add(cursor)
        cursor = t.parents.get(cursor)
    return live


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
