"""Odd attribute values never make a processor raise (a raise would answer 503 and the client
would retry the same poison batch forever), and redaction still leaves no secret behind."""

from __future__ import annotations

import random

from pipeline_helpers import build_request

from agenttrace.collector.processors._dialects import merged_mappings
from agenttrace.collector.processors.base import build_processor
from agenttrace.semconv.mappings import MAPPINGS

ODD_VALUES = [
    "", "x", "12", "1e400", "nan", "null", "[]", "{}", '[{"role": 5}]', '"s"', "[1,2",
    0, -1, 2**62, 1.5, float("nan"), True, ["a", "b"], [1, 2], b"\xff\x00",
    {"k": {"nested": [1, "v"]}},
]  # fmt: skip
SECRET_VALUES = [
    "jane@ex.io",
    '{"password": "hunter22", "n": [1, {"token": "abcDEF123456xyz"}]}',
    ["a", "jane@ex.io"],
    {"k": "jane@ex.io", "nested": {"api_key": "abcDEF123456xyz"}},
]


def _dialect_keys() -> tuple[list[str], list[str], list[str]]:
    keys: set[str] = set()
    kind_keys: set[str] = set()
    kinds: list[str] = []
    for spec in merged_mappings(MAPPINGS).values():
        for field in ("detect", "renames", "also_set", "companions"):
            keys |= set(spec.get(field, ()))
        for table in ("content_by_kind", "json_fields_by_kind"):
            for mapping in spec.get(table, {}).values():
                keys |= set(mapping)
        for prefix in [*spec.get("message_prefixes", {}), *spec.get("tools_prefix", {})]:
            keys |= {f"{prefix}.0.message.role", f"{prefix}.1.content", f"{prefix}.x.role"}
            keys |= {f"{prefix}.0.message.tool_calls.a.tool_call.id", f"{prefix}.0"}
        if spec.get("kind_attribute"):
            kind_keys.add(spec["kind_attribute"])
        kinds += list(spec.get("span_kind", {}))
    return sorted(keys), sorted(kind_keys), kinds


def test_normalize_survives_odd_values_of_every_mapped_key() -> None:
    keys, kind_keys, kinds = _dialect_keys()
    processor = build_processor("normalize", "normalize", {}, "p")
    rng = random.Random(3)
    for _ in range(400):
        attributes = {rng.choice(keys): rng.choice(ODD_VALUES) for _ in range(rng.randint(1, 8))}
        attributes[rng.choice(kind_keys)] = rng.choice([*kinds, '"LLM"', "??", 7])
        name = rng.choice(["", "{x}", "a b", "chat"])
        processor.process(build_request([{"name": name, "attributes": attributes}]))
    assert processor.metrics()["spans_normalized"] > 300


def test_whole_pipeline_survives_odd_batches_without_leaking() -> None:
    processors = [
        build_processor("normalize", "normalize", {}, "p"),
        build_processor("redaction", "redaction", {}, "p"),
        build_processor("redaction", "redaction-drop", {"mode": "drop"}, "p"),
        build_processor(
            "limits", "limits", {"max_attribute_value_bytes": 16, "max_attributes_per_span": 3}, "p"
        ),
        build_processor("sampling", "sampling", {"mode": "tail", "ratio": 0.5}, "p"),
    ]
    keys = [
        "note",
        "db.password",
        "gen_ai.input.messages",
        "x.auth",
        "cookie",
        "agenttrace.cost.usd",
    ]
    values = ODD_VALUES + SECRET_VALUES
    rng = random.Random(5)
    for _ in range(300):
        spans = [
            {
                "trace_id": rng.randint(1, 5),
                "span_id": index + 1,
                "parent_span_id": rng.choice([0, 1]),
                "name": rng.choice(["", "jane@ex.io", "n"]),
                "status": rng.choice(["unset", "error"]),
                "status_message": rng.choice(["", "jane@ex.io"]),
                "attributes": {rng.choice(keys): rng.choice(values) for _ in range(4)},
                "events": [{"name": "e", "attributes": {rng.choice(keys): rng.choice(values)}}],
                "links": [{"attributes": {rng.choice(keys): rng.choice(values)}}],
            }
            for index in range(rng.randint(1, 4))
        ]
        request = build_request(spans, resource={"owner": rng.choice(values)})
        for processor in processors:
            request = processor.process(request)
            if request is None:
                break
        if request is not None:
            wire = request.SerializeToString()
            assert b"jane@ex.io" not in wire
            assert b"hunter22" not in wire
