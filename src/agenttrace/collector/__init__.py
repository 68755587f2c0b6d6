"""The agenttrace collector: OTLP receivers, a durable WAL, and Parquet publishing.

``run_in_background`` starts a collector subprocess and waits until it is ready; see
:mod:`agenttrace.collector.background`.
"""

from __future__ import annotations

from agenttrace.collector.background import BackgroundCollector, run_in_background

__all__ = ["BackgroundCollector", "run_in_background"]
