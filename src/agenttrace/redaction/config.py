"""The redaction configuration block, shared by the SDK, the collector and the CLI.

It is plain data: ``RedactionConfig.from_dict`` takes the mapping that YAML (or JSON, or
Python code) produced, and every error names the key it is about.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from agenttrace.redaction.detectors import DETECTOR_NAMES

Mode = Literal["mask", "hash", "drop"]
MODES: tuple[Mode, ...] = ("mask", "hash", "drop")
BLOCKED_TYPE = "blocked_key"

# String attributes that carry JSON; their content is parsed and redacted member by member.
DEFAULT_JSON_KEYS: tuple[str, ...] = (
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "input.value",
    "output.value",
)
# Identifiers and enums that agenttrace itself writes; scanning them only risks false positives.
DEFAULT_IGNORE: tuple[str, ...] = (
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.response.id",
    "gen_ai.response.finish_reasons",
    "gen_ai.tool.call.id",
    "gen_ai.tool.name",
    "gen_ai.conversation.id",
    "agenttrace.run.id",
    "agenttrace.run.parent_id",
    "agenttrace.redaction.*",
)
# Infrastructure addresses are not personal data; a client's address is.
DEFAULT_ALLOW: tuple[Mapping[str, Any], ...] = (
    {"key": "server.address", "types": ["ipv4", "ipv6"]},
    {"key": "server.socket.address", "types": ["ipv4", "ipv6"]},
    {"key": "network.local.address", "types": ["ipv4", "ipv6"]},
)

_TOP_LEVEL_KEYS = frozenset(
    {"enabled", "mode", "hash_key", "hash_key_env", "hash_length", "detectors", "allow",
     "block", "ignore", "json_keys", "default_rules", "accelerate"}
)  # fmt: skip


class RedactionConfigError(ValueError):
    """The configuration block is invalid; ``errors`` lists every problem, each naming its key."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("invalid redaction config: " + "; ".join(self.errors))


def _glob_to_regex(glob: str) -> re.Pattern[str]:
    """``**`` spans anything, ``*`` stays within one dotted segment, ``[*]`` is any index."""
    out = []
    i = 0
    while i < len(glob):
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob.startswith("[*]", i):
            out.append(r"\[\*\]")
            i += 3
        elif glob[i] == "*":
            out.append(r"[^.\[\]]*")
            i += 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out), re.IGNORECASE)


@dataclass(frozen=True)
class KeyRule:
    """Where a rule applies: a key glob (attribute or JSON member key) or a full-path glob.

    ``types`` and ``value`` narrow allow rules: which finding types, and which values
    (a regular expression the whole finding must match), are allowed there.
    """

    key: str | None = None
    path: str | None = None
    types: frozenset[str] | None = None
    value: str | None = None
    _key_re: re.Pattern[str] | None = field(default=None, repr=False, compare=False)
    _path_re: re.Pattern[str] | None = field(default=None, repr=False, compare=False)
    _value_re: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        key: str | None = None,
        path: str | None = None,
        types: frozenset[str] | None = None,
        value: str | None = None,
    ) -> KeyRule:
        return cls(
            key=key,
            path=path,
            types=types,
            value=value,
            _key_re=_glob_to_regex(key) if key is not None else None,
            _path_re=_glob_to_regex(path) if path is not None else None,
            _value_re=re.compile(value) if value is not None else None,
        )

    @property
    def has_location(self) -> bool:
        return self._key_re is not None or self._path_re is not None

    def matches_location(self, key: str, path: str) -> bool:
        if self._path_re is not None and self._path_re.fullmatch(path) is None:
            return False
        if self._key_re is not None:
            last = key.rsplit(".", 1)[-1]
            return bool(self._key_re.fullmatch(key) or self._key_re.fullmatch(last))
        return True

    def allows(self, finding_type: str, value: str) -> bool:
        if self.types is not None and finding_type not in self.types:
            return False
        return self._value_re is None or self._value_re.fullmatch(value) is not None


