"""The configuration example in the processors package docstring is valid as written."""

from __future__ import annotations

import textwrap

import yaml

import agenttrace.collector.processors as processors
from agenttrace.collector.processors.base import Forwarder, Processor, build_processor


def test_documented_example_builds_every_processor() -> None:
    doc = processors.__doc__ or ""
    example = textwrap.dedent(doc.split("::\n", 1)[1].split("\n\n", 1)[0])
    entries = yaml.safe_load(example)["processors"]
    built = [
        build_processor(
            e["type"], e["type"], {k: v for k, v in e.items() if k != "type"}, f"p[{i}]"
        )
        for i, e in enumerate(entries)
    ]
    try:
        assert [type(b).__name__ for b in built] == [
            "NormalizeProcessor",
            "RedactionProcessor",
            "LimitsProcessor",
            "SamplingProcessor",
            "ForwardProcessor",
        ]
        assert all(isinstance(b, Processor) for b in built[:4])
        assert isinstance(built[4], Forwarder)
        assert not isinstance(built[4], Processor)  # the collector calls it after the WAL
    finally:
        for component in built:
            component.shutdown()
