"""The live span behind every decorator, context manager and hook call.

:func:`start` opens a span under an explicit parent context and never attaches it; callers decide
whether and when the returned context becomes current. That is what lets generators re-attach
it per step and hooks interleave spans freely.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import Link, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from agenttrace import semconv as sc
from agenttrace.sdk import pricing
from agenttrace.sdk._aggregate import Aggregate
from agenttrace.sdk._config import settings
from agenttrace.sdk._content import to_bytes, truncate
from agenttrace.sdk._errors import internal_error
from agenttrace.sdk._kinds import SPECS, Kind, KindSpec, span_name
from agenttrace.sdk._response import chunk_text, output_messages, response_fields, text_output
from agenttrace.sdk._tracer import get_tracer
from agenttrace.sdk._usage import Usage, extract_usage, merge_usage
from agenttrace.sdk.messages import genai_messages

RUN_ID_BAGGAGE = sc.AGENTTRACE_RUN_ID
_HANDLE_KEY = otel_context.create_key("agenttrace.span")
_STREAM_ITEM_LIMIT = 1000


class Frame:
    """Per-run state carried in the OTel context: the run id and the nearest accumulator."""

    __slots__ = ("aggregate", "run_id")

    def __init__(self, run_id: str | None, aggregate: Aggregate | None) -> None:
        self.run_id = run_id
        self.aggregate = aggregate


_NO_FRAME = Frame(None, None)  # outside any agent or workflow


def error_type(exc: BaseException) -> str:
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def _usage_attributes(usage: Usage) -> dict[str, int]:
    pairs = (
        (sc.GEN_AI_USAGE_INPUT_TOKENS, usage.input_tokens),
        (sc.GEN_AI_USAGE_OUTPUT_TOKENS, usage.output_tokens),
        (sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, usage.cache_read_tokens),
        (sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS, usage.cache_write_tokens),
        (sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, usage.reasoning_tokens),
    )
    return {key: value for key, value in pairs if value is not None}


class SpanHandle:
    """A started agenttrace span and the setters for what is only known at run time.

    Context managers yield it, decorators use it, and :class:`~agenttrace.AgentHooks` keeps one
    per key. Every setter is safe to call on a non-recording span and never raises into agent
    code.
    """

    # Rarely set state lives in class-level defaults so that starting a span stays cheap.
    _capture_output: bool = True
    _response_model: str | None = None
    _usage: Usage | None = None
    _first_chunk_ns: int | None = None
    _text: list[str] | None = None
    _items: list[Any] | None = None
    _finish_reasons: tuple[str, ...] = ()
    _truncated_keys: list[str] | None = None
    _original_size: int = 0
    _ended: bool = False

    def __init__(
        self,
        span: trace.Span,
        spec: KindSpec,
        context: Context,
        frame: Frame,
        parent_aggregate: Aggregate | None,
        capture: bool,
        request_model: str | None,
        operation: str,
    ) -> None:
        self.span = span
        self.spec = spec
        self.frame = frame
        self.context: Context = context
        self._parent_aggregate = parent_aggregate
        self._capture = capture and span.is_recording()
        self._request_model = request_model
        self._operation = operation

    # -- generic -------------------------------------------------------------------------------
    @property
    def kind(self) -> Kind:
        return self.spec.kind

    @property
    def span_context(self) -> trace.SpanContext:
        return self.span.get_span_context()

    @property
    def capturing(self) -> bool:
        return self._capture

    def set_attribute(self, key: str, value: AttributeValue | None) -> None:
        if value is not None:
            self.span.set_attribute(key, value)

    def set_attributes(self, attributes: Mapping[str, AttributeValue | None]) -> None:
        for key, value in attributes.items():
            if value is not None:
                self.span.set_attribute(key, value)

    def set_name(self, name: str) -> None:
        """Rename the span's subject (agent, tool, model, store, workflow or step)."""
        self.span.set_attribute(self.spec.name_key, name)
        self.span.update_name(span_name(self._operation, name))

    def set_content(self, key: str, value: Any) -> None:
        """Record ``value`` under ``key`` as captured content, truncated to the byte limit."""
        if not self._capture or value is None:
            return
        try:
            if key == sc.GEN_AI_INPUT_MESSAGES:
                value = genai_messages(value)
            data = to_bytes(value)
            text, cut = truncate(data, settings.max_content_bytes)
            if cut:
                if self._truncated_keys is None:
                    self._truncated_keys = []
                self._truncated_keys.append(key)
                self._original_size = max(self._original_size, len(data))
            self.span.set_attribute(key, text)
        except Exception as exc:
            internal_error(exc, f"capturing {key}")

    def set_input(self, value: Any) -> None:
        self.set_content(self.spec.input_key, value)

    def set_output(self, value: Any) -> None:
        if self._capture_output:
            self.set_content(self.spec.output_key, value)

    def skip_output_capture(self) -> None:
        """Capture the input only (a per-decorator ``capture_output=False``)."""
        self._capture_output = False

    def add_link(
        self,
        target: trace.SpanContext | trace.Span | SpanHandle,
        link_type: str = "follows_from",
        attributes: Mapping[str, AttributeValue] | None = None,
    ) -> None:
        """Link this span to another (fan-in, fan-out, handoff, memory record, follows-from)."""
        self.span.add_link(
            span_context_of(target), {sc.AGENTTRACE_LINK_TYPE: link_type, **(attributes or {})}
        )

    def use_memory_records(
        self,
        record_ids: Sequence[str],
        sources: Sequence[trace.SpanContext | trace.Span | SpanHandle] = (),
    ) -> None:
        """On a model span: the memory records it used, and links to the spans that read them."""
        self.span.set_attribute(sc.AGENTTRACE_MEMORY_RECORDS_USED, list(record_ids))
        for source in sources:
            self.add_link(source, sc.AgenttraceLinkTypeValues.MEMORY_RECORD.value)

    def record_error(self, exc: BaseException) -> None:
        """Mark the span failed: status ERROR, ``error.type`` and an exception event."""
        if not self.span.is_recording():
            return
        self.span.set_attribute(sc.ERROR_TYPE, error_type(exc))
        self.span.record_exception(exc)
        self.span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))

    # -- model calls ---------------------------------------------------------------------------
    def set_model(self, model: str) -> None:
        self._request_model = model
        self.set_name(model)

    def set_usage(self, usage: Any) -> None:
        """Token usage as a :class:`Usage` or any OpenAI/Anthropic/LangChain-shaped object."""
        self._usage = merge_usage(self._usage, extract_usage(usage))

    def set_response(self, response: Any, *, capture_output: bool = True) -> None:
        """Usage, response model, id, finish reasons and output messages of a model response."""
        self.set_usage(response)
        model, response_id, reasons = response_fields(response)
        self.set_response_fields(model, response_id, reasons)
        if capture_output and self._capture:
            messages = output_messages(response)
            if messages is None and isinstance(response, str):
                messages = text_output(response, [])
            self.set_output(messages if messages is not None else response)

    def set_response_fields(
        self,
        model: str | None = None,
        response_id: str | None = None,
        finish_reasons: Sequence[str] | None = None,
    ) -> None:
        if model:
            self._response_model = model
            self.span.set_attribute(sc.GEN_AI_RESPONSE_MODEL, model)
        if response_id:
            self.span.set_attribute(sc.GEN_AI_RESPONSE_ID, response_id)
        if finish_reasons:
            self._finish_reasons = (*self._finish_reasons, *finish_reasons)
            self.span.set_attribute(sc.GEN_AI_RESPONSE_FINISH_REASONS, list(self._finish_reasons))

    def record_chunk(self, chunk: Any = None) -> None:
        """One streamed chunk: time to first chunk, accumulated text, usage from the final one."""
        if self._first_chunk_ns is None and self.spec.kind is Kind.LLM:
            self._first_chunk_ns = time.time_ns()
            started = getattr(self.span, "start_time", None)
            if isinstance(started, int):
                self.span.set_attribute(
                    sc.AGENTTRACE_RESPONSE_TIME_TO_FIRST_CHUNK_MS,
                    round((self._first_chunk_ns - started) / 1e6, 3),
                )
        if chunk is None:
            return
        try:
            if self.spec.kind is Kind.LLM:
                usage = extract_usage(chunk)
                if usage is not None:
                    self._usage = merge_usage(self._usage, usage)
                model, response_id, reasons = response_fields(chunk)
                if model or response_id or reasons:
                    self.set_response_fields(model, response_id, reasons)
                text = chunk_text(chunk) if self._capture and self._capture_output else None
                if text:
                    if self._text is None:
                        self._text = []
                    self._text.append(text)
            elif self._capture and self._capture_output:
                if self._items is None:
                    self._items = []
                if len(self._items) < _STREAM_ITEM_LIMIT:
                    self._items.append(chunk)
        except Exception as exc:
            internal_error(exc, "recording a stream chunk")

    # -- end -----------------------------------------------------------------------------------
    def end(self, error: BaseException | None = None, end_time: int | None = None) -> None:
        """End the span once; later calls are ignored."""
        if self._ended:
            return
        self._ended = True
        try:
            if error is not None:
                self.record_error(error)
            self._finish()
        except Exception as exc:
            internal_error(exc, "ending a span")
        finally:
            self.span.end(end_time=end_time)

    @property
    def ended(self) -> bool:
        return self._ended

    def _finish(self) -> None:
        span = self.span
        kind = self.spec.kind
        if self._text is not None:
            self.set_output(text_output("".join(self._text), list(self._finish_reasons)))
        elif self._items is not None:
            self.set_output(self._items)
        if kind is Kind.LLM:
            cost = None
            usage = self._usage
            if usage is not None:
                span.set_attributes(_usage_attributes(usage))
                cost = self._cost(usage)
            if self._parent_aggregate is not None:
                self._parent_aggregate.add_model_call(usage, cost)
        elif kind is Kind.TOOL and self._parent_aggregate is not None:
            self._parent_aggregate.add_tool_call()
        if self.spec.aggregates and self.frame.aggregate is not None:
            span.set_attributes(self.frame.aggregate.close())
        if self._truncated_keys:
            span.set_attributes(
                {
                    sc.AGENTTRACE_CONTENT_TRUNCATED: True,
                    sc.AGENTTRACE_CONTENT_ORIGINAL_SIZE: self._original_size,
                    sc.AGENTTRACE_CONTENT_TRUNCATED_KEYS: self._truncated_keys,
                }
            )

    def _cost(self, usage: Usage) -> float | None:
        if usage.input_tokens is None and usage.output_tokens is None:
            return None
        for model in (self._response_model, self._request_model):
            if not model:
                continue
            cost = pricing.cost_usd(
                model,
                usage.input_tokens or 0,
                usage.output_tokens or 0,
                usage.cache_read_tokens or 0,
                usage.cache_write_tokens or 0,
            )
            if cost is not None:
                self.span.set_attribute(sc.AGENTTRACE_COST_USD, round(cost, 10))
                self.span.set_attribute(sc.AGENTTRACE_COST_PRICE_SOURCE, pricing.price_source())
                return cost
        return None


