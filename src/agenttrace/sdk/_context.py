"""Context managers for the span types, and helpers for the convention extensions.

The context managers work with ``with`` and ``async with`` and yield a :class:`SpanHandle` for
what is only known at run time. The helpers annotate the current span (the innermost span in
the current OTel context).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextvars import Token
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link
from opentelemetry.util.types import AttributeValue

from agenttrace import semconv as sc
from agenttrace.sdk._errors import guarded, internal_error
from agenttrace.sdk._events import approval_event, compaction_event, handoff_event, retry_event
from agenttrace.sdk._kinds import Kind, span_attributes
from agenttrace.sdk._span import SpanHandle, current_handle, start

__all__ = [
    "SpanScope",
    "agent_run",
    "approval",
    "compaction",
    "current_span",
    "handoff",
    "llm_call",
    "memory_access",
    "message",
    "record_memory_access",
    "retry",
    "set_eval",
    "set_harness_state",
    "set_outcome",
    "set_run_info",
    "step_run",
    "tool_call",
    "workflow_run",
]

_OUTCOMES = frozenset(v.value for v in sc.AgenttraceRunOutcomeValues)
Attributes = Mapping[str, AttributeValue]


class SpanScope:
    """A span that is current for the duration of a ``with`` or ``async with`` block."""

    __slots__ = (
        "_attributes",
        "_capture",
        "_handle",
        "_input",
        "_kind",
        "_links",
        "_model",
        "_name",
        "_token",
    )

    def __init__(
        self,
        kind: Kind,
        name: str,
        attributes: Mapping[str, AttributeValue],
        *,
        input: Any = None,
        capture: bool | None = None,
        model: str | None = None,
        links: Sequence[Link] | None = None,
    ) -> None:
        self._kind = kind
        self._name = name
        self._attributes = attributes
        self._input = input
        self._capture = capture
        self._model = model
        self._links = links
        self._handle: SpanHandle | None = None
        self._token: Token[Context] | None = None

    def __enter__(self) -> SpanHandle:
        handle = start(
            self._kind,
            self._name,
            self._attributes,
            capture=self._capture,
            request_model=self._model,
            links=self._links,
        )
        if self._input is not None:
            handle.set_input(self._input)
        self._handle = handle
        self._token = otel_context.attach(handle.context)
        return handle

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            otel_context.detach(self._token)
            self._token = None
        if self._handle is not None:
            self._handle.end(exc if isinstance(exc, Exception) else None)

    async def __aenter__(self) -> SpanHandle:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def _scope(
    kind: Kind,
    name: str | None,
    extra: Mapping[str, AttributeValue | None],
    attributes: Attributes | None,
    *,
    operation: str | None = None,
    input: Any = None,
    capture: bool | None = None,
    model: str | None = None,
    links: Sequence[Link] | None = None,
) -> SpanScope:
    span_name, merged = span_attributes(kind, name, extra, attributes, operation=operation)
    return SpanScope(
        kind, span_name, merged, input=input, capture=capture, model=model, links=links
    )


def agent_run(
    name: str,
    *,
    agent_id: str | None = None,
    description: str | None = None,
    conversation_id: str | None = None,
    input: Any = None,
    attributes: Attributes | None = None,
    capture: bool | None = None,
    links: Sequence[Link] | None = None,
) -> SpanScope:
    """``with agent_run("planner") as run: ... run.set_output(answer)``."""
    return _scope(
        Kind.AGENT,
        name,
        {
            sc.GEN_AI_AGENT_ID: agent_id,
            sc.GEN_AI_AGENT_DESCRIPTION: description,
            sc.GEN_AI_CONVERSATION_ID: conversation_id,
        },
        attributes,
        input=input,
        capture=capture,
        links=links,
    )


def workflow_run(
    name: str,
    *,
    input: Any = None,
    attributes: Attributes | None = None,
    capture: bool | None = None,
    links: Sequence[Link] | None = None,
) -> SpanScope:
    return _scope(Kind.WORKFLOW, name, {}, attributes, input=input, capture=capture, links=links)


def step_run(
    name: str,
    *,
    index: int | None = None,
    input: Any = None,
    attributes: Attributes | None = None,
    capture: bool | None = None,
) -> SpanScope:
    return _scope(
        Kind.STEP,
        name,
        {sc.AGENTTRACE_STEP_INDEX: index},
        attributes,
        input=input,
        capture=capture,
    )


def tool_call(
    name: str,
    *,
    call_id: str | None = None,
    arguments: Any = None,
    tool_type: str | None = None,
    description: str | None = None,
    attributes: Attributes | None = None,
    capture: bool | None = None,
) -> SpanScope:
    """``with tool_call("search", arguments=args) as call: call.set_output(result)``."""
    return _scope(
        Kind.TOOL,
        name,
        {
            sc.GEN_AI_TOOL_CALL_ID: call_id,
            sc.GEN_AI_TOOL_TYPE: tool_type,
            sc.GEN_AI_TOOL_DESCRIPTION: description,
        },
        attributes,
        input=arguments,
        capture=capture,
    )


def llm_call(
    model: str,
    *,
    provider: str | None = None,
    operation: str = "chat",
    input_messages: Any = None,
    attributes: Attributes | None = None,
    capture: bool | None = None,
) -> SpanScope:
    """``with llm_call(model="gpt-4o") as call: call.set_usage(...); call.set_output(...)``.

    Also ``call.set_response(provider_response)`` and ``call.record_chunk(chunk)`` per chunk.
    """
    return _scope(
        Kind.LLM,
        model,
        {sc.GEN_AI_PROVIDER_NAME: provider},
        attributes,
        operation=operation,
        input=input_messages,
        capture=capture,
        model=model,
    )


def memory_access(
    operation: str,
    store_id: str | None = None,
    *,
    keys: Sequence[str] | None = None,
    query: Any = None,
    attributes: Attributes | None = None,
    capture: bool | None = None,
) -> SpanScope:
    """A memory span; ``operation`` is ``read``, ``write``, ``search`` or ``delete``."""
    return _scope(
        Kind.MEMORY,
        store_id,
        {sc.AGENTTRACE_MEMORY_KEYS: list(keys) if keys else None},
        attributes,
        operation=operation,
        input=query,
        capture=capture,
    )


# -- helpers on the current span --------------------------------------------------------------


def current_span() -> SpanHandle | None:
    """The innermost agenttrace span of the current context, for its run-time setters."""
    return current_handle()


@guarded("compaction")
def compaction(
    strategy: str,
    *,
    trigger: str | None = None,
    tokens_before: int | None = None,
    tokens_after: int | None = None,
    summarizer_model: str | None = None,
    messages_dropped: int | None = None,
) -> None:
    """An ``agenttrace.compaction`` event on the current span (context was compacted)."""
    compaction_event(
        trace.get_current_span(),
        strategy=strategy,
        trigger=trigger,
        tokens_before=tokens_before,
        tokens_after=tokens_after,
        summarizer_model=summarizer_model,
        messages_dropped=messages_dropped,
    )


@guarded("approval")
def approval(
    action: str, decision: str, *, approver: str | None = None, wait_ms: float | None = None
) -> None:
    """An ``agenttrace.approval`` event; ``decision`` is allow, deny or require_approval."""
    approval_event(
        trace.get_current_span(),
        action=action,
        decision=decision,
        approver=approver,
        wait_ms=wait_ms,
    )


@guarded("handoff")
def handoff(
    sender: str,
    receiver: str,
    *,
    reason: str | None = None,
    message_id: str | None = None,
    sender_id: str | None = None,
    receiver_id: str | None = None,
    link_to: trace.SpanContext | SpanHandle | None = None,
) -> None:
    """An ``agenttrace.handoff`` event; ``link_to`` also links the receiver's span."""
    handoff_event(
        trace.get_current_span(),
        sender=sender,
        receiver=receiver,
        reason=reason,
        message_id=message_id,
        sender_id=sender_id,
        receiver_id=receiver_id,
    )
    handle = current_handle()
    if link_to is not None and handle is not None:
        handle.add_link(link_to, sc.AgenttraceLinkTypeValues.HANDOFF.value)


