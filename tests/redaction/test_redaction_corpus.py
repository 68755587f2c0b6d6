"""The labeled corpus meets the targets: 100% recall on secrets, >= 99% on PII, <= 1% false
positives on benign near misses. Run with ``-s`` to see precision and recall per detector."""

from __future__ import annotations

import json
from collections import Counter

from redaction_corpus import Case, benign_cases, positive_cases

from agenttrace.redaction import DETECTOR_NAMES, PII_TYPES, SECRET_TYPES, Redactor

REDACTOR = Redactor()


def _secret_forms(case: Case) -> list[str]:
    # In JSON contexts the secret appears escaped.
    return [case.secret, json.dumps(case.secret)[1:-1]]


def _evaluate(cases: list[Case]) -> tuple[Counter[str], Counter[str], Counter[str], list[str]]:
    true_pos: Counter[str] = Counter()
    false_neg: Counter[str] = Counter()
    false_pos: Counter[str] = Counter()
    misses = []
    for case in cases:
        findings = REDACTOR.find(case.text)
        redacted = REDACTOR.redact_text(case.text)
        if case.detector is not None:
            leaked = any(form and form in redacted for form in _secret_forms(case))
            located = [
                f
                for f in findings
                if f.type == case.detector
                and any(
                    (pos := case.text.find(form)) != -1
                    and f.start < pos + len(form)
                    and pos < f.end
                    for form in _secret_forms(case)
                )
            ]
            if leaked or not located:
                false_neg[case.detector] += 1
                misses.append(f"{case.id}: leaked={leaked} types={[f.type for f in findings]}")
            else:
                true_pos[case.detector] += 1
            findings = [f for f in findings if f not in located]
        for finding in findings:
            false_pos[finding.type] += 1
    return true_pos, false_neg, false_pos, misses


def test_corpus_meets_targets() -> None:
    positives, benign = positive_cases(), benign_cases()
    assert len(positives) + len(benign) >= 300
    assert len(benign) >= 150
    assert {c.detector for c in positives} == set(DETECTOR_NAMES)

    true_pos, false_neg, false_pos, misses = _evaluate(positives + benign)
    print(f"\n{'detector':28} {'cases':>6} {'recall':>8} {'precision':>10}")
    for name in DETECTOR_NAMES:
        tp, fn, fp = true_pos[name], false_neg[name], false_pos[name]
        recall = tp / (tp + fn) if tp + fn else 1.0
        precision = tp / (tp + fp) if tp + fp else 1.0
        print(f"{name:28} {tp + fn:>6} {recall:>8.3f} {precision:>10.3f}")

    benign_flagged = [c.id for c in benign if REDACTOR.find(c.text)]
    fp_rate = len(benign_flagged) / len(benign)
    secret_fn = sum(false_neg[t] for t in SECRET_TYPES)
    pii_tp, pii_fn = sum(true_pos[t] for t in PII_TYPES), sum(false_neg[t] for t in PII_TYPES)
    print(f"benign cases flagged: {len(benign_flagged)}/{len(benign)} ({fp_rate:.2%})")
    for line in misses + benign_flagged:
        print("  ", line)

    assert secret_fn == 0, misses
    assert pii_tp / (pii_tp + pii_fn) >= 0.99, misses
    assert fp_rate <= 0.01, benign_flagged