@dataclass(frozen=True)
class RedactionConfig:
    """What to detect and what to do with it. ``RedactionConfig()`` is the documented default."""

    enabled: bool = True
    mode: Mode = "mask"
    hash_key: bytes | None = None
    hash_length: int = 16
    detector_modes: Mapping[str, Mode] = field(default_factory=dict)
    disabled_detectors: frozenset[str] = frozenset()
    allow: tuple[KeyRule, ...] = ()
    block: tuple[KeyRule, ...] = ()
    ignore: tuple[KeyRule, ...] = ()
    json_keys: tuple[str, ...] = DEFAULT_JSON_KEYS
    default_rules: bool = True
    accelerate: bool = True

    def __post_init__(self) -> None:
        self.validate()

    def mode_for(self, finding_type: str) -> Mode:
        return self.detector_modes.get(finding_type, self.mode)

    @property
    def enabled_detectors(self) -> tuple[str, ...]:
        return tuple(n for n in DETECTOR_NAMES if n not in self.disabled_detectors)

    def effective_rules(self) -> tuple[tuple[KeyRule, ...], tuple[KeyRule, ...]]:
        """(allow, ignore) with the built-in defaults added unless ``default_rules`` is off."""
        if not self.default_rules:
            return self.allow, self.ignore
        allow = tuple(_parse_rule(r, "", []) for r in DEFAULT_ALLOW)
        ignore = tuple(KeyRule.build(key=k) for k in DEFAULT_IGNORE)
        return self.allow + allow, self.ignore + ignore

    def validate(self) -> None:
        """Raise :class:`RedactionConfigError` naming every invalid key."""
        errors: list[str] = []
        if self.mode not in MODES:
            errors.append(f"redaction.mode: must be one of {', '.join(MODES)}, got {self.mode!r}")
        for name, mode in self.detector_modes.items():
            if name not in DETECTOR_NAMES and name != BLOCKED_TYPE:
                errors.append(f"redaction.detectors.{name}: unknown detector")
            if mode not in MODES:
                errors.append(f"redaction.detectors.{name}.mode: must be one of {', '.join(MODES)}")
        for name in self.disabled_detectors:
            if name not in DETECTOR_NAMES:
                errors.append(f"redaction.detectors.{name}: unknown detector")
        uses_hash = self.mode == "hash" or "hash" in self.detector_modes.values()
        if uses_hash and not self.hash_key:
            errors.append(
                "redaction.hash_key: hash mode needs a key (set hash_key or hash_key_env)"
            )
        if not 8 <= self.hash_length <= 64:
            errors.append("redaction.hash_length: must be between 8 and 64 hex characters")
        if errors:
            raise RedactionConfigError(errors)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> RedactionConfig:
        """Parse a configuration block (the mapping under ``redaction:``)."""
        data = data or {}
        errors: list[str] = []
        if not isinstance(data, Mapping):
            raise RedactionConfigError([f"redaction: must be a mapping, got {type(data).__name__}"])
        for key in data:
            if key not in _TOP_LEVEL_KEYS:
                errors.append(f"redaction.{key}: unknown key")
        kwargs: dict[str, Any] = {}
        for flag in ("enabled", "default_rules", "accelerate"):
            if flag in data:
                if isinstance(data[flag], bool):
                    kwargs[flag] = data[flag]
                else:
                    errors.append(f"redaction.{flag}: must be true or false")
        if "mode" in data:
            if data["mode"] in MODES:
                kwargs["mode"] = data["mode"]
            else:
                errors.append(
                    f"redaction.mode: must be one of {', '.join(MODES)}, got {data['mode']!r}"
                )
        if "hash_length" in data:
            if isinstance(data["hash_length"], int) and not isinstance(data["hash_length"], bool):
                kwargs["hash_length"] = data["hash_length"]
            else:
                errors.append("redaction.hash_length: must be an integer")
        kwargs["hash_key"] = _parse_hash_key(data, errors)
        modes, disabled = _parse_detectors(data.get("detectors", {}), errors)
        kwargs["detector_modes"] = modes
        kwargs["disabled_detectors"] = disabled
        for list_name in ("allow", "block", "ignore"):
            entries = data.get(list_name, [])
            if not isinstance(entries, list):
                errors.append(f"redaction.{list_name}: must be a list")
                continue
            where = f"redaction.{list_name}"
            rules = [_parse_rule(e, f"{where}[{i}]", errors) for i, e in enumerate(entries)]
            if list_name != "allow":
                for i, rule in enumerate(rules):
                    if rule.types is not None or rule.value is not None:
                        errors.append(f"{where}[{i}]: types and value apply to allow rules only")
            kwargs[list_name] = tuple(rules)
        if "json_keys" in data:
            keys = data["json_keys"]
            if isinstance(keys, list) and all(isinstance(k, str) for k in keys):
                kwargs["json_keys"] = DEFAULT_JSON_KEYS + tuple(keys)
            else:
                errors.append("redaction.json_keys: must be a list of attribute names")
        if errors:
            raise RedactionConfigError(errors)
        try:
            return cls(**kwargs)
        except RedactionConfigError:
            raise
        except (TypeError, ValueError) as exc:
            raise RedactionConfigError([f"redaction: {exc}"]) from None


