"""Render captured spans as an indented tree, the shape ``agenttrace show`` prints, so tests can
assert parentage, names and token usage in one readable snapshot."""

from __future__ import annotations

from typing import Any

USAGE = {
    "gen_ai.usage.input_tokens": "in",
    "gen_ai.usage.output_tokens": "out",
    "gen_ai.usage.cache_read.input_tokens": "cache_read",
    "gen_ai.usage.cache_write.input_tokens": "cache_write",
    "gen_ai.usage.reasoning.output_tokens": "reasoning",
}
VOLATILE = ("server.port", "agenttrace.response.time_to_first_chunk_ms")


def tree(spans: list[dict[str, Any]], extra: dict[str, str] | None = None) -> list[str]:
    """One line per span: indentation for depth, the name, then usage and ``extra`` attributes."""
    labels = {**USAGE, **(extra or {})}
    ids = {s["context"]["span_id"] for s in spans}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for span in spans:
        parent = span["parent_id"] if span["parent_id"] in ids else None
        children.setdefault(parent, []).append(span)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for span in sorted(
            children.get(parent, []), key=lambda s: (s["start_time"], s["context"]["span_id"])
        ):
            attrs = span["attributes"]
            shown = [f"{label}={attrs[key]}" for key, label in labels.items() if key in attrs]
            if span["status"]["code"] == "error":
                shown.append("ERROR")
            lines.append("  " * depth + " ".join([span["name"], *shown]))
            walk(span["context"]["span_id"], depth + 1)

    walk(None, 0)
    return lines


def stable(span: dict[str, Any]) -> dict[str, Any]:
    """A span's attributes with run-dependent values (port, latency) replaced by placeholders."""
    attrs = dict(span["attributes"])
    for key in VOLATILE:
        if key in attrs:
            attrs[key] = f"<{key}>"
    return attrs
