"""OTLP/gRPC receiver: ``opentelemetry.proto.collector.trace.v1.TraceService/Export``.

The method is registered with a generic handler and no request deserializer, so the handler
gets the raw protobuf bytes: they go to the WAL unchanged when no processor rewrites the
request, as on the HTTP path. RESOURCE_EXHAUSTED carries a ``google.rpc.RetryInfo`` in the
``grpc-status-details-bin`` trailer, which is how OTLP tells gRPC clients when to retry.
"""

from __future__ import annotations

import logging
import math

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from agenttrace.collector.auth import BearerAuth
from agenttrace.collector.errors import (
    CollectorError,
    Overloaded,
    error_kind,
    grpc_code,
    is_retryable,
)
from agenttrace.collector.ingest import Ingest
from agenttrace.collector.metrics import CollectorMetrics

log = logging.getLogger("agenttrace.collector.grpc")

SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"


def _status_details(err: BaseException, message: str) -> bytes:
    code = grpc_code(err)
    status = status_pb2.Status(code=code.value[0], message=message)
    if isinstance(err, Overloaded) or (is_retryable(err) and code == grpc.StatusCode.UNAVAILABLE):
        delay = err.retry_after if isinstance(err, Overloaded) else 1.0
        seconds = math.floor(delay)
        info = error_details_pb2.RetryInfo(
            retry_delay=duration_pb2.Duration(seconds=seconds, nanos=int((delay - seconds) * 1e9))
        )
        status.details.add().Pack(info)
    return bytes(status.SerializeToString())


class GrpcReceiver:
    def __init__(self, ingest: Ingest, auth: BearerAuth, metrics: CollectorMetrics) -> None:
        self.ingest = ingest
        self.auth = auth
        self.metrics = metrics

    def handler(self) -> grpc.GenericRpcHandler:
        export = grpc.unary_unary_rpc_method_handler(
            self.export, request_deserializer=None, response_serializer=None
        )
        return grpc.method_handlers_generic_handler(SERVICE, {"Export": export})

    async def export(self, raw: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        try:
            metadata = dict(context.invocation_metadata() or ())
            self.auth.check(metadata.get("authorization"))
            with self.ingest.admission.reserve(len(raw)):
                self.metrics.request_bytes.labels("grpc").inc(len(raw))
                result = await self.ingest.export(raw, "protobuf", "grpc")
        except Exception as err:
            if not isinstance(err, CollectorError):
                log.exception("unexpected error handling an OTLP/gRPC request")
            code = grpc_code(err)
            self.metrics.errors.labels(error_kind(err)).inc()
            self.metrics.requests.labels("grpc", code.name).inc()
            message = str(err) if isinstance(err, CollectorError) else "internal error"
            await context.abort(
                code,
                message,
                trailing_metadata=(("grpc-status-details-bin", _status_details(err, message)),),
            )
        self.metrics.requests.labels("grpc", "OK").inc()
        response = ExportTraceServiceResponse()
        if result.rejected_spans:
            response.partial_success.rejected_spans = result.rejected_spans
            response.partial_success.error_message = result.message
        return bytes(response.SerializeToString())
