"""Line-by-line redaction of session files and logs (the engine behind ``agenttrace redact``).

Memory is bounded by the longest line. Every input line produces exactly one output line with
the same line ending; bytes that are not UTF-8 pass through unchanged (surrogateescape), and
an unchanged JSON line is written back byte for byte.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from agenttrace.redaction import _jsonio
from agenttrace.redaction.engine import Redactor
from agenttrace.redaction.summary import RedactionSummary


class StreamFormat(str, enum.Enum):
    JSONL = "jsonl"
    TEXT = "text"


@dataclass
class StreamReport:
    """What a stream redaction did: line counts and the redaction summary."""

    lines: int = 0
    changed_lines: int = 0
    text_fallback_lines: int = 0  # jsonl lines that are not JSON (or nest too deep)
    summary: RedactionSummary = field(default_factory=RedactionSummary)

    def render(self) -> str:
        counts = ", ".join(f"{t}={n}" for t, n in sorted(self.summary.counts.items()))
        parts = [
            f"agenttrace redact: {self.lines} lines, {self.changed_lines} changed,"
            f" {self.summary.count} values redacted" + (f" ({counts})" if counts else "")
        ]
        if self.text_fallback_lines:
            parts.append(
                f"{self.text_fallback_lines} lines were not JSON (or nested too deep to parse)"
                " and were redacted as text"
            )
        return "; ".join(parts)


def redact_stream(
    source: BinaryIO, sink: BinaryIO, redactor: Redactor, fmt: StreamFormat = StreamFormat.JSONL
) -> StreamReport:
    report = StreamReport()
    for raw in source:
        report.lines += 1
        body, ending = _split_ending(raw)
        if fmt is StreamFormat.JSONL:
            out = _redact_json_line(body, redactor, report)
        else:
            out = _redact_text_line(body, redactor, report.summary)
        if out is not body:
            report.changed_lines += 1
        sink.write(out)
        sink.write(ending)
    return report


def _split_ending(raw: bytes) -> tuple[bytes, bytes]:
    if raw.endswith(b"\r\n"):
        return raw[:-2], b"\r\n"
    if raw.endswith(b"\n"):
        return raw[:-1], b"\n"
    return raw, b""


def _redact_text_line(body: bytes, redactor: Redactor, summary: RedactionSummary) -> bytes:
    text = body.decode("utf-8", "surrogateescape")
    local = RedactionSummary()
    redacted = redactor.redact_text(text, local)
    if not local:
        return body
    summary.merge(local)
    return redacted.encode("utf-8", "surrogateescape")


def _redact_json_line(body: bytes, redactor: Redactor, report: StreamReport) -> bytes:
    if not body.strip():
        return body
    text = body.decode("utf-8", "surrogateescape")
    try:
        document = _jsonio.loads(text)
    except _jsonio.JsonUnsupported:
        report.text_fallback_lines += 1
        return _redact_text_line(body, redactor, report.summary)
    local = RedactionSummary()
    redacted = redactor.redact_json(document, local)
    if not local:
        return body
    try:
        encoded = _encode(redacted)
    except _jsonio.JsonUnsupported:
        report.text_fallback_lines += 1
        return _redact_text_line(body, redactor, report.summary)
    report.summary.merge(local)
    return encoded


def _encode(document: Any) -> bytes:
    text = _jsonio.dumps(document)
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        # Lone surrogates that came from \ud800-style escapes: write them escaped again.
        try:
            return json.dumps(document, separators=(",", ":")).encode("ascii")
        except (ValueError, RecursionError) as exc:
            raise _jsonio.JsonUnsupported(type(exc).__name__) from None
