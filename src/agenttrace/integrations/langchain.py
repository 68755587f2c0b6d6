"""LangChain and LangGraph: callback handlers that turn runs into agenttrace spans.

::

    from agenttrace.integrations.langchain import AgentTraceCallbackHandler

    graph.invoke(inputs, config={"callbacks": [AgentTraceCallbackHandler()]})

or, once per process, ``agenttrace.integrations.langchain.install()``.

The tree comes from LangChain's ``run_id``/``parent_run_id``, never from the ambient context, so
runs interleaved on one thread or spread over executor threads still nest correctly. Only a root
run (no parent) is placed under the ambient OpenTelemetry span, so a graph invoked inside an
``@agenttrace.agent`` function lands beneath it.

Mapping: the root chain becomes ``invoke_workflow {name}`` (``invoke_agent {agent_name}`` when
the handler is given an ``agent_name``); LangGraph nodes and other chains become ``step {name}``
with ``agenttrace.step.index`` from ``langgraph_step``; chat models and LLMs become
``chat {model}`` / ``text_completion {model}`` with usage from ``AIMessage.usage_metadata`` (or
``LLMResult.llm_output`` for older integrations) and the time to the first streamed token;
tools become ``execute_tool {name}``; retrievers become ``retrieval {name}``; agent actions are
``agenttrace.agent.action`` events on the agent's span and retries ``agenttrace.retry`` events.
Runs tagged ``langgraph:hidden`` (LangGraph's internal plumbing) are skipped and their children
attached to the nearest visible ancestor.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar, Token
from typing import Any, ParamSpec
from uuid import UUID

from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler
from langchain_core.tracers.context import register_configure_hook
from opentelemetry.trace import TracerProvider

from agenttrace import semconv as sc
from agenttrace.integrations._client import claim_model_call, release_model_call
from agenttrace.sdk import (
    SCOPE_NAME,
    SDK_VERSION,
    Kind,
    SpanHandle,
    Usage,
    extract_usage,
    internal_error,
    raise_internal_errors,
    start_span,
)
from agenttrace.sdk.hooks import AgentHooks
from agenttrace.sdk.messages import content_parts, get, text_part, tool_call_part

__all__ = [
    "AgentTraceCallbackHandler",
    "AsyncAgentTraceCallbackHandler",
    "install",
    "uninstall",
]

P = ParamSpec("P")

HIDDEN_TAG = "langgraph:hidden"
RETRY_TAG = "retry:attempt:"
AGENT_ACTION_EVENT = "agenttrace.agent.action"
_ROLES = {
    "human": "user",
    "ai": "assistant",
    "system": "system",
    "tool": "tool",
    "function": "tool",
}
# LangGraph raises these to interrupt or redirect a run; they are control flow, not failures.
_CONTROL_FLOW = frozenset({"GraphBubbleUp", "GraphInterrupt", "NodeInterrupt", "ParentCommand"})


def _safe(method: Callable[P, None]) -> Callable[P, None]:
    """A callback must never break the chain it observes."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            method(*args, **kwargs)
        except Exception as exc:
            internal_error(exc, f"LangChain callback {method.__name__}")

    return wrapper


def _retry_attempt(tags: Sequence[str] | None) -> int | None:
    """The attempt number LangChain's ``with_retry`` tags a retried run with (2, 3, ...)."""
    for tag in tags or ():
        if tag.startswith(RETRY_TAG):
            suffix = tag[len(RETRY_TAG) :]
            if suffix.isdigit():
                return int(suffix)
    return None


def _is_control_flow(error: BaseException) -> bool:
    return any(cls.__name__ in _CONTROL_FLOW for cls in type(error).__mro__)


def _run_name(serialized: Mapping[str, Any] | None, kwargs: Mapping[str, Any], default: str) -> str:
    name = kwargs.get("name")
    if isinstance(name, str) and name:
        return name
    if serialized:
        name = serialized.get("name")
        if isinstance(name, str) and name:
            return name
        ident = serialized.get("id")
        if isinstance(ident, list) and ident:
            return str(ident[-1])
    return default


# --- messages --------------------------------------------------------------------------------


