"""Framework-neutral middleware hooks: the same spans the decorators make, driven by events.

A framework callback handler or a home-grown harness loop calls ``*_start``/``*_end`` pairs with
a key of its choosing (a LangChain ``run_id``, a tool call id, a counter...). Spans are never made
current on the ambient context, because frameworks interleave runs on one thread; parentage comes
from ``parent_key`` or, without one, from the ambient OTel context at start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, ParamSpec

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.util.types import AttributeValue

from agenttrace import semconv as sc
from agenttrace.sdk._errors import guarded
from agenttrace.sdk._events import (
    approval_event,
    compaction_event,
    handoff_event,
    retry_event,
)
from agenttrace.sdk._kinds import Kind, span_attributes
from agenttrace.sdk._span import SpanHandle, error_type, start
from agenttrace.sdk._tracer import SCOPE_NAME, SDK_VERSION
from agenttrace.sdk._usage import Usage
from agenttrace.semconv.mappings import MAPPINGS

__all__ = ["AgentHooks"]

P = ParamSpec("P")

# Provider request parameter names recognised in ``request_params`` -> gen_ai.request.*; the
# same table the collector maps OpenInference's invocation parameters with.
_REQUEST_PARAMS: dict[str, str] = MAPPINGS["*"]["request_parameters"]


def _guarded(method: Callable[P, None]) -> Callable[P, None]:
    """Hooks run inside agent code: an internal failure must never propagate."""
    return guarded(f"AgentHooks.{method.__name__}")(method)


def _request_attributes(params: Mapping[str, Any]) -> dict[str, AttributeValue]:
    """``gen_ai.request.*`` attributes for the request parameters the convention names."""
    attributes: dict[str, AttributeValue] = {}
    for param, value in params.items():
        key = _REQUEST_PARAMS.get(param)
        if key is None or value is None or isinstance(value, bool):
            continue
        if isinstance(value, (str, int, float)):
            attributes[key] = [value] if key.endswith("stop_sequences") else value
        elif isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
            attributes[key] = list(value)
    return attributes


class AgentHooks:
    """Start and end agenttrace spans from framework events.

    ``tracer_provider`` defaults to the provider agenttrace uses (the global one unless
    :func:`agenttrace.init` or :mod:`agenttrace.testing` installed another);
    ``capture_content`` defaults to the global content switch.
    """

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        *,
        capture_content: bool | None = None,
    ) -> None:
        self._tracer = (
            None
            if tracer_provider is None
            else tracer_provider.get_tracer(SCOPE_NAME, SDK_VERSION, schema_url=sc.SCHEMA_URL)
        )
        self._capture = capture_content
        self._handles: dict[Hashable, SpanHandle] = {}
        self._lock = threading.Lock()

    # -- plumbing ------------------------------------------------------------------------------
    def _parent(self, parent_key: Hashable | None) -> Context | None:
        if parent_key is None:
            return None
        handle = self._handles.get(parent_key)
        return None if handle is None else handle.context

    def _open(
        self,
        kind: Kind,
        name: str | None,
        parent_key: Hashable | None,
        extra: Mapping[str, AttributeValue | None],
        attributes: Mapping[str, AttributeValue] | None,
        *,
        operation: str | None = None,
        request_model: str | None = None,
    ) -> SpanHandle:
        span_name, merged = span_attributes(kind, name, extra, attributes, operation=operation)
        return start(
            kind,
            span_name,
            merged,
            parent=self._parent(parent_key),
            capture=self._capture,
            request_model=request_model,
            tracer=self._tracer,
        )

    def _start(
        self,
        key: Hashable,
        kind: Kind,
        name: str | None,
        parent_key: Hashable | None,
        extra: Mapping[str, AttributeValue | None],
        attributes: Mapping[str, AttributeValue] | None,
        *,
        operation: str | None = None,
        request_model: str | None = None,
    ) -> SpanHandle:
        """Open a span and keep it under ``key`` until its ``*_end`` hook."""
        handle = self._open(
            kind,
            name,
            parent_key,
            extra,
            attributes,
            operation=operation,
            request_model=request_model,
        )
        with self._lock:
            previous = self._handles.get(key)
            self._handles[key] = handle
        if previous is not None:  # a reused key: close the stale span rather than leak it
            previous.end()
        return handle

    def _pop(self, key: Hashable) -> SpanHandle | None:
        with self._lock:
            return self._handles.pop(key, None)

    def _target(self, key: Hashable | None) -> trace.Span:
        handle = None if key is None else self._handles.get(key)
        return handle.span if handle is not None else trace.get_current_span()

    def handle(self, key: Hashable) -> SpanHandle | None:
        """The live span handle for ``key``, for setters the hooks do not cover."""
        return self._handles.get(key)

    def span_context(self, key: Hashable) -> trace.SpanContext | None:
        """The span context of a started, not yet ended key, e.g. to inject into a request."""
        handle = self._handles.get(key)
        return None if handle is None else handle.span_context

    def context(self, key: Hashable) -> Context | None:
        """The OTel context with ``key``'s span current, to run foreign instrumentation under."""
        handle = self._handles.get(key)
        return None if handle is None else handle.context

    def _finish(
        self,
        key: Hashable,
        output: Any,
        error: BaseException | None,
        attributes: Mapping[str, AttributeValue | None] | None = None,
    ) -> None:
        handle = self._pop(key)
        if handle is None:
            return
        if attributes:
            handle.set_attributes(attributes)
        if output is not None:
            handle.set_output(output)
        handle.end(error)

    # -- agents and workflows ------------------------------------------------------------------
    @_guarded
    def agent_start(
        self,
        key: Hashable,
        *,
        name: str,
        parent_key: Hashable | None = None,
        agent_id: str | None = None,
        description: str | None = None,
        conversation_id: str | None = None,
        input: Any = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        handle = self._start(
            key,
            Kind.AGENT,
            name,
            parent_key,
            {
                sc.GEN_AI_AGENT_ID: agent_id,
                sc.GEN_AI_AGENT_DESCRIPTION: description,
                sc.GEN_AI_CONVERSATION_ID: conversation_id,
            },
            attributes,
        )
        handle.set_input(input)

    @_guarded
    def agent_end(
        self,
        key: Hashable,
        *,
        output: Any = None,
        error: BaseException | None = None,
        outcome: str | None = None,
    ) -> None:
        self._finish(key, output, error, {sc.AGENTTRACE_RUN_OUTCOME: outcome})

    @_guarded
    def workflow_start(
        self,
        key: Hashable,
        *,
        name: str,
        parent_key: Hashable | None = None,
        input: Any = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        self._start(key, Kind.WORKFLOW, name, parent_key, {}, attributes).set_input(input)

    @_guarded
    def workflow_end(
        self,
        key: Hashable,
        *,
        output: Any = None,
        error: BaseException | None = None,
        outcome: str | None = None,
    ) -> None:
        self._finish(key, output, error, {sc.AGENTTRACE_RUN_OUTCOME: outcome})

    @_guarded
    def step_start(
        self,
        key: Hashable,
        *,
        name: str,
        parent_key: Hashable | None = None,
        index: int | None = None,
        input: Any = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        self._start(
            key, Kind.STEP, name, parent_key, {sc.AGENTTRACE_STEP_INDEX: index}, attributes
        ).set_input(input)

    @_guarded
    def step_end(
        self, key: Hashable, *, output: Any = None, error: BaseException | None = None
    ) -> None:
        self._finish(key, output, error)

    # -- model calls ---------------------------------------------------------------------------
    @_guarded
    def model_start(
        self,
        key: Hashable,
        *,
        model: str,
        parent_key: Hashable | None = None,
        provider: str | None = None,
        operation: str = "chat",
        input_messages: Any = None,
        system_instructions: Any = None,
        tool_definitions: Any = None,
        request_params: Mapping[str, Any] | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        extra: dict[str, AttributeValue | None] = {
            sc.GEN_AI_PROVIDER_NAME: provider,
            **_request_attributes(request_params or {}),
        }
        handle = self._start(
            key,
            Kind.LLM,
            model,
            parent_key,
            extra,
            attributes,
            operation=operation,
            request_model=model,
        )
        handle.set_content(sc.GEN_AI_INPUT_MESSAGES, input_messages)
        handle.set_content(sc.GEN_AI_SYSTEM_INSTRUCTIONS, system_instructions)
        handle.set_content(sc.GEN_AI_TOOL_DEFINITIONS, tool_definitions)

    @_guarded
    def model_chunk(self, key: Hashable, chunk: Any = None) -> None:
        handle = self._handles.get(key)
        if handle is not None:
            handle.record_chunk(chunk)

    @_guarded
    def model_end(
        self,
        key: Hashable,
        *,
        output_messages: Any = None,
        usage: Usage | Mapping[str, Any] | Any = None,
        response_model: str | None = None,
        response_id: str | None = None,
        finish_reasons: Sequence[str] | None = None,
        tool_calls: Any = None,
        error: BaseException | None = None,
    ) -> None:
        handle = self._pop(key)
        if handle is None:
            return
        if usage is not None:
            handle.set_usage(usage)
        handle.set_response_fields(response_model, response_id, finish_reasons)
        if output_messages is not None:
            handle.set_output(output_messages)
        elif tool_calls is not None:
            handle.set_output([{"role": "assistant", "parts": tool_calls}])
        handle.end(error)

    # -- tools ---------------------------------------------------------------------------------
    @_guarded
    def tool_start(
        self,
        key: Hashable,
        *,
        name: str,
        parent_key: Hashable | None = None,
        call_id: str | None = None,
        arguments: Any = None,
        tool_type: str | None = None,
        description: str | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        handle = self._start(
            key,
            Kind.TOOL,
            name,
            parent_key,
            {
                sc.GEN_AI_TOOL_CALL_ID: call_id,
                sc.GEN_AI_TOOL_TYPE: tool_type,
                sc.GEN_AI_TOOL_DESCRIPTION: description,
            },
            attributes,
        )
        handle.set_input(arguments)

    @_guarded
    def tool_end(
        self, key: Hashable, *, result: Any = None, error: BaseException | None = None
    ) -> None:
        self._finish(key, result, error)

    # -- one-shot events -----------------------------------------------------------------------
    @_guarded
    def memory(
        self,
        *,
        operation: str,
        store_id: str | None = None,
        keys: Sequence[str] | None = None,
        records: Any = None,
        query: Any = None,
        record_count: int | None = None,
        parent_key: Hashable | None = None,
        error: BaseException | None = None,
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        """One complete memory span (read, write, search or delete)."""
        if record_count is None and isinstance(records, Sequence) and not isinstance(records, str):
            record_count = len(records)
        extra: dict[str, AttributeValue | None] = {
            sc.AGENTTRACE_MEMORY_KEYS: list(keys) if keys else None,
            sc.GEN_AI_MEMORY_RECORD_COUNT: record_count,
        }
        handle = self._open(
            Kind.MEMORY, store_id, parent_key, extra, attributes, operation=operation
        )
        handle.set_input(query)
        handle.set_output(records)
        handle.end(error)

    @_guarded
    def handoff(
        self,
        *,
        sender: str,
        receiver: str,
        reason: str | None = None,
        message_id: str | None = None,
        parent_key: Hashable | None = None,
        sender_id: str | None = None,
        receiver_id: str | None = None,
    ) -> None:
        """An ``agenttrace.handoff`` event (also used for inter-agent messages)."""
        handoff_event(
            self._target(parent_key),
            sender=sender,
            receiver=receiver,
            reason=reason,
            message_id=message_id,
            sender_id=sender_id,
            receiver_id=receiver_id,
        )

    @_guarded
    def approval(
        self,
        *,
        action: str,
        decision: str,
        approver: str | None = None,
        wait_ms: float | None = None,
        parent_key: Hashable | None = None,
    ) -> None:
        approval_event(
            self._target(parent_key),
            action=action,
            decision=decision,
            approver=approver,
            wait_ms=wait_ms,
        )

    @_guarded
    def compaction(
        self,
        *,
        strategy: str,
        tokens_before: int | None = None,
        tokens_after: int | None = None,
        summarizer_model: str | None = None,
        messages_dropped: int | None = None,
        trigger: str | None = None,
        parent_key: Hashable | None = None,
    ) -> None:
        compaction_event(
            self._target(parent_key),
            strategy=strategy,
            trigger=trigger,
            tokens_before=tokens_before,
            tokens_after=tokens_after,
            summarizer_model=summarizer_model,
            messages_dropped=messages_dropped,
        )

    @_guarded
    def retry(
        self,
        key_or_parent: Hashable | None,
        *,
        attempt: int,
        reason: str | None = None,
        error: BaseException | None = None,
    ) -> None:
        """Attempt ``attempt`` of the span under ``key_or_parent`` (or the current span)."""
        retry_event(self._target(key_or_parent), attempt=attempt, reason=reason, error=error)

    @_guarded
    def error(self, key: Hashable, error: BaseException) -> None:
        """Record an error on a span that stays open (the framework may still recover)."""
        span = self._target(key)
        span.record_exception(error, {sc.ERROR_TYPE: error_type(error)})

    @_guarded
    def end_all(self, error: BaseException | None = None) -> None:
        """End every span still open, e.g. when a harness is torn down mid-run."""
        with self._lock:
            handles = list(self._handles.values())
            self._handles.clear()
        for handle in reversed(handles):
            handle.end(error)
