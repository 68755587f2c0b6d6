"""The byte screens that let most spans skip the Python path."""

from __future__ import annotations

from pipeline_helpers import build_request

from agenttrace.collector._layout import SPAN, EncodedRequest
from agenttrace.collector.processors._screen import (
    ByteScreen,
    attribute_key,
    literal,
    share_scans,
)


def _request(*attributes: dict) -> EncodedRequest:
    spans = [{"name": "n", "attributes": a} for a in attributes]
    return EncodedRequest(build_request(spans).SerializeToString())


def _matching_spans(screen: ByteScreen, encoded: EncodedRequest) -> list[int]:
    """Span indices the screen flags."""
    layout = encoded.layout
    return [layout.unit(u)[3] for u in screen.units(encoded) if layout.unit(u)[0] == SPAN]


def test_attribute_key_matches_exactly_that_key() -> None:
    screen = ByteScreen([attribute_key("gen_ai.response.finish_reason")])
    assert screen.engine == "hyperscan"
    encoded = _request(
        {"gen_ai.response.finish_reasons": ["stop"]},
        {"gen_ai.response.finish_reason": "stop"},
        {"x": "gen_ai.response.finish_reason"},  # a value, not a key
    )
    assert _matching_spans(screen, encoded) == [1]


def test_long_keys_use_a_multi_byte_length() -> None:
    key = "k" * 200
    screen = ByteScreen([attribute_key(key)])
    assert _matching_spans(screen, _request({key + "x": 1}, {key: 1})) == [1]


def test_matches_carry_their_offsets_inside_the_unit() -> None:
    screen = ByteScreen([literal("llm.input_messages.")])
    encoded = _request({"a": 1}, {"llm.input_messages.0.message.role": "user"})
    units = screen.units(encoded)
    assert len(units) == 1
    ((unit, hits),) = units.items()
    record = encoded.layout.unit(unit)
    # Hyperscan reports the last byte of the literal, inside the second span's bytes.
    end = encoded.data.index(b"llm.input_messages.") + len("llm.input_messages.") - 1
    assert hits == [(end, 0)]
    assert record[4] <= end < record[5]


def test_the_empty_screen_passes_every_unit_without_offsets() -> None:
    encoded = _request({"a": 1}, {"b": 2})
    units = ByteScreen([]).units(encoded)
    assert list(units) == list(range(len(encoded.layout)))
    assert all(hits == [] for hits in units.values())


class _Screened:
    def __init__(self, screen: ByteScreen) -> None:
        self.byte_screen = screen


def test_shared_screens_find_what_each_finds_alone_as_the_bytes_change() -> None:
    def screens() -> list[ByteScreen]:
        return [ByteScreen([literal("alpha"), literal("beta")]), ByteScreen([literal("beta")])]

    alone, shared = screens(), screens()
    share_scans([_Screened(s) for s in shared] + [object()])  # a processor without a screen
    requests = [
        _request({"a": "alpha beta"}, {"b": "beta"}),
        _request({"a": "no match"}, {"b": "alphabet"}),
    ]
    for encoded in [*requests, requests[0]]:
        for own, together in zip(alone, shared, strict=True):
            assert together.units(encoded) == own.units(encoded)
    assert shared[1].units(requests[1]) == {}
    assert list(shared[0].units(requests[1])) == [3]  # resource, scope, span, span "alphabet"
