"""The query package's exception."""

from __future__ import annotations


class QueryError(Exception):
    """A query cannot be answered as asked: unknown trace id, bad filter, invalid SQL, unreadable
    store. The message names the problem; the CLI prints it and exits with status 2."""
