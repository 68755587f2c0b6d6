"""Redactor behaviour: markers, modes, rules, JSON, attributes, summaries and bad input."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import subprocess
import sys

import pytest
from redaction_corpus import POSITIVE_SAMPLES, benign_cases, positive_cases

from agenttrace.redaction import (
    DROP,
    ERROR_MARKER,
    RedactionConfig,
    RedactionSummary,
    Redactor,
)

AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
GH_TOKEN = "ghp_" + "x7Kq9Zb2Lm4Np6Rt8Vw0Yc3Ef5Hj7Gk9Mn1P"
EMAIL = "jane.doe@corp-mail.com"
SHARED = Redactor()


def test_acceptance_one_liner_prints_no_part_of_the_key() -> None:
    code = "from agenttrace.redaction import Redactor; print(Redactor().redact_text('key AKIA' + 'ABCDEFGHIJKLMNOP'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "key [REDACTED:aws_access_key_id]"
    assert "AKIA" not in out.stdout
    assert "ABCDEFGH" not in out.stdout


@pytest.mark.parametrize("case", positive_cases()[::7], ids=lambda c: c.id)
def test_mask_never_echoes_any_part_of_the_value(case: object) -> None:
    redactor = SHARED
    text = case.text  # type: ignore[attr-defined]
    secret = case.secret  # type: ignore[attr-defined]
    redacted = redactor.redact_text(text)
    assert "[REDACTED:" in redacted
    # No 6-character piece of the secret survives outside the fixed marker text.
    without_markers = re.sub(r"\[REDACTED:\w+\]", "", redacted)
    context = text.replace(secret, "")
    pieces = {secret[i : i + 6] for i in range(len(secret) - 5)}
    assert [p for p in pieces if p in without_markers and p not in context] == []


def test_hash_mode_is_keyed_hmac_and_joinable() -> None:
    config = RedactionConfig.from_dict({"mode": "hash", "hash_key": "k1"})
    first = Redactor(config).redact_text(f"from {EMAIL} to {EMAIL}")
    expected = hmac.new(b"k1", EMAIL.encode(), hashlib.sha256).hexdigest()[:16]
    assert first == f"from [HASH:email:{expected}] to [HASH:email:{expected}]"
    other_key = Redactor(RedactionConfig.from_dict({"mode": "hash", "hash_key": "k2"}))
    assert expected not in other_key.redact_text(EMAIL)


def test_drop_mode_removes_text_members_and_attributes() -> None:
    redactor = Redactor(RedactionConfig.from_dict({"detectors": {"email": {"mode": "drop"}}}))
    assert redactor.redact_text(f"mail {EMAIL} now") == "mail  now"
    assert redactor.redact_json({"a": f"x {EMAIL}", "b": [EMAIL, "ok"], "c": 1}) == {
        "b": [None, "ok"],
        "c": 1,
    }
    summary = RedactionSummary()
    out = redactor.redact_attributes({"user.email": EMAIL, "other": "fine"}, summary)
    assert out == {"other": "fine"}
    assert summary.counts == {"email": 1}
    assert redactor.redact_value("user.email", EMAIL) is DROP


def test_per_detector_mode_overrides_default() -> None:
    config = RedactionConfig.from_dict(
        {"hash_key": "k", "detectors": {"email": {"mode": "hash"}, "ipv4": False}}
    )
    out = Redactor(config).redact_text(f"{EMAIL} {AWS_KEY} 203.0.113.7")
    assert out.startswith("[HASH:email:")
    assert "[REDACTED:aws_access_key_id]" in out
    assert out.endswith("203.0.113.7")


def test_redact_json_walks_every_depth_and_keeps_structure() -> None:
    document = {
        "messages": [
            {"role": "user", "content": f"my key is {AWS_KEY}"},
            {"role": "tool", "content": [{"type": "text", "text": f"contact {EMAIL}"}]},
        ],
        "meta": {"count": 3, "ok": True, "none": None, "api_key": "abc123def456"},
        EMAIL: "email as a key",
    }
    summary = RedactionSummary()
    out = Redactor().redact_json(document, summary)
    assert out["messages"][0] == {
        "role": "user",
        "content": "my key is [REDACTED:aws_access_key_id]",
    }
    assert out["messages"][1]["content"][0]["text"] == "contact [REDACTED:email]"
    assert out["meta"] == {
        "count": 3,
        "ok": True,
        "none": None,
        "api_key": "[REDACTED:secret_assignment]",
    }
    assert "[REDACTED:email]" in out
    assert EMAIL not in json.dumps(out)
    assert summary.counts == {"aws_access_key_id": 1, "email": 2, "secret_assignment": 1}
    assert "meta.api_key" in summary.keys
    assert "messages[*].content" in summary.keys
    assert document["meta"]["api_key"] == "abc123def456"  # the input is not mutated


def test_redact_json_deeper_than_the_recursion_limit() -> None:
    depth = sys.getrecursionlimit() * 2
    document: object = f"end {EMAIL}"
    for _ in range(depth):
        document = {"child": [document]}
    out = Redactor().redact_json(document)
    for _ in range(depth):
        assert isinstance(out, dict)
        out = out["child"][0]
    assert out == "end [REDACTED:email]"


def test_rules_block_ignore_allow_by_key_path_and_value() -> None:
    config = RedactionConfig.from_dict(
        {
            "block": ["http.request.header.cookie", {"path": "gen_ai.tool.call.arguments.ssn"}],
            "ignore": ["debug.*"],
            "allow": [
                {"key": "peer.ip", "types": ["ipv4"]},
                {"value": r".*@example\.com", "types": ["email"]},
            ],
        }
    )
    redactor = Redactor(config)
    summary = RedactionSummary()
    out = redactor.redact_attributes(
        {
            "http.request.header.cookie": ["session=1"],
            "debug.dump": f"{EMAIL} {AWS_KEY}",
            "peer.ip": "203.0.113.7",
            "client.address": "203.0.113.7",
            "note": f"bob@example.com and {EMAIL}",
            "gen_ai.tool.call.arguments": json.dumps({"ssn": 123, "q": "weather"}),
        },
        summary,
    )
    assert out["http.request.header.cookie"] == "[REDACTED:blocked_key]"
    assert out["debug.dump"] == f"{EMAIL} {AWS_KEY}"
    assert out["peer.ip"] == "203.0.113.7"
    assert out["client.address"] == "[REDACTED:ipv4]"
    assert out["note"] == "bob@example.com and [REDACTED:email]"
    assert json.loads(out["gen_ai.tool.call.arguments"]) == {
        "ssn": "[REDACTED:blocked_key]",
        "q": "weather",
    }
    assert summary.to_attributes() == {
        "agenttrace.redaction.count": 4,
        "agenttrace.redaction.types": ["blocked_key=2", "email=1", "ipv4=1"],
        "agenttrace.redaction.keys": [
            "client.address",
            "gen_ai.tool.call.arguments",
            "http.request.header.cookie",
            "note",
        ],
    }


def test_block_wins_over_ignore() -> None:
    config = RedactionConfig.from_dict({"block": ["secret.*"], "ignore": ["secret.*"]})
    assert Redactor(config).redact_attributes({"secret.x": "v"}) == {
        "secret.x": "[REDACTED:blocked_key]"
    }


def test_json_attributes_are_redacted_member_by_member_and_untouched_ones_kept() -> None:
    messages = json.dumps(
        [{"role": "user", "parts": [{"type": "text", "content": f"hi, I am {EMAIL}"}]}], indent=2
    )
    clean = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}], indent=2)
    out = Redactor().redact_attributes(
        {"gen_ai.input.messages": messages, "gen_ai.output.messages": clean}
    )
    assert json.loads(out["gen_ai.input.messages"])[0]["parts"][0]["content"] == (
        "hi, I am [REDACTED:email]"
    )
    assert out["gen_ai.output.messages"] is clean  # unchanged values keep their formatting


def test_summary_values_never_include_redacted_values() -> None:
    summary = RedactionSummary()
    Redactor().redact_attributes({"a": f"{AWS_KEY} {EMAIL}", "b": GH_TOKEN}, summary)
    rendered = json.dumps(summary.to_attributes())
    assert AWS_KEY not in rendered
    assert EMAIL not in rendered
    assert GH_TOKEN not in rendered
    assert summary.count == 3


def test_empty_summary_renders_count_zero() -> None:
    assert RedactionSummary().to_attributes() == {"agenttrace.redaction.count": 0}


def test_redaction_is_idempotent_on_the_corpus() -> None:
    redactor = Redactor()
    for case in positive_cases()[::5]:
        once = redactor.redact_text(case.text)
        assert redactor.redact_text(once) == once, case.id


def test_accelerated_and_plain_engines_agree() -> None:
    fast = Redactor()
    fast.warm_up()
    plain = Redactor(RedactionConfig(accelerate=False))
    for case in (positive_cases() + benign_cases())[::3]:
        assert fast.find(case.text) == plain.find(case.text), case.id


def test_overlapping_findings_are_merged_so_nothing_leaks() -> None:
    text = "GITHUB_TOKEN=" + GH_TOKEN
    assert Redactor().redact_text(text) == "GITHUB_TOKEN=[REDACTED:github_token]"


def test_every_detector_has_samples_and_examples_are_caught() -> None:
    redactor = Redactor()
    for name, samples in POSITIVE_SAMPLES.items():
        for snippet, secret in samples:
            assert secret not in redactor.redact_text(snippet), name


def test_invalid_utf8_surrogates_pass_through() -> None:
    text = b"\xff\xfe caf\xc3\xa9 mail jane@corp.io".decode("utf-8", "surrogateescape")
    out = Redactor().redact_text(text)
    assert out.encode("utf-8", "surrogateescape") == b"\xff\xfe caf\xc3\xa9 mail [REDACTED:email]"


def test_100_mb_string() -> None:
    text = ("lorem ipsum dolor 12345 " * 4_200_000) + f" {AWS_KEY}"
    assert len(text) > 100_000_000
    redactor = Redactor()
    redactor.warm_up()
    out = redactor.redact_text(text)
    assert len(out) == len(text) - len(AWS_KEY) + len("[REDACTED:aws_access_key_id]")
    assert out.endswith(" [REDACTED:aws_access_key_id]")


def test_internal_errors_fail_closed_or_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("boom")

    redactor = Redactor()
    with pytest.raises(RuntimeError):
        redactor.redact_json({Unprintable(): "x"})
    monkeypatch.setenv("AGENTTRACE_RAISE_INTERNAL_ERRORS", "0")
    assert redactor.redact_json({Unprintable(): "x"}) == ERROR_MARKER


def test_disabled_config_passes_everything_through() -> None:
    redactor = Redactor(RedactionConfig(enabled=False))
    assert redactor.redact_text(AWS_KEY) == AWS_KEY
    assert redactor.redact_attributes({"a": AWS_KEY}) == {"a": AWS_KEY}
