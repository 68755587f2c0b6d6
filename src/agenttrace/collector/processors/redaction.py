"""``redaction``: run the redaction engine over every place a secret can hide in a batch.

Covered: the span name, span attributes, event names and attributes, link attributes, the
status message, the ``trace_state`` of spans and links, resource attributes, and the
instrumentation scope's name, version and attributes. Message-carrying attributes are redacted
member by member as JSON (the engine's ``json_keys``). A span that had anything redacted gets
the summary attributes ``agenttrace.redaction.count``/``.types``/``.keys`` (counts and keys,
never values); resource findings are summarised on the resource itself and scope findings on
the scope itself (shared by many spans, they would otherwise be counted once per span).

Bytes values (``bytes_value``, at any depth) are scanned as text: UTF-8 when they decode as
UTF-8, latin-1 (one character per byte) otherwise; a changed value stays bytes, encoded back
the same way, so only the redacted ranges differ. A ``trace_state`` is redacted member by
member: each value as an attribute value under its member key, so the list stays valid.

The processor's section is the same block ``agenttrace redact --config`` reads under
``redaction:`` (``mode``, ``detectors``, ``allow``, ``block``, ``ignore``, ``json_keys``, ...),
or ``config_file: path`` naming a file that command reads.

Speed: most values hold nothing sensitive. The request's serialized bytes first pass one
Hyperscan screen built from the detectors' screen prefilters and the secret key names; only the
spans, resources and scopes holding a match are taken apart. Bytes values and trace states sit
verbatim in those bytes, and the detectors' ASCII classes see a byte exactly as its latin-1
character, so the screen covers them too. Inside a matched span only the parts a match lies in
(an attribute, an event's name, a link's trace state, ...) go to the engine, located through
the span's wire layout, each with the detectors whose screens matched inside it (the engine's
own gate would find the same ones again). The summary attributes are appended without a search
unless the owner already carries some. A span whose matches all lie in string attributes (the
common case) never becomes a message: each such value is redacted from the received bytes,
only the changed stretch of its text and the lengths in front of it are replaced, and the
request's message is left behind (:data:`~agenttrace.collector.processors.base.STALE`). Other
spans, resources and scopes are taken apart and serialized again. Either way only what changed
is spliced into the request's bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agenttrace.collector._layout import (
    END,
    KIND,
    RECORD_FIELDS,
    RESOURCE,
    SCOPE,
    SLOT_ATTRIBUTE,
    SLOT_EVENT_ATTRIBUTE,
    SLOT_EVENT_NAME,
    SLOT_FIELDS,
    SLOT_LINK_ATTRIBUTE,
    SLOT_LINK_TRACE_STATE,
    SLOT_NAME,
    SLOT_STATUS,
    SLOT_TRACE_STATE,
    SPAN,
    START,
    Edits,
    EncodedRequest,
    Place,
    apply_edits,
    encode_varint,
    matched_slots,
    string_places,
    string_value_edits,
)
from agenttrace.collector.errors import ConfigError
from agenttrace.collector.processors._otlp import AttrValue, set_value, to_python
from agenttrace.collector.processors._screen import ByteScreen
from agenttrace.collector.processors.base import (
    STALE,
    ExportTraceServiceRequest,
    as_message,
    register_processor,
)
from agenttrace.redaction import (
    DROP,
    RedactionConfig,
    RedactionConfigError,
    RedactionSummary,
    Redactor,
)
from agenttrace.redaction.detectors import (
    GENERIC_SECRET_KEY,
    JSON_ESCAPE_PREFILTER,
    SECRET_KEY,
)

# Secret-like member names the detectors' own patterns do not spell out.
_EXTRA_KEY_WORDS = ("cookie",)
# The key rules fold case the Unicode way, where these four letters match ASCII ones (the
# Kelvin sign matches "k"); the screen's ASCII case-insensitivity does not see them.
_ASCII_FOLDING_LETTERS = "\u0130\u0131\u017f\u212a"
_KEY_CACHE_SIZE = 8192
_SUMMARY_PREFIX = "agenttrace.redaction."
_SUMMARY_MARK = _SUMMARY_PREFIX.encode()


@dataclass(frozen=True)
class RedactionProcessorConfig:
    """The ``redaction`` block, parsed by the engine's own :class:`RedactionConfig`."""

    redaction: RedactionConfig

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RedactionProcessorConfig:
        block = {k: v for k, v in data.items() if k not in ("type", "name")}
        if "config_file" in block:
            return cls._from_file(block)
        try:
            return cls(RedactionConfig.from_dict(block))
        except RedactionConfigError as err:
            raise _config_error(err) from err

    @classmethod
    def _from_file(cls, block: Mapping[str, Any]) -> RedactionProcessorConfig:
        """``config_file``: the file ``agenttrace redact --config`` reads, shared as is."""
        from agenttrace.redaction.config_file import load_config

        path = block["config_file"]
        if not isinstance(path, str) or not path:
            raise ConfigError("config_file", "must be a path to a YAML file")
        others = sorted(set(block) - {"config_file"})
        if others:
            raise ConfigError(others[0], "give either config_file or inline keys, not both")
        try:
            return cls(load_config(path))
        except RedactionConfigError as err:
            raise ConfigError("config_file", "; ".join(err.errors)) from err

    def validate(self) -> None:
        try:
            self.redaction.validate()
        except RedactionConfigError as err:
            raise _config_error(err) from err


