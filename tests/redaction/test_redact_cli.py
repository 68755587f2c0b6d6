"""`agenttrace redact`, run as a real subprocess on real files."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"
EMAIL = "jane.doe@corp-mail.com"


def _redact(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "agenttrace", "redact", *args],
        input=stdin,
        capture_output=True,
        check=False,
        env={**os.environ, "AGENTTRACE_RAISE_INTERNAL_ERRORS": "1"},
    )


def _session_lines() -> list[bytes]:
    image = base64.b64encode(bytes(range(256)) * 40).decode()
    entries = [
        {"type": "user", "message": {"role": "user", "content": f"my key is {AWS_KEY}"}},
        {
            "type": "assistant",
            "message": {
                "content": [
                    {"type": "text", "text": "ok"},
                    {"type": "image", "source": {"type": "base64", "data": image}},
                ]
            },
        },
        {"type": "tool_result", "toolUseResult": {"stdout": f"author: {EMAIL}\n", "code": 0}},
        {"type": "summary", "uuid": "123e4567-e89b-12d3-a456-426614174000"},
    ]
    return [json.dumps(e).encode() for e in entries]


def test_jsonl_keeps_structure_lines_and_untouched_bytes(tmp_path: Path) -> None:
    lines = _session_lines()
    path = tmp_path / "session.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = _redact(str(path))
    assert result.returncode == 0, result.stderr
    out_lines = result.stdout.split(b"\n")
    assert len(out_lines) == len(lines) + 1
    assert out_lines[-1] == b""
    first, second, third, _fourth = (json.loads(line) for line in out_lines[:4])
    assert first["message"]["content"] == "my key is [REDACTED:aws_access_key_id]"
    assert third["toolUseResult"] == {"stdout": "author: [REDACTED:email]\n", "code": 0}
    assert out_lines[1] == lines[1]
    assert out_lines[3] == lines[3]
    assert second["message"]["content"][1]["source"]["data"].startswith("AAECAwQF")
    stderr = result.stderr.decode()
    assert "4 lines, 2 changed, 2 values redacted (aws_access_key_id=1, email=1)" in stderr
    assert AWS_KEY.encode() not in result.stdout + result.stderr


def test_stdin_text_mode_and_config(tmp_path: Path) -> None:
    config = tmp_path / "redaction.yaml"
    config.write_text(
        "processors:\n  - type: redaction\n    name: r\n    detectors:\n      email: false\n"
    )
    data = f"a {EMAIL}\nb {AWS_KEY}\r\nno newline at end".encode()
    result = _redact("-", "--format", "text", "--config", str(config), stdin=data)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"a {EMAIL}\nb [REDACTED:aws_access_key_id]\r\nno newline at end".encode()
    )


def test_bad_config_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("redaction:\n  mode: scramble\n  detectors:\n    emial: false\n")
    result = _redact("--config", str(config), stdin=b"")
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert "redaction.mode" in stderr
    assert "redaction.detectors.emial" in stderr


def test_bad_input_is_never_lost(tmp_path: Path) -> None:
    deep = b'{"a":' * 100_000 + b'"' + EMAIL.encode() + b'"' + b"}" * 100_000
    lines = [
        b"\xff\xfe not utf-8 " + EMAIL.encode(),  # invalid UTF-8, not JSON
        b'{"text": "caf\xe9 ' + EMAIL.encode() + b'"}',  # JSON with an invalid byte
        deep,  # deeper than any recursion limit
        b"",
        b"plain text line",
        b'{"x": 18446744073709551616123, "y": "' + AWS_KEY.encode() + b'"}',  # big int
    ]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(lines))
    result = _redact(str(path))
    assert result.returncode == 0, result.stderr
    out = result.stdout.split(b"\n")
    assert len(out) == len(lines)
    assert out[0] == b"\xff\xfe not utf-8 [REDACTED:email]"
    assert out[1] == b'{"text":"caf\xe9 [REDACTED:email]"}'
    assert out[2].startswith(b'{"a":{"a":')
    assert b"[REDACTED:email]" in out[2]
    assert len(out[2]) == len(deep) - len(EMAIL) + len("[REDACTED:email]")
    assert out[3] == b""
    assert out[4] == b"plain text line"
    assert json.loads(out[5]) == {"x": 18446744073709551616123, "y": "[REDACTED:aws_access_key_id]"}
    stderr = result.stderr.decode()
    assert "6 lines" in stderr
    assert "3 lines were not JSON" in stderr


def _peak_rss_kb(path: Path) -> int:
    code = (
        "import resource, subprocess, sys;"
        "subprocess.run([sys.executable, '-m', 'agenttrace', 'redact', sys.argv[1]],"
        " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    return int(out.stdout)


def test_memory_is_bounded_by_the_longest_line_not_the_file(tmp_path: Path) -> None:
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    line = json.dumps({"message": {"content": "word " * 8000 + EMAIL}}).encode() + b"\n"
    small.write_bytes(line * 10)
    with large.open("wb") as out:
        for _ in range(1500):  # ~60 MB
            out.write(line)
    growth_mb = (_peak_rss_kb(large) - _peak_rss_kb(small)) / 1024
    assert large.stat().st_size > 55_000_000
    assert growth_mb < 15, f"peak RSS grew by {growth_mb:.0f} MB for a 60 MB file"


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_bytes(b'{"a": "x"}\n' * 200_000)
    command = f"{sys.executable} -m agenttrace redact {path} | head -1"
    result = subprocess.run(command, shell=True, capture_output=True, check=False)
    assert result.stdout == b'{"a": "x"}\n'
    assert b"Traceback" not in result.stderr
