"""Hugging Face STS sessions (a header line, then one OpenAI-style message per line) to traces.

The STS format is what custom harnesses write for the Hugging Face Agent Traces viewer:
``{"type": "session", "harness", "id", "name"?}`` then
``{"type": "message", "message": {role, content, reasoningContent?, toolCalls?, toolCallId?,
timestamp? (epoch ms), model?}}``. Each assistant message is one ``chat`` span (STS has no
usage, so none is invented); each ``toolCalls`` entry is an ``execute_tool`` span closed by the
``tool`` message with its ``toolCallId``. Messages without a timestamp take the previous one
(or the header's, or the file's modification time).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agenttrace import semconv
from agenttrace.importers import _genai as genai
from agenttrace.importers._base import Importer, ImportUnit, finish
from agenttrace.importers._io import (
    ProblemLog,
    any_time_to_ns,
    int_or_zero,
    iter_json_lines,
    str_or_none,
)
from agenttrace.importers._model import SpanDraft, TraceDraft, span_id_for, trace_id_for

SOURCE = "sts"


class StsImporter(Importer):
    source = SOURCE
    patterns = ("*.jsonl",)

    def convert(
        self, unit: ImportUnit, problems: ProblemLog
    ) -> Iterator[ExportTraceServiceRequest]:
        path = unit.files[0]
        lines = iter_json_lines(path, problems)
        header = next(lines, None)
        if header is None:
            return
        if header.data.get("type") != "session":
            problems.add(path, header.number, "not an STS session: the first line is no header")
            return
        harness = str(header.data.get("harness") or SOURCE)
        session_id = str(header.data.get("id") or path.stem)
        header_ns = any_time_to_ns(header.data.get("timestamp"))
        now = header_ns if header_ns is not None else path.stat().st_mtime_ns
        draft = TraceDraft(SOURCE, harness, trace_id_for(SOURCE, session_id))
        attrs = genai.agent_attributes(
            source=SOURCE, agent_name=harness, conversation_id=session_id
        )
        attrs.update(genai.harness_attributes(harness, None, None, None))
        name = str_or_none(header.data.get("name"))
        if name:
            attrs[semconv.GEN_AI_AGENT_DESCRIPTION] = name
        root = SpanDraft(
            span_id_for(SOURCE, session_id, "root"),
            None,
            f"{genai.INVOKE_AGENT} {harness}",
            now,
            now,
            attrs,
        )
        draft.spans.append(root)
        tools: dict[str, SpanDraft] = {}
        inputs: list[dict[str, Any]] = []
        previous = now
        seen_times: list[int] = [] if header_ns is None else [header_ns]
        for line in lines:
            message = line.data.get("message")
            if line.data.get("type") != "message" or not isinstance(message, dict):
                root.events.append(
                    genai.unknown_entry_event(
                        previous,
                        source=SOURCE,
                        entry_type=str(line.data.get("type")),
                        line=line.number,
                        raw=line.raw,
                    )
                )
                continue
            stamped = any_time_to_ns(message.get("timestamp"))
            ns = stamped if stamped is not None else previous
            if stamped is not None:
                seen_times.append(stamped)
            role = str(message.get("role") or "")
            if role == "assistant":
                spans = _assistant(session_id, line.number, message, previous, ns, inputs)
                for span in spans:
                    span.parent_id = root.span_id
                    if span.attributes.get(semconv.GEN_AI_OPERATION_NAME) == genai.EXECUTE_TOOL:
                        tools[str(span.attributes.get(semconv.GEN_AI_TOOL_CALL_ID))] = span
                draft.spans.extend(spans)
                inputs = []
            elif role == "tool":
                tool = tools.get(str(message.get("toolCallId")))
                if tool is not None:
                    tool.extend_to(ns)
                    tool.attributes[semconv.GEN_AI_TOOL_CALL_RESULT] = _text(message.get("content"))
                    if message.get("isError"):
                        genai.mark_tool_error(tool, _text(message.get("content")))
            else:
                inputs.append(genai.text_message(role or "user", _text(message.get("content"))))
            previous = ns
        if seen_times:
            root.start_ns, root.end_ns = min(seen_times), max(seen_times)
        for span in draft.spans:
            root.extend_to(span.start_ns)
            root.extend_to(span.end_ns)
        yield finish(draft)


def _assistant(
    session_id: str,
    line: int,
    message: dict[str, Any],
    start: int,
    end: int,
    inputs: list[dict[str, Any]],
) -> list[SpanDraft]:
    chat = SpanDraft(
        span_id_for(SOURCE, session_id, "chat", str(line)),
        None,
        "",
        min(start, end),
        end,
        {semconv.AGENTTRACE_IMPORT_LINE: line},
    )
    usage = message.get("usage")
    genai.chat_span(
        chat,
        model=str_or_none(message.get("model")),
        provider=str_or_none(message.get("provider")),
        usage=_usage(usage) if isinstance(usage, dict) else None,
    )
    genai.set_messages(chat, semconv.GEN_AI_INPUT_MESSAGES, inputs)
    parts: list[dict[str, Any]] = []
    if message.get("reasoningContent"):
        parts.append({"type": "reasoning", "content": _text(message["reasoningContent"])})
    if message.get("content"):
        parts.append({"type": "text", "content": _text(message["content"])})
    spans = [chat]
    calls = message.get("toolCalls")
    for index, call in enumerate(calls if isinstance(calls, list) else []):
        if not isinstance(call, dict):
            continue
        nested = call.get("function")
        function: dict[str, Any] = nested if isinstance(nested, dict) else call
        call_id = str(call.get("id") or f"{line}-{index}")
        name = str(function.get("name") or "")
        arguments = function.get("arguments")
        parts.append({"type": "tool_call", "id": call_id, "name": name, "arguments": arguments})
        tool = SpanDraft(
            span_id_for(SOURCE, session_id, "tool", call_id),
            None,
            "",
            end,
            end,
            {semconv.AGENTTRACE_IMPORT_LINE: line},
        )
        spans.append(genai.tool_span(tool, name=name, call_id=call_id, arguments=arguments))
    if parts:
        genai.set_messages(
            chat, semconv.GEN_AI_OUTPUT_MESSAGES, [{"role": "assistant", "parts": parts}]
        )
    return spans


def _usage(raw: dict[str, Any]) -> genai.Usage:
    """Optional usage in OpenAI shape; ``prompt_tokens`` already include cached tokens."""
    details = raw.get("prompt_tokens_details")
    cached = int_or_zero(details.get("cached_tokens")) if isinstance(details, dict) else 0
    return genai.Usage(
        input=int_or_zero(raw.get("prompt_tokens") or raw.get("input_tokens")),
        output=int_or_zero(raw.get("completion_tokens") or raw.get("output_tokens")),
        cache_read=cached,
    )


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text"))
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return "" if content is None else genai.dumps(content)
