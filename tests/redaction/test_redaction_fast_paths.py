"""The engine's shortcuts give exactly what the plain way gives, on many generated inputs.

* ``_jsonio.loads`` refuses text that cannot open a JSON document without trying to parse it:
  it must accept and refuse exactly what orjson-then-stdlib does.
* The window detectors (email, URL credentials) search only from the next keyword
  occurrence on: every window must yield the same matches as ``finditer`` over the window.
* A JSON attribute without escapes is redacted string by string in its own text: the values
  must be those the tree walk gives, and so must the summary counts.
* A caller's screen (``screened``) replaces the gate without changing any result.
"""

from __future__ import annotations

import json
import random
import re

import orjson
import pytest

from agenttrace.redaction import RedactionConfig, RedactionSummary, Redactor, _jsonio
from agenttrace.redaction.detectors import DETECTORS
from agenttrace.redaction.engine import _window_matches

_PIECES = [
    " ",
    "\t",
    "\n",
    "\r",
    "\x0c",
    "\ufeff",
    "\u00a0",
    "{",
    "}",
    "[",
    "]",
    '"',
    ":",
    ",",
    "-",
    "0",
    "7",
    "1.5e3",
    "true",
    "false",
    "null",
    "NaN",
    "Infinity",
    "tru",
    "nul",
    "the",
    "fix",
    "no",
    "Inf",
    "N",
    "x",
    '{"a": 1}',
    "[1, 2]",
    '"s"',
    "12345678901234567890",
    "\ud800",
    "é",
]


def _reference_loads(text: str) -> object:
    """The parse as it was before the shortcut: orjson, then the stdlib."""
    try:
        if "0" * 19 not in re.sub(r"[1-9]", "0", text):
            return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise _jsonio.JsonUnsupported from None


def _outcome(parse: object, text: str) -> tuple[str, object]:
    try:
        return "ok", parse(text)  # type: ignore[operator]
    except _jsonio.JsonUnsupported:
        return "refused", None


def test_loads_shortcut_accepts_and_refuses_exactly_like_the_parsers() -> None:
    rng = random.Random(7)
    texts = ["".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 6))) for _ in range(6000)]
    texts += [
        rng.choice(["", " ", "\n\t"]) + json.dumps({"k": [rng.random(), "v", None]})
        for _ in range(1000)
    ]
    texts += ["\n[]", "nullx", "true false", "-", "-Infinity", "NaN", " Infinity "]
    refused = 0
    for text in texts:
        expected = _outcome(_reference_loads, text)
        got = _outcome(_jsonio.loads, text)
        assert got[0] == expected[0], repr(text)
        if expected[0] == "ok":
            assert repr(got[1]) == repr(expected[1]), repr(text)  # NaN != NaN: compare reprs
        else:
            refused += 1
    assert refused > 1000  # both outcomes were really exercised
    assert len(texts) - refused > 1000


_WINDOW_DETECTORS = [d for d in DETECTORS if d.anchor == "window"]
_WINDOW_PIECES = [
    "@",
    "://",
    "a",
    "jane.doe",
    "example.com",
    ".",
    "-",
    " ",
    "x" * 70,
    "user:pw",
    "db://u:p@h",
    "https://ann:s3cret@",
    "https",
    "db",
    "\\n",
    "git",
    "+",
    "b@c",
    ".io",
    "@@",
    "9",
]


@pytest.mark.parametrize("detector", _WINDOW_DETECTORS, ids=lambda d: d.name)
def test_window_search_finds_what_finditer_over_the_window_finds(detector: object) -> None:
    rng = random.Random(11)
    checked = 0
    for _ in range(1500):
        text = "".join(rng.choice(_WINDOW_PIECES) for _ in range(rng.randint(1, 40)))
        lowered = text.lower()
        before, after = detector.window  # type: ignore[attr-defined]
        for keyword in detector.keywords:  # type: ignore[attr-defined]
            pos = lowered.find(keyword)
            while pos != -1:
                end = pos + len(keyword) + after
                for pattern in detector.patterns:  # type: ignore[attr-defined]
                    expected = [m.span() for m in pattern.finditer(text, max(0, pos - before), end)]
                    got = [
                        m.span()
                        for m in _window_matches(
                            detector,  # type: ignore[arg-type]
                            pattern,
                            text,
                            lowered,
                            pos - before,
                            end,
                        )
                    ]
                    assert got == expected, (text, pos)
                    checked += bool(expected)
                pos = lowered.find(keyword, pos + 1)
    assert checked > 100


def test_window_patterns_never_match_the_empty_string() -> None:
    for detector in _WINDOW_DETECTORS:
        for pattern in detector.patterns:
            assert pattern.fullmatch("") is None


_SCREEN_PIECES = [*_WINDOW_PIECES, "fe80", "::", ":", "1", "a", "2001:db8", "example.com", "."]


