"""Convention events (compaction, retry, handoff, approval) added to a span."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

from agenttrace import semconv as sc

_DECISIONS = frozenset(v.value for v in sc.AgenttraceApprovalDecisionValues)


def _clean(attributes: Mapping[str, AttributeValue | None]) -> dict[str, AttributeValue]:
    return {k: v for k, v in attributes.items() if v is not None}


def compaction_event(
    span: trace.Span,
    *,
    strategy: str,
    trigger: str | None = None,
    tokens_before: int | None = None,
    tokens_after: int | None = None,
    summarizer_model: str | None = None,
    messages_dropped: int | None = None,
) -> None:
    span.add_event(
        sc.EVENT_COMPACTION,
        _clean(
            {
                sc.AGENTTRACE_COMPACTION_STRATEGY: strategy,
                sc.AGENTTRACE_COMPACTION_TRIGGER: trigger,
                sc.AGENTTRACE_COMPACTION_TOKENS_BEFORE: tokens_before,
                sc.AGENTTRACE_COMPACTION_TOKENS_AFTER: tokens_after,
                sc.AGENTTRACE_COMPACTION_SUMMARIZER_MODEL: summarizer_model,
                sc.AGENTTRACE_COMPACTION_MESSAGES_DROPPED: messages_dropped,
            }
        ),
    )


def retry_event(
    span: trace.Span,
    *,
    attempt: int,
    reason: str | None = None,
    error: BaseException | None = None,
) -> None:
    """Mark ``span`` as attempt ``attempt`` and add the ``agenttrace.retry`` event."""
    error_name = None if error is None else type(error).__qualname__
    span.set_attribute(sc.AGENTTRACE_RETRY_ATTEMPT, attempt)
    span.add_event(
        sc.EVENT_RETRY,
        _clean(
            {
                sc.AGENTTRACE_RETRY_ATTEMPT: attempt,
                sc.AGENTTRACE_RETRY_REASON: reason,
                sc.ERROR_TYPE: error_name,
            }
        ),
    )


def handoff_event(
    span: trace.Span,
    *,
    sender: str,
    receiver: str,
    reason: str | None = None,
    message_id: str | None = None,
    sender_id: str | None = None,
    receiver_id: str | None = None,
) -> None:
    span.add_event(
        sc.EVENT_HANDOFF,
        _clean(
            {
                sc.AGENTTRACE_SENDER_AGENT_NAME: sender,
                sc.AGENTTRACE_SENDER_AGENT_ID: sender_id,
                sc.AGENTTRACE_RECEIVER_AGENT_NAME: receiver,
                sc.AGENTTRACE_RECEIVER_AGENT_ID: receiver_id,
                sc.AGENTTRACE_MESSAGE_ID: message_id,
                sc.AGENTTRACE_HANDOFF_REASON: reason,
            }
        ),
    )


def approval_event(
    span: trace.Span,
    *,
    action: str,
    decision: str,
    approver: str | None = None,
    wait_ms: float | None = None,
) -> None:
    if decision not in _DECISIONS:
        raise ValueError(f"approval decision must be one of {sorted(_DECISIONS)}, got {decision!r}")
    span.add_event(
        sc.EVENT_APPROVAL,
        _clean(
            {
                sc.AGENTTRACE_APPROVAL_ACTION: action,
                sc.AGENTTRACE_APPROVAL_DECISION: decision,
                sc.AGENTTRACE_APPROVAL_APPROVER: approver,
                sc.AGENTTRACE_APPROVAL_WAIT_MS: wait_ms,
            }
        ),
    )