def message(
    sender: str,
    receiver: str,
    *,
    message_id: str | None = None,
    sender_id: str | None = None,
    receiver_id: str | None = None,
) -> None:
    """An inter-agent message: an ``agenttrace.handoff`` event carrying ``message_id``."""
    handoff(
        sender,
        receiver,
        message_id=message_id,
        sender_id=sender_id,
        receiver_id=receiver_id,
    )


@guarded("retry")
def retry(attempt: int, *, reason: str | None = None, error: BaseException | None = None) -> None:
    """Mark the current span as attempt ``attempt`` and add an ``agenttrace.retry`` event."""
    retry_event(trace.get_current_span(), attempt=attempt, reason=reason, error=error)


@guarded("record_memory_access")
def record_memory_access(operation: str, *, keys: Sequence[str] | None = None) -> None:
    """An ``agenttrace.memory.access`` event, for accesses too small to deserve a span."""
    attributes: dict[str, AttributeValue] = {sc.AGENTTRACE_MEMORY_OPERATION: operation}
    if keys:
        attributes[sc.AGENTTRACE_MEMORY_KEYS] = list(keys)
    trace.get_current_span().add_event(sc.EVENT_MEMORY_ACCESS, attributes)


def _set_on_current(where: str, attributes: Mapping[str, AttributeValue | None]) -> None:
    try:
        span = trace.get_current_span()
        for key, value in attributes.items():
            if value is not None:
                span.set_attribute(key, value)
    except Exception as exc:
        internal_error(exc, where)


