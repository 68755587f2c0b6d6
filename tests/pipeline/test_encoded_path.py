"""The byte path through a pipeline (``prepare_request``: screens, splices, pending schema URL
fields, edits of the received body) gives the request the message path gives (each
processor's ``process`` in turn), whatever the processors and the spans."""

from __future__ import annotations

import random
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from pipeline_helpers import EMAIL, GITHUB_TOKEN, add_span, build_request

from agenttrace import semconv
from agenttrace.collector._layout import EncodedRequest, apply_edits
from agenttrace.collector.ingest import prepare_request
from agenttrace.collector.processors._screen import share_scans
from agenttrace.collector.processors.base import build_processor

PIPELINES = {
    "normalize": ["normalize"],
    "normalize+redaction": ["normalize", "redaction"],
    "normalize+redaction+limits": ["normalize", "redaction", "limits"],
    "normalize+limits": ["normalize", "limits"],
    "redaction+normalize": ["redaction", "normalize"],
    "normalize+normalize": ["normalize", "normalize"],
}
_LIMITS = {"max_attribute_value_bytes": 64, "max_attributes_per_span": 6}


def _processors(names: list[str]) -> list[Any]:
    return [
        build_processor(name, f"{name}{i}", _LIMITS if name == "limits" else {}, "p")
        for i, name in enumerate(names)
    ]


def _request(rng: random.Random) -> Any:
    values = ["plain", f"mail {EMAIL}", f"token {GITHUB_TOKEN}", "x" * rng.choice([10, 100])]
    request = build_request([])
    for r in range(rng.randrange(1, 3)):
        resource_spans = request.resource_spans[0] if r == 0 else request.resource_spans.add()
        for s in range(rng.randrange(1, 3)):
            if r or s:
                scope_spans = resource_spans.scope_spans.add()
                scope_spans.scope.name = f"scope-{r}-{s}"
            else:
                scope_spans = resource_spans.scope_spans[0]
            if rng.random() < 0.3:
                scope_spans.schema_url = rng.choice([semconv.SCHEMA_URL, "https://x/1.0"])
            for index in range(rng.randrange(0 if r or s else 1, 4)):
                attributes = {f"k{n}": rng.choice(values) for n in range(rng.randrange(0, 8))}
                if rng.random() < 0.3:
                    attributes.update({"openinference.span.kind": "LLM", "llm.model_name": "m"})
                add_span(scope_spans, {"attributes": attributes, "span_id": index + 1}, index)
    return request


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_the_byte_path_gives_the_message_paths_request(pipeline: str) -> None:
    rng = random.Random(pipeline)
    on_bytes, on_messages = _processors(PIPELINES[pipeline]), _processors(PIPELINES[pipeline])
    share_scans(on_bytes)  # as the collector builds them: one Hyperscan pass per request
    for _ in range(60):
        request = _request(rng)
        body = request.SerializeToString()
        prepared = prepare_request(body, "protobuf", on_bytes)
        expected = ExportTraceServiceRequest.FromString(body)
        for processor in on_messages:
            expected = processor.process(expected)
        assert prepared.payload is not None
        assert ExportTraceServiceRequest.FromString(prepared.payload) == expected
        if prepared.edits is not None:
            assert apply_edits(body, prepared.edits) == prepared.payload
        for resource_spans in expected.resource_spans:
            assert all(s.schema_url for s in resource_spans.scope_spans)


def test_the_schema_url_waits_for_the_next_splice_and_reaches_the_bytes() -> None:
    request = build_request([{"attributes": {"note": f"mail {EMAIL}"}}])
    body = request.SerializeToString()
    normalize = build_processor("normalize", "normalize", {}, "p")
    _, pending = normalize.process_encoded(request, EncodedRequest(body))
    assert pending is not None
    assert pending.data is body
    assert pending.appended
    completed = ExportTraceServiceRequest.FromString(pending.complete().data)
    assert completed.resource_spans[0].scope_spans[0].schema_url == semconv.SCHEMA_URL


class _ReadsBytes:
    """A third-party processor on the byte path that knows nothing of pending fields."""

    name = "reads-bytes"
    mutates = False

    def __init__(self) -> None:
        self.seen: list[bytes] = []

    def process(self, request: Any) -> Any:
        return request

    def process_encoded(self, request: Any, encoded: EncodedRequest) -> tuple[Any, Any]:
        self.seen.append(encoded.data)
        return request, encoded

    def shutdown(self) -> None:
        pass


def test_a_processor_that_does_not_handle_pending_fields_gets_them_spliced_in() -> None:
    request = build_request([{"attributes": {"note": "plain"}}])
    reader = _ReadsBytes()
    normalize = build_processor("normalize", "normalize", {}, "p")
    prepare_request(request.SerializeToString(), "protobuf", [normalize, reader])
    (seen,) = reader.seen
    parsed = ExportTraceServiceRequest.FromString(seen)
    assert parsed.resource_spans[0].scope_spans[0].schema_url == semconv.SCHEMA_URL