def genai_message(message: Any) -> dict[str, Any]:
    """A LangChain ``BaseMessage`` as a GenAI message."""
    kind = get(message, "type")
    role = get(message, "role") if kind == "chat" else _ROLES.get(str(kind), str(kind))
    if role == "tool":
        return {
            "role": "tool",
            "parts": [
                {
                    "type": "tool_call_response",
                    "id": get(message, "tool_call_id"),
                    "response": get(message, "content"),
                }
            ],
        }
    parts = content_parts(get(message, "content"))
    parts.extend(
        tool_call_part(get(call, "id"), get(call, "name"), get(call, "args"))
        for call in get(message, "tool_calls") or ()
    )
    return {"role": role or "user", "parts": parts}


def _finish_reason(message: Any, generation_info: Any) -> str | None:
    for source in (get(message, "response_metadata"), generation_info):
        for key in ("finish_reason", "stop_reason", "done_reason"):
            reason = get(source, key) if isinstance(source, Mapping) else None
            if isinstance(reason, str):
                return reason
    return "tool_calls" if get(message, "tool_calls") else None


def _usage(message: Any, llm_output: Any) -> Usage | None:
    metadata = get(message, "usage_metadata")
    if isinstance(metadata, Mapping) and metadata:
        return extract_usage(metadata)
    if isinstance(llm_output, Mapping):  # integrations that predate usage_metadata
        for key in ("token_usage", "usage"):
            if llm_output.get(key):
                return extract_usage(llm_output[key])
    return None


# --- the tracker -----------------------------------------------------------------------------


