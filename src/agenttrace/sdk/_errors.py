"""The never-break-agent-code rule: internal tracing errors are logged and swallowed.

Under ``AGENTTRACE_RAISE_INTERNAL_ERRORS=1`` (the test suite sets it) they are raised instead, so
that a bug in agenttrace cannot hide behind the rule.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import ParamSpec

logger = logging.getLogger("agenttrace")

_RAISE_ENV = "AGENTTRACE_RAISE_INTERNAL_ERRORS"

P = ParamSpec("P")


class AgentTraceInternalError(RuntimeError):
    """Raised for an internal tracing failure when ``AGENTTRACE_RAISE_INTERNAL_ERRORS=1``."""


def raise_internal_errors() -> bool:
    return os.environ.get(_RAISE_ENV, "") == "1"


def internal_error(exc: BaseException, where: str) -> None:
    """Handle ``exc`` raised inside agenttrace while doing ``where``.

    Only the exception type is logged at warning level: its message may quote captured content,
    which must not leak into logs.
    """
    if raise_internal_errors():
        raise AgentTraceInternalError(f"agenttrace internal error in {where}") from exc
    logger.warning(
        "agenttrace: internal error in %s ignored (%s); set %s=1 to raise it",
        where,
        type(exc).__name__,
        _RAISE_ENV,
    )
    logger.debug("agenttrace internal error detail", exc_info=exc)


def guarded(where: str) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """Decorate an agent-side helper so that its failures go to :func:`internal_error`."""

    def decorate(fn: Callable[P, None]) -> Callable[P, None]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
            try:
                fn(*args, **kwargs)
            except Exception as exc:
                internal_error(exc, where)

        return wrapper

    return decorate
