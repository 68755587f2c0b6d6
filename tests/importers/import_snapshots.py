"""Snapshot helpers: imported traces as plain, stable dicts compared with checked-in JSON."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

SNAPSHOTS = Path(__file__).parent / "snapshots"
TESTDATA = Path(__file__).parent / "testdata"
UPDATE_ENV = "AGENTTRACE_UPDATE_SNAPSHOTS"


def import_path(source: str, *paths: Path) -> tuple[list[dict[str, Any]], Any]:
    """Run one importer over ``paths``: the spans of every unit, and the problem log."""
    from agenttrace.importers import ProblemLog, get_importer

    importer = get_importer(source)
    problems = ProblemLog()
    requests = []
    for unit in importer.group(importer.collect(list(paths)), problems):
        requests.extend(importer.convert(unit, problems))
    return spans(requests), problems


def by_name(span_list: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [span for span in span_list if span["name"] == name]


def one(span_list: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = by_name(span_list, name)
    assert len(found) == 1, f"expected one span named {name!r}, found {len(found)}"
    return found[0]


def value(any_value: AnyValue) -> Any:
    which = any_value.WhichOneof("value")
    if which == "array_value":
        return [value(item) for item in any_value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: value(kv.value) for kv in any_value.kvlist_value.values}
    if which is None:
        return None
    return getattr(any_value, which)


def spans(requests: Iterable[ExportTraceServiceRequest]) -> list[dict[str, Any]]:
    """Every span as a dict: hex ids, attributes as a mapping, events, status."""
    out = []
    for request in requests:
        for resource_spans in request.resource_spans:
            resource = {kv.key: value(kv.value) for kv in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    out.append(
                        {
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex() or None,
                            "name": span.name,
                            "kind": span.kind,
                            "start": span.start_time_unix_nano,
                            "end": span.end_time_unix_nano,
                            "status": [span.status.code, span.status.message],
                            "attributes": {kv.key: value(kv.value) for kv in span.attributes},
                            "events": [
                                {
                                    "name": event.name,
                                    "time": event.time_unix_nano,
                                    "attributes": {
                                        kv.key: value(kv.value) for kv in event.attributes
                                    },
                                }
                                for event in span.events
                            ],
                            "resource": resource,
                            "scope": [scope_spans.scope.name, scope_spans.schema_url],
                        }
                    )
    return out


def assert_snapshot(name: str, actual: Any) -> None:
    """Compare with ``snapshots/<name>.json``; set AGENTTRACE_UPDATE_SNAPSHOTS=1 to rewrite."""
    path = SNAPSHOTS / f"{name}.json"
    rendered = orjson.dumps(actual, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    if os.environ.get(UPDATE_ENV) == "1":
        path.write_bytes(rendered)
    assert path.exists(), f"no snapshot {path.name}; run with {UPDATE_ENV}=1 and review it"
    assert orjson.loads(path.read_bytes()) == orjson.loads(rendered), f"snapshot {name} differs"
