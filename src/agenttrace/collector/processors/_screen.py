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
        self._patterns = list(patterns)
        self._database: Any = None
        self._scratch: Any = None
        self._shared: tuple[_SharedScan, int] | None = None  # see share_scans
        self._pass_all = not patterns
        if patterns and hyperscan is not None:
            self._database, self._scratch = _compile(self._patterns)
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
        if self._shared is not None:
            shared, member = self._shared
            hits = shared.hits(encoded.data)[member]
        else:
            hits = []
            self._database.scan(
                encoded.data,
                match_event_handler=lambda pattern, _s, end, _f, _c: hits.append(
                    (end - 1, pattern)
                ),
                scratch=self._scratch,
            )
        found = layout.units_at(hits)
        return {index: found[index] for index in sorted(found)}


def share_scans(processors: Sequence[Any]) -> None:
    """Let the byte screens of one pipeline's processors (their ``byte_screen``) share one
    Hyperscan pass per request: the first to screen a request's bytes scans them for every
    screen's patterns at once, and the next ones take their matches from that pass while they
    get the same bytes object, which is the common case (a processor that changed nothing, or
    only left fields pending, hands on the bytes it got)."""
    screens = [getattr(processor, "byte_screen", None) for processor in processors]
    members = [s for s in screens if isinstance(s, ByteScreen) and s._database is not None]
    if len(members) < 2:
        return
    shared = _SharedScan([screen._patterns for screen in members])
    for index, screen in enumerate(members):
        screen._shared = (shared, index)


class _SharedScan:
    """The matches of several screens' patterns in the last bytes scanned, per screen."""

    def __init__(self, pattern_lists: Sequence[Sequence[bytes]]) -> None:
        # Pattern ids of the shared database, as (screen, its own pattern index).
        self._owners = [
            (member, index)
            for member, patterns in enumerate(pattern_lists)
            for index in range(len(patterns))
        ]
        self._database, self._scratch = _compile([p for ps in pattern_lists for p in ps])
        self._members = len(pattern_lists)
        self._data: bytes | None = None
        self._hits: list[list[tuple[int, int]]] = []

    def hits(self, data: bytes) -> list[list[tuple[int, int]]]:
        if data is not self._data:
            hits: list[list[tuple[int, int]]] = [[] for _ in range(self._members)]
            owners = self._owners

            def on_match(pattern: int, _start: int, end: int, _flags: int, _context: Any) -> None:
                member, index = owners[pattern]
                hits[member].append((end - 1, index))

            self._database.scan(data, match_event_handler=on_match, scratch=self._scratch)
            self._data, self._hits = data, hits
        return self._hits


def _compile(patterns: Sequence[bytes]) -> tuple[Any, Any]:
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(
        expressions=list(patterns),
        ids=list(range(len(patterns))),
        elements=len(patterns),
        flags=[hyperscan.HS_FLAG_DOTALL] * len(patterns),
    )
    return database, hyperscan.Scratch(database)


def literal(text: str) -> bytes:
    return re.escape(text.encode("utf-8"))


def attribute_key(key: str) -> bytes:
    """An attribute named exactly ``key``, as encoded in an OTLP ``KeyValue``: field 1 tag,
    length, the key, then the value's field tag (so ``a.b`` does not match ``a.bc``)."""
    encoded = key.encode("utf-8")
    return re.escape(b"\x0a" + encode_varint(len(encoded)) + encoded + b"\x12")
