"""Reading session files: line streaming (plain or zstd), JSON parsing and problem reporting."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

import orjson


class ImporterError(Exception):
    """An input cannot be imported at all (missing path, unreadable file, unknown source)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """Something in the input that was skipped or repaired; ``line`` is 1-based."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.message}"


@dataclass(slots=True)
class ProblemLog:
    """What one import run skipped: problems with their location, and repeated entries."""

    problems: list[Problem] = field(default_factory=list)
    duplicates_skipped: int = 0

    def add(self, path: Path | str, line: int | None, message: str) -> None:
        self.problems.append(Problem(str(path), line, message))


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    raw: bytes
    data: dict[str, Any]


_BOM = b"\xef\xbb\xbf"


def iter_raw_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_number, bytes)`` for every non-blank line; ``.zst`` files are decompressed."""
    with _open(path) as handle:
        for number, raw in enumerate(handle, start=1):
            stripped = raw.strip()
            if number == 1 and stripped.startswith(_BOM):
                stripped = stripped[len(_BOM) :]  # editors on Windows add one
            if stripped:
                yield number, stripped


def iter_json_lines(path: Path, problems: ProblemLog) -> Iterator[Line]:
    """Yield each line that is a JSON object; anything else is recorded as a problem."""
    for number, raw in iter_raw_lines(path):
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            problems.add(path, number, f"malformed JSON: {exc}")
            continue
        if not isinstance(data, dict):
            problems.add(path, number, f"expected a JSON object, got {type(data).__name__}")
            continue
        yield Line(number, raw, data)


def _open(path: Path) -> BinaryIO:
    if path.name.endswith(".zst"):
        import zstandard

        raw = path.open("rb")
        reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
        return io.BufferedReader(reader, buffer_size=1 << 20)
    return path.open("rb", buffering=1 << 20)


def iso_to_ns(value: object) -> int | None:
    """Nanoseconds since the epoch for an ISO-8601 timestamp (``Z`` or offset; naive is UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    # Integer arithmetic keeps microseconds exact (float timestamps lose them).
    delta = parsed - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def epoch_to_ns(value: object) -> int | None:
    """Nanoseconds for an epoch number in ms (the common case) or seconds (small values)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    # Anything below 1e11 cannot be milliseconds after 1973; treat it as seconds.
    if abs(value) < 1e11:
        return int(value * 1_000_000_000)
    return int(value * 1_000_000)


def any_time_to_ns(value: object) -> int | None:
    return iso_to_ns(value) if isinstance(value, str) else epoch_to_ns(value)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def int_or_zero(value: object) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    return 0


def str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
