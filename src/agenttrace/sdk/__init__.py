"""agenttrace's agent-side SDK. The public API is re-exported from :mod:`agenttrace`.

This package imports nothing heavy at import time, so ``agenttrace.sdk.pricing`` is cheap to
import from service-side code too.

The names below are the internal surface that agenttrace's own framework integrations
(:mod:`agenttrace.integrations`) build on, so that they never reach into the SDK's private
modules. They are not public API and may change with any release:

- :func:`start_span`, :class:`SpanHandle`, :class:`Kind`: open a span of one agenttrace span type
  without making it current (for frameworks whose callbacks interleave runs);
- :func:`internal_error`, :func:`raise_internal_errors`: the never-break-agent-code rule;
- :class:`Usage`, :func:`extract_usage`: token usage of any provider-shaped response;
- :data:`SCOPE_NAME`, :data:`SDK_VERSION`: the instrumentation scope of agenttrace's tracer;
- :func:`inject`, :func:`extract`: W3C trace context propagation through a carrier.
"""

from __future__ import annotations

from agenttrace.sdk._errors import internal_error, raise_internal_errors
from agenttrace.sdk._kinds import Kind
from agenttrace.sdk._propagation import extract, inject
from agenttrace.sdk._span import SpanHandle
from agenttrace.sdk._span import start as start_span
from agenttrace.sdk._tracer import SCOPE_NAME, SDK_VERSION
from agenttrace.sdk._usage import Usage, extract_usage

__all__ = [
    "SCOPE_NAME",
    "SDK_VERSION",
    "Kind",
    "SpanHandle",
    "Usage",
    "extract",
    "extract_usage",
    "inject",
    "internal_error",
    "raise_internal_errors",
    "start_span",
]
