"""Reading exports that hold one record per line (JSONL) or one JSON document of records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from agenttrace.importers._io import Line, ProblemLog, iter_json_lines


def iter_records(path: Path, problems: ProblemLog, list_keys: tuple[str, ...]) -> Iterator[Line]:
    """Records of a ``.json`` document (a list, or an object holding one under ``list_keys``)
    or of a JSON Lines file. Records from a ``.json`` file carry their index as line number."""
    if not path.name.endswith(".json"):
        yield from iter_json_lines(path, problems)
        return
    try:
        document = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        problems.add(path, None, f"malformed JSON: {exc}")
        return
    records = _record_list(document, list_keys)
    if records is None:
        problems.add(path, None, f"expected a list of records or an object with {list_keys}")
        return
    for index, record in enumerate(records, start=1):
        if isinstance(record, dict):
            yield Line(index, orjson.dumps(record), record)
        else:
            problems.add(path, index, f"record {index} is not a JSON object; skipped")


def _record_list(document: Any, list_keys: tuple[str, ...]) -> list[Any] | None:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for key in list_keys:
            if isinstance(document.get(key), list):
                return list(document[key])
    return None
