"""Suite-wide settings.

Internal tracing errors are logged and swallowed in production; under the test suite they are
raised so that a bug in agenttrace cannot hide behind the never-break-agent-code rule.
"""

from __future__ import annotations

import os

os.environ.setdefault("AGENTTRACE_RAISE_INTERNAL_ERRORS", "1")
