"""Checks that turn a pattern match into a finding, or reject it as a near miss.

Patterns find candidates cheaply; these functions hold the knowledge that patterns cannot
express (checksums, number ranges, entropy, whether a value is a literal or a code expression).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import re
from collections import Counter

# IBAN length per country (ISO 13616 registry); a wrong length is never a valid IBAN.
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def digits_of(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def luhn_ok(number: str) -> bool:
    total = 0
    for index, ch in enumerate(reversed(number)):
        digit = ord(ch) - 48
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def payment_card_ok(match: str) -> bool:
    digits = digits_of(match)
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    separators = {ch for ch in match if not ch.isdigit()}
    # Mixed separators ("4111-1111 1111") are formatted numbers of another kind.
    return len(separators) <= 1 and luhn_ok(digits)


def iban_ok(match: str) -> bool:
    compact = match.replace(" ", "").upper()
    expected = _IBAN_LENGTHS.get(compact[:2])
    if expected is None or len(compact) != expected:
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1


def us_ssn_ok(match: str) -> bool:
    digits = digits_of(match)
    if len(digits) != 9:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    # Never issued: area 000, 666 and 900-999, group 00, serial 0000.
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def phone_ok(match: str) -> bool:
    digits = digits_of(match)
    if match.startswith("+"):
        return 8 <= len(digits) <= 15
    return 10 <= len(digits) <= 11


def ipv4_ok(match: str) -> bool:
    try:
        address = ipaddress.IPv4Address(match)
    except ValueError:
        return False
    # Loopback, unspecified and broadcast addresses identify nobody.
    return not (address.is_loopback or address.is_unspecified or match == "255.255.255.255")


def ipv6_ok(match: str) -> bool:
    core = match.split("%", 1)[0]
    if sum(1 for group in core.split(":") if group) < 3:
        return False  # "::1", slices like "a[::2]" and C++ scopes
    try:
        address = ipaddress.IPv6Address(core)
    except ValueError:
        return False
    return not (address.is_loopback or address.is_unspecified)


FILE_EXTENSION_TLDS = frozenset(
    [
        "png",
        "jpg",
        "jpeg",
        "gif",
        "svg",
        "webp",
        "ico",
        "js",
        "mjs",
        "cjs",
        "ts",
        "tsx",
        "jsx",
        "py",
        "rb",
        "go",
        "rs",
        "java",
        "kt",
        "md",
        "json",
        "yaml",
        "yml",
        "toml",
        "txt",
        "css",
        "scss",
        "html",
        "lock",
        "sh",
        "zip",
        "gz",
        "tar",
    ]
)


def email_ok(match: str) -> bool:
    local, _, domain = match.rpartition("@")
    tld = domain.rsplit(".", 1)[-1].lower()
    # "git@github.com:org/repo" is an ssh remote, "icon@2x.png" an image asset.
    return local.lower() != "git" and tld not in FILE_EXTENSION_TLDS


def jwt_ok(match: str) -> bool:
    header = match.split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
    except (binascii.Error, ValueError):
        return False
    return b'"alg"' in decoded or b'"typ"' in decoded


def basic_credentials_ok(token: str) -> bool:
    try:
        decoded = base64.b64decode(token, validate=True)
    except (binascii.Error, ValueError):
        return False
    return b":" in decoded


def shannon_entropy(text: str) -> float:
    length = len(text)
    return -sum((n / length) * math.log2(n / length) for n in Counter(text).values())


def bearer_token_ok(token: str) -> bool:
    has_digit = any(ch.isdigit() for ch in token)
    has_alpha = any(ch.isalpha() for ch in token)
    return has_digit and has_alpha and shannon_entropy(token) >= 3.0


_PLACEHOLDER = re.compile(
    r"""(?ix)^(?:
        \$\{[^}]*\}|\$\(?[A-Z_][A-Z0-9_]*\)?|\{\{.*\}\}|\{\w*\}|%\(?\w*\)?s|%s|
        <[^<>]*>|\[[A-Z_:\s-]*\]|\[(?:REDACTED|HASH)[^\]]*\]|
        [*x•.\-_#?]+|none|null|nil|undefined|true|false|empty|redacted|hidden|masked|
        your[\w-]*|xxx+[\w-]*|\.\.\.|…
    )$""",
)
_TYPE_NAMES = frozenset(
    [
        "str",
        "string",
        "int",
        "bool",
        "boolean",
        "bytes",
        "any",
        "object",
        "optional",
        "secretstr",
        "secretbytes",
        "char",
        "text",
        "number",
        "none",
        "null",
        "self",
        "this",
        "varchar",
    ]
)
_IDENTIFIER_ONLY = re.compile(r"^[A-Za-z_]+$")
_CODE_EXPRESSION = re.compile(r"[()\[\]{}]|\.[A-Za-z_]|^\d{1,5}$|^[/~.]")


def is_placeholder(value: str) -> bool:
    return not value.strip() or _PLACEHOLDER.match(value.strip()) is not None


def is_literal_secret(value: str, quoted: bool) -> bool:
    """True if ``value`` written after a secret-like key is a literal, not code or a placeholder."""
    if is_placeholder(value):
        return False
    if quoted:
        return True
    # Unquoted values are usually code: type hints, variables, calls, paths or small numbers.
    # Letters-only words are indistinguishable from identifiers, so they are left alone.
    lowered = value.lower()
    base_type = lowered.split("[", 1)[0].rstrip("?|")
    if base_type in _TYPE_NAMES or _IDENTIFIER_ONLY.match(value):
        return False
    return _CODE_EXPRESSION.search(value) is None


_UUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_HASH_LIKE = re.compile(
    r"^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9A-F]{32}|[0-9A-F]{40}|[0-9A-F]{64})$"
)


def high_entropy_secret_ok(value: str) -> bool:
    """A value next to a key-like name that looks random enough to be a credential."""
    if len(value) < 16 or is_placeholder(value) or _UUID.match(value) or _HASH_LIKE.match(value):
        return False
    if "/" in value and "." in value:
        return False  # a path or URL, not an encoded secret
    has_digit = any(ch.isdigit() for ch in value)
    has_alpha = any(ch.isalpha() for ch in value)
    return has_digit and has_alpha and shannon_entropy(value) >= 3.5
