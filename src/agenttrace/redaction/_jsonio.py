"""JSON in and out for redaction: orjson when it can, the stdlib when orjson refuses.

orjson rejects NaN, lone surrogates and nesting beyond its limits, and reads integers beyond
64 bits as floats; the stdlib takes most of those. What neither can handle raises :class:`JsonUnsupported` and
the caller redacts the raw text instead, so no input is ever lost.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


class JsonUnsupported(ValueError):
    """The text is not JSON this process can parse or write back."""


# orjson reads integers beyond 64 bits as floats, losing digits: text with a run of 19 or
# more digits goes to the stdlib (a translate and a substring search beat a regex here).
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19
# What a JSON text can open with, for orjson and for the stdlib (which also reads NaN and
# Infinity), after the whitespace both skip. Any other opening fails both parsers, so plain
# text under a JSON key (a tool result, say) is refused without two failed parses.
_JSON_WHITESPACE = " \t\n\r"
_VALUE_OPENINGS = frozenset('{["-0123456789')
_LITERAL_OPENINGS = ("true", "false", "null", "NaN", "Infinity")


def loads(text: str) -> Any:
    if not may_be_json(text):
        raise JsonUnsupported("JSONDecodeError")
    digits = text.encode("utf-8", "surrogatepass").translate(_DIGITS_AS_ZERO)
    if _LONG_NUMBER not in digits:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise JsonUnsupported(type(exc).__name__) from None


def is_strict_json(text: str) -> bool:
    """Whether orjson reads ``text`` (strict RFC 8259 JSON), without keeping the tree."""
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


def may_be_json(text: str) -> bool:
    """Whether ``text`` opens like a JSON document: anything else fails both parsers."""
    stripped = text.lstrip(_JSON_WHITESPACE)
    return bool(stripped) and (
        stripped[0] in _VALUE_OPENINGS or stripped.startswith(_LITERAL_OPENINGS)
    )


def dumps(obj: Any) -> str:
    try:
        return orjson.dumps(obj).decode()
    except (orjson.JSONEncodeError, TypeError):
        pass
    try:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    except (ValueError, RecursionError, TypeError) as exc:
        raise JsonUnsupported(type(exc).__name__) from None


def looks_like_json(text: str) -> bool:
    stripped = text.strip()
    return len(stripped) >= 2 and (
        (stripped[0] == "{" and stripped[-1] == "}") or (stripped[0] == "[" and stripped[-1] == "]")
    )
