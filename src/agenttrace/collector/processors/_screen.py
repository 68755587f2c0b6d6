"""A cheap screen over a request's serialized bytes, so most spans skip the Python path.

Walking a span's attributes from Python costs microseconds per attribute (every access builds
a wrapper object), while one Hyperscan pass over the whole request costs a fraction of that per
span. Strings sit verbatim in OTLP protobuf bytes, so any pattern a span's name, keys or values
match also matches the request's bytes inside that span; each match is mapped back to the
resource, scope or span holding it (:mod:`agenttrace.collector._layout`). Extra matches across
field boundaries only send a unit down the precise path for nothing. A screen must therefore
only be built from patterns without anchors that a neighbouring byte could defeat.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from agenttrace.collector._layout import EncodedRequest, encode_varint

hyperscan: Any
try:  # service-side dependency (the collector extra); without it every span is screened in
    import hyperscan
except ImportError:  # pragma: no cover - the lock file installs it
    hyperscan = None


class ByteScreen:
    """Which parts of a serialized request match any of ``patterns`` (Python ``re`` syntax over
    bytes)."""

    def __init__(self, patterns: Sequence[bytes]) -> None:
        self._database: Any = None
        self._scratch: Any = None
        self._pass_all = not patterns
        if patterns and hyperscan is not None:
            database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            database.compile(
                expressions=list(patterns),
                ids=list(range(len(patterns))),
                elements=len(patterns),
                flags=[hyperscan.HS_FLAG_DOTALL] * len(patterns),
            )
            self._database = database
            self._scratch = hyperscan.Scratch(database)
        elif patterns:
            self._pass_all = True  # no engine: let everything through, the precise path decides

    @property
    def engine(self) -> str:
        return "hyperscan" if self._database is not None else "none"

    def units(self, encoded: EncodedRequest) -> dict[int, list[tuple[int, int]]]:
        """The resources, scopes and spans that match (indices into ``encoded.layout``), each
        with every match inside it as (its last byte's offset, the pattern's index); in wire
        order. Without a screen, every unit, with no matches."""
        layout = encoded.layout
        if self._pass_all:
            return {index: [] for index in range(len(layout))}
        hits: list[tuple[int, int]] = []
        self._database.scan(
            encoded.data,
            match_event_handler=lambda pattern, _s, end, _f, _c: hits.append((end - 1, pattern)),
            scratch=self._scratch,
        )
        found = layout.units_at(hits)
        return {index: found[index] for index in sorted(found)}


def literal(text: str) -> bytes:
    return re.escape(text.encode("utf-8"))


def attribute_key(key: str) -> bytes:
    """An attribute named exactly ``key``, as encoded in an OTLP ``KeyValue``: field 1 tag,
    length, the key, then the value's field tag (so ``a.b`` does not match ``a.bc``)."""
    encoded = key.encode("utf-8")
    return re.escape(b"\x0a" + encode_varint(len(encoded)) + encoded + b"\x12")
