"""OTLP/JSON encode and decode throughput: ``agenttrace.otlp_json`` against ``json_format``.

Requests are realistic 512-span agent traces from :func:`agenttrace.store.sample.agent_requests`
(chat and tool spans with GenAI attributes, message content, 1-4 KB tool results, events, links).
Measured in the same run, on the same requests:

* ``json_format`` (the reference): ``MessageToDict``/``ParseDict`` with the id conversion
  OTLP/JSON needs on top (hex ids instead of base64), i.e. the previous implementation;
* ``otlp_json``: the direct converters;
* ``orjson only``: ``orjson.loads``/``orjson.dumps`` of the document, the floor for any converter.

Both implementations must produce the same bytes and the same messages; the run checks that.
Times are the best of ``--repeat`` passes, in CPU seconds of this process (the figure that is
stable on a shared machine) and wall seconds.

Usage: python bench/otlp_json.py [--requests 8] [--repeat 5]
"""

from __future__ import annotations

import argparse
import base64
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agenttrace.otlp_json import decode_request, encode_request
from agenttrace.store.sample import agent_requests

SPANS_PER_REQUEST = 512


def _id_holders(doc: dict[str, Any]) -> Iterator[tuple[dict[str, Any], tuple[str, ...]]]:
    for resource_spans in doc.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                yield span, ("traceId", "spanId", "parentSpanId")
                for link in span.get("links", []):
                    yield link, ("traceId", "spanId")


def reference_encode(request: ExportTraceServiceRequest) -> bytes:
    doc = json_format.MessageToDict(request, use_integers_for_enums=True)
    for holder, keys in _id_holders(doc):
        for key in keys:
            if key in holder:
                holder[key] = base64.b64decode(holder[key]).hex()
    return orjson.dumps(doc)


def reference_decode(body: bytes) -> ExportTraceServiceRequest:
    doc = orjson.loads(body)
    for holder, keys in _id_holders(doc):
        for key in keys:
            if key in holder:
                holder[key] = base64.b64encode(bytes.fromhex(holder[key])).decode()
    request = ExportTraceServiceRequest()
    json_format.ParseDict(doc, request, ignore_unknown_fields=True)
    return request


def each(convert: Callable[[Any], object], items: list[Any]) -> None:
    for item in items:
        convert(item)


def best_of(repeat: int, run: Callable[[], object]) -> tuple[float, float]:
    """Best CPU and best wall seconds of ``repeat`` runs."""
    cpu, wall = float("inf"), float("inf")
    for _ in range(repeat):
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        run()
        cpu = min(cpu, time.process_time() - cpu_start)
        wall = min(wall, time.perf_counter() - wall_start)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=8, help="512-span requests per pass")
    parser.add_argument("--repeat", type=int, default=5, help="passes; the best one counts")
    args = parser.parse_args()

    requests = list(agent_requests(args.requests * SPANS_PER_REQUEST))
    bodies = [encode_request(request) for request in requests]
    docs = [orjson.loads(body) for body in bodies]
    for request, body in zip(requests, bodies, strict=True):
        if body != reference_encode(request) or decode_request(body) != reference_decode(body):
            raise SystemExit("otlp_json and json_format disagree on a request")
    spans = len(requests) * SPANS_PER_REQUEST
    megabytes = sum(map(len, bodies)) / 1e6
    print(
        f"{len(requests)} requests x {SPANS_PER_REQUEST} spans, "
        f"{megabytes / len(requests):.2f} MB of OTLP/JSON per request"
    )

    # Each pass handles one request at a time and drops the result, as the collector does.
    cases: dict[str, dict[str, Callable[[], object]]] = {
        "decode": {
            "json_format": lambda: each(reference_decode, bodies),
            "otlp_json": lambda: each(decode_request, bodies),
            "orjson only": lambda: each(orjson.loads, bodies),
        },
        "encode": {
            "json_format": lambda: each(reference_encode, requests),
            "otlp_json": lambda: each(encode_request, requests),
            "orjson only": lambda: each(orjson.dumps, docs),
        },
    }
    print(f"| {'':<22} | spans/s (CPU) | spans/s (wall) | ms/request (CPU) | x json_format |")
    print("|---|---|---|---|---|")
    for operation, implementations in cases.items():
        reference_cpu = 0.0
        for name, run in implementations.items():
            cpu, wall = best_of(args.repeat, run)
            reference_cpu = reference_cpu or cpu
            print(
                f"| {operation + ' ' + name:<22} | {spans / cpu:13,.0f} | {spans / wall:14,.0f} "
                f"| {cpu * 1000 / len(requests):16.1f} | {reference_cpu / cpu:13.1f} |"
            )


if __name__ == "__main__":
    main()
