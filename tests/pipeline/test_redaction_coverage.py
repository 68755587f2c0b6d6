"""redaction beyond strings: bytes values at any depth, the instrumentation scope and the W3C
trace states of spans and links. Secrets there do not survive, the summaries count them, clean
values stay byte for byte, and the screens never change the outcome."""

from __future__ import annotations

import asyncio
import json
import random
import re
from pathlib import Path
from typing import Any

from pipeline_helpers import (
    AWS_KEY_ID,
    EMAIL,
    GITHUB_TOKEN,
    add_span,
    attrs,
    build_request,
    collector_config,
    only_span,
    post_protobuf,
    spans_of,
    tree_bytes,
    wait_rows,
)

from agenttrace import semconv
from agenttrace.collector.processors._otlp import attributes_dict, set_value
from agenttrace.collector.processors.redaction import RedactionProcessor, RedactionProcessorConfig
from agenttrace.collector.service import Collector

STRIPE = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dcQ"
SECRETS = (GITHUB_TOKEN, STRIPE, AWS_KEY_ID, EMAIL)
COUNT = semconv.AGENTTRACE_REDACTION_COUNT
TYPES = semconv.AGENTTRACE_REDACTION_TYPES
KEYS = semconv.AGENTTRACE_REDACTION_KEYS
# W3C Trace Context: list members "key=value", values printable ASCII without "," and "=".
_TRACE_STATE_MEMBER = re.compile(
    r"[a-z0-9][a-z0-9_\-*/]{0,255}(?:@[a-z0-9][a-z0-9_\-*/]{0,13})?"
    r"=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]"
)


def _processor(**config: object) -> RedactionProcessor:
    return RedactionProcessor(RedactionProcessorConfig.from_dict(config))


def _value_kind(span: Any, key: str) -> str | None:
    (kv,) = (kv for kv in span.attributes if kv.key == key)
    return kv.value.WhichOneof("value")


def _assert_valid_trace_state(trace_state: str) -> None:
    for member in trace_state.split(","):
        assert _TRACE_STATE_MEMBER.fullmatch(member.strip(" \t")), member


# ---------------------------------------------------------------------------- bytes values


def test_secrets_in_bytes_values_are_redacted_at_any_depth_and_stay_bytes() -> None:
    request = build_request(
        [
            {
                "attributes": {
                    "http.request.body": f"token {GITHUB_TOKEN} sent".encode(),
                    "chunks": [b"first chunk", f"mail {EMAIL}".encode(), "text"],
                    "payload": {"inner": {"blob": f"key {AWS_KEY_ID}".encode()}, "n": 3},
                    "parts": [{"raw": STRIPE.encode()}],
                    "clean.blob": b"\x00\x01 nothing here \xff",
                },
                "events": [{"name": "e", "attributes": {"body": f"to {EMAIL}".encode()}}],
                "links": [{"attributes": {"ctx": f"{GITHUB_TOKEN}".encode()}}],
            }
        ]
    )
    processor = _processor()
    processor.process(request)
    wire = request.SerializeToString()
    for secret in SECRETS:
        assert secret.encode() not in wire
    span = only_span(request)
    out = attrs(span)
    assert out["http.request.body"] == b"token [REDACTED:github_token] sent"
    assert _value_kind(span, "http.request.body") == "bytes_value"
    assert out["chunks"] == [b"first chunk", b"mail [REDACTED:email]", "text"]
    assert out["payload"] == {"inner": {"blob": b"key [REDACTED:aws_access_key_id]"}, "n": 3}
    assert out["parts"] == [{"raw": b"[REDACTED:stripe_key]"}]
    assert out["clean.blob"] == b"\x00\x01 nothing here \xff"
    assert attributes_dict(span.events[0].attributes)["body"] == b"to [REDACTED:email]"
    assert attributes_dict(span.links[0].attributes)["ctx"] == b"[REDACTED:github_token]"
    assert out[COUNT] == 6
    assert sorted(out[KEYS]) == [
        "chunks",
        "events[0].body",
        "http.request.body",
        "links[0].ctx",
        "parts",
        "payload",
    ]
    assert sorted(out[TYPES]) == [
        "aws_access_key_id=1",
        "email=2",
        "github_token=2",
        "stripe_key=1",
    ]
    assert processor.metrics()["spans_redacted"] == 1


