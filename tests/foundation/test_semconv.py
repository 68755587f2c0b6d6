"""The semantic convention: constants, versioning, and the generated files' freshness."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import agenttrace.semconv as semconv
from agenttrace.semconv.mappings import MAPPINGS

ROOT = Path(__file__).resolve().parents[2]

GENAI_ATTRIBUTES = [
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.request.model",
    "gen_ai.response.model",
    "gen_ai.response.id",
    "gen_ai.response.finish_reasons",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.conversation.id",
    "gen_ai.agent.id",
    "gen_ai.agent.name",
    "gen_ai.agent.description",
    "gen_ai.tool.name",
    "gen_ai.tool.call.id",
    "gen_ai.tool.type",
    "gen_ai.tool.description",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
    "gen_ai.memory.store.id",
    "gen_ai.memory.record.id",
    "gen_ai.memory.record.count",
    "gen_ai.memory.query.text",
    "gen_ai.memory.records",
    "gen_ai.data_source.id",
    "error.type",
]
OPERATIONS = [
    "chat",
    "text_completion",
    "generate_content",
    "embeddings",
    "retrieval",
    "execute_tool",
    "create_agent",
    "invoke_agent",
    "invoke_workflow",
    "plan",
    "search_memory",
    "update_memory",
    "delete_memory",
]


def constant_name(attribute: str) -> str:
    return attribute.replace(".", "_").upper()


def test_schema_url_is_versioned() -> None:
    assert semconv.VERSION == "1.0.0"
    assert semconv.SCHEMA_URL.endswith("/" + semconv.VERSION)
    schema_file = ROOT / "semconv" / "schemas" / semconv.VERSION
    assert f"schema_url: {semconv.SCHEMA_URL}" in schema_file.read_text()


@pytest.mark.parametrize("attribute", GENAI_ATTRIBUTES)
def test_genai_attribute_is_a_constant(attribute: str) -> None:
    assert getattr(semconv, constant_name(attribute)) == attribute
    assert attribute in semconv.ATTRIBUTE_TYPES


def test_operation_names_are_enum_values() -> None:
    values = {member.value for member in semconv.GenAiOperationNameValues}
    assert set(OPERATIONS) <= values


def test_new_names_are_namespaced() -> None:
    new = [a for a in semconv.ATTRIBUTE_TYPES if not a.startswith(("gen_ai.", "error."))]
    assert new, "the extensions are missing"
    assert all(a.startswith("agenttrace.") for a in new)


def test_span_types_follow_genai_names() -> None:
    assert (
        semconv.SPAN_TYPES["span.gen_ai.execute_tool"]["name"] == "execute_tool {gen_ai.tool.name}"
    )
    assert (
        semconv.SPAN_TYPES["span.gen_ai.invoke_agent"]["name"] == "invoke_agent {gen_ai.agent.name}"
    )
    assert "gen_ai.tool.name" in semconv.SPAN_TYPES["span.gen_ai.execute_tool"]["required"]


def test_mappings_cover_the_other_conventions() -> None:
    assert MAPPINGS["openinference"]["span_kind"]["LLM"] == "chat"
    assert (
        MAPPINGS["openinference"]["renames"]["llm.token_count.prompt"]
        == semconv.GEN_AI_USAGE_INPUT_TOKENS
    )
    assert MAPPINGS["gen_ai_legacy"]["renames"]["gen_ai.system"] == semconv.GEN_AI_PROVIDER_NAME
    assert MAPPINGS["openllmetry"]["span_kind"]["tool"] == "execute_tool"
    for dialect in MAPPINGS.values():
        for new_name in dialect.get("renames", {}).values():
            assert not new_name.startswith("gen_ai.") or new_name in semconv.ATTRIBUTE_TYPES


def test_generated_files_are_fresh() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "semconv" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_editing_the_yaml_without_regenerating_fails(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "semconv", copy / "semconv")
    shutil.copytree(
        ROOT / "src" / "agenttrace" / "semconv", copy / "src" / "agenttrace" / "semconv"
    )
    (copy / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "semconv.md", copy / "docs" / "semconv.md")
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    registry = copy / "semconv" / "registry" / "gen_ai.yaml"
    registry.write_text(
        registry.read_text().replace(
            "brief: Human-readable name of the GenAI agent.", "brief: The agent's display name."
        )
    )
    done = subprocess.run(
        [sys.executable, str(copy / "semconv" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "stale" in done.stderr


def test_an_inconsistent_registry_is_reported_by_name(tmp_path: Path) -> None:
    copy = tmp_path / "semconv"
    shutil.copytree(ROOT / "semconv", copy)
    registry = copy / "registry" / "gen_ai.yaml"
    registry.write_text(
        registry.read_text().replace("id: gen_ai.agent.description", "id: gen_ai.agent.summary")
    )
    done = subprocess.run(
        [sys.executable, str(copy / "generate.py"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "undefined attribute 'gen_ai.agent.description'" in done.stderr
    assert "Traceback" not in done.stderr
