"""``@agent``, ``@tool``, ``@llm``, ``@memory``, ``@workflow`` and ``@step``.

Each works bare or with arguments, on sync and async functions, sync and async generators,
methods, classmethods and staticmethods; the wrapper keeps the signature (``functools.wraps``
for ``inspect``, ``ParamSpec`` for type checkers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar, overload

from opentelemetry.util.types import AttributeValue

from agenttrace import semconv as sc
from agenttrace.sdk._kinds import Kind, span_attributes
from agenttrace.sdk._wrap import make_plan, wrap

__all__ = ["agent", "llm", "memory", "step", "tool", "workflow"]

P = ParamSpec("P")
R = TypeVar("R")
Attributes = Mapping[str, AttributeValue]


def _decorator(
    fn: Any,
    kind: Kind,
    name: str | None,
    *,
    operation: str | None = None,
    extra: Mapping[str, AttributeValue | None] | None = None,
    attributes: Attributes | None,
    capture: bool | None,
    capture_input: bool | None,
    capture_output: bool | None,
    default_name: bool = True,
) -> Any:
    """The shared body of every decorator: ``fn`` decorated now (bare use), or the decorator."""

    def decorate(target: Any) -> Any:
        if isinstance(target, (classmethod, staticmethod)):
            return type(target)(decorate(target.__func__))
        if not callable(target):
            raise TypeError(f"@agenttrace.{kind.value} decorates a callable, got {target!r}")
        span_name = name
        if span_name is None and default_name:
            span_name = getattr(target, "__name__", None) or kind.value
        full_name, merged = span_attributes(kind, span_name, extra, attributes, operation=operation)
        plan = make_plan(
            target,
            kind,
            full_name,
            str(merged.get(sc.GEN_AI_OPERATION_NAME, "step")),
            merged,
            capture=capture,
            capture_input=capture_input,
            capture_output=capture_output,
        )
        return wrap(target, plan)

    return decorate if fn is None else decorate(fn)


@overload
def agent(fn: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def agent(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    agent_id: str | None = None,
    description: str | None = None,
    attributes: Attributes | None = None,
    capture: bool | None = None,
    capture_input: bool | None = None,
    capture_output: bool | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...
def agent(
    fn: Any = None,
    /,
    *,
    name: str | None = None,
    agent_id: str | None = None,
    description: str | None = None,
    attributes: Attributes | None = None,
    capture: bool | None = None,
    capture_input: bool | None = None,
    capture_output: bool | None = None,
) -> Any:
    """Trace calls as ``invoke_agent {name}`` spans, with usage and cost aggregated."""
    return _decorator(
        fn,
        Kind.AGENT,
        name,
        extra={sc.GEN_AI_AGENT_ID: agent_id, sc.GEN_AI_AGENT_DESCRIPTION: description},
        attributes=attributes,
        capture=capture,
        capture_input=capture_input,
        capture_output=capture_output,
    )


@overload
def workflow(fn: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def workflow(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    attributes: Attributes | None = None,
    capture: bool | None = None,
    capture_input: bool | None = None,
    capture_output: bool | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...
def workflow(
    fn: Any = None,
    /,
    *,
    name: str | None = None,
    attributes: Attributes | None = None,
    capture: bool | None = None,
    capture_input: bool | None = None,
    capture_output: bool | None = None,
) -> Any:
    """Trace calls as ``invoke_workflow {name}`` spans, with usage and cost aggregated."""
    return _decorator(
        fn,
        Kind.WORKFLOW,
        name,
        attributes=attributes,
        capture=capture,
        capture_input=capture_input,
        capture_output=capture_output,
    )


@overload
def step(fn: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def step(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    attributes: Attributes | None = None,
    capture: bool | None = None,
    capture_input: bool | None = None,
    capture_output: bool | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...
def step(
    fn: Any = None,
    /,
    *,
    name: str | None = None,
    attributes: Attributes | None = None,
    capture: bool | None = None,
    capture_input: bool | None = None,
    capture_output: bool | None = None,
) -> Any:
    """Trace calls as ``step {name}`` spans (one step of a harness loop)."""
    return _decorator(
        fn,
        Kind.STEP,
        name,
        attributes=attributes,
        capture=capture,
        capture_input=capture_input,
        capture_output=capture_output,
    )


@overload
def tool(fn: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def tool(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    tool_type: str | None = None,
    attributes: Attributes | None = None,
    capture: bool | None = None,
    capture_input: bool | None = None,
    capture_output: bool | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...
def tool(
    fn: Any = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    tool_type: str | None = None,
    attributes: Attributes | None = None,
    capture: bool | None = None,
    capture_input: bool | None = None,
    capture_output: bool | None = None,
) -> Any:
    """Trace calls as ``execute_tool {name}`` spans; arguments and result are captured."""
    return _decorator(
        fn,
        Kind.TOOL,
        name,
        extra={sc.GEN_AI_TOOL_TYPE: tool_type, sc.GEN_AI_TOOL_DESCRIPTION: description},
        attributes=attributes,
        capture=capture,
        capture_input=capture_input,
        capture_output=capture_output,
    )


@overload
def llm(fn: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def llm(
    fn: None = None,
    /,
    *,
    model: str | None = None,
    provider: str | None = None,
    operation: str = "chat",
    attributes: Attributes | None = None,
    capture: bool | None = None,
    capture_input: bool | None = None,
    capture_output: bool | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...
def llm(
    fn: Any = None,
    /,
    *,
    model: str | None = None,
    provider: str | None = None,
    operation: str = "chat",
    attributes: Attributes | None = None,
    capture: bool | None = None,
    capture_input: bool | None = None,
    capture_output: bool | None = None,
) -> Any:
    """Trace calls as model spans (``chat {model}``).

    Without ``model=``, a ``model`` argument of the call names the model. A ``messages``
    argument is captured as the input messages (else all arguments). The return value is read
    as a provider response (usage, response model and id, finish reasons, output); a returned
    iterator or async iterator is traced as a stream until it is exhausted or closed.
    """
    return _decorator(
        fn,
        Kind.LLM,
        model,
        operation=operation,
        extra={sc.GEN_AI_PROVIDER_NAME: provider},
        attributes=attributes,
        capture=capture,
        capture_input=capture_input,
        capture_output=capture_output,
        default_name=False,
    )


@overload
def memory(fn: Callable[P, R], /) -> Callable[P, R]: ...
@overload
def memory(
    fn: None = None,
    /,
    *,
    operation: str = "read",
    store_id: str | None = None,
    attributes: Attributes | None = None,
    capture: bool | None = None,
    capture_input: bool | None = None,
    capture_output: bool | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...
def memory(
    fn: Any = None,
    /,
    *,
    operation: str = "read",
    store_id: str | None = None,
    attributes: Attributes | None = None,
    capture: bool | None = None,
    capture_input: bool | None = None,
    capture_output: bool | None = None,
) -> Any:
    """Trace calls as memory spans (``search_memory {store}``, ``update_memory {store}``...).

    ``operation`` is ``read``, ``write``, ``search`` or ``delete``; arguments are captured as
    the query and the return value as the records.
    """
    return _decorator(
        fn,
        Kind.MEMORY,
        store_id,
        operation=operation,
        attributes=attributes,
        capture=capture,
        capture_input=capture_input,
        capture_output=capture_output,
        default_name=False,
    )
