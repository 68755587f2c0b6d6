"""The shared machinery: light imports, the never-break rule and transparent stream proxies."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Hashable, Iterator
from typing import Any

import pytest

from agenttrace.integrations._client import ClientInstrumentation, Endpoint, ModelRequest
from agenttrace.sdk._errors import AgentTraceInternalError
from agenttrace.sdk.hooks import AgentHooks
from agenttrace.testing import Capture

FRAMEWORKS = ["openai", "anthropic", "langchain_core", "langgraph", "agents", "mcp"]


def test_importing_agenttrace_imports_no_framework() -> None:
    probe = (
        "import sys, json, agenttrace, agenttrace.integrations; "
        f"print(json.dumps([m for m in {FRAMEWORKS!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


class Service:
    """Stands in for a client resource class in these tests of our own wrapping code."""

    def create(self, **kwargs: Any) -> Any:
        if kwargs.get("stream"):
            return iter(["a", "b"])
        return {"answer": 42}


def _describe(instance: Any, kwargs: dict[str, Any]) -> tuple[ModelRequest, dict[str, Any]]:
    if kwargs.get("model") == "broken":
        raise KeyError("cannot read this request")
    return ModelRequest(model=str(kwargs["model"]), provider="test"), kwargs


def _finish(hooks: AgentHooks, key: Hashable, result: Any) -> None:
    hooks.model_end(key, response_id="r-1")


class _Observer:
    def __init__(self, hooks: AgentHooks, key: Hashable) -> None:
        self.hooks, self.key = hooks, key

    def on_item(self, item: Any) -> None:
        if item == "b":
            raise ValueError("observer bug")
        self.hooks.model_chunk(self.key)

    def on_end(self, error: BaseException | None) -> None:
        self.hooks.model_end(self.key, error=error)


@pytest.fixture
def service() -> Iterator[Service]:
    state = ClientInstrumentation("test")
    endpoint = Endpoint(_describe, _finish, _Observer, lambda r: isinstance(r, Iterator))
    state.patches.wrap(Service, "create", state.sync_method(endpoint))
    yield Service()
    state.patches.restore()


def test_wrapped_call_is_traced(service: Service, cap: Capture) -> None:
    assert service.create(model="m") == {"answer": 42}
    (span,) = cap.spans()
    assert span["name"] == "chat m"
    assert span["attributes"]["gen_ai.response.id"] == "r-1"


def test_internal_error_raises_only_under_the_test_flag(
    service: Service,
    cap: Capture,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(AgentTraceInternalError):
        service.create(model="broken")

    monkeypatch.setenv("AGENTTRACE_RAISE_INTERNAL_ERRORS", "0")
    with caplog.at_level(logging.WARNING, logger="agenttrace"):
        assert service.create(model="broken") == {"answer": 42}  # the call itself is untouched
    assert "internal error in test: reading a request" in caplog.text
    assert "cannot read this request" not in caplog.text  # messages may quote content
    assert cap.spans() == []


def test_stream_proxy_survives_a_failing_observer(
    service: Service, cap: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTTRACE_RAISE_INTERNAL_ERRORS", "0")
    stream = service.create(model="m", stream=True)
    assert stream.__class__ is type(iter(["x"]))  # the proxy passes for what it wraps
    assert list(stream) == ["a", "b"]
    (span,) = cap.spans()
    assert span["status"]["code"] == "unset"
    assert "agenttrace.response.time_to_first_chunk_ms" in span["attributes"]
