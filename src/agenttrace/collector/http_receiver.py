"""OTLP/HTTP receiver (``POST /v1/traces``) plus ``/healthz``, ``/readyz`` and ``/metrics``.

Request bodies are read and decompressed here, with the size limit applied to the
decompressed size so a small gzip bomb cannot exhaust memory. aiohttp's own decompression is
switched off (see :func:`make_runner`) because it has no such limit.
"""

from __future__ import annotations

import io
import json
import logging
import zlib
from collections.abc import Callable

from aiohttp import web
from google.rpc import status_pb2  # type: ignore[import-untyped]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from agenttrace.collector.auth import BearerAuth
from agenttrace.collector.errors import (
    CollectorError,
    InvalidRequest,
    MethodNotAllowed,
    Overloaded,
    PayloadTooLarge,
    Unauthenticated,
    UnsupportedMediaType,
    error_kind,
    grpc_code,
    http_status,
)
from agenttrace.collector.ingest import ExportResult, Ingest
from agenttrace.collector.metrics import CollectorMetrics

log = logging.getLogger("agenttrace.collector.http")

PROTOBUF_TYPES = {"application/x-protobuf", "application/protobuf"}
JSON_TYPE = "application/json"
_READ_CHUNK = 256 * 1024


def _media_type(request: web.Request) -> str:
    content_type = request.headers.get("Content-Type", "")
    return content_type.split(";", 1)[0].strip().lower()


def _response_format(request: web.Request) -> str:
    return "json" if _media_type(request) == JSON_TYPE else "protobuf"


