"""Load a redaction configuration from a YAML (or JSON) file. Service side: imports yaml.

The file may hold the bare block, a ``redaction:`` block, or a whole collector config whose
``processors:`` list has a ``type: redaction`` entry (the same block, plus ``type``/``name``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agenttrace.redaction.config import RedactionConfig, RedactionConfigError


def load_config(path: str | Path) -> RedactionConfig:
    """Parse ``path``; raises :class:`RedactionConfigError` naming the file and the key."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RedactionConfigError([f"{path}: cannot read ({exc.strerror})"]) from None
    except yaml.YAMLError as exc:
        raise RedactionConfigError([f"{path}: invalid YAML ({exc})"]) from None
    try:
        return RedactionConfig.from_dict(extract_block(data))
    except RedactionConfigError as exc:
        raise RedactionConfigError([f"{path}: {error}" for error in exc.errors]) from None


def extract_block(data: Any) -> Mapping[str, Any]:
    """The redaction block inside a config document of any of the accepted shapes."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise RedactionConfigError(["redaction: the file must hold a mapping"])
    if "redaction" in data:
        block = data["redaction"]
        return block if block is not None else {}
    processors = data.get("processors")
    if isinstance(processors, list):
        for entry in processors:
            if isinstance(entry, Mapping) and entry.get("type") == "redaction":
                return {k: v for k, v in entry.items() if k not in ("type", "name")}
        return {}
    return data
