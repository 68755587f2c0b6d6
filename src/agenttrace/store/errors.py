"""The store's exception tree.

Callers decide between "retry later" and "give up" from the class alone: the collector keeps
WAL segments and backs off on :class:`StoreUnavailable`, and surfaces :class:`StorePermanentError`
(bad credentials, missing bucket, invalid URL) to the operator.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error raised by ``agenttrace.store``."""


class StoreUnavailable(StoreError):
    """The store could not be reached or answered 5xx/timeout; retrying later may succeed."""


class StorePermanentError(StoreError):
    """The request can never succeed as made (bad URL, credentials, permissions, 4xx)."""


class ObjectNotFound(StorePermanentError, KeyError):
    """``get`` or ``delete`` named an object that does not exist."""

    def __str__(self) -> str:
        # KeyError.__str__ repr()s its argument; keep the plain message.
        return str(self.args[0]) if self.args else "object not found"