def test_non_utf8_bytes_are_scanned_byte_for_character_and_only_the_secret_changes() -> None:
    binary = b"\x89PNG\r\n\x1a\n\xff\xfe\x00 auth " + GITHUB_TOKEN.encode() + b" \xc3\x28\x00\xfa"
    # Latin-1 JSON: parsed, redacted member by member, written back with its escapes.
    document = b'{"a": "\xe9 ' + EMAIL.encode() + b'", "b": "\\u20ac"}'
    request = build_request(
        [{"attributes": {"upload": binary, "doc": document, "clean": b"\xff\xfe\x00\x80"}}]
    )
    _processor().process(request)
    out = attrs(only_span(request))
    assert out["upload"] == binary.replace(GITHUB_TOKEN.encode(), b"[REDACTED:github_token]")
    assert out["doc"] == b'{"a":"\xe9 [REDACTED:email]","b":"\\u20ac"}'
    assert out["clean"] == b"\xff\xfe\x00\x80"
    assert out[KEYS] == ["doc", "upload"]


def test_bytes_follow_the_key_rules_like_strings() -> None:
    request = build_request(
        [
            {
                "attributes": {
                    "db.password": b"hunter2hunter2",
                    "internal.dump": b"\x00anything\xff",
                    "note": f"mail {EMAIL}".encode(),
                    "keep": b"plain",
                }
            }
        ]
    )
    processor = _processor(mode="drop", block=[{"key": "internal.*"}])
    processor.process(request)
    out = attrs(only_span(request))
    assert {k for k in out if not k.startswith("agenttrace.")} == {"keep"}
    assert processor.metrics()["values_dropped"] == 3
    masked = build_request([{"attributes": {"internal.dump": b"\x00anything\xff"}}])
    _processor(block=["internal.*"]).process(masked)
    assert attrs(only_span(masked))["internal.dump"] == b"[REDACTED:blocked_key]"


def test_maps_take_key_and_path_rules_and_arrays_of_maps_are_walked() -> None:
    request = build_request(
        [
            {
                "attributes": {
                    "app.user": {"ssn_note": "x", "contact": EMAIL},
                    "app.secret_map": {"anything": "here"},
                    "rows": [{"m": EMAIL}, ["nested", f"token {GITHUB_TOKEN}"]],
                }
            }
        ]
    )
    _processor(block=["app.secret_map", {"path": "app.user.ssn_note"}]).process(request)
    out = attrs(only_span(request))
    assert out["app.user"] == {"ssn_note": "[REDACTED:blocked_key]", "contact": "[REDACTED:email]"}
    assert out["app.secret_map"] == "[REDACTED:blocked_key]"
    assert out["rows"] == [{"m": "[REDACTED:email]"}, ["nested", "token [REDACTED:github_token]"]]


# ---------------------------------------------------------------------------- the scope


def _with_scope(request: Any, name: str, version: str, attributes: dict[str, Any]) -> Any:
    scope = request.resource_spans[0].scope_spans[0].scope
    scope.name, scope.version = name, version
    for key, value in attributes.items():
        set_value(scope.attributes.add(key=key).value, value)
    return scope


def test_scope_name_version_and_attributes_are_redacted_and_summarised_on_the_scope() -> None:
    request = build_request([{"name": "chat"}, {"name": "tool", "attributes": {"n": EMAIL}}])
    scope = _with_scope(
        request,
        f"instrumentation for {EMAIL}",
        f"1.0+{AWS_KEY_ID}",
        {"owner.token": STRIPE, "build": f"by {GITHUB_TOKEN}".encode(), "lang": "python"},
    )
    _processor().process(request)
    for secret in SECRETS:
        assert secret.encode() not in request.SerializeToString()
    assert scope.name == "instrumentation for [REDACTED:email]"
    assert scope.version == "1.0+[REDACTED:aws_access_key_id]"
    summary = attributes_dict(scope.attributes)
    assert summary["lang"] == "python"
    assert summary["build"] == b"by [REDACTED:github_token]"
    assert summary[COUNT] == 4
    assert summary[KEYS] == ["scope.build", "scope.name", "scope.owner.token", "scope.version"]
    clean_span, dirty_span = spans_of(request)
    assert COUNT not in attrs(clean_span)  # a shared scope's findings are not charged to spans
    assert attrs(dirty_span)[COUNT] == 1


def test_a_second_pass_replaces_the_scope_summary() -> None:
    request = build_request([{"name": "chat"}])
    scope = _with_scope(request, "lib", "", {"owner": EMAIL})
    _processor().process(request)
    scope.attributes.add(key="late").value.string_value = f"token {GITHUB_TOKEN}"
    _processor().process(request)
    keys = [kv.key for kv in scope.attributes]
    assert keys.count(COUNT) == 1
    assert attributes_dict(scope.attributes)[KEYS] == ["scope.late"]


# ---------------------------------------------------------------------------- trace states


