"""``normalize``: upgrade spans from other instrumentations to the agenttrace convention.

Driven by the mapping data in ``agenttrace.semconv.mappings`` (from ``semconv/mappings.yaml``),
which ``_dialects`` compiles into lookup tables once per processor. The hot path is one
Hyperscan pass over each span's serialized bytes looking for any dialect's marker keys; spans
carrying none (everything the agenttrace SDK emits) leave it there. Only spans that speak
another dialect take the slow path, which:

1. finds the dialects present (``detect`` keys) and the operation (their span-kind attribute);
2. folds flattened message lists into ``gen_ai.input.messages``/``gen_ai.output.messages``;
3. applies renames, per-operation content mappings and JSON field extraction, never
   overwriting a convention attribute the span already has;
4. fills the operation's subject (agent/tool/workflow name) from the span name if missing,
   and renames the span per the convention (``chat {model}``, ``execute_tool {tool}``);
5. removes the attributes it mapped, unless ``keep_originals``.

Every scope's ``schema_url`` is set to the agenttrace schema URL.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agenttrace import semconv
from agenttrace.collector.errors import ConfigError
from agenttrace.collector.processors import _messages
from agenttrace.collector.processors._config import parse_dataclass
from agenttrace.collector.processors._dialects import (
    Dialect,
    SharedRules,
    compile_dialects,
    merged_mappings,
)
from agenttrace.collector.processors._otlp import set_value, to_python
from agenttrace.collector.processors._screen import ByteScreen, attribute_key, literal
from agenttrace.collector.processors.base import ExportTraceServiceRequest, register_processor
from agenttrace.semconv.mappings import MAPPINGS

_AGENTTRACE_OP = "agenttrace:"
# The registry's types decide which mapped values are coerced to counts.
_INT_TARGETS = frozenset(a for a, type_ in semconv.ATTRIBUTE_TYPES.items() if type_ == "int")
_MESSAGE_TARGETS = {
    semconv.GEN_AI_INPUT_MESSAGES: "user",
    semconv.GEN_AI_OUTPUT_MESSAGES: "assistant",
}
_TEXT_TARGETS = frozenset(
    {
        semconv.GEN_AI_TOOL_CALL_ARGUMENTS,
        semconv.GEN_AI_TOOL_CALL_RESULT,
        semconv.GEN_AI_TOOL_DEFINITIONS,
    }
)

_SOURCE = 1
_TARGET = 2
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def available_dialects() -> list[str]:
    return sorted(merged_mappings(MAPPINGS))


@dataclass(frozen=True)
class NormalizeConfig:
    keep_originals: bool = False
    rename_spans: bool = True
    set_schema_url: bool = True
    # Empty: every known dialect.
    dialects: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NormalizeConfig:
        return parse_dataclass(cls, data)

    def validate(self) -> None:
        known = available_dialects()
        for index, name in enumerate(self.dialects):
            if name not in known:
                raise ConfigError(
                    f"dialects[{index}]", f"unknown dialect {name!r} (known: {', '.join(known)})"
                )


class _SpanWork:
    """Everything the slow path learns about one span and what it decides to write."""

    __slots__ = (
        "active",
        "consumed",
        "decoded",
        "flat",
        "index",
        "native",
        "out",
        "providers",
        "renames",
        "values",
    )

    def __init__(self, providers: Mapping[str, str]) -> None:
        self.providers = providers  # provider value aliases, for ``convert``
        self.index: dict[str, int] = {}
        self.values: dict[str, Any] = {}
        self.native: dict[str, Any] = {}
        self.flat: dict[tuple[str, str], dict[str, Any]] = {}  # (prefix, dialect) -> entries
        self.active: set[str] = set()
        self.out: dict[str, Any] = {}
        self.consumed: set[str] = set()
        # target -> source whose value is already the target's: renaming the key suffices
        self.renames: dict[str, str] = {}
        self.decoded: set[str] = set()  # sources whose value differs from the wire (JSON)

    def lookup(self, key: str) -> Any:
        if key in self.native:
            return self.native[key]
        if key in self.out:
            return self.out[key]
        return self.values.get(key)

    def assign(self, target: str, raw: Any, source: str | None) -> bool:
        """Map ``raw`` onto ``target`` unless the span already has it; ``True`` if written."""
        if raw is None:
            return False
        converted = convert(target, raw, self.providers)
        if converted is None:
            return False
        existing = self.native if target in self.native else self.out
        if target in existing:
            if source is not None and existing[target] == converted:
                self.consumed.add(source)  # a redundant duplicate of what the span has
            return False
        self.out[target] = converted
        if source is not None:
            self.consumed.add(source)
            if source not in self.decoded and converted == raw and type(converted) is type(raw):
                self.renames.setdefault(target, source)
        return True


class NormalizeProcessor:
    """Rewrites spans of known dialects to the agenttrace convention, in place."""

    mutates = True

    def __init__(self, config: NormalizeConfig) -> None:
        self.name = "normalize"
        self._config = config
        self._shared = SharedRules.compile(MAPPINGS)
        self._dialects = compile_dialects(MAPPINGS, self._shared, config.dialects)
        self._by_name = {d.name: d for d in self._dialects}
        self._build_lookups()
        self._counters = {"spans_normalized": 0}

    def _build_lookups(self) -> None:
        """Key -> role flags, detect keys -> dialects, flattened prefixes, and the byte screen."""
        self._interest: dict[str, int] = {}
        self._detects: dict[str, list[str]] = {}
        self._json_keys: set[str] = set()
        prefixes: list[tuple[str, str]] = []
        for dialect in self._dialects:
            for key in dialect.source_keys():
                self._interest[key] = self._interest.get(key, 0) | _SOURCE
                if dialect.json_encoded:
                    self._json_keys.add(key)
            for key in dialect.detect:
                self._detects.setdefault(key, []).append(dialect.name)
            for target in dialect.targets():
                self._interest[target] = self._interest.get(target, 0) | _TARGET
            prefixes += [(p, dialect.name) for p in dialect.message_prefixes]
            prefixes += [(p, dialect.name) for p in dialect.tools_prefixes]
        for key in (semconv.GEN_AI_OPERATION_NAME, semconv.AGENTTRACE_OPERATION_NAME):
            self._interest[key] = self._interest.get(key, 0) | _TARGET
        for key in set(self._shared.span_name_subjects.values()):
            self._interest[key] = self._interest.get(key, 0) | _TARGET
        self._prefix_specs = prefixes
        self._prefixes = tuple(p for p, _ in prefixes)
        # A flattened message key named as a detect key (gen_ai.prompt.0.role) is still a
        # message entry: the prefix path must see it.
        for key in [k for k in self._interest if self._flattened_prefix(k)]:
            del self._interest[key]
        # Only a detect key or a flattened prefix can make a dialect active.
        self._screen = ByteScreen(
            [attribute_key(k) for k in self._detects] + [literal(p) for p in self._prefixes]
        )

    def process(self, request: ExportTraceServiceRequest) -> ExportTraceServiceRequest | None:
        screen = self._screen
        # Most batches speak the convention already: one pass over the whole request clears
        # them, and only a batch that matches is screened span by span.
        foreign = screen.matches(request.SerializeToString())
        schema_url = semconv.SCHEMA_URL if self._config.set_schema_url else None
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                if schema_url is not None:
                    scope_spans.schema_url = schema_url
                if not foreign:
                    continue
                for span in scope_spans.spans:
                    if screen.matches(span.SerializeToString()):
                        self._normalize_span(span)
        return request

    def _normalize_span(self, span: Any) -> None:
        work = self._collect(span)
        if not work.active:
            return
        op, native_op = self._operation(work)
        for name in self._active_in_order(work):
            self._apply_dialect(self._by_name[name], work, op)
        if op is not None:
            self._apply_operation(span, work, op, native_op)
        elif self._config.rename_spans:
            self._name_from_attribute(span, work)
        self._write(span, work)
        self._counters["spans_normalized"] += 1

    def _collect(self, span: Any) -> _SpanWork:
        work = _SpanWork(self._shared.provider_values)
        interest = self._interest
        for index, kv in enumerate(span.attributes):
            key = kv.key
            flags = interest.get(key, 0)
            if flags:
                value = to_python(kv.value)
                if flags & _TARGET:
                    work.native[key] = value
                if flags & _SOURCE:
                    if key in self._json_keys:
                        value = _json_decode(value)
                        work.decoded.add(key)
                    work.values[key] = value
                    work.index[key] = index
                    work.active.update(self._detects.get(key, ()))
            elif key.startswith(self._prefixes):
                found = self._flattened_prefix(key)
                if found is not None:
                    prefix, dialect = found
                    work.flat.setdefault(found, {})[key[len(prefix) :]] = to_python(kv.value)
                    work.index[key] = index
                    work.active.add(dialect)
        return work

    def _flattened_prefix(self, key: str) -> tuple[str, str] | None:
        """``(prefix, dialect)`` when ``key`` is an indexed entry under a flattened prefix."""
        for prefix, dialect in self._prefix_specs:
            if key.startswith(prefix) and _messages.is_flattened_index(key[len(prefix) :]):
                return prefix, dialect
        return None

    def _active_in_order(self, work: _SpanWork) -> list[str]:
        return [d.name for d in self._dialects if d.name in work.active]

    def _operation(self, work: _SpanWork) -> tuple[str | None, bool]:
        """The span's operation (``agenttrace:x`` for agenttrace operations), and if native."""
        native = work.native.get(semconv.GEN_AI_OPERATION_NAME)
        if isinstance(native, str) and native:
            return native, True
        native = work.native.get(semconv.AGENTTRACE_OPERATION_NAME)
        if isinstance(native, str) and native:
            return _AGENTTRACE_OP + native, True
        for name in self._active_in_order(work):
            for attribute, table in self._by_name[name].kind_sources:
                value = work.values.get(attribute)
                if isinstance(value, str) and value in table:
                    work.consumed.add(attribute)
                    return table[value], False
        return None, False

    def _apply_dialect(self, dialect: Dialect, work: _SpanWork, op: str | None) -> None:
        values = work.values
        # Flattened messages first: they are richer than a free-form input/output value.
        for (prefix, name), entries in work.flat.items():
            if name != dialect.name:
                continue
            if prefix in dialect.message_prefixes:
                target = dialect.message_prefixes[prefix]
                written = work.assign(target, _messages.fold_flattened(entries), None)
            else:
                target = dialect.tools_prefixes[prefix]
                written = work.assign(target, _tool_definitions(entries), None)
            if written or target in work.native:
                work.consumed.update(prefix + suffix for suffix in entries)
        if dialect.events_attribute and dialect.events_attribute in values:
            self._apply_events(work, dialect.events_attribute)
        for source, target in dialect.renames.items():
            if source in values:
                work.assign(target, values[source], source)
        if op is not None:
            for mapping in (dialect.by_kind.get(op), dialect.by_kind.get("*")):
                for source, target in (mapping or {}).items():
                    if source in values:
                        work.assign(target, values[source], source)
            for fields in (dialect.json_fields.get(op), dialect.json_fields.get("*")):
                for source, paths in (fields or {}).items():
                    document = _json_decode(values.get(source))
                    for path, target in paths.items():
                        work.assign(target, _dig(document, path), None)
        for source, targets in dialect.also_set.items():
            value = work.lookup(source)
            for target in targets:
                work.assign(target, value, None)
        for source, companions in dialect.companions.items():
            if source in work.consumed:
                work.consumed.update(c for c in companions if c in values)

    def _apply_events(self, work: _SpanWork, attribute: str) -> None:
        events = _json_decode(work.values[attribute])
        if not isinstance(events, list):
            return
        inputs, outputs = _split_message_events(events)
        wrote_in = work.assign(semconv.GEN_AI_INPUT_MESSAGES, inputs or None, None)
        wrote_out = work.assign(semconv.GEN_AI_OUTPUT_MESSAGES, outputs or None, None)
        if wrote_in or wrote_out:
            work.consumed.add(attribute)

    def _apply_operation(self, span: Any, work: _SpanWork, op: str, native_op: bool) -> None:
        display = op.removeprefix(_AGENTTRACE_OP)
        fallback = self._shared.subject_from_span_name.get(op)
        if fallback and work.lookup(fallback) is None and span.name:
            subject = span.name.removeprefix(display + " ")
            if "{" not in subject:  # a format template is no name
                work.assign(fallback, subject, None)
        if not native_op:
            if op.startswith(_AGENTTRACE_OP):
                work.assign(semconv.AGENTTRACE_OPERATION_NAME, display, None)
            else:
                work.assign(semconv.GEN_AI_OPERATION_NAME, op, None)
        if not self._config.rename_spans:
            return
        attribute = self._shared.span_name_subjects.get(op)
        subject = work.lookup(attribute) if attribute else None
        if subject is not None and subject != "":
            span.name = f"{display} {subject}"
        elif op in self._shared.bare_span_names:
            span.name = display
        else:
            self._name_from_attribute(span, work)

    def _name_from_attribute(self, span: Any, work: _SpanWork) -> None:
        if "{" not in span.name:
            return
        for name in self._active_in_order(work):
            attribute = self._by_name[name].name_from_attribute
            value = work.values.get(attribute) if attribute else None
            if isinstance(value, str) and value:
                span.name = value
                return

    def _write(self, span: Any, work: _SpanWork) -> None:
        attributes = span.attributes
        out = work.out
        if not self._config.keep_originals and work.consumed:
            # A pure rename only changes the key in place; far cheaper than delete and add.
            renamed: set[str] = set()
            for target, source in work.renames.items():
                index = work.index.get(source)
                if index is not None and source not in renamed and source in work.values:
                    attributes[index].key = target
                    renamed.add(source)
                    del out[target]
            for index in sorted(
                (work.index[k] for k in work.consumed - renamed if k in work.index), reverse=True
            ):
                del attributes[index]
        for key, value in out.items():
            set_value(attributes.add(key=key).value, value)

    def metrics(self) -> Mapping[str, float]:
        return dict(self._counters)

    def shutdown(self) -> None:
        return None


