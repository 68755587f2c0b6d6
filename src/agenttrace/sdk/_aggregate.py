"""Usage and cost totals carried by agent and workflow spans.

Each model or tool span reports into the nearest enclosing agent/workflow accumulator only; an
accumulator hands its total to its own parent when its span ends. Every level therefore sums its
whole subtree and nothing is counted twice.
"""

from __future__ import annotations

import threading

from agenttrace import semconv as sc
from agenttrace.sdk._usage import Usage

_TOKEN_FIELDS = (
    ("input_tokens", sc.AGENTTRACE_AGGREGATE_INPUT_TOKENS),
    ("output_tokens", sc.AGENTTRACE_AGGREGATE_OUTPUT_TOKENS),
    ("cache_read_tokens", sc.AGENTTRACE_AGGREGATE_CACHE_READ_TOKENS),
    ("cache_write_tokens", sc.AGENTTRACE_AGGREGATE_CACHE_WRITE_TOKENS),
    ("reasoning_tokens", sc.AGENTTRACE_AGGREGATE_REASONING_TOKENS),
)


class Aggregate:
    """Thread-safe running totals for one agent or workflow span."""

    __slots__ = (
        "_lock",
        "cache_read_tokens",
        "cache_write_tokens",
        "cost_usd",
        "has_cost",
        "input_tokens",
        "model_calls",
        "output_tokens",
        "parent",
        "reasoning_tokens",
        "tool_calls",
    )

    def __init__(self, parent: Aggregate | None) -> None:
        self.parent = parent
        self._lock = threading.Lock()
        self.input_tokens = 0
        self.output_tokens = 0
        self.cache_read_tokens = 0
        self.cache_write_tokens = 0
        self.reasoning_tokens = 0
        self.cost_usd = 0.0
        self.has_cost = False
        self.model_calls = 0
        self.tool_calls = 0

    def add_model_call(self, usage: Usage | None, cost: float | None) -> None:
        with self._lock:
            self.model_calls += 1
            if usage is not None:
                for field, _ in _TOKEN_FIELDS:
                    value = getattr(usage, field)
                    if value:
                        setattr(self, field, getattr(self, field) + value)
            if cost is not None:
                self.cost_usd += cost
                self.has_cost = True

    def add_tool_call(self) -> None:
        with self._lock:
            self.tool_calls += 1

    def close(self) -> dict[str, int | float]:
        """The span attributes for this total; also hands the total to the parent."""
        with self._lock:
            attributes: dict[str, int | float] = {
                key: getattr(self, field) for field, key in _TOKEN_FIELDS
            }
            attributes[sc.AGENTTRACE_AGGREGATE_MODEL_CALLS] = self.model_calls
            attributes[sc.AGENTTRACE_AGGREGATE_TOOL_CALLS] = self.tool_calls
            if self.has_cost:
                attributes[sc.AGENTTRACE_AGGREGATE_COST_USD] = round(self.cost_usd, 10)
        if self.parent is not None:
            self.parent._absorb(self)
        return attributes

    def _absorb(self, child: Aggregate) -> None:
        with self._lock:
            for field, _ in _TOKEN_FIELDS:
                setattr(self, field, getattr(self, field) + getattr(child, field))
            self.model_calls += child.model_calls
            self.tool_calls += child.tool_calls
            if child.has_cost:
                self.cost_usd += child.cost_usd
                self.has_cost = True
