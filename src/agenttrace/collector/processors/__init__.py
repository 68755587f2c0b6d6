"""The collector's pipeline processors: normalize, redaction, limits, sampling and forward.

Importing this package registers every processor type with :mod:`.base`'s registry, so the
collector's config loader can build them from the ``processors:`` list, in order::

    processors:
      - type: normalize            # other dialects -> the agenttrace convention
        keep_originals: false      # keep the mapped source attributes too
        rename_spans: true         # "chat {model}", "execute_tool {tool}", ...
        dialects: []               # empty: openinference, openllmetry, gen_ai_legacy,
                                   # logfire, mlflow
      - type: redaction            # the block `agenttrace redact --config` reads
        mode: mask                 # mask | hash | drop; detectors, allow, block, ignore, ...
      - type: limits
        max_attribute_value_bytes: 1048576
        max_attributes_per_span: 128
        max_events_per_span: 128
        max_links_per_span: 128
      - type: sampling             # keep_all (default) or tail
        mode: tail
        keep_errors: true
        keep_cost_above_usd: 1.0
        ratio: 0.1
        decision_wait_s: 30
      - type: forward              # after the WAL: never delays acknowledgement
        endpoints:
          - endpoint: http://phoenix:6006/v1/traces
            protocol: http/protobuf    # or grpc (host:port, https:// for TLS)
            headers: {authorization: "Bearer ..."}
            queue_size: 1000
            overflow: drop_oldest      # or drop_new
            max_retries: 5

Every config key is checked; an error names it (``processors[2].max_events_per_span: must be
greater than 0, got 0``). Each processor exports cumulative counters through ``metrics()``,
which the collector serves as ``agenttrace_processor_<counter>_total{processor="<name>"}``.
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