def _config_error(err: RedactionConfigError) -> ConfigError:
    """The engine names keys as ``redaction.<key>: message``; report the first, relative."""
    first = err.errors[0] if err.errors else str(err)
    key_path, _, message = first.partition(": ")
    if len(err.errors) > 1:
        message += f" (and {len(err.errors) - 1} more: {'; '.join(err.errors[1:])})"
    return ConfigError(key_path.removeprefix("redaction.") or "redaction", message or first)


def screen_patterns(redactor: Redactor) -> list[bytes]:
    """What makes a serialized span worth a closer look: any detector's screen prefilter (in
    the engine's detector order, first), a JSON escape that could hide one, a letter that case
    folding turns into ASCII, or a key that marks its value as secret by name.

    With block rules configured there is no screen: a rule can name any key.
    """
    patterns = [d.screen_prefilter.encode() for d in redactor.detectors]
    patterns.append(JSON_ESCAPE_PREFILTER.encode())
    patterns.append(b"(?i)(?:" + "|".join(_EXTRA_KEY_WORDS).encode() + b")")
    patterns.append(b"|".join(re.escape(c.encode()) for c in _ASCII_FOLDING_LETTERS))
    for key_regex in (SECRET_KEY, GENERIC_SECRET_KEY):
        patterns.append(_key_suffix(key_regex.pattern))
    return patterns


def _key_suffix(pattern: str) -> bytes:
    """A key regex ``(?i)^[\\w.-]*?(?:words)$`` as "one of the words, then the value tag"
    (0x12 follows the key inside an OTLP ``KeyValue``)."""
    start, end = pattern.find("(?:"), pattern.rfind(")$")
    if start == -1 or end == -1:  # an unexpected shape: screen on the bare words instead
        return pattern.encode().replace(b"^", b"").replace(b"$", b"")
    return b"(?i)" + pattern[start : end + 1].encode() + b"\x12"


# One string place to redact and write back: kind ("attr", "text" or "trace_state"), the
# holder (attributes, span, event, link, status or scope), the KeyValue for "attr" or else the
# holder's field, where it is named in the summary (for "attr" the prefix of the key), the
# index of the owner whose summary records the findings, and the detectors whose screens
# matched inside it (``None``: let the engine's gate decide). A plain tuple: a matched span
# yields a dozen of them.
_Slot = tuple[str, Any, Any, str, int, "frozenset[int] | None"]


