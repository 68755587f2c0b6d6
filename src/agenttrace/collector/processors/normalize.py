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

import functools
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from agenttrace import semconv
from agenttrace.collector._layout import SPAN, EncodedRequest, encode_varint
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
# ScopeSpans.schema_url (field 3, length-delimited) set to the convention's schema.
_SCHEMA_URL_FIELD = (
    b"\x1a" + encode_varint(len(semconv.SCHEMA_URL.encode())) + semconv.SCHEMA_URL.encode()
)
# The registry's types decide which mapped values are coerced to counts, doubles and lists.
_INT_TARGETS = frozenset(a for a, type_ in semconv.ATTRIBUTE_TYPES.items() if type_ == "int")
_DOUBLE_TARGETS = frozenset(a for a, t in semconv.ATTRIBUTE_TYPES.items() if t == "double")
_STRINGS_TARGETS = frozenset(a for a, t in semconv.ATTRIBUTE_TYPES.items() if t == "string[]")
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


class _KeyRole(NamedTuple):
    """What an attribute key is to the dialects in use."""

    source: bool  # some dialect maps it (or detects by it)
    target: bool  # the convention attribute some mapping writes
    json_encoded: bool  # its dialect JSON-encodes values
    detects: tuple[str, ...]  # dialects its presence marks


