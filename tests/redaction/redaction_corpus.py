"""Labeled corpus: every detector in many contexts, and near misses that must stay untouched.

Secret-shaped strings are assembled from pieces so that this file itself does not trip secret
scanners. A positive sample is ``(snippet, secret)``: the snippet goes into a context and the
secret part must not survive redaction.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Case:
    id: str
    detector: str | None  # None: benign
    text: str
    secret: str  # the part that must not survive ("" for benign)


def _b64url(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


_RNG = random.Random(20241122)
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _rand(n: int, alphabet: str = _ALNUM) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


def _luhn_fail_16() -> str:
    from agenttrace.redaction._validators import luhn_ok

    while True:
        number = "4" + _rand(15, "0123456789")
        if not luhn_ok(number):
            return number


_JWT = (
    _b64url({"alg": "HS256", "typ": "JWT"})
    + "."
    + _b64url({"sub": "1234567890", "name": "Agent", "iat": 1516239022})
    + "."
    + "SflKxwRJSMeKKF2QT4fwpM" + "eJf36POk6yJV_adQssw5c"
)  # fmt: skip
_PEM = (
    "-----BEGIN " + "RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n"
    "aFDrBz9vFqU4yRkz1T4T5n8pZ4mVJ3Lw0xk5u9h6Q2c1b8n7m6v5c4x3z2a1s0d9\n"
    "-----END " + "RSA PRIVATE KEY-----"
)
_OPENSSH = (
    "-----BEGIN " + "OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
    "QyNTUxOQAAACDx2L3mA9kq0Xyz1r3n4m5b6v7c8x9z0a1s2d3f4g5h6j7k8l9AAAAJgAAAA\n"
    "-----END " + "OPENSSH PRIVATE KEY-----"
)
_AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
_BASIC = base64.b64encode(b"deploy:" + b"Sup3rS3cret").decode()

# detector -> [(snippet, secret)]
POSITIVE_SAMPLES: dict[str, list[tuple[str, str]]] = {
    "aws_access_key_id": [
        ("AKIA" + "IOSFODNN7EXAMPLE",) * 2,
        ("ASIA" + "Y34FZKBOKMUTVV7A",) * 2,
        ("aws_access_key_id=" + "AKIA" + "ZZ2QW3ER4TY5UI6O", "AKIA" + "ZZ2QW3ER4TY5UI6O"),
    ],
    "aws_secret_access_key": [
        ("aws_secret_access_key = " + _AWS_SECRET, _AWS_SECRET),
        ('"SecretAccessKey": "' + _AWS_SECRET + '"', _AWS_SECRET),
    ],
    "github_token": [
        ("ghp_" + "x7Kq9Zb2Lm4Np6Rt8Vw0Yc3Ef5Hj7Gk9Mn1P",) * 2,
        ("gho_" + "16C7e42F292c6912E7710c838347Ae178B4a",) * 2,
        ("GITHUB_TOKEN=" + "ghs_" + "abcDEF123ghiJKL456mnoPQR789stuVWX012", "ghs_" + "abcDEF123ghiJKL456mnoPQR789stuVWX012"),
    ],
    "github_fine_grained_token": [
        ("github_pat_" + "11ABCDE2Y0" + "aBcDeFgHiJkL_" + "q1W2e3R4t5Y6u7I8o9P0a1S2d3F4g5H6j7K8l9Z0x1C2v3B4n5M6q7W8e9R0tYu",) * 2,
    ],
    "gitlab_token": [
        ("glpat-" + "xY7zK9qW2eR4tY6uI8oP",) * 2,
        ("gldt-" + "AbCdEf123456GhIjKl789012",) * 2,
    ],
    "slack_token": [
        ("xoxb-" + "2628468341-7734651230981-" + "AbCdEfGhIjKlMnOpQrStUvWx",) * 2,
        ("https://hooks.slack.com/" + "services/T0123ABCD/B0456EFGH/" + "aBcDeFgHiJkLmNoPqRsTuVwX",) * 2,
    ],
    "stripe_key": [
        ("sk_live_" + "51HqLyjWDarjtT1zdp7dc",) * 2,
        ("rk_test_" + "4eC39HqLyjWDarjtT1zdp7dc",) * 2,
    ],
    "google_api_key": [
        ("AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",) * 2,
        ("GOCSPX-" + "1a2B3c4D5e6F7g8H9i0J1k2L3m4N",) * 2,
    ],
    "huggingface_token": [
        ("hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH",) * 2,
    ],
    "anthropic_api_key": [
        ("sk-ant-" + "api03-" + _rand(86, _ALNUM + "-_") + "AA",) * 2,
        ("ANTHROPIC_API_KEY=" + "sk-ant-" + "admin01-" + "Zq8Xw7Vu6Ts5Rq4Po3Nm2Lk1Jh0Gf9", "sk-ant-" + "admin01-" + "Zq8Xw7Vu6Ts5Rq4Po3Nm2Lk1Jh0Gf9"),
    ],
    "openai_api_key": [
        ("sk-" + "proj-" + "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90Uv12",) * 2,
        ("sk-" + "Xq2Tz9Lm4Np6Rt8T3BlbkFJVw0Yc3Ef5Hj7Gk9Mn1",) * 2,
    ],
    "jwt": [(_JWT, _JWT)],
    "private_key": [(_PEM, _PEM.split("\n")[1]), (_OPENSSH, _OPENSSH.split("\n")[1])],
    "url_credentials": [
        ("postgres://admin:" + "S3cr3tPass" + "@db.internal:5432/app", "S3cr3tPass"),
        ("https://bot:" + "gh0st-Passw0rd" + "@git.example.com/org/repo.git", "gh0st-Passw0rd"),
        ("redis://default:" + "r3d1sPw" + "@cache:6379/0", "r3d1sPw"),
    ],
    "authorization_header": [
        ("Authorization: Bearer " + "a9Fk2Lm8Qp4Zx7Wv3Ty6", "a9Fk2Lm8Qp4Zx7Wv3Ty6"),
        ("Authorization: Basic " + _BASIC, _BASIC),
        ("-H 'X-Api-Key: " + "k3y-9f8e7d6c5b4a'", "k3y-9f8e7d6c5b4a"),
    ],
    "secret_assignment": [
        ("DB_PASSWORD=" + "Tr0ub4dor&3", "Tr0ub4dor&3"),
        ('password = "' + "correct horse battery 9" + '"', "correct horse battery 9"),
        ("api_key: " + "'abc123def456ghi'", "abc123def456ghi"),
        ('"client_secret": "' + "cs_9f8e7d6c5b" + '"', "cs_9f8e7d6c5b"),
        ("--password=" + "P@ssw0rd!", "P@ssw0rd!"),
        ("export SLACK_SIGNING_SECRET=" + "8f7a6b5c4d3e", "8f7a6b5c4d3e"),
        ("GET /v1/items?access_token=" + "a8Kd93jQ2m&page=2", "a8Kd93jQ2m"),
        ("docker run -e POSTGRES_PASSWORD=" + "pg-Secr3t-42 postgres:16", "pg-Secr3t-42"),
        ("database:\n  user: app\n  password: " + '"' + "y4ml-Pa55" + '"', "y4ml-Pa55"),
    ],
    "generic_secret": [
        ('signing_key = "' + "Zx9Qw2Er7Ty4Ui1Op3As5Df" + '"', "Zx9Qw2Er7Ty4Ui1Op3As5Df"),
        ("ENCRYPTION_KEY=" + "p8Q2r7S1t6U0v5W9x4Y3z", "p8Q2r7S1t6U0v5W9x4Y3z"),
    ],
    "email": [
        ("jane.doe@corp-mail.com",) * 2,
        ("j.smith+agent@example.co.uk",) * 2,
        ("ops_team@sub.domain.io",) * 2,
    ],
    "phone": [
        ("+44 20 7946 0958",) * 2,
        ("+1 (415) 555-0123",) * 2,
        ("(415) 555-0173",) * 2,
        ("415-555-0199",) * 2,
        ("+14155550123",) * 2,
        ("020 7946 0958",) * 2,
        ("01 23 45 67 89",) * 2,
        ("+49 30 12345678",) * 2,
    ],
    "credit_card": [
        ("4111 1111 1111 1111",) * 2,
        ("5555-5555-5555-4444",) * 2,
        ("378282246310005",) * 2,
        ("6011111111111117",) * 2,
        ("4012888888881881",) * 2,
    ],
    "iban": [
        ("GB82 WEST 1234 5698 7654 32",) * 2,
        ("DE89370400440532013000",) * 2,
        ("FR1420041010050500013M02606",) * 2,
        ("NL91ABNA0417164300",) * 2,
    ],
    "us_ssn": [
        ("219-09-9999",) * 2,
        ("536-22-1234",) * 2,
        ("SSN: 536221234", "536221234"),
    ],
    "ipv4": [
        ("203.0.113.7",) * 2,
        ("198.51.100.23",) * 2,
        ("10.12.0.5",) * 2,
    ],
    "ipv6": [
        ("2001:db8::8a2e:370:7334",) * 2,
        ("fe80::1ff:fe23:4567:890a",) * 2,
        ("2001:0db8:85a3:0000:0000:8a2e:0370:7334",) * 2,
    ],
}  # fmt: skip


def _json(s: str) -> str:
    return json.dumps({"role": "tool", "content": f"result: {s}"})


def _tool_result(s: str) -> str:
    block = {"type": "text", "text": f"Output:\n{s}\n"}
    return json.dumps(
        {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9", "content": [block]}
    )


CONTEXTS: dict[str, Callable[[str], str]] = {
    "json": _json,
    "tool_result": _tool_result,
    "code": lambda s: f"def setup():\n    value = load()\n    {s}\n    return value\n",
    "log": lambda s: f"2024-05-01T12:00:03.123Z INFO worker request handled {s} in 42ms",
    "prose": lambda s: f"I found this in the config: {s}. Let me know if you need anything else.",
    "markdown": lambda s: f"## Setup\n\n- Step 1: run the script\n- Value: `{s}`\n",
    "shell": lambda s: f"$ cat .env\n{s}\n$ echo done\ndone",
    "url": lambda s: f"https://api.example.com/v1/items?q={s}&page=2",
}


def _fits(context: str, snippet: str) -> bool:
    # A URL query cannot hold spaces, quotes or newlines unencoded.
    return context != "url" or not any(ch in snippet for ch in " \"'\n")


def positive_cases() -> list[Case]:
    cases = []
    for detector, samples in POSITIVE_SAMPLES.items():
        for index, (snippet, secret) in enumerate(samples):
            for context, wrap in CONTEXTS.items():
                if _fits(context, snippet):
                    case_id = f"{detector}-{index}-{context}"
                    cases.append(Case(case_id, detector, wrap(snippet), secret))
    return cases


_SHA256 = hashlib.sha256(b"agenttrace").hexdigest()
_IMAGE_B64 = base64.b64encode(bytes(_RNG.getrandbits(8) for _ in range(3000))).decode()

BENIGN_SAMPLES: dict[str, str] = {
    "trace_id": "trace_id=4bf92f3577b34da6a3ce929d0e0e4736",
    "span_id": "span_id: 00f067aa0ba902b7",
    "traceparent": "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "git_sha": "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
    "git_short_sha": "HEAD is now at 9fceb02 fix flaky test",
    "uuid": "request 123e4567-e89b-12d3-a456-426614174000 accepted",
    "sha256": f"sha256sum: {_SHA256}  dist/app.tar.gz",
    "image_digest": f"ghcr.io/org/app@sha256:{_SHA256}",
    "toolu_id": "tool_use_id: toolu_01A09q90qw90lq917835lq9",
    "call_id": "call_id=call_Xy2bQ8rT5mN1pL7kJ4hG9fD3",
    "msg_id": "message msg_01XFDUDYJgAACzvnptvVoYEL stopped",
    "req_id": "request-id: req_011CQ9Lk8pN7rXbWvQ2sZy4T",
    "chatcmpl_id": "id=chatcmpl-9xTq2Lm8Qp4Zx7Wv3Ty6AbCd",
    "base64_image": f'{{"type":"image","source":{{"type":"base64","media_type":"image/png","data":"{_IMAGE_B64}"}}}}',
    "npm_spec": "added lodash@4.17.21 and @types/node@20.11.5",
    "pip_spec": "Successfully installed requests-2.31.0 urllib3==2.2.1",
    "semver_range": 'react: "^18.2.0", "typescript": "~5.4.5"',
    "iso_timestamp": "started at 2024-05-01T12:00:03.123456Z, finished 2024-05-01 12:01:07+00:00",
    "epoch_ms": '"created_at": 1714564803123, "updated": 1714564899000',
    "epoch_ns": "start_time_unix_nano=1714564803123456789",
    "epoch_s": "timestamp 1714564803",
    "non_luhn_16": f"order number {_luhn_fail_16()}",
    "non_luhn_16_b": f"id: {_luhn_fail_16()}",
    "snowflake": "discord message 1234567890123456789",
    "file_path": "/home/user/projects/agent/src/app/main.py:42:17",
    "windows_path": r"C:\Users\dev\AppData\Local\Temp\build-1234\out.log",
    "password_param": "def login(username: str, password: str) -> Token:",
    "password_compare": "if password != confirm_password:\n    raise ValueError('mismatch')",
    "password_getpass": "password = getpass.getpass('Password: ')",
    "env_lookup": 'api_key = os.environ["OPENAI_API_KEY"]',
    "header_lookup": 'token = request.headers.get("Authorization")',
    "password_placeholder": "DB_PASSWORD=${DB_PASSWORD}",
    "api_key_placeholder": "OPENAI_API_KEY=<your-api-key>",
    "masked_token": 'token: "********"',
    "bearer_placeholder": 'curl -H "Authorization: Bearer $TOKEN" https://api.example.com',
    "max_tokens": '{"max_tokens": 4096, "input_tokens": 1234, "output_tokens": 87}',
    "token_count": "Used 15234 tokens (cache read 12000) in 3.2s",
    "password_prose": "Reset your password from the account settings page.",
    "secret_manager": "Store the secret in AWS Secrets Manager and reference it by ARN.",
    "basic_auth_prose": "The API uses Basic authentication over TLS.",
    "python_slice": "rows = data[::2] + data[1::3]",
    "cpp_scope": "std::vector<int> v; std::map<std::string, int> m;",
    "clock_time": "12:30:45 elapsed, next run at 08:00",
    "mac_address": "ether 00:1a:2b:3c:4d:5e txqueuelen 1000",
    "localhost": "listening on http://127.0.0.1:8000 and 0.0.0.0:8080",
    "version_4part": "Assembly version 4.0.30319.42000",
    "version_ip_like": "runtime version 1.2.3.4",
    "git_remote": "remote: git@github.com:agenttrace/agenttrace.git",
    "retina_asset": "background: url(icon@2x.png)",
    "decorator": "@dataclass(frozen=True)\nclass Config:",
    "css_color": "color: #ff5733; margin: 0 12px 0 4px",
    "port_numbers": "ports 3000, 5432, 6379 and 27017 are open",
    "date_formats": "dates 2024-01-15, 15/01/2024 and 01-15-2024",
    "stripe_publishable": "pk_test_" + "TYooMQauvdEDq54NiTphI7jx",
    "hex_color_list": "palette: ['#1f77b4', '#ff7f0e', '#2ca02c']",
    "float_numbers": "loss=0.0234 acc=0.9876 lr=3e-4 step=125000",
    "numeric_id": "issue #12345, PR 67890, build 1234567",
    "model_name": "gen_ai.request.model=claude-sonnet-4-20250514",
    "k8s_resource": "pod/api-7d9f8c6b5d-x2k4j restarted 3 times",
    "docker_short_id": "container 4f2a9c1b7e3d started",
    "aws_arn": "arn:aws:iam::123456789012:role/agent-runner",
    "cache_key": 'cache_key = "user:42:profile"',
    "idempotency": '"idempotency_key": "123e4567-e89b-12d3-a456-426614174000"',
    "signature_hex": f'"signature": "{_SHA256}"',
    "eos_token": '{"bos_token": "<s>", "eos_token": "</s>", "pad_token": "[PAD]"}',
    "sk_learn": "from sklearn import svm  # sk-learn style task-runner",
    "phone_like_version": "python 3.11.7 (main, 2024.01.15) build 20240115",
    "coordinates": "lat 37.7749, lon -122.4194",
    "percentages": "progress 45.5% 67/148 files, eta 00:03:21",
    "line_col": "src/main.rs:120:45: warning: unused variable",
    "jwt_prose": "JWTs start with eyJ because the header is base64 JSON.",
    "bearer_prose": "Bearer token authentication is configured for the admin API.",
    "optional_hint": "api_key: str | None = None\npassword: Optional[str] = None",
    "token_type": '{"token_type": "bearer", "expires_in": 3600}',
    "actions_secret": "token: ${{ secrets.GITHUB_TOKEN }}",
    "kwargs_none": "client = Client(api_key=None, timeout=30)",
    "tz_offset": "2024-01-15T10:30:00+05:30 and 2024-01-15T10:30:00-08:00",
    "diff_hunk": "@@ -12,7 +12,8 @@ def handler(event):",
    "thousands": "revenue $4,111,111.11 from 1,234,567,890 requests",
    "strftime": 'datetime.strptime(s, "%Y-%m-%d %H:%M:%S")',
    "seed_int": '{"seed": 42, "salt_rounds": 12, "temperature": 0.7}',
    "isbn": "ISBN 978-3-16-148410-0",
    "model_id": '"model": "gpt-4o-2024-08-06"',
}


BENIGN_CONTEXTS = ("json", "code", "log", "markdown", "shell")


def benign_cases() -> list[Case]:
    cases = []
    for name, sample in BENIGN_SAMPLES.items():
        for context in BENIGN_CONTEXTS:
            cases.append(Case(f"benign-{name}-{context}", None, CONTEXTS[context](sample), ""))
    return cases