class _Batch:
    """The string places of a request to redact, with the units (spans, resources and scopes)
    that own them."""

    def __init__(self) -> None:
        self.slots: list[_Slot] = []
        self.units: list[int] = []  # the owner's index in the request's layout
        self.messages: list[Any] = []  # the owner's message, serialized again if changed
        self.summaries: list[RedactionSummary] = []
        self.is_span: list[bool] = []
        # Whether the owner already carries summary attributes (from an earlier redaction),
        # which the new summary replaces in place; otherwise it is simply appended.
        self.summarized: list[bool] = []
        self.changed: list[bool] = []  # a value changed, if without a finding

    def add_owner(self, unit: int, message: Any, *, is_span: bool) -> int:
        self.units.append(unit)
        self.messages.append(message)
        self.summaries.append(RedactionSummary())
        self.is_span.append(is_span)
        self.summarized.append(False)
        self.changed.append(False)
        return len(self.messages) - 1

    def add_field(self, kind: str, holder: Any, field: str, where: str, owner: int) -> None:
        """A string field of a message: ``kind`` "text" (free text) or "trace_state"."""
        self.slots.append((kind, holder, field, where, owner, None))


class RedactionProcessor:
    """Redacts a batch in place with one :class:`Redactor`."""

    mutates = True
    handles_stale = True

    def __init__(self, config: RedactionProcessorConfig) -> None:
        self.name = "redaction"
        self._redactor = Redactor(config.redaction)
        self._enabled = config.redaction.enabled
        # The screen's first patterns are the detectors', in the engine's order.
        self._detector_count = len(self._redactor.detectors)
        self.byte_screen = ByteScreen(
            [] if config.redaction.block else screen_patterns(self._redactor)
        )
        self._forced_keys: dict[str, bool] = {}
        self._summary_cache: dict[tuple[Any, ...], bytes] = {}
        self._screened_masks: dict[int, frozenset[int] | None] = {}
        self._counters = {"spans_redacted": 0, "findings": 0, "values_dropped": 0, "candidates": 0}

    def process(self, request: ExportTraceServiceRequest) -> ExportTraceServiceRequest | None:
        result, encoded = self.process_encoded(request, EncodedRequest(request.SerializeToString()))
        if result is STALE and encoded is not None:
            request.ParseFromString(encoded.data)  # redacted in place, as ``process`` promises
        return request

    def process_encoded(
        self, request: ExportTraceServiceRequest, encoded: EncodedRequest
    ) -> tuple[ExportTraceServiceRequest, EncodedRequest | None]:
        if not self._enabled:
            return request, encoded
        batch = _Batch()
        contents: dict[int, bytes] = {}  # units taken apart: their new bytes
        edited_in_bytes: dict[int, Edits] = {}  # spans whose messages were left behind
        layout = encoded.layout
        data = encoded.data
        for index, hits in self.byte_screen.units(encoded).items():
            record = layout.unit(index)
            kind, r, s, i = record[:4]
            if kind == SPAN and hits:  # the common case: no message touched unless needed
                start, end = record[START], record[END]
                places = string_places(data, start, end, hits, _SUMMARY_MARK)
                if places is None:
                    slots, matched = matched_slots(data, start, end, hits)
                    if matched:
                        request = as_message(request, encoded)
                        span = request.resource_spans[r].scope_spans[s].spans[i]
                        self._gather_matched(index, span, encoded, record, slots, matched, batch)
                elif places and (edits := self._redact_places(data, end, places)):
                    edited_in_bytes[index] = edits
                continue
            request = as_message(request, encoded)
            resource_spans = request.resource_spans[r]
            if kind == RESOURCE:
                resource = resource_spans.resource
                owner = batch.add_owner(index, resource, is_span=False)
                self._gather_attributes(resource.attributes, "resource.", owner, batch, own=True)
            elif kind == SCOPE:
                self._gather_scope(index, resource_spans.scope_spans[s].scope, batch)
            else:  # no screen (block rules can name any key): every part of every span
                self._gather_span(index, resource_spans.scope_spans[s].spans[i], batch)
        self._counters["candidates"] += len(batch.slots)
        for slot in batch.slots:
            if self._redact_slot(slot, batch.summaries[slot[4]]):
                batch.changed[slot[4]] = True
        records = layout.records
        for unit, message, summary, is_span, summarized, changed in zip(
            batch.units,
            batch.messages,
            batch.summaries,
            batch.is_span,
            batch.summarized,
            batch.changed,
            strict=True,
        ):
            if not summary:
                if changed:
                    contents[unit] = message.SerializeToString()
                continue
            self._counters["spans_redacted"] += is_span
            if summarized:
                _write_summary(message.attributes, summary)
                contents[unit] = message.SerializeToString()
            else:
                # Appended as encoded attributes: a repeated field's entries may come last.
                kind = records[unit * RECORD_FIELDS + KIND]
                appended = self._encoded_summary(summary, kind)
                contents[unit] = message.SerializeToString() + appended
                message.MergeFromString(appended)
        if not contents and not edited_in_bytes:
            return request, encoded
        spliced = encoded.with_units({**contents, **edited_in_bytes})
        if not edited_in_bytes:
            return request, spliced
        if spliced is not None:
            return STALE, spliced
        # A resource or scope that occurs twice cannot be spliced: the message is serialized,
        # so it must hold every change.
        request = as_message(request, encoded)
        for index, edits in edited_in_bytes.items():
            record = layout.unit(index)
            _, r, s, i = record[:4]
            start = record[START]
            in_span = [(a - start, b - start, new) for a, b, new in edits]
            span_bytes = apply_edits(data[start : record[END]], in_span)
            request.resource_spans[r].scope_spans[s].spans[i].ParseFromString(span_bytes)
        return request, None

    def _gather_scope(self, unit: int, scope: Any, batch: _Batch) -> None:
        owner = batch.add_owner(unit, scope, is_span=False)
        batch.add_field("text", scope, "name", "scope.name", owner)
        if scope.version:
            batch.add_field("text", scope, "version", "scope.version", owner)
        self._gather_attributes(scope.attributes, "scope.", owner, batch, own=True)

    def _gather_span(self, unit: int, span: Any, batch: _Batch) -> None:
        owner = batch.add_owner(unit, span, is_span=True)
        batch.add_field("text", span, "name", "name", owner)
        if span.trace_state:
            batch.add_field("trace_state", span, "trace_state", "trace_state", owner)
        status = span.status
        if status.message:
            batch.add_field("text", status, "message", "status.message", owner)
        self._gather_attributes(span.attributes, "", owner, batch, own=True)
        for index, event in enumerate(span.events):
            batch.add_field("text", event, "name", f"events[{index}].name", owner)
            self._gather_attributes(event.attributes, f"events[{index}].", owner, batch)
        for index, link in enumerate(span.links):
            if link.trace_state:
                where = f"links[{index}].trace_state"
                batch.add_field("trace_state", link, "trace_state", where, owner)
            self._gather_attributes(link.attributes, f"links[{index}].", owner, batch)

    def _gather_attributes(
        self, attributes: Any, prefix: str, owner: int, batch: _Batch, *, own: bool = False
    ) -> None:
        """``own``: these are the attributes the owner's summary is written to."""
        for kv in attributes:
            if own and kv.key.startswith(_SUMMARY_PREFIX):
                batch.summarized[owner] = True
            self._gather_attribute(attributes, kv, prefix, owner, batch)

    def _gather_attribute(
        self,
        attributes: Any,
        kv: Any,
        prefix: str,
        owner: int,
        batch: _Batch,
        screened: frozenset[int] | None = None,
    ) -> None:
        which = kv.value.WhichOneof("value")
        # A number or a boolean holds no text to find; only a rule on its key (block) changes
        # it, into the marker string.
        if which in _TEXTUAL or (which is not None and self._key_forces_precise(kv.key)):
            batch.slots.append(("attr", attributes, kv, prefix, owner, screened))

    def _redact_places(self, data: bytes, span_end: int, places: list[Place]) -> Edits:
        """Edits of ``data`` that redact a span's matched string attributes in its received
        bytes (no message to walk and serialize again): only the changed stretch of each text
        and the lengths in front of it are replaced, and the summary is appended at the span's
        end. Empty when nothing changed."""
        self._counters["candidates"] += len(places)
        summary = RedactionSummary()
        edits: Edits = []
        redact_value = self._redactor.redact_value
        for tag_at, content_end, key_start, key_end, text_start, text_end, patterns in places:
            old = data[text_start:text_end].decode()
            # Every finding of one value is summarised under its key.
            redacted = redact_value(
                data[key_start:key_end].decode(),
                old,
                summary,
                screened=self._screened_of(patterns),
            )
            if redacted is old:  # the usual way of saying "unchanged"
                continue
            if redacted is DROP:
                self._counters["values_dropped"] += 1
                edits.append((tag_at, content_end, b""))
                continue
            new = redacted.encode()
            if new == data[text_start:text_end]:
                continue
            edits += string_value_edits(
                data, tag_at, (key_start, key_end, text_start, text_end), new
            )
        if summary:
            self._counters["findings"] += summary.count
            self._counters["spans_redacted"] += 1
            edits.append((span_end, span_end, self._encoded_summary(summary, SPAN)))
        return edits

    def _screened(self, patterns: set[int]) -> frozenset[int] | None:
        """The detectors whose screens matched, or ``None`` (the engine's own gate decides)
        when a key word or an escape matched."""
        return frozenset(patterns) if max(patterns) < self._detector_count else None

    def _screened_of(self, mask: int) -> frozenset[int] | None:
        """:meth:`_screened` of the patterns whose bits ``mask`` sets."""
        try:
            return self._screened_masks[mask]
        except KeyError:
            patterns = {bit for bit in range(mask.bit_length()) if mask >> bit & 1}
            screened = self._screened_masks[mask] = self._screened(patterns)
            return screened

    def _gather_matched(
        self,
        unit: int,
        span: Any,
        encoded: EncodedRequest,
        record: Any,
        slots: Sequence[int],
        matched: Mapping[int, set[int]],
        batch: _Batch,
    ) -> None:
        """Only the parts of ``span`` the byte screen matched inside (its name, an attribute,
        an event's name, ...), from :func:`~agenttrace.collector._layout.matched_slots`."""
        owner = batch.add_owner(unit, span, is_span=True)
        # Summary keys from an earlier redaction would be in the span's bytes.
        batch.summarized[owner] = encoded.data.find(_SUMMARY_MARK, record[START], record[END]) != -1
        for slot, patterns in sorted(matched.items()):
            screened = self._screened(patterns)
            kind, index, within = slots[slot * SLOT_FIELDS : slot * SLOT_FIELDS + 3]
            if kind == SLOT_NAME:
                batch.add_field("text", span, "name", "name", owner)
            elif kind == SLOT_TRACE_STATE:
                batch.add_field("trace_state", span, "trace_state", "trace_state", owner)
            elif kind == SLOT_STATUS:
                if span.status.message:
                    batch.add_field("text", span.status, "message", "status.message", owner)
            elif kind == SLOT_ATTRIBUTE:
                attributes = span.attributes
                self._gather_attribute(attributes, attributes[index], "", owner, batch, screened)
            elif kind == SLOT_EVENT_NAME:
                event = span.events[index]
                batch.add_field("text", event, "name", f"events[{index}].name", owner)
            elif kind == SLOT_EVENT_ATTRIBUTE:
                attributes = span.events[index].attributes
                prefix = f"events[{index}]."
                kv = attributes[within]
                self._gather_attribute(attributes, kv, prefix, owner, batch, screened)
            elif kind == SLOT_LINK_TRACE_STATE:
                link = span.links[index]
                where = f"links[{index}].trace_state"
                batch.add_field("trace_state", link, "trace_state", where, owner)
            elif kind == SLOT_LINK_ATTRIBUTE:
                attributes = span.links[index].attributes
                prefix = f"links[{index}]."
                kv = attributes[within]
                self._gather_attribute(attributes, kv, prefix, owner, batch, screened)

    def _encoded_summary(self, summary: RedactionSummary, kind: int) -> bytes:
        """The summary attributes as encoded ``attributes`` entries of a unit of ``kind``;
        most spans of a batch share a few summaries, so each is encoded once."""
        cache_key = (kind, *summary.counts.items(), *summary.keys)
        encoded = self._summary_cache.get(cache_key)
        if encoded is None:
            encoded = _encoded_attributes(summary.to_attributes(), _ATTRIBUTES_TAG[kind])
            if len(self._summary_cache) >= _KEY_CACHE_SIZE:
                self._summary_cache.clear()
            self._summary_cache[cache_key] = encoded
        return encoded

    def _key_forces_precise(self, key: str) -> bool:
        """Whether the key alone can make a value secret (secret-like name or a block rule)."""
        forced = self._forced_keys.get(key)
        if forced is None:
            forced = self._redactor.rules_cover_whole_value(key)
            if len(self._forced_keys) > _KEY_CACHE_SIZE:
                self._forced_keys.clear()
            self._forced_keys[key] = forced
        return forced

    # ------------------------------------------------------------------ precise path

    def _redact_slot(self, slot: _Slot, summary: RedactionSummary) -> bool:
        """Redact one place; returns whether it changed (an internal error's marker changes a
        value without a finding)."""
        kind, holder, kv_or_field, where, _, screened = slot
        local = RedactionSummary()
        if kind == "text":  # a name, a version or the status message
            text: str = getattr(holder, kv_or_field)
            redacted = self._redactor.redact_text(text, local)
            changed = redacted != text
            setattr(holder, kv_or_field, redacted)
        elif kind == "trace_state":
            original = holder.trace_state
            holder.trace_state = self._redact_trace_state(original, local)
            changed = bool(holder.trace_state != original)
        else:
            where += kv_or_field.key
            changed = self._redact_attribute(holder, kv_or_field, local, screened)
        if local:
            self._counters["findings"] += local.count
            local.keys = {where: None}
            summary.merge(local)
        return changed

    def _redact_attribute(
        self,
        attributes: Any,
        kv: Any,
        local: RedactionSummary,
        screened: frozenset[int] | None,
    ) -> bool:
        original = to_python(kv.value)
        redacted = self._redacted_value(kv.key, original, local, screened)
        if redacted is DROP:
            _remove(attributes, kv)
            self._counters["values_dropped"] += 1
            return True
        if redacted != original:
            kv.value.Clear()
            set_value(kv.value, redacted)
            return True
        return False

    def _redacted_value(
        self,
        key: str,
        original: AttrValue,
        local: RedactionSummary,
        screened: frozenset[int] | None,
    ) -> Any:
        if isinstance(original, str):  # most values: no bytes to decode, nothing nested
            return self._redactor.redact_value(key, original, local, screened=screened)
        scannable = _scannable(original)
        if _is_nested(scannable):
            # Walked as JSON under the attribute's key, as a JSON string attribute is: key and
            # path rules (``block: [my.map]``, ``{path: my.map.ssn}``) reach inside.
            redacted = _member_value(self._redactor.redact_json({key: scannable}, local))
        else:
            redacted = self._redactor.redact_value(key, scannable, local, screened=screened)
        return redacted if redacted is DROP else _restore_bytes(original, redacted)

    def _redact_trace_state(self, trace_state: str, local: RedactionSummary) -> str:
        """A W3C ``tracestate`` (``key=value`` members joined by commas), still a valid list:
        each value is redacted as an attribute value under its member key (markers hold no
        comma or equals sign), a member whose value is dropped is removed. Then the whole list
        is scanned as text, which also covers anything that is not a ``key=value`` member."""
        members = []
        for member in trace_state.split(","):
            key, equals, value = member.partition("=")
            if not equals:
                members.append(member)
                continue
            text = value.rstrip(" \t")  # the list's optional whitespace is no part of it
            redacted = self._redactor.redact_value(key.strip(), text, local)
            if redacted is DROP:
                continue
            if redacted != text:
                member = f"{key}={redacted}{value[len(text) :]}"
            members.append(member)
        # Also, a value holding commas (which W3C forbids) could split a secret between members.
        return self._redactor.redact_text(",".join(members), local)

    def metrics(self) -> Mapping[str, float]:
        return dict(self._counters)

    def shutdown(self) -> None:
        return None


