"""OpenAI Agents SDK: a ``TracingProcessor`` that turns its traces into agenttrace spans.

::

    from agenttrace.integrations import openai_agents

    openai_agents.install()                 # alongside OpenAI's own exporter
    openai_agents.install(exclusive=True)   # instead of it: nothing is sent to OpenAI

It needs no OpenAI API key and works with any model (``OpenAIChatCompletionsModel`` pointed at
another provider, LiteLLM, a custom ``Model``): it reads the SDK's span data, not the network.

Mapping: a trace becomes ``invoke_workflow {workflow name}`` (its ``group_id`` is the
``gen_ai.conversation.id``); ``agent`` spans ``invoke_agent {name}``; ``generation`` and
``response`` spans ``chat {model}`` with messages and usage; ``function`` spans
``execute_tool {name}``; ``handoff`` spans ``handoff {receiver}`` with the sender and receiver
(plus an ``agenttrace.handoff`` event on the sending agent and a ``handoff`` link on the receiving
agent's span); ``guardrail`` spans ``guardrail {name}``; ``custom``, ``task``, ``turn`` and MCP
tool-listing spans become steps. Parentage follows the SDK's ``parent_id``.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from contextvars import Token
from typing import Any

from agents.tracing import (
    AgentSpanData,
    CustomSpanData,
    FunctionSpanData,
    GenerationSpanData,
    GuardrailSpanData,
    HandoffSpanData,
    MCPListToolsSpanData,
    ResponseSpanData,
    Span,
    TaskSpanData,
    Trace,
    TracingProcessor,
    TurnSpanData,
    add_trace_processor,
    set_trace_processors,
)
from opentelemetry.trace import SpanContext, TracerProvider

from agenttrace import semconv as sc
from agenttrace.integrations._client import claim_model_call, release_model_call
from agenttrace.integrations.openai import finish_reason
from agenttrace.sdk import extract_usage, internal_error
from agenttrace.sdk.hooks import AgentHooks
from agenttrace.sdk.messages import (
    get,
    openai_chat_messages,
    parse_json,
    responses_items,
    responses_output,
    text_part,
)

__all__ = ["AgentSpanError", "AgentTraceProcessor", "install", "uninstall"]

GUARDRAIL_TRIGGERED = "agenttrace.guardrail.triggered"
_OPERATION = sc.AGENTTRACE_OPERATION_NAME


class AgentSpanError(Exception):
    """An error the Agents SDK recorded on one of its spans (``span.error``)."""


def _span_error(span: Span[Any]) -> AgentSpanError | None:
    error = span.error
    if not error:
        return None
    return AgentSpanError(str(error.get("message") or "error"))


def _provider(base_url: Any) -> str | None:
    host = str(base_url or "")
    for needle, provider in (("openai.com", "openai"), ("anthropic.com", "anthropic")):
        if needle in host:
            return provider
    return None


def _generation_messages(items: Any) -> list[dict[str, Any]]:
    """Generation input/output: Chat Completions messages, or dumped Responses objects."""
    messages: list[dict[str, Any]] = []
    for item in items or ():
        if get(item, "object") == "response":
            messages.extend(responses_output(item, finish_reason(item)))
        else:
            messages.extend(openai_chat_messages([item]))
    return messages


class AgentTraceProcessor(TracingProcessor):
    """Receives every Agents SDK trace and span and mirrors it through :class:`AgentHooks`."""

    def __init__(
        self, tracer_provider: TracerProvider | None = None, *, capture_content: bool | None = None
    ) -> None:
        self.hooks = AgentHooks(tracer_provider, capture_content=capture_content)
        self.enabled = True
        self.registered = False
        # The last handoff of each trace, so the receiving agent's span can link back to it.
        self._handoffs: dict[str, tuple[str, SpanContext]] = {}
        # Open agent spans by trace and agent name: the handoff event goes on the sender's.
        self._agents: dict[tuple[str, str], Hashable] = {}
        self._claims: dict[Hashable, Token[bool]] = {}
        self._lock = threading.Lock()

    # -- keys ---------------------------------------------------------------------------------
    @staticmethod
    def _key(span: Span[Any]) -> Hashable:
        return ("span", span.span_id)

    @staticmethod
    def _parent(span: Span[Any]) -> Hashable:
        if span.parent_id:
            return ("span", span.parent_id)
        return ("trace", span.trace_id)

    # -- traces -------------------------------------------------------------------------------
    def on_trace_start(self, trace: Trace) -> None:
        if not self.enabled:
            return
        try:
            exported = trace.export() or {}
            group_id = exported.get("group_id")
            self.hooks.workflow_start(
                ("trace", trace.trace_id),
                name=trace.name,
                attributes={sc.GEN_AI_CONVERSATION_ID: group_id} if group_id else None,
            )
        except Exception as exc:
            internal_error(exc, "OpenAI Agents trace start")

    def on_trace_end(self, trace: Trace) -> None:
        try:
            with self._lock:
                self._handoffs.pop(trace.trace_id, None)
                for agent in [k for k in self._agents if k[0] == trace.trace_id]:
                    del self._agents[agent]
            self.hooks.workflow_end(("trace", trace.trace_id))
        except Exception as exc:
            internal_error(exc, "OpenAI Agents trace end")

    # -- spans --------------------------------------------------------------------------------
    def on_span_start(self, span: Span[Any]) -> None:
        if not self.enabled:
            return
        try:
            self._start(span)
        except Exception as exc:
            internal_error(exc, "OpenAI Agents span start")

    def on_span_end(self, span: Span[Any]) -> None:
        try:
            self._end(span)
        except Exception as exc:
            internal_error(exc, "OpenAI Agents span end")

    def _step(self, span: Span[Any], name: str, operation: str, **extra: Any) -> None:
        self.hooks.step_start(
            self._key(span),
            name=name,
            parent_key=self._parent(span),
            attributes={_OPERATION: operation, **extra},
        )

    def _start(self, span: Span[Any]) -> None:
        data = span.span_data
        key, parent = self._key(span), self._parent(span)
        if isinstance(data, AgentSpanData):
            self.hooks.agent_start(key, name=data.name, parent_key=parent)
            with self._lock:
                self._agents[(span.trace_id, data.name)] = key
            self._link_handoff(span, data.name)
        elif isinstance(data, GenerationSpanData):
            self._claim(key)
            config = dict(data.model_config or {})
            self.hooks.model_start(
                key,
                model=data.model or "unknown",
                parent_key=parent,
                provider=_provider(config.get("base_url")),
                request_params=config,
            )
        elif isinstance(data, ResponseSpanData):
            # The model is only known from the response; set_model renames the span at the end.
            self._claim(key)
            self.hooks.model_start(key, model="unknown", parent_key=parent, provider="openai")
        elif isinstance(data, FunctionSpanData):
            tool_type = "extension" if data.mcp_data else "function"  # MCP tools run remotely
            self.hooks.tool_start(key, name=data.name, parent_key=parent, tool_type=tool_type)
        elif isinstance(data, HandoffSpanData):
            self._step(span, "handoff", "handoff")
        elif isinstance(data, GuardrailSpanData):
            self._step(span, data.name, "guardrail")
        elif isinstance(data, TurnSpanData):
            self._step(span, "turn", "step", **{sc.AGENTTRACE_TURN_INDEX: data.turn})
        elif isinstance(data, (TaskSpanData, CustomSpanData)):
            self._step(span, data.name, "custom")
        elif isinstance(data, MCPListToolsSpanData):
            self._step(span, f"mcp_list_tools {data.server or ''}".strip(), "custom")
        else:
            self._step(span, str(data.type), "custom")

    def _claim(self, key: Hashable) -> None:
        """The OpenAI client instrumentation must not record this model call a second time."""
        with self._lock:
            self._claims[key] = claim_model_call()

    def _end(self, span: Span[Any]) -> None:
        data = span.span_data
        key = self._key(span)
        with self._lock:
            claim = self._claims.pop(key, None)
        if claim is not None:
            release_model_call(claim)
        error = _span_error(span)
        handle = self.hooks.handle(key)
        if handle is None:
            return
        if isinstance(data, AgentSpanData):
            with self._lock:
                self._agents.pop((span.trace_id, data.name), None)
            self.hooks.agent_end(key, error=error)
        elif isinstance(data, GenerationSpanData):
            handle.set_content(sc.GEN_AI_INPUT_MESSAGES, _generation_messages(data.input))
            self.hooks.model_end(
                key,
                output_messages=_generation_messages(data.output) or None,
                usage=extract_usage(data.usage),
                error=error,
            )
        elif isinstance(data, ResponseSpanData):
            self._end_response(key, data, error)
        elif isinstance(data, FunctionSpanData):
            handle.set_input(parse_json(data.input))
            self.hooks.tool_end(key, result=data.output, error=error)
        elif isinstance(data, HandoffSpanData):
            self._end_handoff(span, data, error)
        elif isinstance(data, GuardrailSpanData):
            handle.set_attribute(GUARDRAIL_TRIGGERED, data.triggered)
            self.hooks.step_end(key, error=error)
        elif isinstance(data, (TaskSpanData, TurnSpanData)):
            self.hooks.step_end(key, output=data.usage, error=error)
        elif isinstance(data, CustomSpanData):
            self.hooks.step_end(key, output=data.data, error=error)
        else:
            self.hooks.step_end(key, output=data.export(), error=error)

    def _end_response(self, key: Hashable, data: ResponseSpanData, error: Exception | None) -> None:
        handle = self.hooks.handle(key)
        response = data.response
        if handle is None:
            return
        handle.set_content(sc.GEN_AI_INPUT_MESSAGES, responses_items(data.input))
        if response is None:
            self.hooks.model_end(key, usage=extract_usage(data.usage), error=error)
            return
        handle.set_model(response.model)
        if isinstance(response.instructions, str):
            handle.set_content(sc.GEN_AI_SYSTEM_INSTRUCTIONS, [text_part(response.instructions)])
        reason = finish_reason(response)
        self.hooks.model_end(
            key,
            output_messages=responses_output(response, reason),
            usage=extract_usage(response.usage) or extract_usage(data.usage),
            response_model=response.model,
            response_id=response.id,
            finish_reasons=[reason],
            error=error,
        )

    # -- handoffs -----------------------------------------------------------------------------
    def _end_handoff(self, span: Span[Any], data: HandoffSpanData, error: Exception | None) -> None:
        key = self._key(span)
        handle = self.hooks.handle(key)
        if handle is None:
            return
        sender, receiver = data.from_agent or "unknown", data.to_agent or "unknown"
        handle.set_attributes(
            {sc.AGENTTRACE_SENDER_AGENT_NAME: sender, sc.AGENTTRACE_RECEIVER_AGENT_NAME: receiver}
        )
        handle.span.update_name(f"handoff {receiver}")
        with self._lock:
            sender_key = self._agents.get((span.trace_id, sender), self._parent(span))
            self._handoffs[span.trace_id] = (receiver, handle.span_context)
        self.hooks.handoff(sender=sender, receiver=receiver, parent_key=sender_key)
        self.hooks.step_end(key, error=error)

    def _link_handoff(self, span: Span[Any], agent_name: str) -> None:
        with self._lock:
            pending = self._handoffs.get(span.trace_id)
            if pending is None or pending[0] != agent_name:
                return
            del self._handoffs[span.trace_id]
        handle = self.hooks.handle(self._key(span))
        if handle is not None:
            handle.add_link(pending[1], "handoff")

    # -- lifecycle ----------------------------------------------------------------------------
    def shutdown(self) -> None:
        self.hooks.end_all()

    def force_flush(self) -> None:
        """Spans are handed to OpenTelemetry as they end; its processors do the flushing."""


_installed: list[AgentTraceProcessor] = []
_install_lock = threading.Lock()


def install(
    *,
    tracer_provider: TracerProvider | None = None,
    capture_content: bool | None = None,
    exclusive: bool = False,
) -> AgentTraceProcessor:
    """Register the processor (once: later calls re-enable the first one and return it, keeping
    its settings).

    ``exclusive=True`` replaces the SDK's processors, OpenAI's backend exporter included, so no
    trace leaves the process except through OpenTelemetry.
    """
    with _install_lock:
        if _installed:
            processor = _installed[0]
            processor.enabled = True
        else:
            processor = AgentTraceProcessor(tracer_provider, capture_content=capture_content)
            _installed.append(processor)
        if exclusive:
            set_trace_processors([processor])
        elif not processor.registered:
            add_trace_processor(processor)
        processor.registered = True
    return processor


def uninstall() -> None:
    """Stop recording; the SDK offers no way to remove a processor, so it is muted instead."""
    with _install_lock:
        for processor in _installed:
            processor.enabled = False
