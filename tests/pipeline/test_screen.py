"""The byte screens that let most spans skip the Python path."""

from __future__ import annotations

from pipeline_helpers import build_request, only_span

from agenttrace.collector.processors._screen import ByteScreen, attribute_key, literal


def _span_bytes(attributes: dict) -> bytes:
    return only_span(build_request([{"name": "n", "attributes": attributes}])).SerializeToString()


def test_attribute_key_matches_exactly_that_key() -> None:
    screen = ByteScreen([attribute_key("gen_ai.response.finish_reason")])
    assert screen.engine == "hyperscan"
    assert screen.matches(_span_bytes({"gen_ai.response.finish_reason": "stop"}))
    assert not screen.matches(_span_bytes({"gen_ai.response.finish_reasons": ["stop"]}))
    assert not screen.matches(_span_bytes({"x": "gen_ai.response.finish_reason"}))  # a value


def test_long_keys_use_a_multi_byte_length() -> None:
    key = "k" * 200
    screen = ByteScreen([attribute_key(key)])
    assert screen.matches(_span_bytes({key: 1}))
    assert not screen.matches(_span_bytes({key + "x": 1}))


def test_literals_and_the_empty_screen() -> None:
    assert ByteScreen([literal("llm.input_messages.")]).matches(
        _span_bytes({"llm.input_messages.0.message.role": "user"})
    )
    assert ByteScreen([]).matches(b"anything")
