"""Process-wide SDK settings, changed by :func:`agenttrace.init` or :func:`configure`."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_MAX_CONTENT_BYTES = 128 * 1024


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() not in {"0", "false", "no", "off"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return max(int(value), 0)
    except ValueError:
        return default


@dataclass(slots=True)
class Settings:
    """``capture_content`` is the global switch; decorators may override it per function."""

    capture_content: bool
    max_content_bytes: int


settings = Settings(
    capture_content=_env_bool("AGENTTRACE_CAPTURE_CONTENT", True),
    max_content_bytes=_env_int("AGENTTRACE_MAX_CONTENT_BYTES", DEFAULT_MAX_CONTENT_BYTES),
)


def configure(
    *, capture_content: bool | None = None, max_content_bytes: int | None = None
) -> Settings:
    """Change the global content settings; arguments left as None keep their value."""
    if capture_content is not None:
        settings.capture_content = capture_content
    if max_content_bytes is not None:
        if max_content_bytes < 0:
            raise ValueError(f"max_content_bytes must be >= 0, got {max_content_bytes}")
        settings.max_content_bytes = max_content_bytes
    return settings
