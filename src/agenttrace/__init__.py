"""agenttrace: the trace layer for AI agents.

Decorators (``@agent``, ``@tool``, ``@llm``, ``@memory``, ``@workflow``, ``@step``), context
managers (``agent_run``, ``llm_call``, ``tool_call``, ``memory_access``, ``workflow_run``,
``step_run``), convention helpers, the framework-neutral :class:`AgentHooks`, context propagation
and :func:`init` for OTLP export. Everything writes to the global OpenTelemetry TracerProvider
unless :func:`init` installed one. See docs/sdk.md.
"""

from __future__ import annotations

from agenttrace.integrations.anthropic import instrument_anthropic, uninstrument_anthropic
from agenttrace.integrations.openai import instrument_openai, uninstrument_openai
from agenttrace.sdk._config import configure
from agenttrace.sdk._context import (
    SpanScope,
    agent_run,
    approval,
    compaction,
    current_span,
    handoff,
    llm_call,
    memory_access,
    message,
    record_memory_access,
    retry,
    set_eval,
    set_harness_state,
    set_outcome,
    set_run_info,
    step_run,
    tool_call,
    workflow_run,
)
from agenttrace.sdk._decorators import agent, llm, memory, step, tool, workflow
from agenttrace.sdk._errors import AgentTraceInternalError
from agenttrace.sdk._init import InitError, flush, init, shutdown
from agenttrace.sdk._kinds import SpanSpecError
from agenttrace.sdk._propagation import (
    ContextThreadPoolExecutor,
    attach,
    detach,
    extract,
    inject,
    link,
    links,
    wrap_context,
)
from agenttrace.sdk._span import SpanHandle
from agenttrace.sdk._tracer import SDK_VERSION
from agenttrace.sdk._usage import Usage, extract_usage
from agenttrace.sdk.hooks import AgentHooks
from agenttrace.sdk.pricing import cost_usd, price_table, set_price_table

__version__ = SDK_VERSION

__all__ = [
    "AgentHooks",
    "AgentTraceInternalError",
    "ContextThreadPoolExecutor",
    "InitError",
    "SpanHandle",
    "SpanScope",
    "SpanSpecError",
    "Usage",
    "__version__",
    "agent",
    "agent_run",
    "approval",
    "attach",
    "compaction",
    "configure",
    "cost_usd",
    "current_span",
    "detach",
    "extract",
    "extract_usage",
    "flush",
    "handoff",
    "init",
    "inject",
    "instrument_anthropic",
    "instrument_openai",
    "link",
    "links",
    "llm",
    "llm_call",
    "memory",
    "memory_access",
    "message",
    "price_table",
    "record_memory_access",
    "retry",
    "set_eval",
    "set_harness_state",
    "set_outcome",
    "set_price_table",
    "set_run_info",
    "shutdown",
    "step",
    "step_run",
    "tool",
    "tool_call",
    "uninstrument_anthropic",
    "uninstrument_openai",
    "workflow",
    "workflow_run",
    "wrap_context",
]
