"""The interface each source implements: find its files, group them, convert a group."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agenttrace import __version__
from agenttrace.importers._genai import add_aggregates
from agenttrace.importers._io import ImporterError, ProblemLog
from agenttrace.importers._model import TraceDraft, to_request


@dataclass(frozen=True, slots=True)
class ImportUnit:
    """Files converted together: usually one session (a transcript plus its subagents)."""

    key: str
    files: tuple[Path, ...]
    primary: Path | None = None
    # Entry ids an earlier unit of the same run already imported (resumed-session copies).
    exclude: frozenset[str] = frozenset()

    @property
    def size_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.files)


class Importer(ABC):
    """One source format. ``group`` sees every file of a run; ``convert`` sees one unit and
    nothing else, so units can be converted in parallel processes."""

    source: ClassVar[str]
    patterns: ClassVar[tuple[str, ...]]

    def collect(self, paths: Sequence[Path]) -> list[Path]:
        """Files named directly, plus every file under a directory matching :attr:`patterns`."""
        found: dict[Path, None] = {}
        for path in paths:
            if path.is_dir():
                for pattern in self.patterns:
                    for match in sorted(path.rglob(pattern)):
                        if match.is_file():
                            found[match] = None
            elif path.is_file():
                found[path] = None
            else:
                raise ImporterError(f"{path}: no such file or directory")
        return list(found)

    def group(self, files: list[Path], problems: ProblemLog) -> list[ImportUnit]:
        """By default every file is its own unit, keyed by its name: the key must not depend
        on how the path was spelled on the command line (see the store sink)."""
        return [ImportUnit(key=path.name, files=(path,), primary=path) for path in files]

    @abstractmethod
    def convert(
        self, unit: ImportUnit, problems: ProblemLog
    ) -> Iterator[ExportTraceServiceRequest]:
        """Yield the OTLP requests for one unit; bad lines go to ``problems``, never raise."""


def finish(draft: TraceDraft) -> ExportTraceServiceRequest:
    """Aggregate descendants onto agent spans and build the request."""
    add_aggregates(draft.spans)
    return to_request(draft, scope_version=__version__)
