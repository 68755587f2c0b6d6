"""The collector's pipeline processors: normalize, redaction, limits, sampling and forward.

Importing this package registers every processor type with :mod:`.base`'s registry, so the
collector's config loader can build them from the ``processors:`` list.
"""

from __future__ import annotations

from agenttrace.collector.processors import forward, limits, normalize, redaction, sampling
from agenttrace.collector.processors.forward import ForwardConfig, ForwardProcessor
from agenttrace.collector.processors.limits import LimitsConfig, LimitsProcessor
from agenttrace.collector.processors.normalize import NormalizeConfig, NormalizeProcessor
from agenttrace.collector.processors.redaction import (
    RedactionProcessor,
    RedactionProcessorConfig,
)
from agenttrace.collector.processors.sampling import SamplingConfig, SamplingProcessor

__all__ = [
    "ForwardConfig",
    "ForwardProcessor",
    "LimitsConfig",
    "LimitsProcessor",
    "NormalizeConfig",
    "NormalizeProcessor",
    "RedactionProcessor",
    "RedactionProcessorConfig",
    "SamplingConfig",
    "SamplingProcessor",
    "forward",
    "limits",
    "normalize",
    "redaction",
    "sampling",
]
