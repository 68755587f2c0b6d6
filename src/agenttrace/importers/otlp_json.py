"""OTLP-JSON Lines (the OpenTelemetry Collector file exporter's format) into agenttrace.

Each line is one ``ExportTraceServiceRequest`` in OTLP/JSON (hex ids, integer enums). Requests
pass through unchanged apart from redaction; a line that does not decode is reported with its
line number and the rest of the file is still imported.
"""

from __future__ import annotations

from collections.abc import Iterator

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agenttrace.importers._base import Importer, ImportUnit
from agenttrace.importers._io import ProblemLog, iter_raw_lines
from agenttrace.otlp_json import OtlpJsonError, decode_request

SOURCE = "otlp-json"


class OtlpJsonImporter(Importer):
    source = SOURCE
    patterns = ("*.jsonl", "*.json", "*.jsonl.zst")

    def convert(
        self, unit: ImportUnit, problems: ProblemLog
    ) -> Iterator[ExportTraceServiceRequest]:
        path = unit.files[0]
        for number, raw in iter_raw_lines(path):
            try:
                request = decode_request(raw)
            except OtlpJsonError as exc:
                problems.add(path, number, str(exc))
                continue
            if request.resource_spans:
                yield request
