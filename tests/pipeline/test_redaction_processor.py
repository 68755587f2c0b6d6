"""redaction: every place of a span is covered, summaries never hold values, the byte screen
never changes the outcome compared with running the engine on every value, and the bytes the
processor splices are the request it changed."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from pipeline_helpers import (
    AWS_KEY_ID,
    EMAIL,
    GITHUB_TOKEN,
    attrs,
    build_request,
    only_span,
    process_checking_bytes,
    spans_of,
)

from agenttrace import semconv
from agenttrace.collector.errors import ConfigError
from agenttrace.collector.processors._otlp import attributes_dict
from agenttrace.collector.processors.base import build_processor
from agenttrace.collector.processors.redaction import (
    RedactionProcessor,
    RedactionProcessorConfig,
)
from agenttrace.redaction import DROP, RedactionConfig, Redactor

ANTHROPIC = "sk-ant-api03-" + "x7Yq2Lm9Pz4Rt6Wv8Kc1Nd3Fg5Hj7Bs0Qa2Ze4Xu6"
SECRETS = (GITHUB_TOKEN, ANTHROPIC, AWS_KEY_ID, EMAIL)


def _redact(spans: list[dict], resource: dict | None = None, **config: object):
    request = build_request(spans, resource=resource)
    processor = RedactionProcessor(RedactionProcessorConfig.from_dict(config))
    return process_checking_bytes(processor, request), processor


def test_every_place_of_a_span_is_redacted() -> None:
    request, processor = _redact(
        [
            {
                "name": f"deploy for {EMAIL}",
                "status": "error",
                "status_message": f"upstream refused token {GITHUB_TOKEN}",
                "attributes": {
                    "http.request.header.authorization": "Bearer abc.def.ghi",
                    semconv.GEN_AI_INPUT_MESSAGES: json.dumps(
                        [
                            {
                                "role": "user",
                                "parts": [{"type": "text", "content": f"key {ANTHROPIC}"}],
                            }
                        ]
                    ),
                    "tags": ["fine", AWS_KEY_ID],
                    "app.note": "nothing to see",
                },
                "events": [
                    {"name": "exception", "attributes": {"exception.message": f"bad {AWS_KEY_ID}"}}
                ],
                "links": [{"attributes": {"origin": f"mail {EMAIL}"}}],
            }
        ],
        resource={"service.name": "agent", "deployment.owner": EMAIL},
    )
    wire = request.SerializeToString()
    for secret in (*SECRETS, "abc.def.ghi"):
        assert secret.encode() not in wire
    span = only_span(request)
    out = attrs(span)
    assert span.name == "deploy for [REDACTED:email]"
    assert span.status.message == "upstream refused token [REDACTED:github_token]"
    assert out["app.note"] == "nothing to see"
    assert out["tags"][0] == "fine"
    messages = json.loads(out[semconv.GEN_AI_INPUT_MESSAGES])  # still valid JSON, redacted inside
    assert messages[0]["parts"][0]["content"] == "key [REDACTED:anthropic_api_key]"
    assert out[semconv.AGENTTRACE_REDACTION_COUNT] == 7
    assert sorted(out[semconv.AGENTTRACE_REDACTION_KEYS]) == sorted(
        [
            "name",
            "status.message",
            "http.request.header.authorization",
            semconv.GEN_AI_INPUT_MESSAGES,
            "tags",
            "events[0].exception.message",
            "links[0].origin",
        ]
    )
    assert all("=" in t for t in out[semconv.AGENTTRACE_REDACTION_TYPES])
    resource = attributes_dict(request.resource_spans[0].resource.attributes)
    assert resource["deployment.owner"] == "[REDACTED:email]"
    assert resource[semconv.AGENTTRACE_REDACTION_KEYS] == ["resource.deployment.owner"]
    assert processor.metrics()["spans_redacted"] == 1


def test_clean_spans_are_left_byte_identical_without_summary() -> None:
    spans = [{"name": "chat gpt-4o", "attributes": {"gen_ai.request.model": "gpt-4o", "n": 3}}]
    request = build_request(spans)
    before = request.SerializeToString()
    RedactionProcessor(RedactionProcessorConfig.from_dict({})).process(request)
    assert request.SerializeToString() == before


def test_drop_mode_removes_the_value_and_block_rules_apply() -> None:
    request, processor = _redact(
        [{"attributes": {"note": f"reach me at {EMAIL}", "internal.blob": "anything", "k": "v"}}],
        mode="drop",
        block=[{"key": "internal.*"}],
    )
    out = attrs(only_span(request))
    assert "note" not in out
    assert "internal.blob" not in out
    assert out["k"] == "v"
    assert processor.metrics()["values_dropped"] == 2


def test_disabled_redaction_passes_everything() -> None:
    request, _ = _redact([{"attributes": {"note": EMAIL}}], enabled=False)
    assert attrs(only_span(request))["note"] == EMAIL


def _random_text(rng: random.Random) -> str:
    words = ["alpha", "deploy", "user", "ok", "token", "password", "42", "10.0.0.1", "key:", "{"]
    pieces = [rng.choice(words) for _ in range(rng.randint(0, 8))]
    if rng.random() < 0.3:
        pieces.insert(rng.randint(0, len(pieces)), rng.choice(SECRETS))
    return " ".join(pieces)


def _reference(redactor: Redactor, request: object) -> None:
    """The precise path on every single value: what the prefiltered processor must equal."""
    for rs in request.resource_spans:
        _reference_attributes(redactor, rs.resource.attributes)
        for ss in rs.scope_spans:
            for span in ss.spans:
                span.name = redactor.redact_text(span.name)
                span.status.message = redactor.redact_text(span.status.message)
                _reference_attributes(redactor, span.attributes)
                for event in span.events:
                    event.name = redactor.redact_text(event.name)
                    _reference_attributes(redactor, event.attributes)
                for link in span.links:
                    _reference_attributes(redactor, link.attributes)


def _reference_attributes(redactor: Redactor, attributes: object) -> None:
    from agenttrace.collector.processors._otlp import set_value, to_python

    for index in reversed(range(len(attributes))):
        kv = attributes[index]
        value = redactor.redact_value(kv.key, to_python(kv.value))
        if value is DROP:
            del attributes[index]
        else:
            kv.value.Clear()
            set_value(kv.value, value)


def _strip_summaries(request: object) -> None:
    for rs in request.resource_spans:
        holders = [rs.resource.attributes, *(s.attributes for s in spans_of(request))]
        for attributes in holders:
            for index in reversed(range(len(attributes))):
                if attributes[index].key.startswith("agenttrace.redaction."):
                    del attributes[index]


def test_prefilter_never_changes_the_outcome() -> None:
    rng = random.Random(1234)
    keys = ["note", "db.password", "api_key", "gen_ai.input.messages", "cookie", "x.auth", "plain"]
    spans = []
    for index in range(120):
        attributes = {rng.choice(keys) + str(i % 2 or ""): _random_text(rng) for i in range(4)}
        if rng.random() < 0.3:
            attributes["gen_ai.output.messages"] = json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": _random_text(rng)}]}]
            )
        if rng.random() < 0.2:
            attributes["json.blob"] = json.dumps(
                {"session_cookie": "abcDEF123456", "v": _random_text(rng)}
            )
        spans.append(
            {
                "span_id": index + 1,
                "name": _random_text(rng) or "span",
                "status_message": _random_text(rng),
                "attributes": attributes,
                "events": [{"name": "log", "attributes": {"body": _random_text(rng)}}],
                "links": [{"attributes": {"why": _random_text(rng)}}],
            }
        )
    processed = build_request(spans)
    processor = RedactionProcessor(RedactionProcessorConfig.from_dict({}))
    processed = process_checking_bytes(processor, processed)
    expected = build_request(spans)
    _reference(Redactor(RedactionConfig()), expected)
    _strip_summaries(processed)
    assert processed == expected
    assert processor.metrics()["findings"] > 30  # the corpus really exercised the engine


def test_config_file_is_the_one_agenttrace_redact_reads(tmp_path: Path) -> None:
    config_file = tmp_path / "redaction.yaml"
    config_file.write_text("redaction:\n  mode: drop\n")
    processor = build_processor(
        "redaction", "r", {"config_file": str(config_file)}, "processors[0]"
    )
    request = build_request([{"attributes": {"note": f"mail {EMAIL}", "k": "v"}}])
    processor.process(request)
    assert attrs(only_span(request)) == {
        "k": "v",
        semconv.AGENTTRACE_REDACTION_COUNT: 1,
        semconv.AGENTTRACE_REDACTION_TYPES: ["email=1"],
        semconv.AGENTTRACE_REDACTION_KEYS: ["note"],
    }
    with pytest.raises(ConfigError) as err:
        build_processor("redaction", "r", {"config_file": str(config_file), "mode": "mask"}, "p")
    assert err.value.key_path == "p.mode"
    config_file.write_text("redaction:\n  mode: shred\n")
    with pytest.raises(ConfigError) as err:
        build_processor("redaction", "r", {"config_file": str(config_file)}, "p")
    assert err.value.key_path == "p.config_file"


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError) as err:
        build_processor("redaction", "r", {"mode": "shred"}, "processors[1]")
    assert err.value.key_path == "processors[1].mode"
    with pytest.raises(ConfigError) as err:
        build_processor("redaction", "r", {"unknown_option": 1}, "processors[1]")
    assert err.value.key_path == "processors[1].unknown_option"


def test_a_second_pass_replaces_the_summary_instead_of_adding_one() -> None:
    request, _ = _redact([{"attributes": {"note": f"mail {EMAIL}", "other": f"x {GITHUB_TOKEN}"}}])
    processor = RedactionProcessor(RedactionProcessorConfig.from_dict({}))
    only_span(request).attributes.add(key="late").value.string_value = f"token {AWS_KEY_ID}"
    span = only_span(process_checking_bytes(processor, request))
    keys = [kv.key for kv in span.attributes]
    assert keys.count(semconv.AGENTTRACE_REDACTION_COUNT) == 1
    assert keys.count(semconv.AGENTTRACE_REDACTION_KEYS) == 1
    out = attrs(span)
    assert out["late"] == "token [REDACTED:aws_access_key_id]"
    assert out[semconv.AGENTTRACE_REDACTION_COUNT] == 1  # this pass's findings
    assert out[semconv.AGENTTRACE_REDACTION_KEYS] == ["late"]


def test_several_dropped_values_of_one_span_all_go() -> None:
    attributes = {f"a{i}": (f"mail {EMAIL}" if i % 2 else "keep") for i in range(8)}
    request, processor = _redact([{"attributes": attributes}], mode="drop")
    out = attrs(only_span(request))
    assert {k for k in out if not k.startswith("agenttrace.")} == {"a0", "a2", "a4", "a6"}
    assert processor.metrics()["values_dropped"] == 4


@pytest.mark.parametrize("config", [{}, {"block": [{"key": "x"}]}], ids=["screened", "block"])
def test_the_processor_changes_what_the_engine_changes(config: dict) -> None:
    rng = random.Random(99)
    texts = [_random_text(rng) for _ in range(400)]
    texts += [
        json.dumps({"session_cookie": "abcDEF123456"}),
        # The Kelvin sign lowers to "k": the key rules fold it, the byte scan does not.
        json.dumps({"COO\u212aIE": "abcDEF123456"}, ensure_ascii=False),
        json.dumps({"v": "jane\u0040corp.io"}, ensure_ascii=True).replace("@", "\\u0040"),
        "caf\u00e9 " + EMAIL,
    ]
    spans = [
        {"span_id": i + 1, "attributes": {"gen_ai.input.messages": text, "note": text, "n": i}}
        for i, text in enumerate(texts)
    ]
    processed = build_request(spans)
    processor = RedactionProcessor(RedactionProcessorConfig.from_dict(config))
    processed = process_checking_bytes(processor, processed)
    expected = build_request(spans)
    _reference(Redactor(RedactionConfig.from_dict(config)), expected)
    _strip_summaries(processed)
    assert processed == expected
    assert processor.metrics()["findings"] > 100


def test_findings_split_by_an_escaped_newline_in_json_are_redacted() -> None:
    """A message's newline is ``\\n`` in the request's bytes: the byte screen must still
    flag the span."""
    texts = ["ssn\n123456789", "password\n: hunter2hunter2", "call (415)\n555-0100"]
    spans = [
        {"span_id": i + 1, "attributes": {"gen_ai.input.messages": json.dumps([{"content": t}])}}
        for i, t in enumerate(texts)
    ]
    request, processor = _redact(spans)
    for span, text in zip(spans_of(request), texts, strict=True):
        content = json.loads(attrs(span)["gen_ai.input.messages"])[0]["content"]
        assert "[REDACTED:" in content
        assert content != text
    assert processor.metrics()["findings"] == 3


@pytest.mark.parametrize("mode", ["mask", "drop"])
def test_spans_redacted_in_their_bytes_equal_the_message_path(mode: str) -> None:
    """Spans whose matches all lie in string attributes are redacted in the received bytes;
    with a block rule there is no screen and every span goes through the message objects.
    Both give the same request, summaries and counts (values longer than one- and two-byte
    length varints, repeated keys, several findings per span, JSON and plain text)."""
    rng = random.Random(7)
    spans = []
    for index in range(150):
        attributes: dict[str, object] = {"n": index, "plain": _random_text(rng)}
        for i in range(rng.randint(1, 4)):
            text = _random_text(rng) + " " * rng.choice((0, 130, 17_000))
            if rng.random() < 0.5:
                text = json.dumps([{"role": "user", "parts": [{"content": text}]}])
            attributes[f"gen_ai.input.messages{i or ''}"] = text
        spans.append({"span_id": index + 1, "attributes": attributes})
    requests = [build_request(spans) for _ in range(2)]
    for span in spans_of(requests[0]) + spans_of(requests[1]):
        span.attributes.add(key="plain").value.string_value = f"again {EMAIL}"
    in_bytes = RedactionProcessor(RedactionProcessorConfig.from_dict({"mode": mode}))
    by_message = RedactionProcessor(
        RedactionProcessorConfig.from_dict({"mode": mode, "block": [{"key": "never.used"}]})
    )
    assert process_checking_bytes(in_bytes, requests[0]) == process_checking_bytes(
        by_message, requests[1]
    )
    # Without a screen every value is a candidate; what was found and changed is the same.
    counted = ("spans_redacted", "findings", "values_dropped")
    assert [in_bytes.metrics()[c] for c in counted] == [by_message.metrics()[c] for c in counted]
    assert in_bytes.metrics()["spans_redacted"] == 150
    assert in_bytes.metrics()["values_dropped" if mode == "drop" else "findings"] > 150


def test_a_span_with_a_match_outside_its_attributes_is_taken_apart_whole() -> None:
    request, _ = _redact(
        [{"attributes": {"note": f"to {EMAIL}"}, "events": [{"name": f"mail {EMAIL}"}]}]
    )
    span = only_span(request)
    assert EMAIL not in attrs(span)["note"]
    assert EMAIL not in span.events[0].name
    assert attrs(span)[semconv.AGENTTRACE_REDACTION_COUNT] == 2


def test_spans_redacted_in_their_bytes_reach_the_message_when_the_request_is_serialized() -> None:
    """A resource given twice (the runtime merges the two) cannot be spliced: the request is
    then serialized from its message, which must hold the spans redacted in their bytes too."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    from agenttrace.collector._layout import EncodedRequest, encode_varint

    built = build_request(
        [{"attributes": {"note": f"to {EMAIL}"}}], resource={"owner": f"mail {EMAIL}"}
    )
    inner = built.resource_spans[0].SerializeToString() + b"\x0a\x00"  # a second, empty resource
    data = b"\x0a" + encode_varint(len(inner)) + inner
    request = ExportTraceServiceRequest.FromString(data)
    processor = RedactionProcessor(RedactionProcessorConfig.from_dict({}))
    result, encoded = processor.process_encoded(request, EncodedRequest(data))
    assert result is request
    assert encoded is None
    assert EMAIL.encode() not in request.SerializeToString()
    assert attrs(only_span(request))[semconv.AGENTTRACE_REDACTION_COUNT] == 1
