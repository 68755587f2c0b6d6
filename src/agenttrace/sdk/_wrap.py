"""Running a function, generator or stream inside an agenttrace span.

The context is attached only while agenttrace runs the wrapped code and is detached before
control goes back to the caller (at every ``yield`` of a generator, every chunk of a stream). No
token is ever held across a suspension point, so closing a generator early, breaking out of it or
letting the garbage collector finalise it cannot produce "Failed to detach context".
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, Sequence
from contextvars import Token
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.util.types import AttributeValue

from agenttrace import semconv as sc
from agenttrace.sdk._config import settings
from agenttrace.sdk._errors import internal_error
from agenttrace.sdk._kinds import Kind, span_name
from agenttrace.sdk._span import SpanHandle, start
from agenttrace.sdk._stream import AsyncStreamProxy, StreamProxy, is_async_stream, is_sync_stream

_RECEIVER_NAMES = frozenset({"self", "cls"})
# Parameter names of a model call whose values the convention names, first match wins.
_MODEL_CONTENT_PARAMS = (
    (sc.GEN_AI_INPUT_MESSAGES, ("messages", "input", "prompt", "contents")),
    (sc.GEN_AI_SYSTEM_INSTRUCTIONS, ("system", "system_instructions", "instructions")),
    (sc.GEN_AI_TOOL_DEFINITIONS, ("tools", "functions")),
)


@dataclass(frozen=True, slots=True)
class CallPlan:
    """Everything about a decorated function that can be worked out once, at decoration."""

    kind: Kind
    span_name: str
    operation: str
    attributes: Mapping[str, AttributeValue]
    capture: bool | None
    capture_input: bool | None
    capture_output: bool | None
    positional: Sequence[str]  # positional parameter names, receiver excluded
    skip_receiver: bool
    var_positional: str | None
    model_index: int | None  # position of a ``model`` parameter
    reads_model: bool  # llm without a fixed model: the call's ``model`` argument names it
    # llm: (attribute, parameter, position) for arguments the convention names, such as
    # ``messages`` -> gen_ai.input.messages; when there are any, they replace the argument dict.
    content_params: tuple[tuple[str, str, int | None], ...]


def make_plan(
    fn: Callable[..., Any],
    kind: Kind,
    name: str,
    operation: str,
    attributes: Mapping[str, AttributeValue],
    *,
    capture: bool | None,
    capture_input: bool | None,
    capture_output: bool | None,
) -> CallPlan:
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # callables without a signature
        parameters = []
    skip_receiver = bool(parameters) and parameters[0].name in _RECEIVER_NAMES
    if skip_receiver:
        parameters = parameters[1:]
    positional = [
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    var_positional = next(
        (p.name for p in parameters if p.kind is inspect.Parameter.VAR_POSITIONAL), None
    )
    names = {p.name for p in parameters}
    is_llm = kind is Kind.LLM

    def position(param: str) -> int | None:
        return positional.index(param) if param in positional else None

    content_params: list[tuple[str, str, int | None]] = []
    if is_llm:
        for key, candidates in _MODEL_CONTENT_PARAMS:
            found = next((c for c in candidates if c in names), None)
            if found is not None:
                content_params.append((key, found, position(found)))
    return CallPlan(
        kind=kind,
        span_name=name,
        operation=operation,
        attributes=dict(attributes),
        capture=capture,
        capture_input=capture_input,
        capture_output=capture_output,
        positional=tuple(positional),
        skip_receiver=skip_receiver,
        var_positional=var_positional,
        model_index=position("model"),
        reads_model=is_llm and "model" in names and sc.GEN_AI_REQUEST_MODEL not in attributes,
        content_params=tuple(content_params),
    )


def _argument(
    plan: CallPlan, args: tuple[Any, ...], kwargs: Mapping[str, Any], name: str, index: int | None
) -> Any:
    if name in kwargs:
        return kwargs[name]
    if index is not None:
        position = index + 1 if plan.skip_receiver else index
        if position < len(args):
            return args[position]
    return None


def bound_arguments(
    plan: CallPlan, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """Arguments by parameter name, without ``self``/``cls``; no ``inspect`` at call time."""
    values = args[1:] if plan.skip_receiver else args
    bound: dict[str, Any] = dict(zip(plan.positional, values, strict=False))
    if len(values) > len(plan.positional):
        bound[plan.var_positional or "args"] = list(values[len(plan.positional) :])
    bound.update(kwargs)
    return bound


def open_span(plan: CallPlan, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> SpanHandle:
    """Start the span for one call and capture its input."""
    name = plan.span_name
    attributes = plan.attributes
    model = attributes.get(sc.GEN_AI_REQUEST_MODEL)
    if plan.reads_model:
        found = _argument(plan, args, kwargs, "model", plan.model_index)
        if isinstance(found, str):
            model = found
            name = span_name(plan.operation, found)
            attributes = {**attributes, sc.GEN_AI_REQUEST_MODEL: found}
    capture = settings.capture_content if plan.capture is None else plan.capture
    capture_input = capture if plan.capture_input is None else plan.capture_input
    capture_output = capture if plan.capture_output is None else plan.capture_output
    handle = start(
        plan.kind,
        name,
        attributes,
        capture=capture_input or capture_output,
        request_model=model if isinstance(model, str) else None,
    )
    if not capture_output:
        handle.skip_output_capture()
    if capture_input and handle.capturing:
        if plan.content_params:
            for key, param, index in plan.content_params:
                handle.set_content(key, _argument(plan, args, kwargs, param, index))
        else:
            handle.set_input(bound_arguments(plan, args, kwargs))
    return handle


def close_with_result(handle: SpanHandle, result: Any) -> Any:
    """End the span with the call's return value; a returned model stream keeps it open."""
    if handle.kind is Kind.LLM:
        if is_sync_stream(result):
            return StreamProxy(result, handle)
        if is_async_stream(result):
            return AsyncStreamProxy(result, handle)
        handle.set_response(result)
    else:
        if handle.kind is Kind.MEMORY and isinstance(result, (list, tuple)):
            handle.set_attribute(sc.GEN_AI_MEMORY_RECORD_COUNT, len(result))
        handle.set_output(result)
    handle.end()
    return result


