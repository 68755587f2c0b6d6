"""The configuration block: parsing, defaults and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from agenttrace.redaction import DETECTOR_NAMES, RedactionConfig, RedactionConfigError
from agenttrace.redaction.config_file import load_config


def test_default_config_enables_every_detector_in_mask_mode() -> None:
    config = RedactionConfig()
    assert config.enabled_detectors == DETECTOR_NAMES
    assert config.mode == "mask"
    assert all(config.mode_for(n) == "mask" for n in DETECTOR_NAMES)
    assert RedactionConfig.from_dict({}) == config
    assert RedactionConfig.from_dict(None) == config


def test_every_error_names_its_key() -> None:
    with pytest.raises(RedactionConfigError) as info:
        RedactionConfig.from_dict(
            {
                "mode": "shred",
                "colour": "red",
                "hash_length": "16",
                "detectors": {"emial": False, "email": {"mode": "burn", "colour": 1}},
                "allow": [{"types": ["bogus"]}, {"value": "("}, 5],
                "block": [{"key": "x", "types": ["email"]}],
                "ignore": "not-a-list",
                "json_keys": [1],
                "enabled": "yes",
            }
        )
    errors = "\n".join(info.value.errors)
    for key in (
        "redaction.mode",
        "redaction.colour: unknown key",
        "redaction.hash_length",
        "redaction.detectors.emial: unknown detector",
        "redaction.detectors.email.mode",
        "redaction.detectors.email.colour",
        "redaction.allow[0].types: unknown detector 'bogus'",
        "redaction.allow[1].value: invalid regular expression",
        "redaction.allow[2]",
        "redaction.block[0]: types and value apply to allow rules only",
        "redaction.ignore: must be a list",
        "redaction.json_keys",
        "redaction.enabled",
    ):
        assert key in errors


def test_hash_mode_needs_a_key_from_config_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RedactionConfigError, match=r"redaction\.hash_key"):
        RedactionConfig.from_dict({"mode": "hash"})
    with pytest.raises(RedactionConfigError, match="AT_TEST_KEY is not set"):
        RedactionConfig.from_dict({"mode": "hash", "hash_key_env": "AT_TEST_KEY"})
    monkeypatch.setenv("AT_TEST_KEY", "s3cret-key")
    config = RedactionConfig.from_dict({"mode": "hash", "hash_key_env": "AT_TEST_KEY"})
    assert config.hash_key == b"s3cret-key"
    with pytest.raises(RedactionConfigError, match=r"redaction\.hash_length"):
        RedactionConfig.from_dict({"hash_length": 4})


@pytest.mark.parametrize(
    "document",
    [
        "mode: mask\ndetectors:\n  ipv4: false\n",
        "redaction:\n  mode: mask\n  detectors:\n    ipv4: false\n",
        "receivers: {}\nprocessors:\n  - type: limits\n  - type: redaction\n    name: scrub\n"
        "    detectors:\n      ipv4: false\n",
    ],
)
def test_config_file_accepts_the_block_in_each_shape(tmp_path: Path, document: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(document)
    assert load_config(path).disabled_detectors == frozenset({"ipv4"})


def test_config_file_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("redaction: [unclosed\n")
    with pytest.raises(RedactionConfigError, match=r"broken\.yaml: invalid YAML"):
        load_config(path)
    with pytest.raises(RedactionConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
