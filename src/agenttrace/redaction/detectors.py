"""The detectors: what each finds, how it is validated, and what gates it.

A detector runs its patterns on a text only if its ``prefilter`` matched (one Hyperscan scan
decides for all detectors, when Hyperscan is installed) or, without Hyperscan, if one of its
keywords is in the lower-cased text or one of its signatures in the text's shape. Every
pattern replaces one group (or the whole match): ``Bearer <token>`` keeps the scheme,
``user:pass@host`` keeps the host, ``password = "..."`` keeps the key.

``prefilter`` is a loose, lookaround-free version of the patterns that Hyperscan and RE2
accept; it matches a superset of the detector's findings, so a value it does not match can
skip the Python path entirely (see :mod:`agenttrace.redaction.columnar`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from agenttrace.redaction import _validators as v

Category = Literal["secret", "pii"]
_JSON_ESCAPES = "nrtbf/"


@dataclass(frozen=True)
class Detector:
    """One kind of sensitive value."""

    name: str
    category: Category
    patterns: tuple[re.Pattern[str], ...]
    prefilter: str
    keywords: tuple[str, ...] = ()
    # Without Hyperscan, a detector runs only if one of its keywords is in the lower-cased
    # text, one of its signatures in the text's shape (digits as 0, letters as A or a), or
    # its ``precheck`` (a pattern ``re`` finds quickly, e.g. one opening with a literal)
    # matches somewhere.
    signatures: tuple[bytes, ...] = ()
    precheck: re.Pattern[str] | None = None
    validator: Callable[[re.Match[str]], bool] | None = None
    groups: tuple[str, ...] = ()
    description: str = ""
    not_after: re.Pattern[str] | None = None
    bound_prefilter: bool = True
    # How the engine finds match starts: "scan" runs the patterns over the whole text;
    # "keyword" tries them only where a keyword occurs (every match starts with one);
    # "window" searches a window of ``window`` characters around each keyword occurrence;
    # every match must hold a keyword at most ``window[0]`` characters after its start
    # (the engine starts its searches there; tests/redaction/test_redaction_fast_paths.py).
    anchor: Literal["scan", "keyword", "window"] = "scan"
    window: tuple[int, int] = (0, 0)
    # Characters no match holds before its first keyword: a window search can start after the
    # last of them ahead of the keyword instead of ``window[0]`` characters before it.
    window_stops: tuple[str, ...] = ()
    # No keyword has a letter ("@", "://"): they occur where they do in the lower-cased text.
    caseless_keywords: bool = False
    # A shorter superset of ``prefilter`` for screens that need every match position in a
    # large buffer (the collector screens whole requests): Hyperscan reports each end of every
    # match, and an open-ended tail such as an email's domain has many; empty: ``prefilter``.
    screen: str = ""

    @property
    def screen_prefilter(self) -> str:
        return _escape_tolerant(self.screen or self.prefilter)

    def starts_token(self, text: str, start: int) -> bool:
        """The match is not glued to the preceding text (a JSON escape like ``\\n`` is a gap).

        Checked here rather than with a lookbehind in the pattern: a pattern that opens with
        a literal or a character class lets ``re`` skip ahead quickly; one that opens with a
        lookbehind is tried at every position.
        """
        if self.not_after is None or start == 0:
            return True
        if start >= 2 and text[start - 2] == "\\" and text[start - 1] in _JSON_ESCAPES:
            return True
        return self.not_after.match(text, start - 1) is None

    @property
    def bounded_prefilter(self) -> str:
        """``prefilter`` with the same start-of-token condition, for Hyperscan and RE2."""
        prefilter = _escape_tolerant(self.prefilter)
        if self.not_after is None or not self.bound_prefilter:
            return prefilter
        allowed = "[^" + self.not_after.pattern[1:]
        return rf"(?:^|{allowed}|\\[{_JSON_ESCAPES}])(?:{prefilter})"

    def span(self, match: re.Match[str]) -> tuple[int, int]:
        """The part of the match to replace: the first participating named group, else all."""
        names = match.re.groupindex
        for group in self.groups:
            if group in names and match.group(group) is not None:
                return match.span(group)
        return match.span()


def _mixed_case_with_digit(text: str) -> bool:
    return (
        any(ch.isdigit() for ch in text)
        and any(ch.isupper() for ch in text)
        and any(ch.islower() for ch in text)
    )


def _literal_assignment(match: re.Match[str]) -> bool:
    quoted = match.group("quoted")
    if quoted is not None:
        return v.is_literal_secret(quoted, quoted=True)
    bare = match.group("bare")
    return any(ch.isalpha() for ch in bare) and v.is_literal_secret(bare, quoted=False)


def _authorization(match: re.Match[str]) -> bool:
    if match.group("header") is not None:
        value = match.group("header")
        return value.lower() not in _AUTH_SCHEMES and not v.is_placeholder(value)
    if match.group("bearer") is not None:
        return v.bearer_token_ok(match.group("bearer"))
    return v.basic_credentials_ok(match.group("basic"))


def _url_credentials(match: re.Match[str]) -> bool:
    password = match.group("value").split(":", 1)[1]
    return not v.is_placeholder(password)


def _ipv4(match: re.Match[str]) -> bool:
    before = match.string[max(0, match.start() - 10) : match.start()].lower()
    return "version" not in before and v.ipv4_ok(match.group(0))


def _us_ssn(match: re.Match[str]) -> bool:
    return v.us_ssn_ok(match.groupdict().get("ssn") or match.group(0))


_AUTH_SCHEMES = frozenset({"bearer", "basic", "token", "digest", "negotiate", "apikey"})
_SEP = r"""(?:\\?["'`])?\s*(?::=|=>|=(?!=)|:(?![:/]))\s*"""
_SECRET_KEY_WORDS = (
    r"password|passwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|"
    r"private[_-]?key|client[_-]?secret|credentials?"
)


def _d(
    name: str,
    category: Category,
    pattern: str | tuple[str, ...],
    prefilter: str,
    description: str,
    *,
    keywords: tuple[str, ...] = (),
    signatures: tuple[bytes, ...] = (),
    precheck: str | None = None,
    validator: Callable[[re.Match[str]], bool] | None = None,
    groups: tuple[str, ...] = (),
    flags: int = 0,
    not_after: str | None = None,
    bound_prefilter: bool = True,
    anchor: Literal["scan", "keyword", "window"] = "scan",
    window: tuple[int, int] = (0, 0),
    window_stops: tuple[str, ...] = (),
    screen: str = "",
) -> Detector:
    sources = (pattern,) if isinstance(pattern, str) else pattern
    return Detector(
        name=name,
        category=category,
        # ASCII classes, as in the Hyperscan and RE2 prefilters: a pattern and its prefilter
        # must agree on what \s, \d and \w match.
        patterns=tuple(re.compile(source, flags | re.ASCII) for source in sources),
        prefilter=prefilter,
        keywords=keywords,
        signatures=signatures,
        precheck=re.compile(precheck, re.ASCII) if precheck is not None else None,
        validator=validator,
        groups=groups,
        description=description,
        not_after=re.compile(not_after, re.ASCII) if not_after is not None else None,
        bound_prefilter=bound_prefilter,
        anchor=anchor,
        window=window,
        window_stops=window_stops,
        caseless_keywords=not any(k.upper() != k.lower() for k in keywords),
        screen=screen,
    )


# Order is priority: where findings overlap, the earlier detector names the merged span.
DETECTORS: tuple[Detector, ...] = (
    _d(
        "private_key",
        "secret",
        r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:.{0,20000}?-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\]*)",
        r"-----BEGIN[ A-Z0-9]*PRIVATE KEY",
        "PEM, OpenSSH and PGP private key blocks, up to the END line (or the end of the"
        " base64 body when truncated).",
        keywords=("private key",),
        flags=re.DOTALL,
    ),
    _d(
        "jwt",
        "secret",
        r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
        r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.",
        "JSON Web Tokens (header and payload are base64url JSON; the header names `alg`/`typ`).",
        not_after=r"[\w-]",
        keywords=("eyj",),
        validator=lambda m: v.jwt_ok(m.group(0)),
    ),
    _d(
        "url_credentials",
        "secret",
        r"(?i)\b[a-z][a-z0-9+.-]{1,20}://"
        r"(?P<value>[^\s:/?#@\"'<>\[\]\\]{1,256}:[^\s/?#@\"'<>\\]{1,256})@(?=[\w\[])",
        r"://[^\s:/?#@\"'<>]{1,256}:[^\s/?#@\"'<>]{1,256}@",
        "`user:password` in a URL (`scheme://user:pass@host`); the scheme and host are kept.",
        keywords=("://",),
        validator=_url_credentials,
        groups=("value",),
        anchor="window",
        window=(24, 600),
        window_stops=(" ", "\n"),  # the scheme is letters, digits and +.-
    ),
    _d(
        "aws_access_key_id",
        "secret",
        r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}(?![A-Za-z0-9])",
        r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}",
        "AWS access key ids (`AKIA…`, `ASIA…` and the other documented prefixes).",
        not_after="[A-Za-z0-9]",
        keywords=("akia", "asia", "abia", "acca", "a3t"),
    ),
    _d(
        "aws_secret_access_key",
        "secret",
        r"(?i)(?:aws[_.-]?)?secret[_.-]?(?:access[_.-]?)?key" + _SEP + r"(?:\\?[\"'`])?"
        r"(?P<value>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
        r"(?i)secret[_.-]?(?:access[_.-]?)?key",
        "AWS secret access keys: 40 base64 characters after a `secret…key` name.",
        keywords=("secret",),
        groups=("value",),
        anchor="keyword",
    ),
    _d(
        "github_fine_grained_token",
        "secret",
        r"github_pat_[A-Za-z0-9_]{60,255}(?![A-Za-z0-9_])",
        r"github_pat_[A-Za-z0-9_]{60}",
        "GitHub fine-grained personal access tokens (`github_pat_…`).",
        not_after="[A-Za-z0-9_]",
        keywords=("github_pat_",),
    ),
    _d(
        "github_token",
        "secret",
        r"gh[pousr]_[A-Za-z0-9]{36,251}(?![A-Za-z0-9_])",
        r"gh[pousr]_[A-Za-z0-9]{36}",
        "GitHub classic tokens: `ghp_` (personal), `gho_` (OAuth), `ghu_`/`ghs_` (app), `ghr_`"
        " (refresh).",
        not_after="[A-Za-z0-9_]",
        keywords=("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ),
    _d(
        "gitlab_token",
        "secret",
        r"gl(?:pat|dt|rt|ptt|soat|cbt|oas|ft|imt|agent)-[A-Za-z0-9_-]{20,}",
        r"gl(?:pat|dt|rt|ptt|soat|cbt|oas|ft|imt|agent)-[A-Za-z0-9_-]{20}",
        "GitLab tokens (`glpat-`, `gldt-`, `glrt-`, `glptt-`, `glsoat-`, `glcbt-`, …).",
        not_after=r"[\w-]",
        keywords=(
            "glpat-",
            "gldt-",
            "glrt-",
            "glptt-",
            "glsoat-",
            "glcbt-",
            "gloas-",
            "glft-",
            "glimt-",
            "glagent-",
        ),
    ),
    _d(
        "slack_token",
        "secret",
        r"(?:xox[abposre]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Za-z0-9-]{10,})"
        r"|https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]{20,}",
        r"xox[abposre]-[A-Za-z0-9-]{10}|xapp-\d-[A-Za-z0-9-]{10}|hooks\.slack\.com/",
        "Slack bot, user, app and refresh tokens (`xoxb-`, `xoxp-`, `xapp-`, …) and incoming"
        " webhook URLs.",
        not_after=r"[\w-]",
        keywords=("xox", "xapp-", "hooks.slack.com"),
    ),
    _d(
        "stripe_key",
        "secret",
        r"(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9]{24,})",
        r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16}|whsec_[A-Za-z0-9]{24}",
        "Stripe secret and restricted keys (`sk_live_`, `rk_test_`, …) and webhook secrets"
        " (`whsec_`). Publishable `pk_` keys are public and left alone.",
        not_after=r"[\w-]",
        keywords=("sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"),
    ),
    _d(
        "google_api_key",
        "secret",
        r"(?:AIza[0-9A-Za-z_-]{35}|GOCSPX-[0-9A-Za-z_-]{28})(?![0-9A-Za-z_-])",
        r"AIza[0-9A-Za-z_-]{35}|GOCSPX-[0-9A-Za-z_-]{28}",
        "Google API keys (`AIza…`) and OAuth client secrets (`GOCSPX-…`).",
        not_after=r"[\w-]",
        keywords=("aiza", "gocspx-"),
    ),
    _d(
        "huggingface_token",
        "secret",
        r"(?:hf_|api_org_)[A-Za-z0-9]{30,40}(?![A-Za-z0-9])",
        r"(?:hf_|api_org_)[A-Za-z0-9]{30}",
        "Hugging Face user (`hf_…`) and organisation (`api_org_…`) tokens.",
        not_after=r"[\w-]",
        keywords=("hf_", "api_org_"),
    ),
    _d(
        "anthropic_api_key",
        "secret",
        r"sk-ant-[A-Za-z0-9_-]{32,}",
        r"sk-ant-[A-Za-z0-9_-]{32}",
        "Anthropic API, admin and OAuth keys (`sk-ant-api03-…`, `sk-ant-admin01-…`).",
        not_after=r"[\w-]",
        keywords=("sk-ant-",),
    ),
    _d(
        "openai_api_key",
        "secret",
        r"sk-(?!ant-)(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}",
        r"sk-[A-Za-z0-9_-]{20}",
        "OpenAI API keys (`sk-…`, `sk-proj-…`, `sk-svcacct-…`, `sk-admin-…`); must mix upper"
        " case, lower case and digits.",
        not_after=r"[\w-]",
        keywords=("sk-",),
        validator=lambda m: _mixed_case_with_digit(m.group(0)),
    ),
    _d(
        "authorization_header",
        "secret",
        r"(?i:(?:proxy-)?authorization|x-api-key|api-key|x-auth-token)(?:\\?[\"'`])?\s*[:=]\s*"
        r"(?:\\?[\"'`])?(?i:(?:bearer|basic|token|digest|apikey)\s+)?"
        r"(?P<header>[A-Za-z0-9._~+/=-]{8,})"
        r"|(?<![\w-])(?i:bearer)\s+(?P<bearer>[A-Za-z0-9._~+/-]{16,}=*)"
        r"|(?<![\w-])(?i:basic)\s+(?P<basic>[A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])",
        r"(?i:authorization|x-api-key|api-key|x-auth-token)[\"'`\\]{0,2}\s*[:=]"
        r"|(?i:bearer|basic)\s+[A-Za-z0-9._~+/-]{8}",
        "`Authorization`/`X-Api-Key` header values, and `Bearer <token>` / `Basic <base64"
        " user:pass>` anywhere; the scheme is kept.",
        keywords=("authorization", "bearer", "basic", "api-key", "auth-token"),
        validator=_authorization,
        groups=("header", "bearer", "basic"),
        anchor="keyword",
    ),
    _d(
        "secret_assignment",
        "secret",
        r"(?i)(?:" + _SECRET_KEY_WORDS + r")(?![\w-])" + _SEP + r"(?:(?P<q>\\?[\"'`])"
        r"(?P<quoted>[^\"'`\n\\]{1,512}?)(?P=q)|(?P<bare>[^\s\"'`,;)}\]\\<>&]{1,512}))",
        r"(?i)(?:" + _SECRET_KEY_WORDS + r"|authorization|cookie)[\"'`\\]{0,2}\s*[:=]",
        "A literal assigned to a password, secret, token, api_key, access_key, private_key or"
        " credentials name in code, `.env`, JSON, YAML, command lines and logs. Code"
        " expressions, type hints, placeholders (`${VAR}`, `<token>`, `***`) and letters-only"
        " bare words are not literals.",
        keywords=(
            "password",
            "passwd",
            "passphrase",
            "secret",
            "token",
            "api_key",
            "api-key",
            "apikey",
            "access_key",
            "access-key",
            "accesskey",
            "private",
            "credential",
        ),
        validator=_literal_assignment,
        groups=("quoted", "bare"),
        anchor="keyword",
    ),
    _d(
        "generic_secret",
        "secret",
        r"(?i)(?:key|credentials?|auth|signature|salt|seed|cert)(?![\w-])"
        + _SEP
        + r"(?:\\?[\"'`])?(?P<value>[A-Za-z0-9+/_=.~-]{16,512})",
        r"(?i)(?:key|credential|auth|signature|salt|seed|cert)[\"'`\\]{0,2}\s*[:=]",
        "A high-entropy string (at least 16 characters, digits and letters, Shannon entropy"
        " >= 3.5 bits) assigned to a key-like name (`*key`, `auth`, `signature`, `salt`, …)."
        " UUIDs, hex digests and paths are not secrets.",
        keywords=("key", "credential", "auth", "signature", "salt", "seed", "cert"),
        validator=lambda m: v.high_entropy_secret_ok(m.group("value")),
        groups=("value",),
        anchor="keyword",
    ),
    _d(
        "email",
        "pii",
        r"[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
        r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}"
        r"[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![A-Za-z0-9-])",
        r"[A-Za-z0-9._%+-]@[A-Za-z0-9-]+\.[A-Za-z0-9.-]*[A-Za-z]{2}",
        "Email addresses (not `git@host` remotes or `name@2x.png` assets).",
        not_after=r"[\w.%+-]",
        bound_prefilter=False,  # the prefilter starts one character before the "@"
        keywords=("@",),
        validator=lambda m: v.email_ok(m.group(0)),
        anchor="window",
        window=(64, 300),
        window_stops=(" ", "\n"),  # the local part is letters, digits and ._%+-
        screen=r"[A-Za-z0-9._%+-]@[A-Za-z0-9-]+\.",
    ),
    _d(
        "credit_card",
        "pii",
        r"(?:4\d{3}|5[1-5]\d\d|2[2-7]\d\d|3[47]\d\d|3(?:0[0-5]|[68]\d)\d|35\d\d"
        r"|6(?:011|5\d\d|4[4-9]\d|2\d\d))"
        r"(?:\d{9,15}|[ -]\d{4}[ -]\d{4}[ -]\d{4}(?:[ -]?\d{1,3})?|[ -]\d{6}[ -]\d{4,5})(?!\w|\.\d)",
        r"[2-6]\d{3}(?:\d{9}|[ -]\d{4}[ -]\d{4}[ -]\d|[ -]\d{6}[ -]\d{4})",
        "Payment card numbers (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay"
        " prefixes), 13-19 digits, Luhn-checked; contiguous or grouped 4-4-4-4(-3), 4-6-5 or 4-6-4"
        " with spaces or dashes.",
        not_after=r"[\w.-]",
        # 13+ digits in a row, or consistently separated groups (mixed ones fail validation).
        signatures=(
            b"0" * 13,
            b"0000 0000 0000",
            b"0000-0000-0000",
            b"0000 000000 0000",
            b"0000-000000-0000",
        ),
        validator=lambda m: v.payment_card_ok(m.group(0)),
    ),
    _d(
        "iban",
        "pii",
        r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])",
        r"[A-Z]{2}\d{2} ?[A-Z0-9]{4} ?[A-Z0-9]{4}",
        "IBANs, compact or in groups of four, with the per-country length and the mod-97"
        " checksum verified.",
        not_after="[A-Za-z0-9]",
        signatures=(b"AA00",),
        validator=lambda m: v.iban_ok(m.group(0)),
    ),
    _d(
        "us_ssn",
        "pii",
        (
            r"\d\d\d-\d\d-\d{4}(?![\w-])",
            r"(?i:ssn|social security(?: number)?)\W{0,5}(?P<ssn>\d{9})(?!\d)",
        ),
        r"\d{3}-\d{2}-\d{4}|(?i:ssn|social security(?: number)?)\W{0,20}\d{9}",
        "US social security numbers `123-45-6789`, or 9 digits after `SSN`/`social security`;"
        " never-issued areas (000, 666, 900-999), group 00 and serial 0000 are rejected.",
        not_after=r"[\w-]",
        keywords=("ssn", "social security"),
        signatures=(b"000-00-0000",),
        validator=_us_ssn,
        groups=("ssn",),
    ),
    _d(
        "phone",
        "pii",
        (
            r"\+[1-9][\d ().-]{6,22}\d(?!\d)",
            # North American: 1-800-555-0199, (415) 555-0123, 415.555.0123
            r"1[ .-](?:\([2-9]\d\d\)\s?|[2-9]\d\d[ .-])[2-9]\d\d[ .-]\d{4}(?!\w|[.-]\d)",
            r"\([2-9]\d\d\)\s?[2-9]\d\d[ .-]\d{4}(?!\w|[.-]\d)",
            r"[2-9]\d\d[ .-][2-9]\d\d[ .-]\d{4}(?!\w|[.-]\d)",
            r"0(?:\d{2,4}[ -]\d{3,4}[ -]?\d{3,4}|[1-9](?:[ .]\d\d){4})(?!\w|[.-]\d)",
        ),
        r"\+[1-9][\d ().-]{6}|(?:1[ .-])?(?:\([2-9]\d\d\)\s?|[2-9]\d\d[ .-])[2-9]\d\d[ .-]\d{4}"
        r"|0\d{2,4}[ -]\d{3}|0[1-9][ .]\d\d[ .]\d\d",
        "Phone numbers: international (`+44 20 7946 0958`, `+14155550123`), North American"
        " (`(415) 555-0123`, `415-555-0123`) and trunk-prefixed national formats (`020 7946"
        " 0958`, `01 23 45 67 89`).",
        not_after=r"[\w.+-]",
        signatures=(
            b"+0",
            b"00 000",
            b"00-000",
            b"000.000.0000",
            b"(000)",
            b"00 00 00 00 00",
            b"00.00.00.00.00",
        ),
        validator=lambda m: v.phone_ok(m.group(0)),
    ),
    _d(
        "ipv4",
        "pii",
        r"\d\d?\d?(?:\.\d\d?\d?){3}(?!\w|\.\d)",
        r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}",
        "IPv4 addresses (not loopback, 0.0.0.0 or broadcast; not after `version`).",
        not_after=r"[\w.@-]",
        signatures=tuple(
            f".{a}.{b}.".encode() for a in ("0", "00", "000") for b in ("0", "00", "000")
        ),
        validator=_ipv4,
    ),
    _d(
        "ipv6",
        "pii",
        r"[0-9A-Fa-f][0-9A-Fa-f]{0,3}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%[\w.]+)?(?![\w:]|\.\w)",
        r"[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:",
        "IPv6 addresses in full or compressed form, validated with `ipaddress` (not loopback,"
        " not `::`, at least three groups).",
        not_after=r"[\w:.]",
        # "::", or six colon-separated groups: both open with a ":", which re finds fast.
        precheck=r"::|:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:"
        r"[0-9A-Fa-f]{1,4}:",
        validator=lambda m: v.ipv6_ok(m.group(0)),
        screen=r"[0-9A-Fa-f]:[0-9A-Fa-f]{0,4}:",
    ),
)


