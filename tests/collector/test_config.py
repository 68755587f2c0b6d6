from __future__ import annotations

from pathlib import Path

import pytest

from agenttrace.collector.config import load_config
from agenttrace.collector.errors import ConfigError
from agenttrace.collector.service import build_pipeline


def test_defaults_need_no_file() -> None:
    config = load_config(None, environ={})
    assert (config.receivers.host, config.receivers.grpc_port, config.receivers.http_port) == (
        "127.0.0.1",
        4317,
        4318,
    )
    assert config.store.url == "./data"
    assert config.wal.dir == ".agenttrace/wal"
    assert (config.wal.segment_max_bytes, config.wal.roll_interval_s) == (128 * 1024 * 1024, 60.0)


def test_file_then_env_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "receivers: {http_port: 9000, grpc_port: 9001}\nstore: {url: s3://b/p}\nauth: {tokens: [a]}\n"
    )
    env = {
        "AGENTTRACE_COLLECTOR__RECEIVERS__HTTP_PORT": "9100",
        "AGENTTRACE_COLLECTOR__WAL__ROLL_INTERVAL_S": "1.5",
        "AGENTTRACE_COLLECTOR_TOKENS": "b, c",
    }
    config = load_config(path, {"receivers": {"grpc_port": 9200, "host": None}}, environ=env)
    assert config.receivers.http_port == 9100
    assert config.receivers.grpc_port == 9200
    assert config.receivers.host == "127.0.0.1"
    assert config.store.url == "s3://b/p"
    assert config.wal.roll_interval_s == 1.5
    assert config.auth.tokens == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("yaml_text", "key"),
    [
        ("receivers: {http_port: 70000}", "receivers.http_port"),
        ("receivers: {http_port: '80'}", "receivers.http_port"),
        ("wal: {roll_interval_s: 0}", "wal.roll_interval_s"),
        ("wal: {segmnt_max_bytes: 1}", "wal.segmnt_max_bytes"),
        ("stores: {}", "stores"),
        ("limits: {memory_limit_bytes: -1}", "limits.memory_limit_bytes"),
        ("telemetry: {log_level: LOUD}", "telemetry.log_level"),
        ("processors: [{name: x}]", "processors[0].type"),
        ("receivers: {tls_cert_file: /nonexistent.pem}", "receivers.tls_cert_file"),
        ("receivers: {workers: 0}", "receivers.workers"),
    ],
)
def test_validation_errors_name_the_key(tmp_path: Path, yaml_text: str, key: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert info.value.key_path == key
    assert str(info.value).startswith(f"{key}: ")


def test_unknown_processor_type_names_its_position(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("processors:\n  - type: limits\n  - type: nonsense\n")
    config = load_config(path, environ={})
    with pytest.raises(ConfigError) as info:
        build_pipeline(config)
    assert info.value.key_path == "processors[1].type"
    assert "nonsense" in str(info.value)


@pytest.mark.parametrize("name", ["local.yaml", "s3.yaml"])
def test_example_configs_load_and_build(name: str) -> None:
    example = Path(__file__).parents[2] / "collector" / name
    config = load_config(example, environ={})
    pipeline = build_pipeline(config)
    assert [p.name for p in pipeline.processors] == ["normalize", "redaction", "limits"]
    assert pipeline.forwarders == []


def test_cli_rejects_a_bad_config_naming_the_key(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "c.yaml"
    path.write_text("wal: {roll_interval_s: -1}\n")
    result = subprocess.run(
        [sys.executable, "-m", "agenttrace", "collector", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "wal.roll_interval_s: must be >= 0.1 seconds" in result.stderr
