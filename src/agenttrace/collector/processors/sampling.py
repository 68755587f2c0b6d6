"""``sampling``: keep everything (the default), or decide per trace with a tail rule.

The tail rule keeps every trace that has an error span or whose cost exceeds
``keep_cost_above_usd``, and keeps the rest when the trace id falls under ``ratio``. The ratio test
uses the low 64 bits of the trace id, like the OTel SDK's ``TraceIdRatioBased`` sampler, so every
collector replica (and an agent-side sampler at the same ratio) reaches the same verdict.

A trace is decided once its root span (no parent) has arrived, or ``decision_wait_s`` after its
first span arrived. Until then its spans wait in memory, bounded by ``max_buffered_spans``: when
the bound is hit the oldest undecided traces are decided early with what is known so far. Spans
arriving after their trace was decided follow the remembered verdict.

The processor API is synchronous per request, so ``process`` returns only what is decided now.
Held spans come out of :meth:`SamplingProcessor.flush_due`, which the collector polls (about once
a second), and of :meth:`SamplingProcessor.flush_all` at shutdown. Held spans are acknowledged to
the sender before they are durable: a crash while they wait loses them.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from agenttrace import semconv
from agenttrace.collector.errors import ConfigError
from agenttrace.collector.processors._config import parse_dataclass, require_positive
from agenttrace.collector.processors._otlp import STATUS_CODE_ERROR, new_request, to_python
from agenttrace.collector.processors.base import ExportTraceServiceRequest, register_processor

_LOW_64_BITS = (1 << 64) - 1
_COST_KEYS = frozenset({semconv.AGENTTRACE_COST_USD})
_AGGREGATE_COST_KEY = semconv.AGENTTRACE_AGGREGATE_COST_USD


@dataclass(frozen=True)
class SamplingConfig:
    mode: Literal["keep_all", "tail"] = "keep_all"
    keep_errors: bool = True
    keep_cost_above_usd: float | None = None
    ratio: float = 1.0
    decision_wait_s: float = 30.0
    max_buffered_spans: int = 100_000
    max_remembered_traces: int = 100_000

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SamplingConfig:
        return parse_dataclass(cls, data)

    def validate(self) -> None:
        if not 0.0 <= self.ratio <= 1.0:
            raise ConfigError("ratio", f"must be between 0 and 1, got {self.ratio}")
        if self.keep_cost_above_usd is not None and self.keep_cost_above_usd < 0:
            raise ConfigError("keep_cost_above_usd", "must not be negative")
        require_positive("decision_wait_s", self.decision_wait_s)
        require_positive("max_buffered_spans", self.max_buffered_spans)
        require_positive("max_remembered_traces", self.max_remembered_traces)


def ratio_keeps(trace_id: bytes, ratio: float) -> bool:
    """The deterministic ratio verdict for one trace id (low 64 bits, as the OTel SDK)."""
    if ratio >= 1.0:
        return True
    low = int.from_bytes(trace_id[-8:], "big") & _LOW_64_BITS
    return low < int(ratio * (1 << 64))


class _PendingTrace:
    """Spans of an undecided trace, with what the rule needs to know about them."""

    __slots__ = ("aggregate_cost", "cost", "first_seen", "has_error", "root_seen", "spans")

    def __init__(self, first_seen: float) -> None:
        self.first_seen = first_seen
        self.spans: list[tuple[_Origin, Any]] = []
        self.has_error = False
        self.root_seen = False
        self.cost = 0.0
        self.aggregate_cost = 0.0

    def observe(self, span: Any) -> None:
        if span.status.code == STATUS_CODE_ERROR:
            self.has_error = True
        if not span.parent_span_id:
            self.root_seen = True
        for kv in span.attributes:
            if kv.key in _COST_KEYS:
                self.cost += _as_float(to_python(kv.value))
            elif kv.key == _AGGREGATE_COST_KEY:
                self.aggregate_cost = max(self.aggregate_cost, _as_float(to_python(kv.value)))


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


class SamplingProcessor:
    """Tail sampling per trace; a pass-through in ``keep_all`` mode."""

    def __init__(self, config: SamplingConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = "sampling"
        self._config = config
        self._clock = clock
        self._pending: OrderedDict[bytes, _PendingTrace] = OrderedDict()
        self._buffered = 0
        self._verdicts: OrderedDict[bytes, bool] = OrderedDict()
        self._counters = {
            "traces_kept": 0,
            "traces_dropped": 0,
            "spans_kept": 0,
            "spans_dropped": 0,
        }

    @property
    def mutates(self) -> bool:
        # In tail mode the returned request is a new message built from the kept spans.
        return self._config.mode == "tail"

    @property
    def stateful(self) -> bool:
        """Tail mode holds spans across requests, so it cannot run in ingest workers."""
        return self._config.mode == "tail"

    @property
    def buffered_spans(self) -> int:
        return self._buffered

    def process(self, request: ExportTraceServiceRequest) -> ExportTraceServiceRequest | None:
        if self._config.mode == "keep_all":
            return request
        now = self._clock()
        out = _RequestBuilder()
        touched: list[bytes] = []
        for resource_spans in request.resource_spans:
            resource = type(resource_spans)(
                resource=resource_spans.resource, schema_url=resource_spans.schema_url
            )
            for scope_spans in resource_spans.scope_spans:
                origin = _Origin(resource, scope_spans)
                for span in scope_spans.spans:
                    verdict = self._verdicts.get(span.trace_id)
                    if verdict is not None:
                        self._count_span(verdict)
                        if verdict:
                            out.add(origin, span)
                        continue
                    pending = self._pending.get(span.trace_id)
                    if pending is None:
                        pending = self._pending[span.trace_id] = _PendingTrace(now)
                    pending.observe(span)
                    pending.spans.append((origin, _copy(span)))
                    self._buffered += 1
                    touched.append(span.trace_id)
        for trace_id in dict.fromkeys(touched):
            pending = self._pending.get(trace_id)
            if pending is not None and pending.root_seen:
                self._decide(trace_id, out)
        while self._buffered > self._config.max_buffered_spans and self._pending:
            self._decide(next(iter(self._pending)), out)
        return out.build()

    def flush_due(self, now: float | None = None) -> ExportTraceServiceRequest | None:
        """Decide every trace that waited ``decision_wait_s``; the kept spans, or ``None``."""
        if not self._pending:
            return None
        deadline = (self._clock() if now is None else now) - self._config.decision_wait_s
        out = _RequestBuilder()
        # Pending traces are in arrival order, so the due ones are a prefix.
        while self._pending:
            trace_id, pending = next(iter(self._pending.items()))
            if pending.first_seen > deadline:
                break
            self._decide(trace_id, out)
        return out.build()

    def flush_all(self) -> ExportTraceServiceRequest | None:
        """Decide every undecided trace now (at shutdown); the kept spans, or ``None``."""
        out = _RequestBuilder()
        while self._pending:
            self._decide(next(iter(self._pending)), out)
        return out.build()

    def _decide(self, trace_id: bytes, out: _RequestBuilder) -> None:
        pending = self._pending.pop(trace_id)
        self._buffered -= len(pending.spans)
        keep = self._rule(trace_id, pending)
        self._verdicts[trace_id] = keep
        if len(self._verdicts) > self._config.max_remembered_traces:
            self._verdicts.popitem(last=False)
        self._counters["traces_kept" if keep else "traces_dropped"] += 1
        for origin, span in pending.spans:
            self._count_span(keep)
            if keep:
                out.add(origin, span)

    def _rule(self, trace_id: bytes, pending: _PendingTrace) -> bool:
        config = self._config
        if config.keep_errors and pending.has_error:
            return True
        threshold = config.keep_cost_above_usd
        if threshold is not None and max(pending.cost, pending.aggregate_cost) > threshold:
            return True
        return ratio_keeps(trace_id, config.ratio)

    def _count_span(self, kept: bool) -> None:
        self._counters["spans_kept" if kept else "spans_dropped"] += 1

    def metrics(self) -> Mapping[str, float]:
        return {**self._counters, "spans_buffered": float(self._buffered)}

    def shutdown(self) -> None:
        return None


def _copy(message: Any) -> Any:
    copied = type(message)()
    copied.CopyFrom(message)
    return copied


class _Origin:
    """Copies of a span's resource and scope, so a held span does not pin its whole request."""

    __slots__ = ("resource_spans", "scope_spans")

    def __init__(self, resource: Any, scope_spans: Any) -> None:
        # ``resource`` is a ResourceSpans without scopes, shared by the origins of one request.
        self.resource_spans = resource
        self.scope_spans = type(scope_spans)(
            scope=scope_spans.scope, schema_url=scope_spans.schema_url
        )


class _RequestBuilder:
    """Collects kept spans into a new request, grouped by their original resource and scope."""

    def __init__(self) -> None:
        self._request: Any = None
        self._scopes: dict[int, Any] = {}
        self._resources: dict[int, Any] = {}
        # Origins are kept alive here so their ids cannot be reused while grouping.
        self._origins: list[_Origin] = []

    def add(self, origin: _Origin, span: Any) -> None:
        target = self._scopes.get(id(origin))
        if target is None:
            if self._request is None:
                self._request = new_request()
            out_resource = self._resources.get(id(origin.resource_spans))
            if out_resource is None:
                out_resource = self._request.resource_spans.add()
                out_resource.CopyFrom(origin.resource_spans)
                self._resources[id(origin.resource_spans)] = out_resource
            target = out_resource.scope_spans.add()
            target.CopyFrom(origin.scope_spans)
            self._scopes[id(origin)] = target
            self._origins.append(origin)
        target.spans.append(span)

    def build(self) -> Any:
        return self._request


def _factory(config: SamplingConfig) -> SamplingProcessor:
    return SamplingProcessor(config)


register_processor("sampling", SamplingConfig, _factory)
