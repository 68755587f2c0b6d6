"""The mapping data (``agenttrace.semconv.mappings.MAPPINGS``) compiled into lookup tables.

``semconv/mappings.yaml`` is the single source of truth for how other conventions map to
agenttrace's; its header documents every key. This module only turns the data into the
structures the normalize processor looks things up in, once per processor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The MAPPINGS entry that is not a dialect but rules for spans of every dialect.
SHARED = "*"
# The attribute OpenLLMetry names its request type in; ``llm_request_type`` maps its values.
_LLM_REQUEST_TYPE = "llm.request.type"


def merged_mappings(mappings: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The dialect entries of ``mappings``: every entry but :data:`SHARED`."""
    return {name: spec for name, spec in mappings.items() if name != SHARED}


@dataclass(frozen=True)
class SharedRules:
    """The :data:`SHARED` entry: rules that hold whichever dialect a span speaks."""

    precedence: tuple[str, ...]
    provider_values: dict[str, str]
    span_name_subjects: dict[str, str]
    bare_span_names: frozenset[str]
    # operation -> its subject attribute, for operations whose subject may be the span name
    subject_from_span_name: dict[str, str]

    @classmethod
    def compile(cls, mappings: Mapping[str, Any]) -> SharedRules:
        spec = mappings[SHARED]
        subjects = dict(spec["span_name_subjects"])
        return cls(
            precedence=tuple(spec["precedence"]),
            provider_values=dict(spec["provider_values"]),
            span_name_subjects=subjects,
            bare_span_names=frozenset(spec["bare_span_names"]),
            subject_from_span_name={op: subjects[op] for op in spec["subject_from_span_name"]},
        )

    def in_precedence_order(self, names: Mapping[str, Any]) -> list[str]:
        """``names`` ordered by :attr:`precedence`; any it does not list come last."""
        rank = {name: index for index, name in enumerate(self.precedence)}
        return sorted(names, key=lambda name: rank.get(name, len(rank)))


@dataclass
class Dialect:
    """One dialect's mapping data, compiled into lookup tables."""

    name: str
    detect: frozenset[str]
    kind_sources: list[tuple[str, dict[str, str]]]
    renames: dict[str, str]
    by_kind: dict[str, dict[str, str]]
    json_fields: dict[str, dict[str, dict[str, str]]]
    also_set: dict[str, list[str]]
    companions: dict[str, list[str]]
    message_prefixes: dict[str, str]
    tools_prefixes: dict[str, str]
    json_encoded: bool
    name_from_attribute: str | None
    events_attribute: str | None
    # what mapped_sources answers, per operation with a content mapping and for any other
    _plans: dict[str | None, list[tuple[str, str]]] = field(init=False, repr=False)
    _other_plan: list[tuple[str, str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        renames = list(self.renames.items())
        every = list(self.by_kind.get("*", {}).items())
        self._plans = {None: renames}
        self._plans.update(
            (op, renames + list(m.items()) + every) for op, m in self.by_kind.items()
        )
        self._other_plan = renames + every

    @classmethod
    def compile(cls, name: str, spec: Mapping[str, Any]) -> Dialect:
        kind_sources: list[tuple[str, dict[str, str]]] = []
        if spec.get("kind_attribute"):
            kind_sources.append((spec["kind_attribute"], dict(spec.get("span_kind", {}))))
        if spec.get("llm_request_type"):
            kind_sources.append((_LLM_REQUEST_TYPE, dict(spec["llm_request_type"])))
        renames = dict(spec.get("renames", {}))
        by_kind: dict[str, dict[str, str]] = {
            op: dict(mapping) for op, mapping in spec.get("content_by_kind", {}).items()
        }
        for op, target in spec.get("entity_name_by_kind", {}).items():
            by_kind.setdefault(op, {})[spec["entity_attribute"]] = target
        detect = set(spec.get("detect", ())) | {attr for attr, _ in kind_sources}
        if spec.get("detect_by_renames"):
            detect |= set(renames)
        return cls(
            name=name,
            detect=frozenset(detect),
            kind_sources=kind_sources,
            renames=renames,
            by_kind=by_kind,
            json_fields={op: dict(v) for op, v in spec.get("json_fields_by_kind", {}).items()},
            also_set={k: list(v) for k, v in spec.get("also_set", {}).items()},
            companions={k: list(v) for k, v in spec.get("companions", {}).items()},
            message_prefixes={f"{p}.": t for p, t in spec.get("message_prefixes", {}).items()},
            tools_prefixes={f"{p}.": t for p, t in spec.get("tools_prefix", {}).items()},
            json_encoded=bool(spec.get("json_encoded_values")),
            name_from_attribute=spec.get("name_from_attribute"),
            events_attribute=spec.get("events_attribute"),
        )

    def mapped_sources(self, op: str | None) -> list[tuple[str, str]]:
        """``(source, target)`` in the order they apply to a span of operation ``op``: the
        renames, then (with an operation) its content mapping, then every operation's."""
        return self._plans.get(op, self._other_plan)

    def source_keys(self) -> set[str]:
        keys = set(self.detect) | set(self.renames) | set(self.also_set)
        for mapping in self.by_kind.values():
            keys |= set(mapping)
        for fields in self.json_fields.values():
            keys |= set(fields)
        keys |= {k for k in (self.name_from_attribute, self.events_attribute) if k}
        for extra in self.companions.values():
            keys |= set(extra)
        return keys

    def targets(self) -> set[str]:
        targets = set(self.renames.values()) | set(self.message_prefixes.values())
        targets |= set(self.tools_prefixes.values())
        for mapping in self.by_kind.values():
            targets |= set(mapping.values())
        for fields in self.json_fields.values():
            for paths in fields.values():
                targets |= set(paths.values())
        for extra in self.also_set.values():
            targets |= set(extra)
        return targets


def compile_dialects(
    mappings: Mapping[str, Any], shared: SharedRules, wanted: tuple[str, ...]
) -> list[Dialect]:
    """The dialects named in ``wanted`` (all when empty), compiled, in precedence order."""
    specs = merged_mappings(mappings)
    return [
        Dialect.compile(name, specs[name])
        for name in shared.in_precedence_order(specs)
        if not wanted or name in wanted
    ]