def test_trace_states_of_spans_and_links_keep_clean_members_and_stay_valid() -> None:
    request = build_request([{"links": [{"attributes": {}}, {"attributes": {}}]}])
    span = only_span(request)
    span.trace_state = f"congo=t61rcWkgMzE, rojo={EMAIL} ,password=hunter2xyz,ot=th:8;rv:9b8f2c3d"
    span.links[0].trace_state = f"vendor@tenant=ref {GITHUB_TOKEN},dd=s:1;o:rum"
    span.links[1].trace_state = "congo=t61rcWkgMzE"
    _processor().process(request)
    assert span.trace_state == (
        "congo=t61rcWkgMzE, rojo=[REDACTED:email] ,"
        "password=[REDACTED:secret_assignment],ot=th:8;rv:9b8f2c3d"
    )
    assert span.links[0].trace_state == "vendor@tenant=ref [REDACTED:github_token],dd=s:1;o:rum"
    assert span.links[1].trace_state == "congo=t61rcWkgMzE"
    for trace_state in (span.trace_state, span.links[0].trace_state):
        _assert_valid_trace_state(trace_state)
    out = attrs(span)
    assert out[COUNT] == 3
    assert out[KEYS] == ["links[0].trace_state", "trace_state"]


def test_drop_and_hash_modes_keep_the_trace_state_a_valid_list() -> None:
    request = build_request([{}])
    span = only_span(request)
    span.trace_state = f"a=1,b=mail {EMAIL},c=3"
    _processor(mode="drop").process(request)
    assert span.trace_state == "a=1,c=3"
    hashed = build_request([{}])
    span = only_span(hashed)
    span.trace_state = f"a=1,b={EMAIL}"
    _processor(mode="hash", hash_key="k" * 32).process(hashed)
    assert span.trace_state.startswith("a=1,b=[HASH:email:")
    _assert_valid_trace_state(span.trace_state)


def _redacted_trace_state(trace_state: str) -> str:
    request = build_request([{}])
    only_span(request).trace_state = trace_state
    _processor().process(request)
    return str(only_span(request).trace_state)


def test_malformed_trace_states_are_still_cleaned_and_never_crash() -> None:
    for clean in ("", ",,", "=", "==,=x=", " , k=v ,", "\x00\x7f=\x80", "\u00e9=\u00e9"):
        assert _redacted_trace_state(clean) == clean
    assert _redacted_trace_state(f"k={EMAIL}" * 40).count("[REDACTED:email]") == 40
    assert _redacted_trace_state(f"note={EMAIL},{STRIPE}") == (
        "note=[REDACTED:email],[REDACTED:stripe_key]"  # a member without "=" is scanned whole
    )
    # Only the whole string shows these credentials: the comma (which W3C forbids in values)
    # splits them between members.
    assert "pass1234" not in _redacted_trace_state("split=https://user,x:pass1234@host")


def test_odd_bytes_and_trace_states_never_raise_nor_leak_in_any_mode() -> None:
    rng = random.Random(7)
    pieces = [",", "=", " ", "\t", "a", "k=", "\u00e9", "\x00", "{", '"']
    pieces += [f",{secret}," for secret in SECRETS]
    configs: list[dict[str, Any]] = [
        {},
        {"mode": "drop"},
        {"mode": "hash", "hash_key": "k" * 32},
        {"block": ["blocked.*"]},
    ]
    for config in configs:
        processor = _processor(**config)
        for _ in range(150):
            trace_state = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
            blob = bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
            # Spaces: a secret glued to a letter is no token of its own, in strings as well.
            blob += f" {rng.choice(SECRETS)} ".encode() + bytes(
                rng.randrange(256) for _ in range(4)
            )
            request = build_request(
                [{"attributes": {"blob": blob, "blocked.x": blob, "arr": [blob, {"m": blob}]}}],
                scope=trace_state,
            )
            only_span(request).trace_state = trace_state
            processor.process(request)
            wire = request.SerializeToString()
            for secret in SECRETS:
                assert secret.encode() not in wire, (config, trace_state, blob)


# ---------------------------------------------------------------------------- clean input


def test_clean_values_in_the_new_places_are_left_byte_identical() -> None:
    request = build_request(
        [
            {
                "attributes": {
                    "blob": b"\x00\xffbinary",
                    "text.bytes": b"just words",
                    "arr": [b"a", b"\xfe", "s"],
                    "map": {"b": b"x", "l": [b"y", {"z": b"\x80"}]},
                },
                "links": [{"attributes": {"x": b"y"}}],
            }
        ]
    )
    _with_scope(request, "agenttrace", "0.1.0", {"lang": "python", "b": b"\x00"})
    only_span(request).trace_state = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
    only_span(request).links[0].trace_state = "ot=th:0;rv:ab12cd34ef5678"
    before = request.SerializeToString()
    _processor().process(request)
    assert request.SerializeToString() == before


# ---------------------------------------------------------------------------- screens


