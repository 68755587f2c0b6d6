"""The ``capture_spans`` fixture from agenttrace.testing, for every SDK test."""

from __future__ import annotations

from agenttrace.testing import capture_spans

__all__ = ["capture_spans"]