def _parse_hash_key(data: Mapping[str, Any], errors: list[str]) -> bytes | None:
    if "hash_key" in data:
        key = data["hash_key"]
        if isinstance(key, str) and key:
            return key.encode()
        errors.append("redaction.hash_key: must be a non-empty string")
        return None
    if "hash_key_env" in data:
        name = data["hash_key_env"]
        if not isinstance(name, str):
            errors.append("redaction.hash_key_env: must be an environment variable name")
            return None
        value = os.environ.get(name)
        if not value:
            errors.append(f"redaction.hash_key_env: environment variable {name} is not set")
            return None
        return value.encode()
    return None


def _parse_detectors(raw: Any, errors: list[str]) -> tuple[dict[str, Mode], frozenset[str]]:
    modes: dict[str, Mode] = {}
    disabled: set[str] = set()
    if not isinstance(raw, Mapping):
        errors.append("redaction.detectors: must be a mapping of detector name to settings")
        return modes, frozenset()
    for name, setting in raw.items():
        where = f"redaction.detectors.{name}"
        if name not in DETECTOR_NAMES and name != BLOCKED_TYPE:
            errors.append(f"{where}: unknown detector (known: {', '.join(DETECTOR_NAMES)})")
            continue
        if isinstance(setting, bool):
            if not setting:
                disabled.add(name)
            continue
        if not isinstance(setting, Mapping):
            errors.append(f"{where}: must be true, false or a mapping with enabled/mode")
            continue
        for key in setting:
            if key not in ("enabled", "mode"):
                errors.append(f"{where}.{key}: unknown key")
        if setting.get("enabled", True) is False:
            disabled.add(name)
        if "mode" in setting:
            if setting["mode"] in MODES:
                modes[name] = cast(Mode, setting["mode"])
            else:
                errors.append(f"{where}.mode: must be one of {', '.join(MODES)}")
    return modes, frozenset(disabled)


def _parse_rule(entry: Any, where: str, errors: list[str]) -> KeyRule:
    if isinstance(entry, str):
        return KeyRule.build(key=entry)
    if not isinstance(entry, Mapping):
        errors.append(f"{where}: must be a key glob or a mapping with key/path/types/value")
        return KeyRule.build()
    for key in entry:
        if key not in ("key", "path", "types", "value"):
            errors.append(f"{where}.{key}: unknown key")
    for name in ("key", "path", "value"):
        if name in entry and not isinstance(entry[name], str):
            errors.append(f"{where}.{name}: must be a string")
            return KeyRule.build()
    types = entry.get("types")
    type_set: frozenset[str] | None = None
    if types is not None:
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            errors.append(f"{where}.types: must be a list of detector names")
        else:
            for t in types:
                if t not in DETECTOR_NAMES and t != BLOCKED_TYPE:
                    errors.append(f"{where}.types: unknown detector {t!r}")
            type_set = frozenset(types)
    if "value" in entry:
        try:
            re.compile(entry["value"])
        except re.error as exc:
            errors.append(f"{where}.value: invalid regular expression ({exc})")
            return KeyRule.build()
    if not any(k in entry for k in ("key", "path", "types", "value")):
        errors.append(f"{where}: needs at least one of key, path, types, value")
    return KeyRule.build(
        key=entry.get("key"), path=entry.get("path"), types=type_set, value=entry.get("value")
    )
