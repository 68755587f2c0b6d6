"""limits: oversized values are cut and marked, surplus attributes/events/links dropped and counted."""

from __future__ import annotations

import pytest
from pipeline_helpers import attrs, build_request, only_span

from agenttrace import semconv
from agenttrace.collector.errors import ConfigError
from agenttrace.collector.processors.base import build_processor
from agenttrace.collector.processors.limits import LimitsConfig, LimitsProcessor, truncate_utf8


def _limit(spec: dict, **config: int) -> tuple:
    request = build_request([spec])
    processor = LimitsProcessor(LimitsConfig.from_dict(config))
    processor.process(request)
    return only_span(request), processor


def test_truncation_respects_utf8_boundaries() -> None:
    cut = truncate_utf8("é" * 10, 5)  # 2 bytes each: the cut must not split a character
    assert cut == ("éé", 20)
    assert truncate_utf8("short", 16) is None


def test_long_values_are_truncated_and_marked() -> None:
    span, processor = _limit(
        {
            "attributes": {
                semconv.GEN_AI_INPUT_MESSAGES: "x" * 5000,
                "tags": ["ok", "y" * 300],
                "small": "fine",
                "count": 7,
            },
            "events": [{"name": "log", "attributes": {"body": "z" * 400}}],
        },
        max_attribute_value_bytes=256,
    )
    out = attrs(span)
    assert out[semconv.GEN_AI_INPUT_MESSAGES] == "x" * 256
    assert out["tags"] == ["ok", "y" * 256]
    assert out["small"] == "fine"
    assert span.events[0].attributes[0].value.string_value == "z" * 256
    assert out[semconv.AGENTTRACE_CONTENT_TRUNCATED] is True
    assert out[semconv.AGENTTRACE_CONTENT_ORIGINAL_SIZE] == 5000
    assert out[semconv.AGENTTRACE_CONTENT_TRUNCATED_KEYS] == [
        semconv.GEN_AI_INPUT_MESSAGES,
        "tags",
        "events[0].body",
    ]
    assert out[semconv.AGENTTRACE_LIMITS_TRUNCATED_ATTRIBUTES] == 3
    assert processor.metrics()["attributes_truncated"] == 3


def test_surplus_attributes_events_and_links_are_dropped_and_counted() -> None:
    attributes = {f"app.k{i}": i for i in range(10)}
    attributes[semconv.GEN_AI_REQUEST_MODEL] = "gpt-4o"  # last, but a convention name: kept
    span, processor = _limit(
        {
            "attributes": attributes,
            "events": [{"name": f"e{i}"} for i in range(6)],
            "links": [{"span_id": i + 1} for i in range(5)],
        },
        max_attributes_per_span=4,
        max_events_per_span=2,
        max_links_per_span=3,
    )
    out = attrs(span)
    assert {k: v for k, v in out.items() if not k.startswith("agenttrace.")} == {
        semconv.GEN_AI_REQUEST_MODEL: "gpt-4o",
        "app.k0": 0,
        "app.k1": 1,
        "app.k2": 2,
    }
    assert [e.name for e in span.events] == ["e4", "e5"]  # the most recent events stay
    assert [int.from_bytes(link.span_id, "big") for link in span.links] == [1, 2, 3]
    assert out[semconv.AGENTTRACE_LIMITS_DROPPED_ATTRIBUTES] == 7
    assert out[semconv.AGENTTRACE_LIMITS_DROPPED_EVENTS] == 4
    assert out[semconv.AGENTTRACE_LIMITS_DROPPED_LINKS] == 2
    assert (span.dropped_attributes_count, span.dropped_events_count, span.dropped_links_count) == (
        7,
        4,
        2,
    )
    assert processor.metrics() == {
        "attributes_truncated": 0,
        "attributes_dropped": 7,
        "events_dropped": 4,
        "links_dropped": 2,
        "spans_limited": 1,
    }


def test_spans_within_limits_are_not_touched() -> None:
    request = build_request([{"attributes": {"a": "b" * 100}, "events": [{"name": "e"}]}])
    before = request.SerializeToString()
    processor = LimitsProcessor(LimitsConfig())
    processor.process(request)
    assert request.SerializeToString() == before
    assert processor.metrics()["spans_limited"] == 0


def test_a_resource_over_the_span_limits_leaves_its_spans_alone() -> None:
    """The quick check over every unit's counts fails on the resource's attributes; the span
    loop then finds nothing to cut, and a request of spans within a byte limit smaller than
    itself is still checked span by span."""
    request = build_request([{"attributes": {"a": "b" * 100}}, {"attributes": {"c": "d"}}])
    for n in range(5):
        request.resource_spans[0].resource.attributes.add(key=f"r{n}").value.string_value = "v"
    before = request.SerializeToString()
    processor = LimitsProcessor(
        LimitsConfig.from_dict({"max_attributes_per_span": 3, "max_attribute_value_bytes": 150})
    )
    processor.process(request)
    assert request.SerializeToString() == before
    assert processor.metrics()["spans_limited"] == 0
    long_value = LimitsProcessor(LimitsConfig.from_dict({"max_attribute_value_bytes": 50}))
    long_value.process(request)
    assert long_value.metrics()["spans_limited"] == 1


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"max_events_per_span": 0}, "max_events_per_span"),
        ({"max_attribute_value_bytes": 8}, "max_attribute_value_bytes"),
        ({"max_links_per_span": "many"}, "max_links_per_span"),
        ({"max_attributes": 3}, "max_attributes"),
    ],
)
def test_config_errors_name_the_key(options: dict, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_processor("limits", "limits", options, "processors[2]")
    assert err.value.key_path == f"processors[2].{key}"
