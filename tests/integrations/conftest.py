"""Fixtures for the framework integration tests.

``provider`` is a loopback server speaking the OpenAI and Anthropic HTTP APIs (see
``fake_provider.py``), started on 127.0.0.1 and a free port and stopped after the test. ``cap``
routes agenttrace spans to an in-memory exporter with deterministic ids and times.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_provider import FakeProvider, RunningProvider

from agenttrace.testing import Capture, capture


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    with RunningProvider() as running:
        yield running


@pytest.fixture
def cap() -> Iterator[Capture]:
    with capture() as captured:
        yield captured
