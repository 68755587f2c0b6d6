"""sampling: keep-all by default; the tail rule decides per trace, deterministically."""

from __future__ import annotations

import random

import pytest
from pipeline_helpers import build_request, spans_of

from agenttrace import semconv
from agenttrace.collector.errors import ConfigError
from agenttrace.collector.processors._otlp import span_count
from agenttrace.collector.processors.base import build_processor
from agenttrace.collector.processors.sampling import SamplingConfig, SamplingProcessor, ratio_keeps


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _trace(
    trace_id: int, *, error: bool = False, cost: float = 0.0, root: bool = True
) -> list[dict]:
    child = {
        "trace_id": trace_id,
        "span_id": 2,
        "parent_span_id": 1,
        "status": "error" if error else "unset",
        "attributes": {semconv.AGENTTRACE_COST_USD: cost} if cost else {},
    }
    spans = [child]
    if root:
        spans.append({"trace_id": trace_id, "span_id": 1, "name": "root"})
    return spans


def _tail(clock: FakeClock | None = None, **options: object) -> SamplingProcessor:
    config = SamplingConfig.from_dict({"mode": "tail", **options})
    config.validate()
    return SamplingProcessor(config, clock=clock or FakeClock())


def _trace_ids(request: object) -> set[int]:
    return {int.from_bytes(s.trace_id, "big") for s in spans_of(request)} if request else set()


def test_keep_all_is_the_default_and_a_pass_through() -> None:
    processor = build_processor("sampling", "sampling", {}, "processors[0]")
    request = build_request(_trace(1))
    assert processor.process(request) is request
    assert processor.mutates is False


def test_ratio_is_deterministic_by_trace_id_and_matches_the_ratio() -> None:
    rng = random.Random(7)
    ids = [rng.getrandbits(128).to_bytes(16, "big") for _ in range(4000)]
    kept = [ratio_keeps(t, 0.25) for t in ids]
    assert kept == [ratio_keeps(t, 0.25) for t in ids]
    assert 0.2 < sum(kept) / len(kept) < 0.3
    assert all(ratio_keeps(t, 1.0) for t in ids)
    assert not any(ratio_keeps(t, 0.0) for t in ids)


def test_errors_and_expensive_traces_are_kept_the_rest_sampled() -> None:
    processor = _tail(ratio=0.0, keep_cost_above_usd=0.5)
    spans = _trace(1, error=True) + _trace(2, cost=0.9) + _trace(3, cost=0.1) + _trace(4)
    kept = processor.process(build_request(spans))
    assert _trace_ids(kept) == {1, 2}
    assert span_count(kept) == 4
    metrics = processor.metrics()
    assert (metrics["traces_kept"], metrics["traces_dropped"], metrics["spans_dropped"]) == (
        2,
        2,
        4,
    )


def test_a_trace_waits_for_its_root_across_batches_and_late_spans_follow_the_verdict() -> None:
    processor = _tail(ratio=0.0)
    first = processor.process(build_request(_trace(7, error=True, root=False)))
    assert first is None
    assert processor.buffered_spans == 1
    second = processor.process(build_request([{"trace_id": 7, "span_id": 1, "name": "root"}]))
    assert span_count(second) == 2
    assert processor.buffered_spans == 0
    late = processor.process(build_request([{"trace_id": 7, "span_id": 3, "parent_span_id": 1}]))
    assert span_count(late) == 1


def test_incomplete_traces_are_decided_after_the_timeout() -> None:
    clock = FakeClock()
    processor = _tail(clock, ratio=0.0, decision_wait_s=10)
    assert processor.process(build_request(_trace(5, error=True, root=False))) is None
    assert processor.flush_due() is None  # not due yet
    clock.now += 11
    flushed = processor.flush_due()
    assert _trace_ids(flushed) == {5}
    assert processor.flush_due() is None
    assert processor.buffered_spans == 0


def test_memory_bound_forces_early_decisions_and_flush_all_drains() -> None:
    processor = _tail(ratio=1.0, max_buffered_spans=3)
    out = processor.process(build_request([s for t in range(1, 6) for s in _trace(t, root=False)]))
    assert _trace_ids(out) == {1, 2}  # the oldest were decided to respect the bound
    assert processor.buffered_spans == 3
    assert _trace_ids(processor.flush_all()) == {3, 4, 5}


def test_kept_spans_keep_their_resource_and_scope() -> None:
    processor = _tail(ratio=1.0)
    request = build_request(_trace(9), resource={"service.name": "svc-a"}, scope="scope-a")
    out = processor.process(request)
    assert out.resource_spans[0].resource.attributes[0].value.string_value == "svc-a"
    assert out.resource_spans[0].scope_spans[0].scope.name == "scope-a"


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"mode": "head"}, "mode"),
        ({"ratio": 1.5}, "ratio"),
        ({"decision_wait_s": 0}, "decision_wait_s"),
        ({"keep_cost_above_usd": -1}, "keep_cost_above_usd"),
    ],
)
def test_config_errors_name_the_key(options: dict, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_processor("sampling", "s", options, "processors[3]")
    assert err.value.key_path == f"processors[3].{key}"
