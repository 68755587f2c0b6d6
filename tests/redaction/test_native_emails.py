"""The native email finder (``agenttrace.redaction._emails``) against the regular-expression
path it replaces, on generated text: the same findings, and the same redacted values and
summaries through ``Redactor.redact_value``."""

from __future__ import annotations

import json
import random

from agenttrace.redaction import RedactionConfig, RedactionSummary, Redactor, _jsonio
from agenttrace.redaction._emails import find_emails, json_member_names, redact_emails
from agenttrace.redaction._validators import FILE_EXTENSION_TLDS
from agenttrace.redaction.engine import _merge

NATIVE = Redactor()
GENERAL = Redactor(RedactionConfig(accelerate=False))  # accelerators off: the re path
EMAIL_ONLY = frozenset({[d.name for d in NATIVE.detectors].index("email")})


def _local(rng: random.Random) -> str:
    return "".join(rng.choice("abcXY019._%+-") for _ in range(rng.randrange(0, 80)))


def _label(rng: random.Random) -> str:
    return "".join(rng.choice("abcQ09-") for _ in range(rng.randrange(0, 70)))


def _domain(rng: random.Random) -> str:
    labels = [_label(rng) for _ in range(rng.randrange(1, 5))]
    tld = rng.choice(["com", "png", "c", "co1", "Org", "x" * 25, "x" * 24, "", "io-", "GIT"])
    return ".".join([*labels, tld])


def _text(rng: random.Random) -> str:
    """Text dense in near-emails: long local parts and labels, bad TLDs, several @, escapes."""

    def noise() -> str:
        return "".join(rng.choice(" \n\"':,{}[]\\nab@é") for _ in range(rng.randrange(0, 8)))

    parts = [
        noise() + _local(rng) + rng.choice(["@", "@", "@@", ""]) + _domain(rng) + noise()
        for _ in range(rng.randrange(1, 4))
    ]
    padding = "y" * rng.randrange(250, 400) if rng.random() < 0.1 else ""  # windows' edges
    return padding + "".join(parts)


def test_find_emails_keeps_what_the_regular_expression_path_keeps() -> None:
    rng = random.Random(7)
    with_findings = 0
    for _ in range(10_000):
        text = _text(rng)
        expected = [(f.start, f.end) for f in GENERAL._scan(text, (), EMAIL_ONLY)]
        found = _merge([(s, e, 0, "email") for s, e in find_emails(text, FILE_EXTENSION_TLDS)])
        assert [(f.start, f.end) for f in found] == expected, text
        with_findings += bool(expected)
    assert with_findings > 500  # the generator does reach real emails


def test_json_member_names_are_the_strings_followed_by_a_colon() -> None:
    rng = random.Random(3)
    for _ in range(2_000):
        doc = {
            rng.choice(["role", "a b", "x@y.com", ""]): [
                {"k" * rng.randrange(1, 4): rng.choice(["v", "w: x", 3, None])}
            ]
            for _ in range(rng.randrange(0, 4))
        }
        text = json.dumps(doc, indent=rng.choice([None, 1]))
        pieces = text.split('"')
        expected = [
            pieces[i]
            for i in range(1, len(pieces) - 1, 2)
            if pieces[i + 1].lstrip(" \t\n\r").startswith(":")
        ]
        assert json_member_names(text) == expected


# Replacements that make JSON non-finite, exponent-formed, control-charactered, surrogate-holding
# or lenient-only.
_MUTATIONS = [
    ("1", "1e400"),
    ("1", "1E-05"),
    ("a@b", "a\tb"),
    ("a@b", "a\x01b"),
    ("é", "\ud800"),
    ("null", "NaN"),
]


