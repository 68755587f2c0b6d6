"""Transparent proxies around provider stream objects.

The proxy hands every item to an observer (which records the first chunk, accumulates text and
picks up the usage carried by the final event) and tells it when the stream ends: exhausted,
closed, left through its context manager, failed, or garbage collected unfinished. Everything
else (``.response``, ``get_final_message()``...) is delegated, and ``isinstance`` checks against
the library's own stream class still pass, so wrapping is invisible to user code.
"""

from __future__ import annotations

from typing import Any, Protocol

from agenttrace.sdk import internal_error


class StreamObserver(Protocol):
    def on_item(self, item: Any) -> None: ...

    def on_end(self, error: BaseException | None) -> None: ...


class _ProxyBase:
    __slots__ = ("_agenttrace_done", "_agenttrace_observer", "_agenttrace_wrapped")

    def __init__(self, wrapped: Any, observer: StreamObserver) -> None:
        object.__setattr__(self, "_agenttrace_wrapped", wrapped)
        object.__setattr__(self, "_agenttrace_observer", observer)
        object.__setattr__(self, "_agenttrace_done", False)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # keeps isinstance(proxy, openai.Stream) true
        return type(self._agenttrace_wrapped)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_agenttrace"):  # a slot not yet set: never recurse into the wrapped
            raise AttributeError(name)
        return getattr(self._agenttrace_wrapped, name)

    def _agenttrace_observe(self, item: Any) -> None:
        try:
            self._agenttrace_observer.on_item(item)
        except Exception as exc:
            internal_error(exc, "observing a stream item")

    def _agenttrace_end(self, error: BaseException | None) -> None:
        if self._agenttrace_done:
            return
        object.__setattr__(self, "_agenttrace_done", True)
        try:
            self._agenttrace_observer.on_end(error)
        except Exception as exc:
            internal_error(exc, "ending a stream span")

    def __del__(self) -> None:
        # An abandoned stream still ends its span; raising from __del__ is pointless, so don't.
        try:
            self._agenttrace_end(None)
        except Exception:
            return


class TracedStream(_ProxyBase):
    """Proxy for a synchronous iterator of stream events."""

    __slots__ = ()

    def __iter__(self) -> TracedStream:
        return self

    def __next__(self) -> Any:
        try:
            item = next(self._agenttrace_wrapped)
        except StopIteration:
            self._agenttrace_end(None)
            raise
        except BaseException as exc:
            self._agenttrace_end(exc)
            raise
        self._agenttrace_observe(item)
        return item

    def __enter__(self) -> TracedStream:
        self._agenttrace_wrapped.__enter__()
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Any:
        try:
            return self._agenttrace_wrapped.__exit__(exc_type, exc, tb)
        finally:
            # An exception raised in the caller's with-block is not a failure of the model call.
            self._agenttrace_end(None)

    def close(self) -> None:
        try:
            self._agenttrace_wrapped.close()
        finally:
            self._agenttrace_end(None)


class AsyncTracedStream(_ProxyBase):
    """Proxy for an asynchronous iterator of stream events."""

    __slots__ = ()

    def __aiter__(self) -> AsyncTracedStream:
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self._agenttrace_wrapped.__anext__()
        except StopAsyncIteration:
            self._agenttrace_end(None)
            raise
        except BaseException as exc:
            self._agenttrace_end(exc)
            raise
        self._agenttrace_observe(item)
        return item

    async def __aenter__(self) -> AsyncTracedStream:
        await self._agenttrace_wrapped.__aenter__()
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Any:
        try:
            return await self._agenttrace_wrapped.__aexit__(exc_type, exc, tb)
        finally:
            self._agenttrace_end(None)

    async def close(self) -> None:
        try:
            await self._agenttrace_wrapped.close()
        finally:
            self._agenttrace_end(None)