def span_context_of(target: trace.SpanContext | trace.Span | SpanHandle) -> trace.SpanContext:
    """The span context of a handle, a span, or a span context."""
    if isinstance(target, SpanHandle):
        return target.span_context
    if isinstance(target, trace.Span):
        return target.get_span_context()
    return target


def current_handle(ctx: Context | None = None) -> SpanHandle | None:
    """The innermost agenttrace span in ``ctx`` (default: the current context)."""
    handle = otel_context.get_value(_HANDLE_KEY, ctx)
    return handle if isinstance(handle, SpanHandle) else None


def current_frame(ctx: Context | None = None) -> Frame | None:
    handle = current_handle(ctx)
    return None if handle is None else handle.frame


def start(
    kind: Kind,
    name: str,
    attributes: Mapping[str, AttributeValue],
    *,
    parent: Context | None = None,
    capture: bool | None = None,
    request_model: str | None = None,
    links: Sequence[Link] | None = None,
    tracer: trace.Tracer | None = None,
) -> SpanHandle:
    """Start a span of ``kind`` under ``parent`` (default: the current context), not attached."""
    spec = SPECS[kind]
    if tracer is None:
        tracer = get_tracer()
    parent_ctx = otel_context.get_current() if parent is None else parent
    parent_handle = otel_context.get_value(_HANDLE_KEY, parent_ctx)
    parent_frame = parent_handle.frame if isinstance(parent_handle, SpanHandle) else _NO_FRAME
    parent_aggregate = parent_frame.aggregate
    if spec.aggregates:
        # agenttrace.run.id goes on agent and workflow spans, as the convention lists it.
        run_id = parent_frame.run_id or baggage.get_baggage(RUN_ID_BAGGAGE, parent_ctx)
        if isinstance(run_id, str):
            span = tracer.start_span(
                name,
                parent_ctx,
                spec.span_kind,
                {**attributes, sc.AGENTTRACE_RUN_ID: run_id},
                links,
            )
        else:
            # A new run: its id is its trace id, which a W3C traceparent carries to other
            # processes; agenttrace.inject() also puts it in baggage, for remote sides that
            # start a new trace.
            span = tracer.start_span(name, parent_ctx, spec.span_kind, attributes, links)
            run_id = trace.format_trace_id(span.get_span_context().trace_id)
            span.set_attribute(sc.AGENTTRACE_RUN_ID, run_id)
        frame = Frame(run_id, Aggregate(parent_aggregate))
    else:
        span = tracer.start_span(name, parent_ctx, spec.span_kind, attributes, links)
        frame = parent_frame
    ctx = trace.set_span_in_context(span, parent_ctx)
    handle = SpanHandle(
        span,
        spec,
        ctx,
        frame,
        parent_aggregate,
        settings.capture_content if capture is None else capture,
        request_model,
        str(attributes.get(sc.GEN_AI_OPERATION_NAME, "step")),
    )
    handle.context = otel_context.set_value(_HANDLE_KEY, handle, ctx)
    return handle