def _random_text(rng: random.Random) -> str:
    words = ["alpha", "user", "ok", "token", "password", "42", "10.0.0.1", "key:", "{", "\u00e9"]
    pieces = [rng.choice(words) for _ in range(rng.randint(0, 6))]
    if rng.random() < 0.3:
        pieces.insert(rng.randint(0, len(pieces)), rng.choice(SECRETS))
    return " ".join(pieces)


def _random_bytes(rng: random.Random) -> bytes:
    text = _random_text(rng).encode()
    if rng.random() < 0.4:  # not UTF-8: scanned as latin-1
        text = bytes([rng.randrange(128, 256)]) + text + b"\xff\x00"
    return text


def _random_trace_state(rng: random.Random) -> str:
    keys = ["congo", "rojo", "token", "vendor@tenant", "api_key", "dd"]
    values = ["t61rcWkgMzE", "s:1;o:rum", "00f067aa0ba902b7", *SECRETS, "mail " + EMAIL]
    return ",".join(f"{rng.choice(keys)}={rng.choice(values)}" for _ in range(rng.randint(1, 4)))


def _random_request(rng: random.Random) -> Any:
    request = build_request([])
    resource_spans = request.resource_spans[0]
    for scope_index in range(6):
        scope_spans = (
            resource_spans.scope_spans[0] if scope_index == 0 else resource_spans.scope_spans.add()
        )
        scope_spans.scope.name = _random_text(rng) or "lib"
        scope_spans.scope.version = _random_text(rng)
        set_value(scope_spans.scope.attributes.add(key="scope.note").value, _random_bytes(rng))
        for index in range(10):
            spec = {
                "span_id": scope_index * 100 + index + 1,
                "name": _random_text(rng) or "span",
                "attributes": {
                    "blob": _random_bytes(rng),
                    "api_key": _random_bytes(rng),
                    "list": [_random_bytes(rng), _random_text(rng)],
                    "map": {"inner": [_random_bytes(rng)], "cookie": _random_text(rng)},
                },
                "links": [{"attributes": {"why": _random_bytes(rng)}}],
            }
            span = add_span(scope_spans, spec, index)
            span.trace_state = _random_trace_state(rng)
            span.links[0].trace_state = _random_trace_state(rng)
    return request


def test_the_screens_never_change_the_outcome_in_the_new_places() -> None:
    rng = random.Random(20261122)
    original = _random_request(rng)
    screened = type(original)()
    screened.CopyFrom(original)
    processor = _processor()
    processor.process(screened)
    # A block rule turns both screens off (any key may be blocked): every value is redacted
    # by the precise path. This one never fires, so the outcomes must be identical.
    everything = type(original)()
    everything.CopyFrom(original)
    _processor(block=[{"key": "never.present"}]).process(everything)
    assert screened == everything
    assert processor.metrics()["findings"] > 100  # the corpus really exercised the engine
    assert screened != original


# ---------------------------------------------------------------------------- a real collector


async def test_secrets_in_the_new_places_reach_neither_the_wal_nor_parquet(tmp_path: Path) -> None:
    request = build_request(
        [
            {
                "trace_id": 91,
                "span_id": 1,
                "name": "upload",
                "attributes": {"http.request.body": f"auth {GITHUB_TOKEN}".encode(), "n": b"ok"},
                "links": [{"attributes": {}}],
            }
        ],
        scope=f"scope of {EMAIL}",
    )
    span = only_span(request)
    span.trace_state = f"congo=t61rcWkgMzE,acct={EMAIL}"
    span.links[0].trace_state = f"ref={STRIPE}"
    body = request.SerializeToString()
    assert all(s.encode() in body for s in (GITHUB_TOKEN, EMAIL, STRIPE))
    collector = Collector(collector_config(tmp_path, 30.0, [{"type": "redaction"}]))
    await collector.start()
    try:
        status = await asyncio.to_thread(
            post_protobuf, f"{collector.endpoints.http}/v1/traces", body
        )
        assert status == 200
        wal = await asyncio.to_thread(tree_bytes, tmp_path / "wal")
        assert b"upload" in wal
        for secret in (GITHUB_TOKEN, EMAIL, STRIPE):
            assert secret.encode() not in wal
    finally:
        await collector.shutdown()  # publishes the WAL
    (row,) = (await wait_rows(tmp_path / "store", 1)).values()
    assert row["scope_name"] == "scope of [REDACTED:email]"
    assert row["trace_state"] == "congo=t61rcWkgMzE,acct=[REDACTED:email]"
    assert "[REDACTED:stripe_key]" in row["links"]
    attributes = json.loads(row["attributes"])
    assert attributes[COUNT] == 3
    assert sorted(attributes[KEYS]) == ["http.request.body", "links[0].trace_state", "trace_state"]
    parquet = await asyncio.to_thread(tree_bytes, tmp_path / "store")
    for secret in (GITHUB_TOKEN, EMAIL, STRIPE):
        assert secret.encode() not in parquet