class _SpanWork:
    """Everything the slow path learns about one span and what it decides to write."""

    __slots__ = (
        "active",
        "consumed",
        "decoded",
        "dialects",
        "entries",
        "flat",
        "index",
        "list_keys",
        "native_at",
        "native_values",
        "out",
        "providers",
        "renames",
        "values",
    )

    def __init__(self, providers: Mapping[str, str], entries: list[Any]) -> None:
        self.providers = providers  # provider value aliases, for ``_as_provider``
        # The span's KeyValue messages, kept from collection: upb builds a new Python wrapper
        # on every access, so later reads and renames reuse these.
        self.entries = entries
        self.index: dict[str, int] = {}
        self.values: dict[str, Any] = {}
        # Convention attributes the span has, by index: most are never contested, and reading
        # a value out of protobuf costs more than everything else the key needs.
        self.native_at: dict[str, int] = {}
        self.native_values: dict[str, Any] = {}
        self.flat: dict[tuple[str, str], dict[str, Any]] = {}  # (prefix, dialect) -> entries
        self.list_keys: dict[tuple[str, str], str] = {}  # (prefix, dialect) -> its list key
        self.active: set[str] = set()
        self.dialects: list[Dialect] = []  # the active ones, in precedence order
        self.out: dict[str, Any] = {}
        self.consumed: set[str] = set()
        # target -> source whose value is already the target's: renaming the key suffices
        self.renames: dict[str, str] = {}
        self.decoded: set[str] = set()  # sources whose value differs from the wire (JSON)

    def native(self, key: str) -> Any:
        """The span's own value of convention attribute ``key`` (``None`` if it has none)."""
        if key in self.native_values:
            return self.native_values[key]
        index = self.native_at.get(key)
        value = None if index is None else to_python(self.entries[index].value)
        self.native_values[key] = value
        return value

    def lookup(self, key: str) -> Any:
        if key in self.native_at:
            return self.native(key)
        if key in self.out:
            return self.out[key]
        return self.values.get(key)

    def assign(self, target: str, raw: Any, source: str | None) -> bool:
        """Map ``raw`` onto ``target`` unless the span already has it; ``True`` if written.

        The value is converted to the type and shape the convention gives ``target`` first
        (``_CONVERTERS``); one it cannot convert is not written.
        """
        if raw is None:
            return False
        converter = _CONVERTERS.get(target)
        converted = _as_is(raw) if converter is None else converter(raw, self.providers)
        if converted is None:
            return False
        if target in self.native_at or target in self.out:
            existing = self.native(target) if target in self.native_at else self.out[target]
            if source is not None and existing == converted:
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
        self._build_lookups()
        self._counters = {"spans_normalized": 0}

    def _build_lookups(self) -> None:
        """Key -> its role, flattened prefixes, and the byte screen."""
        sources: set[str] = set()
        targets = {semconv.GEN_AI_OPERATION_NAME, semconv.AGENTTRACE_OPERATION_NAME}
        targets |= set(self._shared.span_name_subjects.values())
        json_keys: set[str] = set()
        detects: dict[str, list[str]] = {}
        prefixes: list[tuple[str, str]] = []
        for dialect in self._dialects:
            keys = dialect.source_keys()
            sources |= keys
            if dialect.json_encoded:
                json_keys |= keys
            for key in dialect.detect:
                detects.setdefault(key, []).append(dialect.name)
            targets |= dialect.targets()
            prefixes += [(p, dialect.name) for p in dialect.message_prefixes]
            prefixes += [(p, dialect.name) for p in dialect.tools_prefixes]
        self._prefix_dialects = dict(prefixes)
        self._prefixes = tuple(p for p, _ in prefixes)
        # The older list form of an input prefix (OpenInference ``llm.prompts`` as a list of
        # strings, before ``llm.prompts.N.prompt.text``): bare key -> its prefix.
        self._list_forms = {
            prefix[:-1]: prefix
            for dialect in self._dialects
            for prefix, target in dialect.message_prefixes.items()
            if target == semconv.GEN_AI_INPUT_MESSAGES
        }
        # An indexed entry under a flattened prefix: the prefix, a message index, and more.
        # ``\d`` is what ``int`` parses (Unicode category Nd), unlike ``str.isdigit``.
        alternatives = "|".join(re.escape(p) for p in self._prefixes) or "(?!)"
        self._flattened = re.compile(f"({alternatives})\\d+\\..", re.DOTALL)
        # A flattened message key named as a detect key (gen_ai.prompt.0.role) is still a
        # message entry: the prefix path must see it.
        self._interest = {
            key: _KeyRole(
                key in sources, key in targets, key in json_keys, tuple(detects.get(key, ()))
            )
            for key in sources | targets
            if not self._flattened.match(key)
        }
        # Only a detect key or a flattened prefix can make a dialect active.
        self.byte_screen = ByteScreen(
            [attribute_key(k) for k in (*detects, *self._list_forms)]
            + [literal(p) for p in self._prefixes]
        )

    def process(self, request: ExportTraceServiceRequest) -> ExportTraceServiceRequest | None:
        return self.process_encoded(request, EncodedRequest(request.SerializeToString()))[0]

    def process_encoded(
        self, request: ExportTraceServiceRequest, encoded: EncodedRequest
    ) -> tuple[ExportTraceServiceRequest, EncodedRequest | None]:
        appended: dict[tuple[int, int], bytes] = {}
        if self._config.set_schema_url:
            for r, resource_spans in enumerate(request.resource_spans):
                for s, scope_spans in enumerate(resource_spans.scope_spans):
                    if scope_spans.schema_url != semconv.SCHEMA_URL:
                        scope_spans.schema_url = semconv.SCHEMA_URL
                        # A singular field given again: the last occurrence counts.
                        appended[(r, s)] = _SCHEMA_URL_FIELD
        # Most batches speak the convention already: one pass over the request's bytes clears
        # them, and only the spans it flags are taken apart.
        layout = encoded.layout
        contents: dict[int, bytes] = {}
        for index in self.byte_screen.units(encoded):
            kind, r, s, i = layout.unit(index)[:4]
            if kind == SPAN:
                span = request.resource_spans[r].scope_spans[s].spans[i]
                if self._normalize_span(span):
                    contents[index] = span.SerializeToString()
        if not contents:
            # The schema URL alone waits for the next splice (or the WAL's bytes).
            return request, encoded.with_appended(appended) if appended else encoded
        return request, encoded.with_units(contents, appended)

    def _normalize_span(self, span: Any) -> bool:
        """Returns whether the span was changed."""
        work = self._collect(span)
        if not work.active:
            return False
        work.dialects = [d for d in self._dialects if d.name in work.active]
        op, native_op = self._operation(work)
        for dialect in work.dialects:
            self._apply_dialect(dialect, work, op)
        if op is not None:
            self._apply_operation(span, work, op, native_op)
        elif self._config.rename_spans:
            self._name_from_attribute(span, work)
        self._write(span, work)
        self._counters["spans_normalized"] += 1
        return True

    def _collect(self, span: Any) -> _SpanWork:
        entries = list(span.attributes)
        work = _SpanWork(self._shared.provider_values, entries)
        interest, prefixes = self._interest, self._prefixes
        values, index_of, native_at = work.values, work.index, work.native_at
        # One loop for every attribute of every foreign span: kept flat on purpose.
        for index, kv in enumerate(entries):
            key = kv.key
            role = interest.get(key)
            if role is None:
                if key.startswith(prefixes):
                    self._collect_flattened(work, key, index, kv)
                elif key in self._list_forms:
                    self._collect_list_form(work, key, index, kv)
                continue
            source, target, json_encoded, detects = role
            if not source:
                native_at[key] = index
                continue
            value = to_python(kv.value)
            if target:
                native_at[key] = index
                work.native_values[key] = value
            if json_encoded:
                value = _json_decode(value)
                work.decoded.add(key)
            values[key] = value
            index_of[key] = index
            if detects:
                work.active.update(detects)
        return work

    def _collect_flattened(self, work: _SpanWork, key: str, index: int, kv: Any) -> None:
        found = self._flattened.match(key)
        if found is not None:
            prefix = found[1]
            dialect = self._prefix_dialects[prefix]
            entries = work.flat.setdefault((prefix, dialect), {})
            entries[key[len(prefix) :]] = to_python(kv.value)
            work.index[key] = index
            work.active.add(dialect)

    def _collect_list_form(self, work: _SpanWork, key: str, index: int, kv: Any) -> None:
        """``llm.prompts = ["a", "b"]`` as the entries ``llm.prompts.0.text`` ... would give:
        one user message per string. Any other value is left alone."""
        texts = to_python(kv.value)
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return
        prefix = self._list_forms[key]
        dialect = self._prefix_dialects[prefix]
        entries = work.flat.setdefault((prefix, dialect), {})
        for number, text in enumerate(texts):
            entries.setdefault(f"{number}.text", text)  # the indexed form wins where both exist
        work.list_keys[prefix, dialect] = key
        work.index[key] = index
        work.active.add(dialect)

    def _operation(self, work: _SpanWork) -> tuple[str | None, bool]:
        """The span's operation (``agenttrace:x`` for agenttrace operations), and if native."""
        native = work.native(semconv.GEN_AI_OPERATION_NAME)
        if isinstance(native, str) and native:
            return native, True
        native = work.native(semconv.AGENTTRACE_OPERATION_NAME)
        if isinstance(native, str) and native:
            return _AGENTTRACE_OP + native, True
        for dialect in work.dialects:
            for attribute, table in dialect.kind_sources:
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
            if written or target in work.native_at:
                work.consumed.update(prefix + suffix for suffix in entries)
                if (prefix, name) in work.list_keys:
                    work.consumed.add(work.list_keys[prefix, name])
        if dialect.events_attribute and dialect.events_attribute in values:
            self._apply_events(work, dialect.events_attribute)
        for source, target in dialect.mapped_sources(op):
            if source in values:
                work.assign(target, values[source], source)
        if op is not None:
            for fields in (dialect.json_fields.get(op), dialect.json_fields.get("*")):
                for source, paths in (fields or {}).items():
                    if source not in values:
                        continue
                    document = _json_decode(values[source])
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
        for dialect in work.dialects:
            attribute = dialect.name_from_attribute
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
                    work.entries[index].key = target
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