# Values that hold text (at some depth) for the engine to scan.
_TEXTUAL = frozenset({"string_value", "array_value", "kvlist_value", "bytes_value"})


def _is_nested(value: AttrValue) -> bool:
    """A map, or an array holding a map or an array (``redact_value`` sees only flat ones)."""
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value)


def _member_value(wrapped: Any) -> Any:
    """The value of ``redact_json({key: value})``: DROP when the member was dropped (its key
    may have been redacted, so it is read by position); the error marker as it is."""
    if isinstance(wrapped, dict):
        return next(iter(wrapped.values()), DROP)
    return wrapped


def _bytes_text(data: bytes) -> tuple[str, str]:
    """Bytes as text to scan, and the encoding that gives them back: UTF-8 when they are
    UTF-8, else latin-1, which maps every byte to one character (so ASCII secrets inside
    binary data are still found, at the same offsets)."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _scannable(value: AttrValue) -> AttrValue:
    """``value`` with every bytes leaf as its text (see :func:`_bytes_text`)."""
    if isinstance(value, bytes):
        return _bytes_text(value)[0]
    if isinstance(value, list):
        return [_scannable(item) for item in value]
    if isinstance(value, dict):
        return {key: _scannable(item) for key, item in value.items()}
    return value


def _restore_bytes(original: AttrValue, redacted: AttrValue) -> AttrValue:
    """The engine's result with bytes again wherever ``original`` had bytes: untouched ones
    as they were, changed ones encoded back like they were decoded.

    A kvlist member whose key itself was redacted keeps the engine's string.
    """
    if isinstance(original, bytes):
        if not isinstance(redacted, str):
            return redacted
        text, encoding = _bytes_text(original)
        # Markers are ASCII; a character that latin-1 cannot hold can only come from a JSON
        # escape the engine decoded, and backslashreplace writes that escape back.
        return original if redacted == text else redacted.encode(encoding, "backslashreplace")
    if isinstance(original, list) and isinstance(redacted, list) and len(original) == len(redacted):
        return [_restore_bytes(o, r) for o, r in zip(original, redacted, strict=True)]
    if isinstance(original, dict) and isinstance(redacted, dict):
        return {
            key: _restore_bytes(original[key], item) if key in original else item
            for key, item in redacted.items()
        }
    return redacted


def _remove(attributes: Any, kv: Any) -> None:
    """Delete ``kv`` from its repeated field (the runtime hands out one wrapper per element)."""
    for index, candidate in enumerate(attributes):
        if candidate is kv:
            del attributes[index]
            return


def _write_summary(attributes: Any, summary: RedactionSummary) -> None:
    """The summary attributes, overwriting earlier ones in place."""
    values = summary.to_attributes()
    for kv in attributes:
        value = values.pop(kv.key, None)
        if value is not None:
            kv.value.Clear()
            set_value(kv.value, value)
    for key, value in values.items():
        set_value(attributes.add(key=key).value, value)


# The ``attributes`` field's tag (wire type 2) in a Resource, an InstrumentationScope, a Span.
_ATTRIBUTES_TAG = {RESOURCE: b"\x0a", SCOPE: b"\x1a", SPAN: b"\x4a"}


def _encoded_attributes(values: Mapping[str, int | list[str]], tag: bytes) -> bytes:
    """Summary attributes as ``attributes`` field entries: ``KeyValue{key, AnyValue}`` with an
    ``int_value`` or an ``array_value`` of ``string_value``s."""
    out = []
    for key, value in values.items():
        if isinstance(value, int):
            any_value = b"\x18" + encode_varint(value)
        else:
            texts = (_delimited(b"\x0a", _delimited(b"\x0a", text.encode())) for text in value)
            any_value = _delimited(b"\x2a", b"".join(texts))
        out.append(
            _delimited(tag, _delimited(b"\x0a", key.encode()) + _delimited(b"\x12", any_value))
        )
    return b"".join(out)


def _delimited(tag: bytes, payload: bytes) -> bytes:
    return tag + encode_varint(len(payload)) + payload


def _factory(config: RedactionProcessorConfig) -> RedactionProcessor:
    return RedactionProcessor(config)


register_processor("redaction", RedactionProcessorConfig, _factory)
