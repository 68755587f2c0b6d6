"""Per-span redaction summary: counts by type and the keys touched, never the values."""

from __future__ import annotations

from agenttrace import semconv

COUNT_ATTRIBUTE = semconv.AGENTTRACE_REDACTION_COUNT
TYPES_ATTRIBUTE = semconv.AGENTTRACE_REDACTION_TYPES
KEYS_ATTRIBUTE = semconv.AGENTTRACE_REDACTION_KEYS

# A span with thousands of redacted JSON members still gets a bounded summary.
MAX_KEYS = 64


class RedactionSummary:
    """Accumulates what a redactor replaced; pass one per span to the ``redact_*`` methods."""

    __slots__ = ("counts", "keys")

    def __init__(self) -> None:
        # A plain dict: a Counter costs several times more to create, and one is made per value.
        self.counts: dict[str, int] = {}
        self.keys: dict[str, None] = {}

    def add(self, finding_type: str, key: str | None = None, n: int = 1) -> None:
        counts = self.counts
        counts[finding_type] = counts.get(finding_type, 0) + n
        if key is not None and key not in self.keys and len(self.keys) < MAX_KEYS:
            self.keys[key] = None

    def merge(self, other: RedactionSummary) -> None:
        counts = self.counts
        for finding_type, n in other.counts.items():
            counts[finding_type] = counts.get(finding_type, 0) + n
        for key in other.keys:
            if len(self.keys) >= MAX_KEYS:
                break
            self.keys.setdefault(key, None)

    @property
    def count(self) -> int:
        return sum(self.counts.values())

    def __bool__(self) -> bool:
        return self.count > 0

    def to_attributes(self) -> dict[str, int | list[str]]:
        """The span attributes: always the count, the types and keys when there is any."""
        attributes: dict[str, int | list[str]] = {COUNT_ATTRIBUTE: self.count}
        if self.counts:
            attributes[TYPES_ATTRIBUTE] = [f"{t}={n}" for t, n in sorted(self.counts.items())]
        if self.keys:
            attributes[KEYS_ATTRIBUTE] = sorted(self.keys)
        return attributes

    def __repr__(self) -> str:
        return f"RedactionSummary(counts={self.counts!r}, keys={list(self.keys)!r})"
