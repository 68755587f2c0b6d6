"""Carrying trace context to threads, other processes, and across fan-out and fan-in.

asyncio tasks copy ``contextvars`` when created, so ``asyncio.gather``/``create_task`` keep
parentage without help. Threads do not: :class:`ContextThreadPoolExecutor` and
:func:`wrap_context` capture the submitter's context and run the callable inside it. Across
processes, :func:`inject` writes W3C ``traceparent``/``tracestate`` and ``baggage`` (which carries
``agenttrace.run.id``) into a carrier and :func:`extract` reads them back.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterable, MutableMapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import Token
from typing import Any, ParamSpec, TypeVar

from opentelemetry import baggage, propagate, trace
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import Link

from agenttrace import semconv as sc
from agenttrace.sdk._span import RUN_ID_BAGGAGE, SpanHandle, current_frame, span_context_of

__all__ = ["ContextThreadPoolExecutor", "extract", "inject", "link", "wrap_context"]

P = ParamSpec("P")
R = TypeVar("R")


def wrap_context(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` bound to the caller's current context: run it in any thread, it keeps parentage."""
    captured = contextvars.copy_context()

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        # A copy per call: one wrapped callable may run concurrently in several threads.
        return captured.copy().run(fn, *args, **kwargs)

    return run


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` whose tasks run in the context they were submitted from."""

    def submit(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Future[R]:
        return super().submit(wrap_context(fn), *args, **kwargs)


def inject(
    carrier: MutableMapping[str, str] | None = None, context: Context | None = None
) -> MutableMapping[str, str]:
    """Write the current (or given) context into ``carrier`` (new dict if None) and return it.

    Besides ``traceparent``/``tracestate`` the carrier gets ``baggage`` with
    ``agenttrace.run.id``, so the remote side keeps the run id even if it starts a new trace.
    """
    target: MutableMapping[str, str] = {} if carrier is None else carrier
    frame = current_frame(context)
    if frame is not None and frame.run_id is not None:
        context = baggage.set_baggage(RUN_ID_BAGGAGE, frame.run_id, context)
    propagate.inject(target, context=context)
    return target


def extract(carrier: MutableMapping[str, str] | dict[str, Any]) -> Context:
    """The context sent by :func:`inject`; pass it as a parent with ``attach`` or ``use``."""
    return propagate.extract(carrier)


def link(
    target: trace.SpanContext | trace.Span | SpanHandle,
    link_type: str = sc.AgenttraceLinkTypeValues.FOLLOWS_FROM.value,
) -> Link:
    """A span link with ``agenttrace.link.type``, for ``links=`` of the context managers."""
    return Link(span_context_of(target), {sc.AGENTTRACE_LINK_TYPE: link_type})


def links(
    targets: Iterable[trace.SpanContext | trace.Span | SpanHandle],
    link_type: str = sc.AgenttraceLinkTypeValues.FAN_IN.value,
) -> list[Link]:
    """One link per target, e.g. a fan-in span linking every branch it joins."""
    return [link(target, link_type) for target in targets]


def attach(ctx: Context) -> Token[Context]:
    """Make ``ctx`` current (e.g. an extracted parent); undo with :func:`detach`."""
    return otel_context.attach(ctx)


def detach(token: Token[Context]) -> None:
    """Undo :func:`attach`."""
    otel_context.detach(token)
