"""Secret and personal-data redaction for traces, shared by the SDK, the collector and the CLI.

Agent side: this package imports only the standard library and orjson. The pyarrow column
path lives in :mod:`agenttrace.redaction.columnar` and YAML loading in
:mod:`agenttrace.redaction.config_file`; import those explicitly on the service side.

>>> from agenttrace.redaction import Redactor
>>> Redactor().redact_text("mail me at jane.doe@corp.io")
'mail me at [REDACTED:email]'
"""

from __future__ import annotations

from agenttrace.redaction.config import (
    BLOCKED_TYPE,
    DEFAULT_JSON_KEYS,
    KeyRule,
    Mode,
    RedactionConfig,
    RedactionConfigError,
)
from agenttrace.redaction.detectors import (
    DETECTOR_NAMES,
    DETECTORS,
    PII_TYPES,
    SECRET_TYPES,
    Detector,
)
from agenttrace.redaction.engine import DROP, ERROR_MARKER, Finding, Redactor
from agenttrace.redaction.summary import (
    COUNT_ATTRIBUTE,
    KEYS_ATTRIBUTE,
    TYPES_ATTRIBUTE,
    RedactionSummary,
)

__all__ = [
    "BLOCKED_TYPE",
    "COUNT_ATTRIBUTE",
    "DEFAULT_JSON_KEYS",
    "DETECTORS",
    "DETECTOR_NAMES",
    "DROP",
    "ERROR_MARKER",
    "KEYS_ATTRIBUTE",
    "PII_TYPES",
    "SECRET_TYPES",
    "TYPES_ATTRIBUTE",
    "Detector",
    "Finding",
    "KeyRule",
    "Mode",
    "RedactionConfig",
    "RedactionConfigError",
    "RedactionSummary",
    "Redactor",
]