def set_harness_state(
    *,
    goal: str | None = None,
    step_name: str | None = None,
    step_index: int | None = None,
    turn_index: int | None = None,
    budget_tokens: int | None = None,
    budget_cost_usd: float | None = None,
    budget_wall_time_s: float | None = None,
    budget_iterations: int | None = None,
) -> None:
    """Harness state (goal, step, remaining budget) on the current span."""
    _set_on_current(
        "set_harness_state",
        {
            sc.AGENTTRACE_GOAL: goal,
            sc.AGENTTRACE_STEP_NAME: step_name,
            sc.AGENTTRACE_STEP_INDEX: step_index,
            sc.AGENTTRACE_TURN_INDEX: turn_index,
            sc.AGENTTRACE_BUDGET_REMAINING_TOKENS: budget_tokens,
            sc.AGENTTRACE_BUDGET_REMAINING_COST_USD: budget_cost_usd,
            sc.AGENTTRACE_BUDGET_REMAINING_WALL_TIME_S: budget_wall_time_s,
            sc.AGENTTRACE_BUDGET_REMAINING_ITERATIONS: budget_iterations,
        },
    )


def set_outcome(outcome: str) -> None:
    """``agenttrace.run.outcome`` (success, failure or aborted) on the current span."""
    if outcome not in _OUTCOMES:
        internal_error(
            ValueError(f"outcome must be one of {sorted(_OUTCOMES)}, got {outcome!r}"),
            "set_outcome",
        )
        return
    _set_on_current("set_outcome", {sc.AGENTTRACE_RUN_OUTCOME: outcome})


def set_eval(verdict: str, score: float | None = None) -> None:
    """An evaluation verdict (and optional score) on the current span."""
    _set_on_current(
        "set_eval", {sc.AGENTTRACE_EVAL_VERDICT: verdict, sc.AGENTTRACE_EVAL_SCORE: score}
    )


def set_run_info(
    *,
    session_id: str | None = None,
    user_id: str | None = None,
    parent_run_id: str | None = None,
    harness_name: str | None = None,
    harness_version: str | None = None,
    harness_cwd: str | None = None,
    harness_git_branch: str | None = None,
) -> None:
    """Run identity attributes on the current span (usually the root agent)."""
    _set_on_current(
        "set_run_info",
        {
            sc.AGENTTRACE_SESSION_ID: session_id,
            sc.AGENTTRACE_USER_ID: user_id,
            sc.AGENTTRACE_RUN_PARENT_ID: parent_run_id,
            sc.AGENTTRACE_HARNESS_NAME: harness_name,
            sc.AGENTTRACE_HARNESS_VERSION: harness_version,
            sc.AGENTTRACE_HARNESS_CWD: harness_cwd,
            sc.AGENTTRACE_HARNESS_GIT_BRANCH: harness_git_branch,
        },
    )