def _error_of(exc: BaseException) -> BaseException | None:
    # GeneratorExit, KeyboardInterrupt, CancelledError... end the span but are not failures.
    return exc if isinstance(exc, Exception) else None


def _open_or_none(
    fn: Callable[..., Any], plan: CallPlan, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> SpanHandle | None:
    """The call's span, or None (the call then runs untraced) if agenttrace failed to start it."""
    try:
        return open_span(plan, args, kwargs)
    except Exception as exc:
        internal_error(exc, f"starting the span of {fn.__qualname__}")
        return None


def _failed(handle: SpanHandle, token: Token[Context], exc: BaseException) -> None:
    otel_context.detach(token)
    handle.end(_error_of(exc))


def _returned(
    fn: Callable[..., Any], handle: SpanHandle, token: Token[Context], result: Any
) -> Any:
    otel_context.detach(token)
    try:
        return close_with_result(handle, result)
    except Exception as exc:
        internal_error(exc, f"ending the span of {fn.__qualname__}")
        return result


def wrap_function(fn: Callable[..., Any], plan: CallPlan) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        handle = _open_or_none(fn, plan, args, kwargs)
        if handle is None:
            return fn(*args, **kwargs)
        token = otel_context.attach(handle.context)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            _failed(handle, token, exc)
            raise
        return _returned(fn, handle, token, result)

    return wrapper


def wrap_coroutine_function(fn: Callable[..., Any], plan: CallPlan) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        handle = _open_or_none(fn, plan, args, kwargs)
        if handle is None:
            return await fn(*args, **kwargs)
        token = otel_context.attach(handle.context)
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            _failed(handle, token, exc)
            raise
        return _returned(fn, handle, token, result)

    return wrapper


def wrap_generator_function(fn: Callable[..., Any], plan: CallPlan) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        handle = _open_or_none(fn, plan, args, kwargs)
        if handle is None:
            return (yield from fn(*args, **kwargs))
        inner = fn(*args, **kwargs)
        to_send: Any = None
        to_throw: BaseException | None = None
        while True:
            token = otel_context.attach(handle.context)
            try:
                if to_throw is None:
                    item = inner.send(to_send)
                else:
                    item, to_throw = inner.throw(to_throw), None
            except StopIteration as stop:
                otel_context.detach(token)
                handle.end()
                return stop.value
            except BaseException as exc:
                _failed(handle, token, exc)
                raise
            otel_context.detach(token)
            handle.record_chunk(item)
            try:
                to_send = yield item
            except GeneratorExit:  # closed early, broken out of, or garbage-collected
                token = otel_context.attach(handle.context)
                try:
                    inner.close()
                finally:
                    otel_context.detach(token)
                    handle.end()
                raise
            except BaseException as exc:  # thrown in by the caller: forward it
                to_throw = exc

    return wrapper


def wrap_async_generator_function(fn: Callable[..., Any], plan: CallPlan) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        handle = _open_or_none(fn, plan, args, kwargs)
        if handle is None:
            async for item in fn(*args, **kwargs):
                yield item
            return
        inner = fn(*args, **kwargs)
        to_send: Any = None
        to_throw: BaseException | None = None
        while True:
            token = otel_context.attach(handle.context)
            try:
                if to_throw is None:
                    item = await inner.asend(to_send)
                else:
                    item, to_throw = await inner.athrow(to_throw), None
            except StopAsyncIteration:
                otel_context.detach(token)
                handle.end()
                return
            except BaseException as exc:
                _failed(handle, token, exc)
                raise
            otel_context.detach(token)
            handle.record_chunk(item)
            try:
                to_send = yield item
            except GeneratorExit:
                token = otel_context.attach(handle.context)
                try:
                    await inner.aclose()
                finally:
                    otel_context.detach(token)
                    handle.end()
                raise
            except BaseException as exc:
                to_throw = exc

    return wrapper


def wrap(fn: Callable[..., Any], plan: CallPlan) -> Callable[..., Any]:
    """The traced version of ``fn``, of the same function shape (sync, async, generators)."""
    if inspect.isasyncgenfunction(fn):
        return wrap_async_generator_function(fn, plan)
    if inspect.isgeneratorfunction(fn):
        return wrap_generator_function(fn, plan)
    if inspect.iscoroutinefunction(fn):
        return wrap_coroutine_function(fn, plan)
    return wrap_function(fn, plan)