class _Tracker:
    """Run bookkeeping shared by the sync and async handlers (and by every globally installed one).

    Callback methods have LangChain's names and signatures; each is safe to call from any
    thread.
    """

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        *,
        capture_content: bool | None = None,
        agent_name: str | None = None,
    ) -> None:
        self.hooks = AgentHooks(tracer_provider, capture_content=capture_content)
        self.agent_name = agent_name
        self._capture = capture_content
        self._tracer = (
            None
            if tracer_provider is None
            else tracer_provider.get_tracer(SCOPE_NAME, SDK_VERSION, schema_url=sc.SCHEMA_URL)
        )
        self._kinds: dict[UUID, Kind] = {}
        self._skipped: dict[UUID, UUID | None] = {}
        self._retrievals: dict[UUID, SpanHandle] = {}
        self._claims: dict[UUID, Token[bool]] = {}
        self._lock = threading.Lock()

    # -- parentage ----------------------------------------------------------------------------
    def _parent(self, parent_run_id: UUID | None) -> UUID | None:
        """The nearest traced ancestor; None (the ambient context) for roots and unknown runs."""
        with self._lock:
            while parent_run_id is not None and parent_run_id in self._skipped:
                parent_run_id = self._skipped[parent_run_id]
            if parent_run_id is None or parent_run_id not in self._kinds:
                return None
            return parent_run_id

    def _track(self, run_id: UUID, kind: Kind) -> None:
        with self._lock:
            self._kinds[run_id] = kind

    def _mark_attempt(self, run_id: UUID, tags: Sequence[str] | None) -> None:
        attempt = _retry_attempt(tags)
        if attempt is not None:
            self.hooks.retry(run_id, attempt=attempt, reason="retry")

    def _untrack(self, run_id: UUID) -> Kind | None:
        with self._lock:
            self._skipped.pop(run_id, None)
            return self._kinds.pop(run_id, None)

    # -- chains, graphs and nodes -------------------------------------------------------------
    @_safe
    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if HIDDEN_TAG in (tags or ()):
            with self._lock:
                self._skipped[run_id] = parent_run_id
            return
        name = _run_name(serialized, kwargs, "chain")
        metadata = metadata or {}
        parent = self._parent(parent_run_id)
        if parent_run_id is None and self.agent_name:
            self._track(run_id, Kind.AGENT)
            self.hooks.agent_start(run_id, name=self.agent_name, input=inputs)
        elif parent_run_id is None:
            self._track(run_id, Kind.WORKFLOW)
            self.hooks.workflow_start(run_id, name=name, input=inputs)
        else:
            index = (
                metadata.get("langgraph_step") if metadata.get("langgraph_node") == name else None
            )
            self._track(run_id, Kind.STEP)
            self.hooks.step_start(
                run_id,
                name=name,
                parent_key=parent,
                index=index if isinstance(index, int) else None,
                input=inputs,
            )
            self._mark_attempt(run_id, tags)

    def _end_chain(self, run_id: UUID, outputs: Any, error: BaseException | None) -> None:
        kind = self._untrack(run_id)
        if kind is None:
            return
        outcome = None
        if kind in (Kind.AGENT, Kind.WORKFLOW):
            outcome = "success" if error is None else "failure"
        if error is not None and _is_control_flow(error):
            error, outcome = None, "aborted" if outcome else None
        if kind is Kind.AGENT:
            self.hooks.agent_end(run_id, output=outputs, error=error, outcome=outcome)
        elif kind is Kind.WORKFLOW:
            self.hooks.workflow_end(run_id, output=outputs, error=error, outcome=outcome)
        else:
            self.hooks.step_end(run_id, output=outputs, error=error)

    @_safe
    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end_chain(run_id, outputs, None)

    @_safe
    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end_chain(run_id, None, error)

    @_safe
    def on_agent_action(self, action: Any, *, run_id: UUID, **kwargs: Any) -> None:
        handle = self.hooks.handle(run_id)
        if handle is None:
            return
        attributes: dict[str, Any] = {sc.GEN_AI_TOOL_NAME: str(get(action, "tool"))}
        if handle.capturing:
            attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = str(get(action, "tool_input"))
        handle.span.add_event(AGENT_ACTION_EVENT, attributes)

    @_safe
    def on_agent_finish(self, finish: Any, *, run_id: UUID, **kwargs: Any) -> None:
        handle = self.hooks.handle(run_id)
        if handle is not None:
            handle.set_output(get(finish, "return_values"))

    # -- models -------------------------------------------------------------------------------
    def _start_model(
        self,
        serialized: dict[str, Any] | None,
        run_id: UUID,
        parent_run_id: UUID | None,
        metadata: dict[str, Any] | None,
        kwargs: Mapping[str, Any],
        operation: str,
        messages: list[dict[str, Any]],
        tags: Sequence[str] | None,
    ) -> None:
        metadata = metadata or {}
        params = kwargs.get("invocation_params") or {}
        model = (
            metadata.get("ls_model_name")
            or params.get("model")
            or params.get("model_name")
            or _run_name(serialized, kwargs, "unknown")
        )
        request = {
            "temperature": metadata.get("ls_temperature", params.get("temperature")),
            "max_tokens": metadata.get("ls_max_tokens", params.get("max_tokens")),
            "stop": metadata.get("ls_stop", params.get("stop")),
        }
        self._track(run_id, Kind.LLM)
        with self._lock:
            self._claims[run_id] = claim_model_call()
        self.hooks.model_start(
            run_id,
            model=str(model),
            parent_key=self._parent(parent_run_id),
            provider=metadata.get("ls_provider"),
            operation=operation,
            input_messages=messages,
            tool_definitions=params.get("tools"),
            request_params={k: v for k, v in request.items() if v is not None},
        )
        self._mark_attempt(run_id, tags)

    @_safe
    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        converted = [genai_message(m) for m in (messages[0] if messages else ())]
        self._start_model(
            serialized, run_id, parent_run_id, metadata, kwargs, "chat", converted, tags
        )

    @_safe
    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        converted = [{"role": "user", "parts": [text_part(p)]} for p in prompts]
        self._start_model(
            serialized, run_id, parent_run_id, metadata, kwargs, "text_completion", converted, tags
        )

    @_safe
    def on_llm_new_token(self, token: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.hooks.model_chunk(run_id)

    @_safe
    def on_stream_event(self, event: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.hooks.model_chunk(run_id)

    def _end_model(self, run_id: UUID) -> None:
        self._untrack(run_id)
        with self._lock:
            claim = self._claims.pop(run_id, None)
        if claim is not None:
            release_model_call(claim)

    @_safe
    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end_model(run_id)
        generations = get(response, "generations") or []
        first = generations[0][0] if generations and generations[0] else None
        message = get(first, "message")
        reason = _finish_reason(message, get(first, "generation_info"))
        if message is not None:
            output = genai_message(message)
        else:
            output = {"role": "assistant", "parts": [text_part(get(first, "text") or "")]}
        output["finish_reason"] = reason
        metadata = get(message, "response_metadata") or {}
        llm_output = get(response, "llm_output") or {}
        model = metadata.get("model_name") or metadata.get("model") or llm_output.get("model_name")
        self.hooks.model_end(
            run_id,
            output_messages=[output] if first is not None else None,
            usage=_usage(message, llm_output),
            response_model=model if isinstance(model, str) else None,
            response_id=metadata.get("id") if isinstance(metadata.get("id"), str) else None,
            finish_reasons=[reason] if reason else None,
        )

    @_safe
    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end_model(run_id)
        self.hooks.model_end(run_id, error=error)

    # -- tools --------------------------------------------------------------------------------
    @_safe
    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        call_id = kwargs.get("tool_call_id")
        description = (serialized or {}).get("description")
        self._track(run_id, Kind.TOOL)
        self.hooks.tool_start(
            run_id,
            name=_run_name(serialized, kwargs, "tool"),
            parent_key=self._parent(parent_run_id),
            call_id=call_id if isinstance(call_id, str) else None,
            arguments=inputs if inputs is not None else input_str,
            tool_type="function",
            description=description if isinstance(description, str) else None,
        )
        self._mark_attempt(run_id, tags)

    @_safe
    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._untrack(run_id)
        content = get(output, "content") if get(output, "type") == "tool" else output
        self.hooks.tool_end(run_id, result=content)

    @_safe
    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._untrack(run_id)
        self.hooks.tool_end(run_id, error=None if _is_control_flow(error) else error)

    # -- retrievers ---------------------------------------------------------------------------
    @_safe
    def on_retriever_start(
        self,
        serialized: dict[str, Any] | None,
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        name = _run_name(serialized, kwargs, "retriever")
        parent = self._parent(parent_run_id)
        handle = start_span(
            Kind.MEMORY,
            f"{sc.GenAiOperationNameValues.RETRIEVAL.value} {name}",
            {
                sc.GEN_AI_OPERATION_NAME: sc.GenAiOperationNameValues.RETRIEVAL.value,
                sc.GEN_AI_DATA_SOURCE_ID: name,
            },
            parent=None if parent is None else self.hooks.context(parent),
            capture=self._capture,
            tracer=self._tracer,
        )
        handle.set_input(query)
        with self._lock:
            self._retrievals[run_id] = handle
            # A retriever's own children (rare) attach to the retriever's parent.
            self._skipped[run_id] = parent_run_id

    def _end_retrieval(self, run_id: UUID, documents: Any, error: BaseException | None) -> None:
        with self._lock:
            handle = self._retrievals.pop(run_id, None)
            self._skipped.pop(run_id, None)
        if handle is None:
            return
        if documents is not None:
            handle.set_attribute(sc.GEN_AI_MEMORY_RECORD_COUNT, len(documents))
            handle.set_output(
                [
                    {
                        "id": get(d, "id"),
                        "content": get(d, "page_content"),
                        "metadata": get(d, "metadata"),
                    }
                    for d in documents
                ]
            )
        handle.end(error)

    @_safe
    def on_retriever_end(self, documents: Sequence[Any], *, run_id: UUID, **kwargs: Any) -> None:
        self._end_retrieval(run_id, documents, None)

    @_safe
    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end_retrieval(run_id, None, error)

    # -- retries ------------------------------------------------------------------------------
    @_safe
    def on_retry(self, retry_state: Any, *, run_id: UUID, **kwargs: Any) -> None:
        outcome = get(retry_state, "outcome")
        error = outcome.exception() if outcome is not None and outcome.failed else None
        self.hooks.retry(
            run_id if self.hooks.handle(run_id) is not None else None,
            attempt=int(get(retry_state, "attempt_number") or 0),
            reason=type(error).__name__ if error is not None else None,
            error=error,
        )


_CALLBACKS = tuple(
    name for name in vars(_Tracker) if name.startswith("on_") and callable(vars(_Tracker)[name])
)


# --- handlers --------------------------------------------------------------------------------


def _sync_callback(name: str) -> Callable[..., Any]:
    def callback(self: AgentTraceCallbackHandler, *args: Any, **kwargs: Any) -> None:
        getattr(self.tracker, name)(*args, **kwargs)

    callback.__name__ = name
    callback.__doc__ = getattr(_Tracker, name).__doc__
    return callback


def _async_callback(name: str) -> Callable[..., Any]:
    async def callback(self: AsyncAgentTraceCallbackHandler, *args: Any, **kwargs: Any) -> None:
        getattr(self.tracker, name)(*args, **kwargs)

    callback.__name__ = name
    callback.__doc__ = getattr(_Tracker, name).__doc__
    return callback


class _Handler:
    """What both handlers share: the tracker, inline running and the raise switch.

    Both run inline (``run_inline``), in async chains too: recording a span is cheap, and running
    inline keeps the callbacks of a run in order (an async handler is awaited in the run's own
    task, so its callbacks share the run's context).
    """

    run_inline = True

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        *,
        capture_content: bool | None = None,
        agent_name: str | None = None,
    ) -> None:
        self.tracker = _Tracker(
            tracer_provider, capture_content=capture_content, agent_name=agent_name
        )

    @property  # LangChain's base declares a plain attribute, hence the handlers' ignore[override]
    def raise_error(self) -> bool:
        # Under AGENTTRACE_RAISE_INTERNAL_ERRORS=1 let LangChain re-raise our internal errors.
        return raise_internal_errors()


class AgentTraceCallbackHandler(_Handler, BaseCallbackHandler):  # type: ignore[override]
    """Synchronous LangChain callback handler writing agenttrace spans.

    ``agent_name`` makes the root run an ``invoke_agent`` span instead of ``invoke_workflow``.
    """


class AsyncAgentTraceCallbackHandler(_Handler, AsyncCallbackHandler):  # type: ignore[override]
    """Asynchronous LangChain callback handler; same spans as :class:`AgentTraceCallbackHandler`."""


for _name in _CALLBACKS:
    setattr(AgentTraceCallbackHandler, _name, _sync_callback(_name))
    setattr(AsyncAgentTraceCallbackHandler, _name, _async_callback(_name))


# --- global install --------------------------------------------------------------------------


class _InstalledHandler(AgentTraceCallbackHandler):
    """The handler :func:`install` adds to every run; :func:`uninstall` mutes it.

    LangChain offers no way to unregister a configure hook, so uninstalling sets every
    ``ignore_*`` flag, which makes LangChain skip the handler entirely.
    """

    enabled = False


def _muted(handler: _InstalledHandler) -> bool:
    return not handler.enabled


for _flag in (
    "ignore_llm",
    "ignore_chain",
    "ignore_agent",
    "ignore_retriever",
    "ignore_retry",
    "ignore_chat_model",
):
    setattr(_InstalledHandler, _flag, property(_muted))


_global = _InstalledHandler()
_install_lock = threading.Lock()
_hook: list[ContextVar[AgentTraceCallbackHandler | None]] = []


def install(
    *,
    tracer_provider: TracerProvider | None = None,
    capture_content: bool | None = None,
    agent_name: str | None = None,
) -> AgentTraceCallbackHandler:
    """Trace every LangChain/LangGraph run in this process, in every thread, from now on.

    Runs that pass an :class:`AgentTraceCallbackHandler` explicitly keep only theirs, so
    installing never duplicates spans. Returns the installed handler.
    """
    with _install_lock:
        _global.tracker = _Tracker(
            tracer_provider, capture_content=capture_content, agent_name=agent_name
        )
        _global.enabled = True
        if not _hook:
            # The variable's default is the handler itself, so every thread and task sees it.
            var: ContextVar[AgentTraceCallbackHandler | None] = ContextVar(
                "agenttrace_langchain_handler", default=_global
            )
            register_configure_hook(var, inheritable=True, handle_class=AgentTraceCallbackHandler)
            _hook.append(var)
    return _global


def uninstall() -> None:
    """Stop tracing runs that do not pass a handler explicitly."""
    with _install_lock:
        _global.enabled = False
