"""Collector configuration: a YAML file, environment overrides, then CLI flags.

Precedence, lowest first: built-in defaults, the YAML file, ``AGENTTRACE_COLLECTOR__<SECTION>__<KEY>``
environment variables (values parsed as YAML scalars, e.g.
``AGENTTRACE_COLLECTOR__RECEIVERS__HTTP_PORT=9318``), then command-line flags. Bearer tokens may
also come from ``AGENTTRACE_COLLECTOR_TOKENS`` (comma separated) so they stay out of files.
Every validation error is a :class:`ConfigError` naming the offending key, e.g.
``wal.roll_interval_s: must be > 0``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from agenttrace.collector.errors import ConfigError

ENV_PREFIX = "AGENTTRACE_COLLECTOR__"
TOKENS_ENV = "AGENTTRACE_COLLECTOR_TOKENS"
MB = 1024 * 1024


@dataclass
class ReceiversConfig:
    host: str = "127.0.0.1"
    grpc_port: int = 4317  # 0 picks a free port; -1 disables the receiver
    http_port: int = 4318
    max_request_bytes: int = 16 * MB  # after decompression
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    # Processes that decode requests and run the processors; 1 keeps them in the collector
    # process (one core). More need processors without cross-request state (no tail sampling).
    workers: int = 1

    def validate(self) -> None:
        if not 1 <= self.workers <= 64:
            raise ConfigError("receivers.workers", f"must be between 1 and 64, got {self.workers}")
        for key in ("grpc_port", "http_port"):
            if not -1 <= getattr(self, key) <= 65535:
                raise ConfigError(f"receivers.{key}", "must be a port number, 0 (any) or -1 (off)")
        if self.max_request_bytes <= 0:
            raise ConfigError("receivers.max_request_bytes", "must be > 0")
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ConfigError("receivers.tls_cert_file", "set both tls_cert_file and tls_key_file")
        for key in ("tls_cert_file", "tls_key_file"):
            path = getattr(self, key)
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"receivers.{key}", f"file not found: {path}")


@dataclass
class StoreConfig:
    url: str = "./data"
    options: dict[str, Any] = field(default_factory=dict)  # passed to open_store (endpoint, ...)

    def validate(self) -> None:
        if not self.url:
            raise ConfigError("store.url", "must not be empty")


@dataclass
class WalConfig:
    dir: str = ".agenttrace/wal"
    segment_max_bytes: int = 128 * MB
    roll_interval_s: float = 60.0
    max_bytes: int = 2048 * MB  # unpublished WAL beyond this answers 429
    publisher: str = "process"  # "process" uses a second core; "thread" stays in-process
    publishers: int = 1  # parallel publisher processes; each needs ~200 MB at its peak

    def validate(self) -> None:
        if self.segment_max_bytes < 4096:
            raise ConfigError("wal.segment_max_bytes", "must be >= 4096")
        if self.roll_interval_s < 0.1:
            raise ConfigError("wal.roll_interval_s", "must be >= 0.1 seconds")
        if self.max_bytes < self.segment_max_bytes:
            raise ConfigError("wal.max_bytes", "must be >= wal.segment_max_bytes")
        if self.publisher not in ("process", "thread"):
            raise ConfigError("wal.publisher", "must be 'process' or 'thread'")
        if not 1 <= self.publishers <= 64:
            raise ConfigError("wal.publishers", "must be between 1 and 64")


@dataclass
class LimitsConfig:
    memory_limit_bytes: int = 512 * MB  # RSS (collector + publisher) above 90% answers 429
    max_inflight_bytes: int = 32 * MB  # request bodies being processed at once
    retry_after_s: float = 1.0
    shutdown_deadline_s: float = 25.0

    def validate(self) -> None:
        for key in ("memory_limit_bytes", "max_inflight_bytes"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"limits.{key}", "must be > 0")
        if self.retry_after_s <= 0:
            raise ConfigError("limits.retry_after_s", "must be > 0")
        if self.shutdown_deadline_s <= 0:
            raise ConfigError("limits.shutdown_deadline_s", "must be > 0")


@dataclass
class AuthConfig:
    tokens: list[str] = field(default_factory=list)  # empty: no authentication

    def validate(self) -> None:
        if any(not isinstance(t, str) or not t for t in self.tokens):
            raise ConfigError("auth.tokens", "must be a list of non-empty strings")


@dataclass
class TelemetryConfig:
    log_level: str = "INFO"
    log_format: str = "json"  # or "text"

    def validate(self) -> None:
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError("telemetry.log_level", "must be DEBUG, INFO, WARNING or ERROR")
        if self.log_format not in ("json", "text"):
            raise ConfigError("telemetry.log_format", "must be 'json' or 'text'")


@dataclass
class CollectorConfig:
    receivers: ReceiversConfig = field(default_factory=ReceiversConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    wal: WalConfig = field(default_factory=WalConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
    processors: list[dict[str, Any]] = field(default_factory=list)

    def validate(self) -> None:
        for section in (self.receivers, self.store, self.wal, self.limits, self.auth):
            section.validate()
        self.telemetry.validate()
        names: set[str] = set()
        for index, entry in enumerate(self.processors):
            if not isinstance(entry, Mapping) or not isinstance(entry.get("type"), str):
                raise ConfigError(f"processors[{index}].type", "each processor needs a 'type'")
            name = str(entry.get("name", entry["type"]))
            if name in names:
                raise ConfigError(f"processors[{index}].name", f"duplicate processor {name!r}")
            names.add(name)


_Section = TypeVar("_Section")


def _build_section(cls: type[_Section], data: Any, key: str) -> _Section:
    if data is None:
        return cls()
    if not isinstance(data, Mapping):
        raise ConfigError(key, "must be a mapping")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name not in fields:
            raise ConfigError(f"{key}.{name}", f"unknown key (known: {', '.join(sorted(fields))})")
        values[name] = _coerce(value, fields[name].type, f"{key}.{name}")
    return cls(**values)


def _coerce(value: Any, annotation: Any, key: str) -> Any:
    """Check a scalar against the field's annotation (a string under postponed evaluation)."""
    kind = str(annotation)
    if value is None and "None" in kind:
        return None
    if kind.startswith("int"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"must be an integer, got {value!r}")
    elif kind.startswith("float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(key, f"must be a number, got {value!r}")
        return float(value)
    elif kind.startswith("str"):
        if not isinstance(value, str):
            raise ConfigError(key, f"must be a string, got {value!r}")
    elif kind.startswith("list") and not isinstance(value, list):
        raise ConfigError(key, "must be a list")
    elif kind.startswith("dict") and not isinstance(value, Mapping):
        raise ConfigError(key, "must be a mapping")
    return value


def _apply_env(data: dict[str, Any], environ: Mapping[str, str]) -> None:
    import yaml

    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        if len(path) != 2 or not all(path):
            raise ConfigError(name, "use AGENTTRACE_COLLECTOR__<SECTION>__<KEY>")
        section = data.setdefault(path[0], {})
        if not isinstance(section, dict):
            raise ConfigError(path[0], "must be a mapping")
        section[path[1]] = yaml.safe_load(raw) if raw else raw


def load_config(
    path: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> CollectorConfig:
    """Read ``path`` (optional), apply env then ``overrides`` ({section: {key: value}}), validate."""
    import yaml

    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as err:
            raise ConfigError("--config", f"cannot read {path}: {err.strerror}") from err
        except yaml.YAMLError as err:
            raise ConfigError("--config", f"{path} is not valid YAML: {err}") from err
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError("<root>", "the config file must be a mapping of sections")
        data = loaded or {}
    _apply_env(data, environ)
    for section, values in (overrides or {}).items():
        target = data.setdefault(section, {})
        if not isinstance(target, dict):
            raise ConfigError(section, "must be a mapping")
        target.update({k: v for k, v in values.items() if v is not None})
    sections = {f.name: f for f in dataclasses.fields(CollectorConfig)}
    unknown = sorted(set(data) - set(sections))
    if unknown:
        raise ConfigError(unknown[0], f"unknown section (known: {', '.join(sorted(sections))})")
    processors = data.get("processors") or []
    if not isinstance(processors, list):
        raise ConfigError("processors", "must be a list of {type: ..., ...} entries")
    config = CollectorConfig(
        receivers=_build_section(ReceiversConfig, data.get("receivers"), "receivers"),
        store=_build_section(StoreConfig, data.get("store"), "store"),
        wal=_build_section(WalConfig, data.get("wal"), "wal"),
        limits=_build_section(LimitsConfig, data.get("limits"), "limits"),
        auth=_build_section(AuthConfig, data.get("auth"), "auth"),
        telemetry=_build_section(TelemetryConfig, data.get("telemetry"), "telemetry"),
        processors=processors,
    )
    env_tokens = environ.get(TOKENS_ENV, "")
    config.auth.tokens = [
        *config.auth.tokens,
        *(t.strip() for t in env_tokens.split(",") if t.strip()),
    ]
    config.validate()
    return config
