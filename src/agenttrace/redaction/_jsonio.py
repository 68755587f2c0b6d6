"""JSON in and out for redaction: orjson when it can, the stdlib when orjson refuses.

orjson rejects integers beyond 64 bits, NaN, lone surrogates and nesting beyond its limits;
the stdlib takes most of those. What neither can handle raises :class:`JsonUnsupported` and
the caller redacts the raw text instead, so no input is ever lost.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


class JsonUnsupported(ValueError):
    """The text is not JSON this process can parse or write back."""


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise JsonUnsupported(type(exc).__name__) from None


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
