"""Proxies that keep a model span open over a returned stream (OpenAI/Anthropic ``Stream``...).

The span ends when the stream is exhausted, fails, is closed, leaves its ``with`` block or is
garbage-collected. Attribute access falls through to the wrapped stream, so ``stream.response``,
``stream.close()`` and friends keep working.
"""

from __future__ import annotations

import contextlib
from typing import Any

from opentelemetry import context as otel_context

from agenttrace.sdk._span import SpanHandle


def _error_of(exc_info: tuple[Any, ...]) -> Exception | None:
    return exc_info[1] if isinstance(exc_info[1], Exception) else None


class _Proxy:
    """What both proxies share: the wrapped stream, its span, fall-through attribute access."""

    __slots__ = ("__weakref__", "_agenttrace_handle", "_agenttrace_wrapped")

    def __init__(self, wrapped: Any, handle: SpanHandle) -> None:
        self._agenttrace_wrapped = wrapped
        self._agenttrace_handle = handle

    def __getattr__(self, name: str) -> Any:
        return getattr(self._agenttrace_wrapped, name)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # finalisers must not raise, not even under tests
            self._agenttrace_handle.end()


class StreamProxy(_Proxy):
    """Wraps a synchronous iterator returned by an ``@llm`` function."""

    __slots__ = ()

    def __iter__(self) -> StreamProxy:
        return self

    def __next__(self) -> Any:
        handle = self._agenttrace_handle
        token = otel_context.attach(handle.context)
        try:
            chunk = next(self._agenttrace_wrapped)
        except StopIteration:
            otel_context.detach(token)
            handle.end()
            raise
        except Exception as exc:
            otel_context.detach(token)
            handle.end(exc)
            raise
        otel_context.detach(token)
        handle.record_chunk(chunk)
        return chunk

    def close(self) -> None:
        try:
            close = getattr(self._agenttrace_wrapped, "close", None)
            if close is not None:
                close()
        finally:
            self._agenttrace_handle.end()

    def __enter__(self) -> StreamProxy:
        enter = getattr(self._agenttrace_wrapped, "__enter__", None)
        if enter is not None:
            enter()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            exit_ = getattr(self._agenttrace_wrapped, "__exit__", None)
            return None if exit_ is None else exit_(*exc_info)
        finally:
            self._agenttrace_handle.end(_error_of(exc_info))


class AsyncStreamProxy(_Proxy):
    """Wraps an asynchronous iterator returned by an ``@llm`` function."""

    __slots__ = ()

    def __aiter__(self) -> AsyncStreamProxy:
        return self

    async def __anext__(self) -> Any:
        handle = self._agenttrace_handle
        token = otel_context.attach(handle.context)
        try:
            chunk = await self._agenttrace_wrapped.__anext__()
        except StopAsyncIteration:
            otel_context.detach(token)
            handle.end()
            raise
        except Exception as exc:
            otel_context.detach(token)
            handle.end(exc)
            raise
        otel_context.detach(token)
        handle.record_chunk(chunk)
        return chunk

    async def aclose(self) -> None:
        try:
            close = getattr(self._agenttrace_wrapped, "aclose", None) or getattr(
                self._agenttrace_wrapped, "close", None
            )
            if close is not None:
                result = close()
                if hasattr(result, "__await__"):
                    await result
        finally:
            self._agenttrace_handle.end()

    async def __aenter__(self) -> AsyncStreamProxy:
        enter = getattr(self._agenttrace_wrapped, "__aenter__", None)
        if enter is not None:
            await enter()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            exit_ = getattr(self._agenttrace_wrapped, "__aexit__", None)
            return None if exit_ is None else await exit_(*exc_info)
        finally:
            self._agenttrace_handle.end(_error_of(exc_info))


def is_sync_stream(value: Any) -> bool:
    cls = type(value)
    return hasattr(cls, "__next__") and hasattr(cls, "__iter__")


def is_async_stream(value: Any) -> bool:
    cls = type(value)
    return hasattr(cls, "__anext__") and hasattr(cls, "__aiter__")