def _as_is(raw: Any) -> Any:
    """A value for a target without its own conversion: dicts and lists as JSON text."""
    return _as_text(raw, {}) if isinstance(raw, (dict, list)) else raw


def _as_messages(raw: Any, _providers: Mapping[str, str], role: str) -> str | None:
    if isinstance(raw, list) and all(isinstance(m, dict) and "parts" in m for m in raw):
        return _messages.dumps(raw) if raw else None
    if raw == "":
        return None
    return _messages.dumps(_messages.text_messages(raw, role))


def _as_double(raw: Any, _providers: Mapping[str, str]) -> float | None:
    try:
        number = float(raw)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _as_strings(raw: Any, _providers: Mapping[str, str]) -> list[str]:
    """A list (or JSON list) as strings; a single value as a list of one."""
    decoded = _json_decode(raw)
    items = decoded if isinstance(decoded, list) else [decoded]
    return [str(item) for item in items if item is not None]


def _as_provider(raw: Any, providers: Mapping[str, str]) -> str | None:
    text = str(raw).strip().lower()
    return providers.get(text, text) or None


def _as_text(raw: Any, _providers: Mapping[str, str]) -> str:
    return raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)


def _as_count(raw: Any, _providers: Mapping[str, str]) -> int | None:
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


# target -> how a mapped value becomes that attribute's; other targets take dicts and lists as
# JSON text and anything else as is. Later entries win (none overlap today).
_CONVERTERS: dict[str, Callable[[Any, Mapping[str, str]], Any]] = {
    **dict.fromkeys(_TEXT_TARGETS, _as_text),
    semconv.GEN_AI_PROVIDER_NAME: _as_provider,
    **dict.fromkeys(_STRINGS_TARGETS, _as_strings),
    **dict.fromkeys(_DOUBLE_TARGETS, _as_double),
    **dict.fromkeys(_INT_TARGETS, _as_count),
    **{
        target: functools.partial(_as_messages, role=role)
        for target, role in _MESSAGE_TARGETS.items()
    },
}


def _factory(config: NormalizeConfig) -> NormalizeProcessor:
    return NormalizeProcessor(config)


register_processor("normalize", NormalizeConfig, _factory)
