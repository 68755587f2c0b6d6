"""agenttrace's agent-side SDK. The public API is re-exported from :mod:`agenttrace`.

This package imports nothing heavy at import time, so ``agenttrace.sdk.pricing`` is cheap to
import from service-side code too.
"""