def convert(target: str, raw: Any, providers: Mapping[str, str]) -> Any:
    """``raw`` as the type and shape the convention gives ``target``; ``None`` if unusable.

    ``providers`` maps the provider values other instrumentations use to the GenAI ones.
    """
    if target in _MESSAGE_TARGETS:
        if isinstance(raw, list) and all(isinstance(m, dict) and "parts" in m for m in raw):
            return _messages.dumps(raw) if raw else None
        if raw == "":
            return None
        return _messages.dumps(_messages.text_messages(raw, _MESSAGE_TARGETS[target]))
    if target in _INT_TARGETS:
        return _as_int(raw)
    if target == semconv.AGENTTRACE_COST_USD:
        try:
            cost = float(raw)
        except (TypeError, ValueError, OverflowError):
            return None
        return cost if math.isfinite(cost) else None
    if target == semconv.GEN_AI_RESPONSE_FINISH_REASONS:
        decoded = _json_decode(raw)
        items = decoded if isinstance(decoded, list) else [decoded]
        return [str(item) for item in items if item is not None]
    if target == semconv.GEN_AI_PROVIDER_NAME:
        text = str(raw).strip().lower()
        return providers.get(text, text) or None
    if target in _TEXT_TARGETS or isinstance(raw, (dict, list)):
        return raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
    return raw


