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
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agenttrace import semconv
from agenttrace.importers import _genai as genai
from agenttrace.importers._base import Importer, ImportUnit, finish
from agenttrace.importers._claude_transcript import (
    SOURCE,
    ToolCall,
    Transcript,
    live_uuids,
    read_transcript,
)
from agenttrace.importers._io import ProblemLog, iso_to_ns
from agenttrace.importers._model import SpanDraft, TraceDraft, span_id_for, trace_id_for
from agenttrace.sdk import Usage, extract_usage

PROVIDER = "anthropic"
SUBAGENT_TOOLS = frozenset({"Task", "Agent"})
# A top-level "uuid" member; inside JSON strings quotes are escaped, so content cannot match.
_UUID_FIELD = re.compile(rb'"uuid"\s*:\s*"([^"]+)"')


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
        main = read_transcript(unit.primary, problems, seen) if unit.primary else None
        subs = [
            read_transcript(path, problems, seen) for path in unit.files if path != unit.primary
        ]
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


def _emit(draft: TraceDraft, session_id: str, t: Transcript, agent: SpanDraft) -> None:
    live = live_uuids(t)
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


def _root_span(session_id: str, transcripts: list[Transcript]) -> SpanDraft:
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


def _subagent_span(session_id: str, sub: Transcript, task: ToolCall | None) -> SpanDraft:
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
    # Anthropic's shape: the SDK's extraction adds the cache tokens into GenAI's input count.
    usage = extract_usage(raw) or Usage()
    return genai.Usage(
        input=usage.input_tokens or 0,
        output=usage.output_tokens or 0,
        cache_read=usage.cache_read_tokens or 0,
        cache_write=usage.cache_write_tokens or 0,
        reasoning=usage.reasoning_tokens or 0,
    )


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
