"""The batch path over pyarrow string columns, for the collector. Service side: needs pyarrow.

One multi-pattern pass over the whole column decides which values can hold a finding; only
those go through the precise Python path (patterns, validators, rules). The pass uses each
detector's ``prefilter``, a loose superset of its pattern, so skipping the other values is
safe. Engines (measured in bench/redaction.py; figures in docs/performance.md):

* ``re2`` (``auto``): ``pyarrow.compute.match_substring_regex`` with the prefilters as one
  alternation, evaluated by RE2 over the whole column in C++; the fastest measured;
* ``hyperscan``: one Hyperscan scan over the column's rows joined by newlines, match ends
  mapped back to rows through the offsets;
* ``keywords``: Aho-Corasick over the detectors' keywords (gitleaks style) plus Python ``re``
  for the keyword-less PII detectors; most trace values hold a digit, so most go through
  the precise path;
* ``python``: no prefilter, every value through the precise path (the reference).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from agenttrace.redaction.detectors import JSON_ESCAPE_PREFILTER
from agenttrace.redaction.engine import DROP, Redactor
from agenttrace.redaction.summary import RedactionSummary

ENGINES = ("hyperscan", "re2", "keywords", "python")

# No finding is shorter (see engine._MIN_FINDING_LENGTH).
_MIN_CANDIDATE_BYTES = 6


class ColumnRedactor:
    """Redacts pyarrow string arrays with a :class:`Redactor`, prefiltered by one engine."""

    def __init__(self, redactor: Redactor | None = None, engine: str = "auto") -> None:
        self.redactor = redactor if redactor is not None else Redactor()
        self._patterns = [d.bounded_prefilter for d in self.redactor.detectors] + [
            JSON_ESCAPE_PREFILTER
        ]
        # Block rules can name any JSON member key, which no prefilter knows about.
        self._json_is_candidate = bool(self.redactor.config.block)
        self.engine = _pick_engine(engine)
        self._candidates: Callable[[pa.Array], list[int]] = {
            "hyperscan": self._build_hyperscan,
            "re2": self._build_re2,
            "keywords": self._build_keywords,
            "python": self._build_python,
        }[self.engine]()

    def candidates(self, array: pa.Array | pa.ChunkedArray) -> list[int]:
        """Sorted indices of the rows that may hold a finding (a superset of the real ones)."""
        array = _as_string_array(array)
        rows = self._candidates(array)
        if self._json_is_candidate:
            json_rows = _true_rows(pc.match_substring_regex(array, r"^\s*[\[{]"))
            rows = sorted(set(rows).union(json_rows))
        return rows

    def redact(
        self,
        array: pa.Array | pa.ChunkedArray,
        key: str | None = None,
        summaries: Sequence[RedactionSummary | None] | None = None,
    ) -> pa.Array:
        """Redacted copy of ``array``; ``key`` applies the key rules (as for an attribute).

        ``summaries``, if given, has one entry per row and receives that row's findings. A
        value with a drop-mode finding becomes null.
        """
        array = _as_string_array(array)
        if len(array) == 0:
            return array
        if key is not None and self.redactor.rules_cover_whole_value(key):
            rows = _true_rows(array.is_valid())
        else:
            rows = self.candidates(array)
        if not rows:
            return array
        values = array.take(pa.array(rows, pa.int64())).to_pylist()
        replaced: list[str | None] = []
        changed = [False] * len(array)
        for row, value in zip(rows, values, strict=True):
            summary = summaries[row] if summaries is not None else None
            local = RedactionSummary()
            if key is None:
                result: Any = self.redactor.redact_text(value, local)
            else:
                result = self.redactor.redact_value(key, value, local)
            if result is DROP or result != value:
                changed[row] = True
                replaced.append(None if result is DROP else result)
                if summary is not None:
                    summary.merge(local)
        if not replaced:
            return array
        return pc.replace_with_mask(
            array, pa.array(changed, pa.bool_()), pa.array(replaced, array.type)
        )

    # ----------------------------------------------------------------- engines

    def _build_hyperscan(self) -> Callable[[pa.Array], list[int]]:
        import hyperscan

        database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        database.compile(
            expressions=[p.encode() for p in self._patterns],
            ids=list(range(len(self._patterns))),
            elements=len(self._patterns),
            flags=[0] * len(self._patterns),
        )
        scratch = hyperscan.Scratch(database)

        def candidates(array: pa.Array) -> list[int]:
            # Each row followed by a newline: one scan over one buffer, and every row starts
            # after a separator, as the start-of-token classes expect.
            empty = pa.scalar("", array.type)
            separated = pc.binary_join_element_wise(array, empty, pa.scalar("\n", array.type))
            offsets, data = _offsets_and_data(separated)
            ends: list[int] = []
            if len(data):
                database.scan(
                    data,  # type: ignore[type-var]  # Hyperscan reads any buffer, no copy needed
                    match_event_handler=lambda _i, _s, end, _f, _c: ends.append(end),
                    scratch=scratch,
                )
            base = offsets[0]
            # A match ending at byte e (exclusive) lies in the row holding byte e - 1; one
            # spanning a separator only flags a row needlessly, it never hides one.
            return sorted({bisect.bisect_right(offsets, base + end - 1) - 1 for end in ends})

        return candidates

    def _build_re2(self) -> Callable[[pa.Array], list[int]]:
        combined = "|".join(f"(?:{_scoped_flags(p)})" for p in self._patterns)

        def candidates(array: pa.Array) -> list[int]:
            return _true_rows(pc.match_substring_regex(array, combined))

        return candidates

    def _build_keywords(self) -> Callable[[pa.Array], list[int]]:
        import ahocorasick

        automaton = ahocorasick.Automaton()
        for detector in self.redactor.detectors:
            for keyword in detector.keywords:
                automaton.add_word(keyword, keyword)
        automaton.make_automaton()
        # Detectors that can match without any keyword (the numeric PII) need their patterns.
        beyond_keywords = [
            d.prefilter
            for d in self.redactor.detectors
            if not d.keywords or d.signatures or d.precheck
        ]
        others = re.compile(
            "|".join(f"(?:{p})" for p in [*beyond_keywords, JSON_ESCAPE_PREFILTER]), re.ASCII
        )

        def candidates(array: pa.Array) -> list[int]:
            rows = []
            for row, value in enumerate(array.to_pylist()):
                if value is None:
                    continue
                if next(automaton.iter(value.lower()), None) is not None or others.search(value):
                    rows.append(row)
            return rows

        return candidates

    def _build_python(self) -> Callable[[pa.Array], list[int]]:
        def candidates(array: pa.Array) -> list[int]:
            return _true_rows(array.is_valid())

        return candidates


def _pick_engine(engine: str) -> str:
    if engine not in (*ENGINES, "auto"):
        raise ValueError(f"unknown prefilter engine {engine!r}; one of auto, {', '.join(ENGINES)}")
    # RE2 inside pyarrow measured fastest on the column path (docs/performance.md) and needs
    # nothing beyond pyarrow itself.
    return "re2" if engine == "auto" else engine


def _as_string_array(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        raise TypeError(f"expected a string array, got {array.type}")
    return array


def _true_rows(mask: pa.Array) -> list[int]:
    rows: list[int] = pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist()
    return rows


def _offsets_and_data(array: pa.Array) -> tuple[memoryview, memoryview]:
    """The row offsets (a zero-copy view) and the bytes of the rows' data."""
    _, offsets_buffer, data_buffer = array.buffers()
    offsets = memoryview(offsets_buffer).cast("q" if pa.types.is_large_string(array.type) else "i")
    offsets = offsets[array.offset : array.offset + len(array) + 1]
    if data_buffer is None:
        return offsets, memoryview(b"")
    return offsets, memoryview(data_buffer)[offsets[0] : offsets[-1]]


def _scoped_flags(pattern: str) -> str:
    """``(?i)X`` as ``(?i:X)``, so a pattern's flags stay inside its alternative."""
    if pattern.startswith("(?i)"):
        return f"(?i:{pattern[4:]})"
    return pattern