async def read_body(request: web.Request, limit: int) -> bytes:
    """Read the whole body (Content-Length or chunked) refusing anything over ``limit``."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(
            f"body of {request.content_length} bytes exceeds the {limit}-byte limit"
        )
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.read(_READ_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body exceeds the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        return _inflate(body, zlib.MAX_WBITS | 16, limit, "gzip")
    if encoding == "deflate":
        try:
            return _inflate(body, zlib.MAX_WBITS, limit, "deflate")
        except InvalidRequest:  # some clients send raw deflate without the zlib wrapper
            return _inflate(body, -zlib.MAX_WBITS, limit, "deflate")
    if encoding == "zstd":
        return _unzstd(body, limit)
    raise UnsupportedMediaType(
        f"unsupported Content-Encoding {encoding!r} (use gzip, deflate or zstd)"
    )


def _inflate(body: bytes, wbits: int, limit: int, name: str) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as err:
        raise InvalidRequest(f"body is not valid {name}: {err}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"decompressed body exceeds the {limit}-byte limit")
    if not inflater.eof:
        raise InvalidRequest(f"{name} body is truncated")
    return out


def _unzstd(body: bytes, limit: int) -> bytes:
    import zstandard

    try:
        reader = zstandard.ZstdDecompressor().stream_reader(
            io.BytesIO(body), read_across_frames=True
        )
        out = bytearray()
        while len(out) <= limit:
            chunk = reader.read(min(_READ_CHUNK * 4, limit + 1 - len(out)))
            if not chunk:
                break
            out += chunk
    except zstandard.ZstdError as err:
        raise InvalidRequest(f"body is not valid zstd: {err}") from None
    if len(out) > limit:
        raise PayloadTooLarge(f"decompressed body exceeds the {limit}-byte limit")
    return bytes(out)


def success_response(result: ExportResult, fmt: str) -> web.Response:
    if fmt == "json":
        doc: dict[str, object] = {}
        if result.rejected_spans:
            doc["partialSuccess"] = {
                "rejectedSpans": str(result.rejected_spans),
                "errorMessage": result.message,
            }
        return web.Response(body=json.dumps(doc).encode(), content_type=JSON_TYPE)
    response = ExportTraceServiceResponse()
    if result.rejected_spans:
        response.partial_success.rejected_spans = result.rejected_spans
        response.partial_success.error_message = result.message
    return web.Response(body=response.SerializeToString(), content_type="application/x-protobuf")


def error_response(err: BaseException, fmt: str) -> web.Response:
    """A ``google.rpc.Status`` body in the request's encoding, as OTLP/HTTP specifies."""
    message = str(err) if isinstance(err, CollectorError) else "internal error"
    code = grpc_code(err).value[0]
    headers: dict[str, str] = {}
    if isinstance(err, Overloaded):
        headers["Retry-After"] = str(max(1, round(err.retry_after)))
    elif http_status(err) == 503:
        headers["Retry-After"] = "1"
    elif isinstance(err, MethodNotAllowed):
        headers["Allow"] = "POST"
    elif isinstance(err, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if fmt == "json":
        body = json.dumps({"code": code, "message": message}).encode()
        content_type = JSON_TYPE
    else:
        body = status_pb2.Status(code=code, message=message).SerializeToString()
        content_type = "application/x-protobuf"
    return web.Response(
        status=http_status(err), body=body, content_type=content_type, headers=headers
    )


class HttpReceiver:
    def __init__(
        self,
        ingest: Ingest,
        auth: BearerAuth,
        metrics: CollectorMetrics,
        max_request_bytes: int,
        is_ready: Callable[[], bool],
    ) -> None:
        self.ingest = ingest
        self.auth = auth
        self.metrics = metrics
        self.max_request_bytes = max_request_bytes
        self.is_ready = is_ready

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_request_bytes)
        app.router.add_route("*", "/v1/traces", self.traces)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.prometheus)
        return app

    async def traces(self, request: web.Request) -> web.Response:
        fmt = _response_format(request)
        try:
            result = await self._export(request)
        except Exception as err:
            if not isinstance(err, CollectorError):
                log.exception("unexpected error handling an OTLP/HTTP request")
            self.metrics.errors.labels(error_kind(err)).inc()
            self.metrics.requests.labels("http", str(http_status(err))).inc()
            return error_response(err, fmt)
        self.metrics.requests.labels("http", "200").inc()
        return success_response(result, fmt)

    async def _export(self, request: web.Request) -> ExportResult:
        if request.method != "POST":
            raise MethodNotAllowed(f"method {request.method} not allowed on /v1/traces; use POST")
        self.auth.check(request.headers.get("Authorization"))
        media_type = _media_type(request)
        if media_type in PROTOBUF_TYPES:
            fmt = "protobuf"
        elif media_type == JSON_TYPE:
            fmt = "json"
        else:
            raise UnsupportedMediaType(
                f"unsupported Content-Type {media_type or '(none)'!r}; "
                "use application/x-protobuf or application/json"
            )
        encoding = request.headers.get("Content-Encoding", "identity")
        if encoding.strip().lower() not in ("", "identity", "gzip", "x-gzip", "deflate", "zstd"):
            raise UnsupportedMediaType(
                f"unsupported Content-Encoding {encoding!r} (use gzip, deflate or zstd)"
            )
        reservation = request.content_length or self.max_request_bytes // 4
        with self.ingest.admission.reserve(reservation):
            raw = await read_body(request, self.max_request_bytes)
            self.metrics.request_bytes.labels("http").inc(len(raw))
            body = decompress(raw, encoding, self.max_request_bytes)
            return await self.ingest.export(body, fmt, "http")

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(self, request: web.Request) -> web.Response:
        ready = self.is_ready()
        return web.json_response(
            {"status": "ready" if ready else "not ready"}, status=200 if ready else 503
        )

    async def prometheus(self, request: web.Request) -> web.Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return web.Response(
            body=generate_latest(self.metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )


def make_runner(app: web.Application) -> web.AppRunner:
    # auto_decompress=False: we decompress ourselves with a size limit.
    return web.AppRunner(app, auto_decompress=False, access_log=None, handle_signals=False)
