"""Every collector error, and the one mapping from an error to a protocol answer.

Receivers never decide status codes themselves: they raise (or catch) a :class:`CollectorError`
and ask :func:`http_status`, :func:`grpc_code` and :func:`is_retryable`. Keeping the mapping in
one place is what guarantees that the HTTP and gRPC receivers agree, and that a client is told
to retry exactly when retrying can succeed (storage trouble, overload, shutdown) and never when
the data itself is bad.
"""

from __future__ import annotations

import grpc


class CollectorError(Exception):
    """Base class. ``http_status``/``grpc_status`` are the answers a receiver gives for it."""

    http_status: int = 500
    grpc_status: grpc.StatusCode = grpc.StatusCode.INTERNAL
    retryable: bool = False


class InvalidRequest(CollectorError):
    """The payload is malformed: undecodable protobuf/JSON, bad ids. Never retried."""

    http_status = 400
    grpc_status = grpc.StatusCode.INVALID_ARGUMENT


class PayloadTooLarge(CollectorError):
    """The (decompressed) body exceeds ``limits.max_request_bytes``. Never retried."""

    http_status = 413
    grpc_status = grpc.StatusCode.RESOURCE_EXHAUSTED


class UnsupportedMediaType(CollectorError):
    """Content-Type or Content-Encoding the collector cannot read. Never retried."""

    http_status = 415
    grpc_status = grpc.StatusCode.INVALID_ARGUMENT


class MethodNotAllowed(CollectorError):
    """An HTTP method other than POST on an OTLP path."""

    http_status = 405
    grpc_status = grpc.StatusCode.UNIMPLEMENTED


class Unauthenticated(CollectorError):
    """Missing or wrong bearer token."""

    http_status = 401
    grpc_status = grpc.StatusCode.UNAUTHENTICATED


class Overloaded(CollectorError):
    """The WAL or memory bound is full; the client should come back after ``retry_after`` s."""

    http_status = 429
    grpc_status = grpc.StatusCode.RESOURCE_EXHAUSTED
    retryable = True

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ShuttingDown(CollectorError):
    """The collector is draining after SIGTERM and accepts nothing new."""

    http_status = 503
    grpc_status = grpc.StatusCode.UNAVAILABLE
    retryable = True


class WalFailure(CollectorError):
    """The WAL could not be written or fsync'ed; the request was not made durable."""

    http_status = 503
    grpc_status = grpc.StatusCode.UNAVAILABLE
    retryable = True


class WorkerLost(CollectorError):
    """An ingest worker process died with the request in it; nothing was made durable."""

    http_status = 503
    grpc_status = grpc.StatusCode.UNAVAILABLE
    retryable = True


class ConfigError(ValueError):
    """A configuration value is invalid. ``key_path`` names it, e.g. ``store.url``."""

    def __init__(self, key_path: str, message: str) -> None:
        super().__init__(f"{key_path}: {message}")
        self.key_path = key_path
        self.message = message


def http_status(err: BaseException) -> int:
    """The HTTP status for ``err``; unknown exceptions are an internal error (500)."""
    return err.http_status if isinstance(err, CollectorError) else 500


def grpc_code(err: BaseException) -> grpc.StatusCode:
    """The gRPC status code for ``err``."""
    return err.grpc_status if isinstance(err, CollectorError) else grpc.StatusCode.INTERNAL


def is_retryable(err: BaseException) -> bool:
    """Whether a client may succeed by sending the same request again later."""
    return isinstance(err, CollectorError) and err.retryable


def error_kind(err: BaseException) -> str:
    """A short, stable label for metrics (``errors_total{kind=...}``)."""
    return type(err).__name__ if isinstance(err, CollectorError) else "Internal"