def _json_like(rng: random.Random) -> str:
    """JSON and near-JSON: numbers at the edges of finite, deep nesting, control characters,
    surrogates, lenient-only literals, truncation, trailing text, odd whitespace."""

    def value(depth: int) -> object:
        roll = rng.random()
        if depth > 70 or roll < 0.3:
            return rng.choice(
                [1, -0.5, 10 ** rng.randrange(1, 400), 1.5e300, None, True, "a@b.com", "x\u00e9"]
            )
        if roll < 0.65:
            return [value(depth + 1) for _ in range(rng.randrange(0, 3))]
        return {rng.choice(["k", "x@y.com", "é"]): value(depth + 1) for _ in range(2)}

    text = json.dumps(value(0), ensure_ascii=False)
    if rng.random() < 0.5:
        text = "[" * rng.randrange(60, 70) + text + "]" * rng.randrange(60, 70)
    mutation = rng.randrange(12)
    if mutation < len(_MUTATIONS):
        old, new = _MUTATIONS[mutation]
        text = text.replace(old, new, 1)
    elif mutation == 6:
        text = text[: rng.randrange(len(text) + 1)]
    elif mutation == 7:
        text += rng.choice([" x", ",", " \n", "\u2003"])
    elif mutation == 8:
        text = rng.choice(["\u2003", " ", "\r\n"]) + text + rng.choice(["\u00a0", "\t", ""])
    elif mutation == 9:
        text = text.replace(", ", ",\n  ").replace(": ", " :")
    return text


def test_redact_emails_certifies_only_json_orjson_reads_and_names_its_members() -> None:
    rng = random.Random(5)
    verdicts = {0: 0, 1: 0, 2: 0}
    for _ in range(4_000):
        text = _json_like(rng)
        result = redact_emails(text, FILE_EXTENSION_TLDS, "[E]", True)
        if result is None:
            assert "\\" in text
            continue
        state, names, _, _ = result
        verdicts[state] += 1
        json_like = _jsonio.may_be_json(text)
        assert (state != 0) == json_like, text
        if state == 1:
            assert _jsonio.is_strict_json(text), text
            assert names == json_member_names(text), text
        else:
            assert names is None
    assert min(verdicts.values()) > 100  # every verdict is reached


def _value(rng: random.Random) -> tuple[str, str]:
    """A key and a value as agents write them: plain text, or JSON messages whose member
    names may be ruled (an ignored key), secret-like, or hold an email themselves."""
    email = f"{_local(rng)[:12] or 'jo'}@{rng.choice(['example.com', 'a.io', 'x.png'])}"
    text = f"see {email} and {_text(rng)[:60]}"
    if rng.random() < 0.5:
        return rng.choice(["note", "gen_ai.tool.call.result", "api_key"]), text
    name = rng.choice(["content", "gen_ai.tool.name", "password", email, "role"])
    doc = json.dumps([{"role": "user", name: text, "n": rng.choice([1, 2.5, None])}])
    if rng.random() < 0.1:
        doc = doc.replace("2.5", "NaN")  # JSON to the lenient parser only
    elif rng.random() < 0.1:
        doc = "[" * 70 + doc + "]" * 70  # deeper than the native check certifies
    elif rng.random() < 0.1:
        doc = doc.replace("2.5", "25e-1") + " "
    return rng.choice(["gen_ai.input.messages", "note"]), doc


def test_redact_value_is_the_same_with_the_native_finder() -> None:
    rng = random.Random(11)
    natively = 0
    for _ in range(3_000):
        key, value = _value(rng)
        native_summary, general_summary = RedactionSummary(), RedactionSummary()
        native = NATIVE.redact_value(key, value, native_summary, screened=EMAIL_ONLY)
        general = GENERAL.redact_value(key, value, general_summary, screened=EMAIL_ONLY)
        assert native == general, (key, value)
        assert native_summary.to_attributes() == general_summary.to_attributes()
        natively += NATIVE._redact_emails(key, value, None) is not None
    assert natively > 1_000  # most values take the native path, the rest the general one


def test_the_native_finder_stays_out_when_rules_or_drop_mode_concern_emails() -> None:
    assert NATIVE._emails_only == EMAIL_ONLY
    assert GENERAL._emails_only is None
    assert Redactor(RedactionConfig(detector_modes={"email": "drop"}))._emails_only is None
    hashed = RedactionConfig(detector_modes={"email": "hash"}, hash_key=b"k" * 32)
    assert Redactor(hashed)._emails_only is None
