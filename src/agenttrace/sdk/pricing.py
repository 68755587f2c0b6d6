"""Bundled model price table and cost computation.

Prices are USD per one million tokens. The bundled table (``prices.json`` next to this module)
records where its figures come from and the date they were read; ``AGENTTRACE_PRICES`` or
:func:`set_price_table` replace it.

Model ids are matched forgivingly, because providers and gateways decorate them: provider
prefixes (``openai/gpt-4o``, ``models/gemini-2.5-pro``), Bedrock ids
(``us.anthropic.claude-sonnet-4-5-20250929-v1:0``), Vertex ids (``claude-sonnet-4-5@20250929``),
dated snapshots (``gpt-4o-2024-08-06``) and variants (``gemini-2.5-flash-preview-05-20``) all
resolve to the longest table key they extend at a ``-`` boundary.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ModelPrice",
    "PriceTable",
    "PriceTableError",
    "cost_usd",
    "lookup_price",
    "price_source",
    "price_table",
    "set_price_table",
]

_BUNDLED_PATH = Path(__file__).with_name("prices.json")
_ENV_VAR = "AGENTTRACE_PRICES"
_PRICE_FIELDS = ("input", "output", "cache_read", "cache_write")

_REGION_PREFIX = re.compile(r"^(?:us|eu|apac|global|jp|au)\.")
_VENDOR_PREFIX = re.compile(r"^(?:anthropic|openai|google|meta|mistral|amazon)\.")
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$")
_DATE_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|latest)$")


class PriceTableError(ValueError):
    """A price table file or mapping is malformed; the message names the problem."""


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per one million tokens for one model."""

    model: str
    input: float
    output: float
    cache_read: float
    cache_write: float
    provider: str | None = None


@dataclass(frozen=True, slots=True)
class PriceTable:
    """A validated price table: ``id`` becomes ``agenttrace.cost.price_source``."""

    id: str
    source: str
    as_of: str
    models: Mapping[str, ModelPrice]
    aliases: Mapping[str, str]

    def lookup(self, model: str) -> ModelPrice | None:
        """The price for ``model`` after normalisation, or None when no key matches."""
        name = _normalise(model)
        for candidate in (name, _DATE_SUFFIX.sub("", name)):
            found = self._exact(candidate)
            if found is not None:
                return found
        best: str | None = None
        for key in (*self.models, *self.aliases):
            if name.startswith(key + "-") and (best is None or len(key) > len(best)):
                best = key
        return None if best is None else self._exact(best)

    def _exact(self, name: str) -> ModelPrice | None:
        found = self.models.get(name)
        if found is None and name in self.aliases:
            found = self.models.get(self.aliases[name])
        return found


def _normalise(model: str) -> str:
    name = model.strip().lower().rsplit("/", 1)[-1].split("@", 1)[0]
    name = _VENDOR_PREFIX.sub("", _REGION_PREFIX.sub("", name))
    return _BEDROCK_VERSION.sub("", name)


def _parse_table(raw: Any, origin: str) -> PriceTable:
    if not isinstance(raw, Mapping):
        raise PriceTableError(f"price table {origin}: top level must be a JSON object")
    models_raw = raw.get("models")
    if not isinstance(models_raw, Mapping) or not models_raw:
        raise PriceTableError(f"price table {origin}: 'models' must be a non-empty object")
    models: dict[str, ModelPrice] = {}
    for name, entry in models_raw.items():
        if not isinstance(entry, Mapping):
            raise PriceTableError(f"price table {origin}: model {name!r} must be an object")
        for field in _PRICE_FIELDS:
            value = entry.get(field, entry.get("input") if field.startswith("cache") else None)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise PriceTableError(
                    f"price table {origin}: model {name!r} needs a non-negative number {field!r}"
                )
        provider = entry.get("provider")
        key = str(name).lower()
        models[key] = ModelPrice(
            model=key,
            input=float(entry["input"]),
            output=float(entry["output"]),
            cache_read=float(entry.get("cache_read", entry["input"])),
            cache_write=float(entry.get("cache_write", entry["input"])),
            provider=str(provider) if provider is not None else None,
        )
    aliases_raw = raw.get("aliases", {})
    if not isinstance(aliases_raw, Mapping):
        raise PriceTableError(f"price table {origin}: 'aliases' must be an object")
    aliases = {str(k).lower(): str(v).lower() for k, v in aliases_raw.items()}
    for alias, target in aliases.items():
        if target not in models:
            raise PriceTableError(
                f"price table {origin}: alias {alias!r} points at unknown model {target!r}"
            )
    as_of = str(raw.get("as_of", ""))
    return PriceTable(
        id=str(raw.get("id") or f"{origin}@{as_of}"),
        source=str(raw.get("source", origin)),
        as_of=as_of,
        models=models,
        aliases=aliases,
    )


def _load_path(path: str | os.PathLike[str]) -> PriceTable:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PriceTableError(f"price table {path}: cannot read: {exc}") from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PriceTableError(f"price table {path}: invalid JSON: {exc}") from exc
    return _parse_table(raw, str(path))


_lock = threading.Lock()
_table: PriceTable | None = None


def price_table() -> PriceTable:
    """The active table: the last :func:`set_price_table`, else ``$AGENTTRACE_PRICES``, else bundled."""
    global _table
    table = _table
    if table is None:
        with _lock:
            if _table is None:
                _table = _load_path(os.environ.get(_ENV_VAR) or _BUNDLED_PATH)
            table = _table
    return table


def set_price_table(
    table_or_path: PriceTable | Mapping[str, Any] | str | os.PathLike[str] | None,
) -> PriceTable:
    """Replace the active table; ``None`` goes back to ``$AGENTTRACE_PRICES`` or the bundled one.

    A mapping or file uses the bundled file's format: ``{"id", "source", "as_of", "models":
    {name: {"input", "output", "cache_read", "cache_write"}}, "aliases": {alias: name}}``.
    """
    global _table
    if table_or_path is None:
        new: PriceTable | None = None
    elif isinstance(table_or_path, PriceTable):
        new = table_or_path
    elif isinstance(table_or_path, (str, os.PathLike)):
        new = _load_path(table_or_path)
    else:
        new = _parse_table(table_or_path, "mapping")
    with _lock:
        _table = new
    return price_table()


def lookup_price(model: str) -> ModelPrice | None:
    """The active table's price for ``model``, or None."""
    return price_table().lookup(model)


def price_source() -> str:
    """The id of the active table, recorded as ``agenttrace.cost.price_source``."""
    return price_table().id


def cost_usd(
    model: str,
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
) -> float | None:
    """USD cost of one call, or None for a model the table does not know.

    ``input_tokens`` includes cached tokens (the GenAI convention), so only the remainder is
    charged at the input price; cache reads and writes are charged at their own prices.
    """
    price = lookup_price(model)
    if price is None:
        return None
    uncached = max(input_tokens - cache_read_tokens - cache_write_tokens, 0)
    total = (
        uncached * price.input
        + cache_read_tokens * price.cache_read
        + cache_write_tokens * price.cache_write
        + output_tokens * price.output
    )
    return total / 1_000_000
