"""Which TracerProvider agenttrace spans go to.

By default the global OpenTelemetry provider (its tracer is resolved once the application has set
it; until then a proxy tracer makes agenttrace a no-op). :func:`agenttrace.init` and :mod:`agenttrace.testing` may install an
override, which is how tests swap providers without touching the set-once global.
"""

from __future__ import annotations

from opentelemetry import trace

from agenttrace import semconv as sc

SCOPE_NAME = "agenttrace"
SDK_VERSION = "0.1.0"

_proxy_tracer: trace.Tracer = trace.get_tracer(SCOPE_NAME, SDK_VERSION, schema_url=sc.SCHEMA_URL)
_tracer: trace.Tracer | None = None  # resolved: the override's, or the global provider's
_override: trace.TracerProvider | None = None


def get_tracer() -> trace.Tracer:
    global _tracer
    tracer = _tracer
    if tracer is not None:
        return tracer
    global_provider = trace.get_tracer_provider()
    if isinstance(global_provider, trace.ProxyTracerProvider):
        return _proxy_tracer  # no provider yet: a no-op that follows a provider set later
    # The global provider is set once and for all, so its tracer can be cached; the proxy
    # tracer's per-call indirection would otherwise cost every span.
    _tracer = global_provider.get_tracer(SCOPE_NAME, SDK_VERSION, schema_url=sc.SCHEMA_URL)
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
        None if new is None else new.get_tracer(SCOPE_NAME, SDK_VERSION, schema_url=sc.SCHEMA_URL)
    )
    return previous