def _escape_tolerant(pattern: str) -> str:
    """``pattern`` for text that may still be JSON-encoded: where it takes whitespace (``\\s``)
    or any non-word character (``\\W``), it also takes the two-character escape of one
    (``\\n`` is a newline once decoded). Prefilters screen the raw text of JSON values and of
    whole requests; without this, ``ssn\\n123456789`` there would hide the SSN a parsed value
    shows. Character classes are left alone (an escape's backslash and letter are themselves
    matched by the classes the prefilters use)."""
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            token = pattern[index : index + 2]
            if not in_class and token in ("\\s", "\\W"):
                token = f"(?:{token}|\\\\[{_JSON_ESCAPES}])"
            out.append(token)
            index += 2
            continue
        if char == "[" and not in_class:
            in_class = True
            # A "]" right after "[" or "[^" is a literal member, not the end of the class.
            start = index + 2 if pattern.startswith("[^", index) else index + 1
            if pattern.startswith("]", start):
                out.append(pattern[index : start + 1])
                index = start + 1
                continue
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        index += 1
    return "".join(out)


# JSON escapes that could hide ASCII a detector needs (``\u0040`` is "@", ``\/`` is "/"):
# a value carrying them goes through the precise path, which sees the parsed JSON.
JSON_ESCAPE_PREFILTER = r"\\u00[0-7][0-9a-fA-F]|\\/"

DETECTOR_NAMES: tuple[str, ...] = tuple(d.name for d in DETECTORS)
SECRET_TYPES: frozenset[str] = frozenset(d.name for d in DETECTORS if d.category == "secret")
PII_TYPES: frozenset[str] = frozenset(d.name for d in DETECTORS if d.category == "pii")

# A JSON member or attribute whose key is one of these holds a secret as a whole value.
SECRET_KEY = re.compile(
    r"(?i)^[\w.-]*?(?:" + _SECRET_KEY_WORDS + r"|authorization|cookie|set-cookie|x-api-key"
    r"|x-auth-token)$"
)
GENERIC_SECRET_KEY = re.compile(r"(?i)^[\w.-]*?(?:key|credentials?|auth|signature|salt|seed|cert)$")


def secret_type_for_member(key: str, value: str) -> str | None:
    """The finding type for ``{key: value}`` when the key alone marks the value as a secret."""
    last = key.rsplit(".", 1)[-1]
    if SECRET_KEY.match(last):
        return "secret_assignment" if v.is_literal_secret(value, quoted=True) else None
    if GENERIC_SECRET_KEY.match(last) and v.high_entropy_secret_ok(value):
        return "generic_secret"
    return None