@pytest.mark.parametrize("detector", [d for d in DETECTORS if d.screen], ids=lambda d: d.name)
def test_a_screen_matches_wherever_its_prefilter_matches(detector: object) -> None:
    """A detector's short screen form may flag more, never less, than its prefilter."""
    prefilter = re.compile(detector.prefilter, re.ASCII | re.DOTALL)  # type: ignore[attr-defined]
    screen = re.compile(detector.screen, re.ASCII | re.DOTALL)  # type: ignore[attr-defined]
    rng = random.Random(5)
    matched = 0
    for _ in range(5000):
        text = "".join(rng.choice(_SCREEN_PIECES) for _ in range(rng.randint(1, 30)))
        for found in prefilter.finditer(text):
            matched += 1
            assert screen.search(found.group(0)), (text, found.group(0))
    assert matched > 100


_JSON_NAMES = [
    "role",
    "content",
    "parts",
    "type",
    "note",
    "password",
    "api_key",
    "server.address",
    "agenttrace.redaction.count",
    "jane.doe@example.com",
    "gen_ai.tool.name",
]
_JSON_TEXTS = [
    "plain words here",
    "mail jane.doe@example.com now",
    "card 4111 1111 1111 1111 ok",
    "AKIAIOSFODNN7EXAMPLE",
    "10.0.0.7",
    "call +1 415 555 0100",
    'a "quoted" word',
    "line\nbreak",
    "token=ghp_" + "a" * 36,
    "user",
    "",
]


def _json_document(rng: random.Random, depth: int = 0) -> object:
    roll = rng.random()
    if depth < 3 and roll < 0.3:
        return {rng.choice(_JSON_NAMES): _json_document(rng, depth + 1) for _ in range(3)}
    if depth < 3 and roll < 0.45:
        return [_json_document(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if roll < 0.55:
        return rng.choice([1, 2.5, True, None])
    return " ".join(rng.choice(_JSON_TEXTS) for _ in range(rng.randint(1, 3)))


@pytest.mark.parametrize("mode", ["mask", "drop"])
def test_json_attribute_spliced_in_place_matches_the_tree_walk(mode: str) -> None:
    redactor = Redactor(RedactionConfig.from_dict({"mode": mode}))
    rng = random.Random(5)
    spliced = 0
    for _ in range(400):
        document = {"messages": [_json_document(rng), _json_document(rng)]}
        separators = rng.choice([(",", ":"), (", ", ": "), (" ,", " : ")])
        text = json.dumps(document, ensure_ascii=False, separators=separators)
        summary, expected_summary = RedactionSummary(), RedactionSummary()
        got = redactor.redact_value("gen_ai.input.messages", text, summary)
        expected = redactor.redact_json(document, expected_summary)
        assert json.loads(got) == expected, text
        assert summary.counts == expected_summary.counts, text
        # Spliced: the producer's separators survive around every untouched member.
        spliced += got != text and separators[0] in got and _jsonio.dumps(expected) != got
    # A dropped value changes the document's shape: only the tree walk can do that.
    assert spliced > 30 if mode == "mask" else spliced == 0


def test_a_callers_screen_gives_the_gates_results() -> None:
    redactor = Redactor()
    redactor.warm_up()
    rng = random.Random(9)
    for _ in range(300):
        text = json.dumps(_json_document(rng), ensure_ascii=False)
        screened = {
            index
            for index, detector in enumerate(redactor.detectors)
            if re.search(detector.screen_prefilter, text, re.DOTALL)
        }
        for key in ("gen_ai.input.messages", "note"):
            plain, hinted = RedactionSummary(), RedactionSummary()
            assert redactor.redact_value(key, text, plain) == redactor.redact_value(
                key, text, hinted, screened=screened
            )
            assert plain.counts == hinted.counts


_SEPARATED_FINDINGS = [
    "ssn{}123456789",
    "password{}: hunter2hunter2",
    "Bearer{}abcdef1234567890",
    "call (415){}555-0100",
    "api_key{}= 'Zx9qLm2Wv8Rt6Yp4'",
    "authorization:{}Basic YWxhZGRpbjpvcGVuc2VzYW1l",
    "mail{}jane.doe@example.com",
    "card{}4111 1111 1111 1111",
]


@pytest.mark.parametrize("separator", ["\n", "\t", "\r", " \n ", "\n\n"])
def test_screens_see_findings_through_json_escapes_of_whitespace(separator: str) -> None:
    """Screens run over raw JSON (a request's bytes, a column of JSON text): a newline between
    a finding's parts is ``\\n`` there, two characters that are not whitespace."""
    redactor = Redactor()
    checked = 0
    for template in _SEPARATED_FINDINGS:
        text = template.format(separator)
        raw = json.dumps({"content": text})
        for finding in redactor.find(text):
            detector = next(d for d in DETECTORS if d.name == finding.type)
            assert re.search(detector.screen_prefilter, raw, re.DOTALL), (detector.name, raw)
            assert re.search(detector.bounded_prefilter, raw, re.DOTALL), (detector.name, raw)
            checked += 1
    assert checked >= 6  # a separator some detectors do not span ("call (415) \n 555...")
