"""The pyarrow column path agrees with the per-value path, for every prefilter engine."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from redaction_corpus import benign_cases, positive_cases

from agenttrace.redaction import RedactionConfig, RedactionSummary, Redactor
from agenttrace.redaction.columnar import ENGINES, ColumnRedactor

AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
CASES = positive_cases() + benign_cases()
VALUES = [c.text for c in CASES] + [None, "", "short", f"\\u0040 escaped {AWS_KEY}"]


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


@pytest.mark.parametrize("engine", ENGINES)
def test_candidates_cover_every_value_with_a_finding(engine: str, redactor: Redactor) -> None:
    column = ColumnRedactor(redactor, engine=engine)
    array = pa.array(VALUES, pa.string())
    candidates = set(column.candidates(array))
    needed = {i for i, v in enumerate(VALUES) if v is not None and redactor.find(v)}
    assert needed <= candidates
    if engine in ("hyperscan", "re2"):
        # Selective even on near misses built to look like findings (realistic trace text:
        # see bench/redaction.py, where under 2% of values reach the precise path).
        benign_rows = range(len(positive_cases()), len(CASES))
        assert len(candidates.intersection(benign_rows)) <= len(benign_rows) * 0.5


@pytest.mark.parametrize("engine", ["hyperscan", "re2", "keywords"])
def test_redact_matches_redact_text_value_by_value(engine: str, redactor: Redactor) -> None:
    column = ColumnRedactor(redactor, engine=engine)
    array = pa.array(VALUES, pa.string())
    out = column.redact(array).to_pylist()
    assert out == [None if v is None else redactor.redact_text(v) for v in VALUES]


def test_slices_large_strings_and_chunked_arrays(redactor: Redactor) -> None:
    column = ColumnRedactor(redactor, engine="hyperscan")
    values = ["clean", f"key {AWS_KEY}", "also clean", f"{AWS_KEY}"]
    sliced = pa.array(["x" * 50, *values], pa.large_string()).slice(1)
    assert column.candidates(sliced) == [1, 3]
    chunked = pa.chunked_array([values[:2], values[2:]])
    assert column.redact(chunked).to_pylist() == [redactor.redact_text(v) for v in values]


def test_key_rules_and_row_summaries() -> None:
    redactor = Redactor(
        RedactionConfig.from_dict(
            {"block": ["user.notes"], "detectors": {"email": {"mode": "drop"}}}
        )
    )
    column = ColumnRedactor(redactor)
    summaries = [RedactionSummary(), RedactionSummary(), RedactionSummary()]
    array = pa.array(["hunter2x", "", None])
    assert column.redact(array, key="db.password", summaries=summaries).to_pylist() == [
        "[REDACTED:secret_assignment]",
        "",
        None,
    ]
    assert summaries[0].counts == {"secret_assignment": 1}
    assert not summaries[1]
    assert column.redact(pa.array(["anything"]), key="user.notes").to_pylist() == [
        "[REDACTED:blocked_key]"
    ]
    dropped = column.redact(pa.array(["mail a.b@corp.io", "fine"]), key="note")
    assert dropped.to_pylist() == [None, "fine"]
    messages = json.dumps([{"role": "user", "content": "AKIA" + "IOSFODNN7EXAMPLE"}])
    assert (
        "[REDACTED:aws_access_key_id]"
        in column.redact(pa.array([messages]), key="gen_ai.input.messages").to_pylist()[0]
    )


def test_unknown_engine_and_non_string_column_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown prefilter engine"):
        ColumnRedactor(engine="grep")
    with pytest.raises(TypeError, match="expected a string array"):
        ColumnRedactor().redact(pa.array([1, 2]))
