"""Which TracerProvider agenttrace spans go to.

By default the global OpenTelemetry provider, through a proxy tracer so a provider set after
import is still used. :func:`agenttrace.init` and :mod:`agenttrace.testing` may install an
override, which is how tests swap providers without touching the set-once global.
"""

from __future__ import annotations

from opentelemetry import trace

from agenttrace import semconv as sc

SCOPE_NAME = "agenttrace"
SDK_VERSION = "0.1.0"

_global_tracer: trace.Tracer = trace.get_tracer(SCOPE_NAME, SDK_VERSION, schema_url=sc.SCHEMA_URL)
_tracer: trace.Tracer = _global_tracer
_override: trace.TracerProvider | None = None


def get_tracer() -> trace.Tracer:
    return _tracer


def provider() -> trace.TracerProvider:
    """The provider agenttrace currently writes to."""
    return _override if _override is not None else trace.get_tracer_provider()


def set_provider_override(new: trace.TracerProvider | None) -> trace.TracerProvider | None:
    """Route agenttrace spans to ``new`` (None: back to the global provider); returns the old one."""
    global _tracer, _override
    previous = _override
    _override = new
    _tracer = (
        _global_tracer
        if new is None
        else new.get_tracer(SCOPE_NAME, SDK_VERSION, schema_url=sc.SCHEMA_URL)
    )
    return previous