def _as_int(raw: Any) -> int | None:
    """A token count as an int64, or ``None`` for anything that is not a finite count."""
    if isinstance(raw, bool):
        return None
    try:
        number = raw if isinstance(raw, int) else int(float(raw))
    except (TypeError, ValueError, OverflowError):
        return None
    return number if _INT64_MIN <= number <= _INT64_MAX else None


def _json_decode(value: Any) -> Any:
    if (isinstance(value, str) and value[:1] in ('"', "{", "[")) or value in (
        "null",
        "true",
        "false",
    ):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _dig(document: Any, path: str) -> Any:
    node = document
    for segment in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(segment)
    return node


def _tool_definitions(entries: dict[str, Any]) -> list[Any] | None:
    """``llm.tools.N.tool.json_schema`` entries as a list of tool definitions."""
    by_index: dict[int, Any] = {}
    for suffix, value in entries.items():
        index, _, _ = suffix.partition(".")
        by_index[int(index)] = _json_decode(value)
    return [by_index[i] for i in sorted(by_index)] or None


def _split_message_events(events: list[Any]) -> tuple[list[Any], list[Any]]:
    """Logfire's ``events`` list: ``gen_ai.choice`` events and the trailing assistant
    messages are the output, everything before is the input."""
    chats: list[dict[str, Any]] = []
    outputs: list[dict[str, Any]] = []
    for event in events:
        if not isinstance(event, dict):
            continue
        if event.get("event.name") == "gen_ai.choice" and isinstance(event.get("message"), dict):
            outputs.append(
                _messages.to_genai_message(
                    {**event["message"], "finish_reason": event.get("finish_reason")}
                )
            )
        else:
            chats.append(event)
    if not outputs:
        split = len(chats)
        while split > 0 and chats[split - 1].get("role") == "assistant":
            split -= 1
        outputs = [_messages.to_genai_message(m) for m in chats[split:]]
        chats = chats[:split]
    return [_messages.to_genai_message(m) for m in chats], outputs


def _factory(config: NormalizeConfig) -> NormalizeProcessor:
    return NormalizeProcessor(config)


register_processor("normalize", NormalizeConfig, _factory)
