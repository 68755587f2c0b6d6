"""``limits``: bound what one span may carry, so a runaway agent cannot flood the store.

Over-long string and bytes values are cut at a UTF-8 character boundary; surplus attributes,
events and links are dropped. Nothing disappears silently: the span records what happened
(``agenttrace.content.*``, ``agenttrace.limits.*`` and the OTLP ``dropped_*_count`` fields) and
the processor's cumulative counters feed the collector's ``/metrics``.

Which attributes survive a count limit: convention attributes (``gen_ai.*``, ``agenttrace.*``)
first, then the rest in arrival order. Events keep the most recent ones (as the OTel SDK does,
an exception event near the end matters most); links keep the first ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agenttrace import semconv
from agenttrace.collector._layout import (
    ATTRIBUTES,
    END,
    EVENTS,
    KIND,
    LINKS,
    MOST_EVENT_ATTRIBUTES,
    MOST_LINK_ATTRIBUTES,
    RECORD_FIELDS,
    RESOURCE_INDEX,
    SPAN,
    SPAN_INDEX,
    START,
    EncodedRequest,
)
from agenttrace.collector.errors import ConfigError
from agenttrace.collector.processors._config import parse_dataclass, require_positive
from agenttrace.collector.processors._otlp import set_attribute
from agenttrace.collector.processors.base import (
    ExportTraceServiceRequest,
    as_message,
    register_processor,
)

_PRIORITY_PREFIXES = ("gen_ai.", "agenttrace.")


@dataclass(frozen=True)
class LimitsConfig:
    """Per-span bounds. ``max_attribute_value_bytes`` counts UTF-8 bytes of one value."""

    max_attribute_value_bytes: int = 1_048_576
    max_attributes_per_span: int = 128
    max_attributes_per_event: int = 128
    max_attributes_per_link: int = 128
    max_events_per_span: int = 128
    max_links_per_span: int = 128

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LimitsConfig:
        return parse_dataclass(cls, data)

    def validate(self) -> None:
        for key in (
            "max_attribute_value_bytes",
            "max_attributes_per_span",
            "max_attributes_per_event",
            "max_attributes_per_link",
            "max_events_per_span",
            "max_links_per_span",
        ):
            require_positive(key, getattr(self, key))
        if self.max_attribute_value_bytes < 16:
            raise ConfigError(
                "max_attribute_value_bytes",
                f"must be at least 16 bytes, got {self.max_attribute_value_bytes}",
            )


def truncate_utf8(text: str, max_bytes: int) -> tuple[str, int] | None:
    """``(cut, original_bytes)`` when ``text`` exceeds ``max_bytes``, else ``None``."""
    if len(text) * 4 <= max_bytes:  # cheap exit: no string this short can be too long
        return None
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return None
    return encoded[:max_bytes].decode("utf-8", errors="ignore"), len(encoded)


class _SpanReport:
    """What the limits did to one span; turned into marker attributes at the end."""

    __slots__ = (
        "dropped_attributes",
        "dropped_events",
        "dropped_links",
        "original_size",
        "truncated_keys",
    )

    def __init__(self) -> None:
        self.truncated_keys: list[str] = []
        self.original_size = 0
        self.dropped_attributes = 0
        self.dropped_events = 0
        self.dropped_links = 0


class LimitsProcessor:
    """Applies :class:`LimitsConfig` to every span of a batch, in place."""

    mutates = True
    handles_stale = True

    def __init__(self, config: LimitsConfig, name: str = "limits") -> None:
        self.name = name
        self._config = config
        self._counters = {
            "attributes_truncated": 0,
            "attributes_dropped": 0,
            "events_dropped": 0,
            "links_dropped": 0,
            "spans_limited": 0,
        }

    def process(self, request: ExportTraceServiceRequest) -> ExportTraceServiceRequest | None:
        return self.process_encoded(request, EncodedRequest(request.SerializeToString()))[0]

    def process_encoded(
        self, request: ExportTraceServiceRequest, encoded: EncodedRequest
    ) -> tuple[ExportTraceServiceRequest, EncodedRequest | None]:
        """Checks the layout's counts: only spans over a limit are taken apart. A span no
        longer than the value limit holds no value beyond it."""
        config = self._config
        records = encoded.layout.records
        if self._all_within(len(encoded.data), records):
            return request, encoded
        changed = False
        for base in range(0, len(records), RECORD_FIELDS):
            if records[base + KIND] != SPAN:
                continue
            if (
                records[base + END] - records[base + START] > config.max_attribute_value_bytes
                or records[base + ATTRIBUTES] > config.max_attributes_per_span
                or records[base + EVENTS] > config.max_events_per_span
                or records[base + LINKS] > config.max_links_per_span
                or records[base + MOST_EVENT_ATTRIBUTES] > config.max_attributes_per_event
                or records[base + MOST_LINK_ATTRIBUTES] > config.max_attributes_per_link
            ):
                request = as_message(request, encoded)  # parsed only for such a span
                r, s, i = records[base + RESOURCE_INDEX : base + SPAN_INDEX + 1]
                span = request.resource_spans[r].scope_spans[s].spans[i]
                changed = self._limit_span(span) or changed
        return request, None if changed else encoded

    def _all_within(self, size: int, records: Sequence[int]) -> bool:
        """Whether no unit of a request of ``size`` bytes exceeds a limit, from the columns of
        its records at once: the common case skips the per-span loop. (Resources and scopes
        count here too, so a large one only sends the request down that loop.)"""
        config = self._config
        limits = (
            (ATTRIBUTES, config.max_attributes_per_span),
            (EVENTS, config.max_events_per_span),
            (LINKS, config.max_links_per_span),
            (MOST_EVENT_ATTRIBUTES, config.max_attributes_per_event),
            (MOST_LINK_ATTRIBUTES, config.max_attributes_per_link),
        )
        return size <= config.max_attribute_value_bytes and all(
            max(records[field::RECORD_FIELDS], default=0) <= limit for field, limit in limits
        )

    def _limit_span(self, span: Any) -> bool:
        """Bring one span within the limits; returns whether anything was cut."""
        config = self._config
        report: _SpanReport | None = None
        if len(span.events) > config.max_events_per_span:
            report = report or _SpanReport()
            report.dropped_events = len(span.events) - config.max_events_per_span
            del span.events[: report.dropped_events]
        if len(span.links) > config.max_links_per_span:
            report = report or _SpanReport()
            report.dropped_links = len(span.links) - config.max_links_per_span
            del span.links[config.max_links_per_span :]
        report = self._limit_attributes(span.attributes, config.max_attributes_per_span, "", report)
        for index, event in enumerate(span.events):
            report = self._limit_attributes(
                event.attributes, config.max_attributes_per_event, f"events[{index}].", report
            )
        for index, link in enumerate(span.links):
            report = self._limit_attributes(
                link.attributes, config.max_attributes_per_link, f"links[{index}].", report
            )
        if report is None:
            return False
        self._mark(span, report)
        return True

    def _limit_attributes(
        self, attributes: Any, max_count: int, key_prefix: str, report: _SpanReport | None
    ) -> _SpanReport | None:
        if len(attributes) > max_count:
            report = report or _SpanReport()
            report.dropped_attributes += _drop_surplus(attributes, max_count)
        max_bytes = self._config.max_attribute_value_bytes
        for kv in attributes:
            value = kv.value
            which = value.WhichOneof("value")
            if which == "string_value":
                cut = truncate_utf8(value.string_value, max_bytes)
                if cut is not None:
                    value.string_value = cut[0]
                    report = _note_truncation(report, key_prefix + kv.key, cut[1])
            elif which == "bytes_value" and len(value.bytes_value) > max_bytes:
                original = len(value.bytes_value)
                value.bytes_value = value.bytes_value[:max_bytes]
                report = _note_truncation(report, key_prefix + kv.key, original)
            elif which == "array_value":
                for item in value.array_value.values:
                    if item.WhichOneof("value") == "string_value":
                        cut = truncate_utf8(item.string_value, max_bytes)
                        if cut is not None:
                            item.string_value = cut[0]
                            report = _note_truncation(report, key_prefix + kv.key, cut[1])
        return report

    def _mark(self, span: Any, report: _SpanReport) -> None:
        counters = self._counters
        counters["spans_limited"] += 1
        attributes = span.attributes
        if report.truncated_keys:
            keys = list(dict.fromkeys(report.truncated_keys))
            counters["attributes_truncated"] += len(report.truncated_keys)
            set_attribute(attributes, semconv.AGENTTRACE_CONTENT_TRUNCATED, True)
            set_attribute(
                attributes, semconv.AGENTTRACE_CONTENT_ORIGINAL_SIZE, report.original_size
            )
            set_attribute(attributes, semconv.AGENTTRACE_CONTENT_TRUNCATED_KEYS, keys)
            set_attribute(
                attributes,
                semconv.AGENTTRACE_LIMITS_TRUNCATED_ATTRIBUTES,
                len(report.truncated_keys),
            )
        if report.dropped_attributes:
            counters["attributes_dropped"] += report.dropped_attributes
            span.dropped_attributes_count += report.dropped_attributes
            set_attribute(
                attributes, semconv.AGENTTRACE_LIMITS_DROPPED_ATTRIBUTES, report.dropped_attributes
            )
        if report.dropped_events:
            counters["events_dropped"] += report.dropped_events
            span.dropped_events_count += report.dropped_events
            set_attribute(
                attributes, semconv.AGENTTRACE_LIMITS_DROPPED_EVENTS, report.dropped_events
            )
        if report.dropped_links:
            counters["links_dropped"] += report.dropped_links
            span.dropped_links_count += report.dropped_links
            set_attribute(attributes, semconv.AGENTTRACE_LIMITS_DROPPED_LINKS, report.dropped_links)

    def metrics(self) -> Mapping[str, float]:
        return dict(self._counters)

    def shutdown(self) -> None:
        return None


def _note_truncation(report: _SpanReport | None, key: str, original_size: int) -> _SpanReport:
    report = report or _SpanReport()
    report.truncated_keys.append(key)
    report.original_size = max(report.original_size, original_size)
    return report


def _drop_surplus(attributes: Any, max_count: int) -> int:
    """Keep ``max_count`` attributes, convention ones first; returns how many were dropped."""
    priority = [i for i, kv in enumerate(attributes) if kv.key.startswith(_PRIORITY_PREFIXES)]
    keep = set(priority[:max_count])
    for index in range(len(attributes)):
        if len(keep) >= max_count:
            break
        keep.add(index)
    dropped = [i for i in range(len(attributes)) if i not in keep]
    for index in reversed(dropped):
        del attributes[index]
    return len(dropped)


def _factory(config: LimitsConfig) -> LimitsProcessor:
    return LimitsProcessor(config)


register_processor("limits", LimitsConfig, _factory)
