"""The redaction engine: one :class:`Redactor` for free text, JSON values and span attributes.

Rule order for a key or JSON member (first that applies wins):

1. ``block``: the whole value is replaced (type ``blocked_key``), whatever it holds.
2. ``ignore``: the value passes through unscanned.
3. secret-like key (``password``, ``api_key``, ``authorization``, …) with a literal string
   value: the whole value is replaced (``secret_assignment``, or ``generic_secret`` for a
   high-entropy value under a ``*key``/``auth``/``signature`` name).
4. detectors scan the text; findings that an ``allow`` rule covers are kept as they are.

On an internal error the engine fails closed: the value becomes ``[REDACTED:error]`` (unless
``AGENTTRACE_RAISE_INTERNAL_ERRORS=1``, which the test suite sets, where it raises).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from agenttrace.redaction import _jsonio
from agenttrace.redaction._accel import HyperscanGate, load_gate
from agenttrace.redaction._validators import FILE_EXTENSION_TLDS
from agenttrace.redaction.config import BLOCKED_TYPE, KeyRule, RedactionConfig
from agenttrace.redaction.detectors import (
    DETECTORS,
    GENERIC_SECRET_KEY,
    SECRET_KEY,
    Detector,
    secret_type_for_member,
)
from agenttrace.redaction.summary import RedactionSummary

_redact_emails: (
    Callable[[str, frozenset[str], str, bool], tuple[int, list[str] | None, str, int] | None] | None
)
_json_member_names: Callable[[str], list[str]] | None
try:  # optional C accelerator (setup.py); without it every value takes the general path
    from agenttrace.redaction._emails import json_member_names as _json_member_names
    from agenttrace.redaction._emails import redact_emails as _redact_emails
except ImportError:  # pragma: no cover - built wherever a C compiler is available
    _redact_emails = _json_member_names = None
# The native email redactor's verdict on a JSON-like text it could not certify (_emails.c).
_JSON_UNDECIDED = 2
# How values under a key reach the native email path (Redactor._email_route).
_GENERAL_PATH, _PLAIN_KEY, _JSON_KEY = 0, 1, 2

logger = logging.getLogger("agenttrace.redaction")

ERROR_MARKER = "[REDACTED:error]"
# Nothing shorter can hold a finding (the shortest is an email like a@b.co).
_MIN_FINDING_LENGTH = 6
# A text's shape: every digit as 0, upper-case letter as A, lower-case letter as a.
_SHAPE = bytes.maketrans(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    b"0" * 10 + b"A" * 26 + b"a" * 26,
)
# Beyond this length a JSON path stops growing (adversarially deep documents would otherwise
# cost quadratic time); path rules see the truncated path.
_MAX_PATH_LENGTH = 512
_DECISION_CACHE_SIZE = 4096
# Short texts repeat endlessly (JSON member names, roles, span and tool names): their findings
# under the global allow rules are remembered instead of scanned again.
_SHORT_TEXT_LENGTH = 64
_SHORT_TEXT_CACHE_SIZE = 4096
_JSON_WHITESPACE = " \t\n\r"


class _Drop:
    """Sentinel: the value is removed (drop mode)."""


DROP = _Drop()


class Finding(NamedTuple):
    """One detected value: its type and where it is in the scanned text (no copy of it)."""

    type: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class _Decision:
    action: str  # "block", "ignore" or "scan"
    allows: tuple[KeyRule, ...]


def _raise_internal_errors() -> bool:
    return os.environ.get("AGENTTRACE_RAISE_INTERNAL_ERRORS") == "1"


class Redactor:
    """Detects and replaces secrets and personal data; ``Redactor()`` is the default config."""

    def __init__(self, config: RedactionConfig | None = None) -> None:
        self.config = config if config is not None else RedactionConfig()
        enabled = set(self.config.enabled_detectors)
        self.detectors: tuple[Detector, ...] = tuple(d for d in DETECTORS if d.name in enabled)
        self._priority = {d.name: i for i, d in enumerate(DETECTORS)}
        allow, ignore = self.config.effective_rules()
        self._global_allows = tuple(r for r in allow if not r.has_location)
        self._scoped_allows = tuple(r for r in allow if r.has_location)
        self._ignore = ignore
        self._block = self.config.block
        self._json_keys = frozenset(self.config.json_keys)
        self._scan_decision = _Decision("scan", self._global_allows)
        self._mask_markers = {
            name: f"[REDACTED:{name}]"
            for name in (*(d.name for d in self.detectors), BLOCKED_TYPE)
            if self.config.mode_for(name) == "mask"
        }
        # Rules that name keys only (no paths) decide a JSON member by its name alone.
        self._key_rules_only = all(
            rule.path is None for rule in (*self._block, *self._ignore, *self._scoped_allows)
        )
        self._decisions: dict[tuple[str, str], _Decision] = {}
        self._member_secret_types: dict[str, bool] = {}
        self._plain_names: dict[str, bool] = {}
        self._email_routes: dict[str, int] = {}
        self._short_findings: dict[str, tuple[Finding, ...]] = {}
        self._keywords = tuple(dict.fromkeys(k for d in self.detectors for k in d.keywords))
        self._signatures = tuple(dict.fromkeys(s for d in self.detectors for s in d.signatures))
        self._gate: HyperscanGate | None = None
        self._gate_loaded = not self.config.accelerate
        # The screened set of a value whose only possible findings are emails, when the native
        # email redactor may redact it (emails masked, and no allow rule applies to them: hash
        # and drop modes and allow rules stay with the general path).
        names = [d.name for d in self.detectors]
        self._emails_only: frozenset[int] | None = None
        self._email_marker = self._mask_markers.get("email", "")
        if (
            _redact_emails is not None
            and self.config.accelerate
            and self._email_marker
            and not any(
                rule.types is None or "email" in rule.types
                for rule in (*self._global_allows, *self._scoped_allows)
            )
        ):
            self._emails_only = frozenset({names.index("email")})

    # ----------------------------------------------------------------- public entry points

    def find(self, text: str) -> list[Finding]:
        """Findings in ``text`` after validation, allow rules and merging of overlaps."""
        return self._find(text, self._global_allows)

    def redact_text(self, text: str, summary: RedactionSummary | None = None) -> str:
        """``text`` with every finding replaced (drop mode removes the finding)."""
        if not self.config.enabled:
            return text
        try:
            result = self._redact_string(text, self._scan_decision, summary, None, False, None)
            return result if isinstance(result, str) else ""
        except Exception:
            return self._internal_error("redact_text")

    def redact_json(self, obj: Any, summary: RedactionSummary | None = None) -> Any:
        """A redacted copy of a JSON-like value: every string at any depth, keys by the rules.

        Walks iteratively, so depth is not limited by the recursion limit. A member whose
        value is dropped is removed from its object; a dropped array element becomes null.
        """
        if not self.config.enabled:
            return obj
        try:
            result = self._redact_tree(obj, "", summary, None)
            return None if result is DROP else result
        except Exception:
            return self._internal_error("redact_json")

    def redact_attributes(
        self, attributes: Mapping[str, Any], summary: RedactionSummary | None = None
    ) -> dict[str, Any]:
        """Redacted copy of span (or event, link, resource) attributes.

        Keys go through the rules; string values that carry JSON (``gen_ai.input.messages``
        and the other ``json_keys``, or any value that looks like a JSON object or array) are
        parsed and redacted member by member; string arrays element by element. A value
        with a drop-mode finding is removed.
        """
        if not self.config.enabled:
            return dict(attributes)
        out: dict[str, Any] = {}
        for key, value in attributes.items():
            try:
                result = self._redact_attribute(key, value, summary, None)
            except Exception:
                result = self._internal_error("redact_attributes")
            if result is not DROP:
                out[key] = result
        return out

    def redact_value(
        self,
        key: str,
        value: Any,
        summary: RedactionSummary | None = None,
        *,
        screened: Collection[int] | None = None,
    ) -> Any:
        """One attribute value under ``key``; returns :data:`DROP` when it must be removed.

        ``screened``: the indices (into :attr:`detectors`) of every detector whose
        ``screen_prefilter`` matches somewhere in the value's text (or texts, for a list), from
        a screen the caller already ran (the collector screens whole requests); the engine then
        skips its own gate. JSON text holding escapes is gated as usual: its strings decode to
        other text than the caller screened.
        """
        if not self.config.enabled:
            return value
        try:
            if (
                self._emails_only is not None
                and screened == self._emails_only
                and isinstance(value, str)
            ):
                redacted = self._redact_emails(key, value, summary)
                if redacted is not None:
                    return redacted
            return self._redact_attribute(key, value, summary, screened)
        except Exception:
            return self._internal_error("redact_value")

    def _redact_emails(self, key: str, text: str, summary: RedactionSummary | None) -> str | None:
        """What :meth:`_redact_attribute` returns for ``text``, whose only possible findings
        are emails, found and masked natively; ``None`` where the general path must decide.

        Without backslashes, what the JSON path finds string by string equals what a scan of
        the whole text finds, as no email spans a quote; that holds unless a member name is
        ruled, secret-like or holds a finding (the tree walk then decides), or the text is
        JSON only to the lenient parser (which would format it anew).
        """
        assert _redact_emails is not None  # else no _emails_only
        assert _json_member_names is not None
        route = self._email_routes.get(key)
        if route is None:
            route = self._email_route(key)
            if len(self._email_routes) > _DECISION_CACHE_SIZE:
                self._email_routes.clear()
            self._email_routes[key] = route
        if route == _GENERAL_PATH:
            return None
        result = _redact_emails(text, FILE_EXTENSION_TLDS, self._email_marker, route == _JSON_KEY)
        if result is None:  # a backslash: JSON escapes are the general path's
            return None
        state, names, redacted, findings = result
        if state == _JSON_UNDECIDED:
            if not _jsonio.is_strict_json(text):
                return None
            names = _json_member_names(text)
        if names is not None and not all(map(self._plain_member_name, names)):
            return None
        if findings and summary is not None:
            summary.add("email", key, findings)
        return redacted

    def _email_route(self, key: str) -> int:
        """Whether values under ``key`` may take the native email path, and how it reads them:
        a ruled or secret-like key leaves them to the general path."""
        if self._decide(key, key) is not self._scan_decision or self._is_secret_key(key):
            return _GENERAL_PATH
        return _JSON_KEY if key in self._json_keys else _PLAIN_KEY

    def rules_cover_whole_value(self, key: str) -> bool:
        """True when the key alone can change any value under ``key`` (block, secret-like key).

        Prefilters look at values, not keys: the column path sends such values to the
        precise path whatever they hold.
        """
        return self._decide(key, key).action == "block" or self._is_secret_key(key)

    # ----------------------------------------------------------------- attributes

    def _redact_attribute(
        self,
        key: str,
        value: Any,
        summary: RedactionSummary | None,
        screened: Collection[int] | None,
    ) -> Any:
        decision = self._decide(key, key)
        if decision.action == "block":
            return self._replace_whole(value, BLOCKED_TYPE, summary, key)
        if decision.action == "ignore":
            return value
        if isinstance(value, str):
            if key in self._json_keys or _jsonio.looks_like_json(value):
                return self._redact_json_string(value, key, decision, summary, screened)
            return self._redact_member_string(value, key, decision, summary, key, screened)
        if isinstance(value, (list, tuple)):
            items: list[Any] = []
            for item in value:
                if isinstance(item, str):
                    item = self._redact_member_string(item, key, decision, summary, key, screened)
                    if item is DROP:
                        return DROP
                items.append(item)
            return items if isinstance(value, list) else tuple(items)
        return value

    def _redact_json_string(
        self,
        text: str,
        key: str,
        decision: _Decision,
        summary: RedactionSummary | None,
        screened: Collection[int] | None,
    ) -> Any:
        if not _jsonio.may_be_json(text):  # plain text under a JSON key: a tool's output, say
            return self._redact_string(text, decision, summary, key, True, screened)
        # The splice needs to know only that the text is JSON, not its tree: orjson's check
        # is the cheapest (what it refuses, such as NaN, takes the full parse below).
        if self._key_rules_only and "\\" not in text and _jsonio.is_strict_json(text):
            local = RedactionSummary()
            spliced = self._splice_json(text, key, local, screened)
            if spliced is not None:
                if summary is not None:
                    summary.merge(local)
                return spliced
        try:
            parsed = _jsonio.loads(text)
        except _jsonio.JsonUnsupported:
            return self._redact_string(text, decision, summary, key, True, screened)
        local = RedactionSummary()
        redacted = self._redact_tree(parsed, key, local, key)
        if not local:
            return text  # untouched: keep the producer's exact formatting
        try:
            result = _jsonio.dumps(redacted)
        except _jsonio.JsonUnsupported:
            return self._redact_string(text, decision, summary, key, True, screened)
        if summary is not None:
            summary.merge(local)
        return result

    def _splice_json(
        self,
        text: str,
        key: str,
        summary: RedactionSummary,
        screened: Collection[int] | None,
    ) -> str | None:
        """The tree walk's result for a parsed JSON ``text``, found on the text itself: each
        string value redacted in place, the rest as the producer wrote it. ``None`` when the
        tree walk is needed: a member name a rule or finding applies to, or a value to drop.
        The caller makes sure ``text`` is JSON without escapes (strings would then differ from
        their decoded values) and that only key rules are configured.

        Without escapes every string is ``"[^"]*"``; one followed by a colon is a member name.
        With no name secret-like, ruled or holding a finding, the walk treats every string
        value alike (scanned under the global allow rules, summarised under ``key``), which is
        what happens here, string by string.
        """
        # Every quote delimits a string: odd pieces are the strings, even ones what lies
        # between them (a colon first makes the string before it a member name).
        pieces = text.split('"')
        changed = False
        for index in range(1, len(pieces) - 1, 2):
            value = pieces[index]
            if pieces[index + 1].lstrip(_JSON_WHITESPACE)[:1] == ":":
                if not self._plain_member_name(value):
                    return None
                continue
            if len(value) < _MIN_FINDING_LENGTH:
                continue
            redacted = self._redact_string(value, self._scan_decision, summary, key, True, screened)
            if redacted is DROP:
                return None
            if redacted is not value:
                pieces[index] = redacted
                changed = True
        return '"'.join(pieces) if changed else text

    # ----------------------------------------------------------------- JSON trees

    def _redact_tree(
        self, root: Any, base_path: str, summary: RedactionSummary | None, summary_key: str | None
    ) -> Any:
        if not isinstance(root, (dict, list)):
            if isinstance(root, str):
                return self._redact_member_string(
                    root, "", self._scan_decision, summary, summary_key, None
                )
            return root
        out_root: dict[str, Any] | list[Any] = {} if isinstance(root, dict) else []
        stack: list[tuple[Any, Any, str, str]] = [(root, out_root, base_path, "")]
        while stack:
            src, dst, path, parent_key = stack.pop()
            members: Iterable[tuple[str, Any]]
            if isinstance(src, dict):
                members = ((str(k), v) for k, v in src.items())
            else:
                members = ((parent_key, item) for item in src)
            for key, value in members:
                is_member = isinstance(src, dict)
                if len(path) > _MAX_PATH_LENGTH:
                    child_path = path
                elif is_member:
                    child_path = f"{path}.{key}" if path else key
                else:
                    child_path = f"{path}[*]"
                decision = (
                    self._decide(key, child_path)
                    if is_member
                    else self._decide_list(key, child_path)
                )
                where = summary_key if summary_key is not None else child_path
                if decision.action == "block":
                    new = self._replace_whole(value, BLOCKED_TYPE, summary, where)
                elif decision.action == "ignore":
                    new = value
                elif isinstance(value, (dict, list)):
                    new = {} if isinstance(value, dict) else []
                    stack.append((value, new, child_path, key))
                elif isinstance(value, str):
                    new = self._redact_member_string(value, key, decision, summary, where, None)
                else:
                    new = value
                if is_member:
                    if new is not DROP:
                        dst[self._redact_key(key, dst, summary, where)] = new
                else:
                    dst.append(None if new is DROP else new)
        return out_root

    def _redact_key(
        self, key: str, siblings: Mapping[str, Any], summary: RedactionSummary | None, where: str
    ) -> str:
        if len(key) < _MIN_FINDING_LENGTH:
            return key
        redacted = self._redact_string(key, self._scan_decision, summary, where, False, None)
        new_key = redacted if isinstance(redacted, str) else ""
        if new_key != key:
            base, n = new_key, 2
            while new_key in siblings:  # two keys redacted alike must not overwrite each other
                new_key, n = f"{base}#{n}", n + 1
        return new_key

    # ----------------------------------------------------------------- strings

    def _redact_member_string(
        self,
        value: str,
        key: str,
        decision: _Decision,
        summary: RedactionSummary | None,
        where: str | None,
        screened: Collection[int] | None,
    ) -> Any:
        if key and self._is_secret_key(key):
            secret_type = secret_type_for_member(key, value)
            if secret_type is not None and not self._allowed(decision.allows, secret_type, value):
                return self._replace_whole(value, secret_type, summary, where)
        return self._redact_string(value, decision, summary, where, True, screened)

    def _plain_member_name(self, name: str) -> bool:
        """No rule names it, it is not secret-like, and it holds no finding: the tree walk
        would keep it and scan its value like any other."""
        plain = self._plain_names.get(name)
        if plain is None:
            plain = not (
                self._decide(name, name) is not self._scan_decision
                or self._is_secret_key(name)
                or self._find(name, self._global_allows)
            )
            if len(self._plain_names) > _DECISION_CACHE_SIZE:
                self._plain_names.clear()
            self._plain_names[name] = plain
        return plain

    def _is_secret_key(self, key: str) -> bool:
        cached = self._member_secret_types.get(key)
        if cached is None:
            last = key.rsplit(".", 1)[-1]
            cached = bool(SECRET_KEY.match(last) or GENERIC_SECRET_KEY.match(last))
            if len(self._member_secret_types) > _DECISION_CACHE_SIZE:
                self._member_secret_types.clear()
            self._member_secret_types[key] = cached
        return cached

    def _redact_string(
        self,
        text: str,
        decision: _Decision,
        summary: RedactionSummary | None,
        where: str | None,
        drop_all: bool,
        screened: Collection[int] | None,
    ) -> Any:
        """Replace findings; with ``drop_all`` a drop-mode finding drops the whole value."""
        findings = self._find(text, decision.allows, screened)
        if not findings:
            return text
        pieces: list[str] = []
        last = 0
        for finding in findings:
            original = text[finding.start : finding.end]
            replacement = self._replacement(finding.type, original)
            if summary is not None:
                summary.add(finding.type, where)
            if replacement is None:
                if drop_all:
                    return DROP
                replacement = ""
            pieces.append(text[last : finding.start])
            pieces.append(replacement)
            last = finding.end
        pieces.append(text[last:])
        return "".join(pieces)

    def _replace_whole(
        self, value: Any, finding_type: str, summary: RedactionSummary | None, where: str | None
    ) -> Any:
        if value is None:
            return None
        if summary is not None:
            summary.add(finding_type, where)
        as_text = value if isinstance(value, str) else _jsonio.dumps(value)
        replacement = self._replacement(finding_type, as_text)
        return DROP if replacement is None else replacement

    def _replacement(self, finding_type: str, original: str) -> str | None:
        marker = self._mask_markers.get(finding_type)
        if marker is not None:
            return marker
        mode = self.config.mode_for(finding_type)
        if mode == "mask":
            return f"[REDACTED:{finding_type}]"
        if mode == "drop":
            return None
        key = self.config.hash_key or b""
        data = original.encode("utf-8", "surrogatepass")
        digest = hmac.new(key, data, hashlib.sha256).hexdigest()[: self.config.hash_length]
        return f"[HASH:{finding_type}:{digest}]"

    # ----------------------------------------------------------------- detection

    def _find(
        self, text: str, allows: Sequence[KeyRule], screened: Collection[int] | None = None
    ) -> list[Finding]:
        if len(text) < _MIN_FINDING_LENGTH:
            return []
        if len(text) > _SHORT_TEXT_LENGTH or allows is not self._global_allows:
            return self._scan(text, allows, screened)
        cached = self._short_findings.get(text)
        if cached is None:
            cached = tuple(self._scan(text, allows, screened))
            if len(self._short_findings) >= _SHORT_TEXT_CACHE_SIZE:
                self._short_findings.clear()
            self._short_findings[text] = cached
        return list(cached)

    def _scan(
        self, text: str, allows: Sequence[KeyRule], screened: Collection[int] | None
    ) -> list[Finding]:
        passed: Collection[int] | None = screened
        if passed is None:
            gate = self._load_gate()  # even for short strings one scan beats the keyword checks
            passed = gate(text) if gate is not None else None
        if passed is not None and not passed:
            return []
        lowered: str | None = None
        candidates: Iterable[Detector]
        if passed is None:
            # Each keyword and signature is searched once, whatever shares it.
            lowered = text.lower()
            keywords = {k for k in self._keywords if k in lowered}
            shape = text.encode("utf-8", "surrogatepass").translate(_SHAPE)
            signatures = {s for s in self._signatures if s in shape}
            candidates = (d for d in self.detectors if _may_match(d, text, keywords, signatures))
        elif len(passed) == 1:  # the common case: one detector's screen matched
            candidates = (self.detectors[next(iter(passed))],)
        else:
            candidates = [self.detectors[index] for index in passed]
        raw: list[tuple[int, int, int, str]] = []
        # _merge sorts the findings, so the order detectors run in does not matter.
        for detector in candidates:
            if detector.anchor == "scan":
                keyword_text = lowered
            elif detector.caseless_keywords:  # "@", "://": found as well in the text itself
                keyword_text = text
            else:
                keyword_text = lowered = text.lower() if lowered is None else lowered
            for match in _matches(detector, text, keyword_text):
                if not detector.starts_token(text, match.start()):
                    continue
                if detector.validator is not None and not detector.validator(match):
                    continue
                start, end = detector.span(match)
                if allows and self._allowed(allows, detector.name, text[start:end]):
                    continue
                raw.append((start, end, self._priority[detector.name], detector.name))
        return _merge(raw)

    def warm_up(self) -> None:
        """Compile the optional Hyperscan gate now instead of in the background."""
        if not self._gate_loaded:
            self._gate_loaded = True
            self._compile_gate()

    def _load_gate(self) -> HyperscanGate | None:
        # Compiling takes a fraction of a second: do it off the caller's thread, and use the
        # keyword gating (same results, slower) until it is ready.
        if not self._gate_loaded:
            self._gate_loaded = True
            threading.Thread(
                target=self._compile_gate, name="agenttrace-redaction-gate", daemon=True
            ).start()
        return self._gate

    def _compile_gate(self) -> None:
        try:
            self._gate = load_gate(self.detectors)
        except Exception:
            logger.exception("agenttrace redaction: Hyperscan gate unavailable, using re only")

    @staticmethod
    def _allowed(allows: Sequence[KeyRule], finding_type: str, value: str) -> bool:
        return any(rule.allows(finding_type, value) for rule in allows)

    def _decide(self, key: str, path: str) -> _Decision:
        cache_key = (key, path)
        decision = self._decisions.get(cache_key)
        if decision is None:
            if any(rule.matches_location(key, path) for rule in self._block):
                decision = _Decision("block", ())
            elif any(rule.matches_location(key, path) for rule in self._ignore):
                decision = _Decision("ignore", ())
            else:
                scoped = tuple(r for r in self._scoped_allows if r.matches_location(key, path))
                decision = (
                    _Decision("scan", self._global_allows + scoped)
                    if scoped
                    else self._scan_decision
                )
            if len(self._decisions) > _DECISION_CACHE_SIZE:
                self._decisions.clear()
            self._decisions[cache_key] = decision
        return decision

    def _decide_list(self, parent_key: str, path: str) -> _Decision:
        # Array elements inherit the key of the member holding the array; block and ignore
        # rules already applied to that member, so only allow rules matter here.
        decision = self._decide(parent_key, path)
        return self._scan_decision if decision.action != "scan" else decision

    def _internal_error(self, where: str) -> str:
        if _raise_internal_errors():
            raise
        # Never log the value: it is exactly what must not leak.
        logger.exception("agenttrace redaction failed in %s; value replaced", where)
        return ERROR_MARKER


def _may_match(detector: Detector, text: str, keywords: set[str], signatures: set[bytes]) -> bool:
    """Cheap checks that every text with a finding of the detector passes."""
    if not (detector.keywords or detector.signatures or detector.precheck):
        return True
    if not keywords.isdisjoint(detector.keywords):
        return True
    if not signatures.isdisjoint(detector.signatures):
        return True
    return detector.precheck is not None and detector.precheck.search(text) is not None


def _matches(detector: Detector, text: str, lowered: str | None) -> list[re.Match[str]]:
    """Matches of the detector's patterns, found the cheapest way its ``anchor`` allows.

    Lists rather than generators: most texts that reach here hold one match, and a list
    costs less than creating and resuming two nested generators.
    """
    # lower() can change the length of some non-ASCII text; offsets then do not line up.
    if detector.anchor == "scan" or lowered is None or len(lowered) != len(text):
        return [match for pattern in detector.patterns for match in pattern.finditer(text)]
    found: list[re.Match[str]] = []
    before, after = detector.window
    seen: set[tuple[int, int]] = set()
    for keyword in detector.keywords:
        pos = lowered.find(keyword)
        while pos != -1:
            for pattern in detector.patterns:
                if detector.anchor == "keyword":
                    match = pattern.match(text, pos)
                    if match is not None:
                        found.append(match)
                    continue
                end = pos + len(keyword) + after
                for match in _window_matches(detector, pattern, text, lowered, pos - before, end):
                    span = match.span()
                    if span not in seen:
                        seen.add(span)
                        found.append(match)
            pos = lowered.find(keyword, pos + 1)
    return found


def _window_matches(
    detector: Detector, pattern: re.Pattern[str], text: str, lowered: str, start: int, end: int
) -> list[re.Match[str]]:
    """The matches of ``pattern.finditer(text, max(0, start), end)``, without trying every
    position of the window.

    Every match of a window detector holds one of its keywords at most ``window[0]``
    characters after the match's start (the contract that makes the window search complete),
    so no match starts before the next keyword occurrence minus that distance, and none is
    left once no keyword occurrence remains. Same ``end``, so lookaheads at the window's edge
    see what they saw before. Window patterns never match the empty string. No match starts at
    or before a ``window_stops`` character ahead of that keyword occurrence either (the search
    still sees the characters before its start, for lookbehinds and ``\\b``).
    """
    before = detector.window[0]
    keywords = detector.keywords
    found: list[re.Match[str]] = []
    pos = max(0, start)
    while True:
        if len(keywords) == 1:
            nearest = lowered.find(keywords[0], pos, end)
        else:
            nearest = -1
            for keyword in keywords:
                at = lowered.find(keyword, pos, end)
                if at != -1 and (nearest == -1 or at < nearest):
                    nearest = at
        if nearest == -1:
            return found
        first = max(pos, nearest - before)
        for stop in detector.window_stops:
            first = max(first, text.rfind(stop, first, nearest) + 1)
        match = pattern.search(text, first, end)
        if match is None:
            return found
        found.append(match)
        pos = match.end()


def _merge(raw: list[tuple[int, int, int, str]]) -> list[Finding]:
    """Merge overlapping findings so no part of either survives; the higher priority names it."""
    if len(raw) < 2:
        return [Finding(name, start, end) for start, end, _, name in raw]
    raw.sort()
    merged: list[Finding] = []
    start, end, priority, name = raw[0]
    for s, e, p, n in raw[1:]:
        if s < end:
            end = max(end, e)
            if p < priority:
                priority, name = p, n
        else:
            merged.append(Finding(name, start, end))
            start, end, priority, name = s, e, p, n
    merged.append(Finding(name, start, end))
    return merged
