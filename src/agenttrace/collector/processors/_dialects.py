"""Mapping entries the normalize processor needs beyond ``agenttrace.semconv.mappings``.

The shared mapping data (``semconv/mappings.yaml``) is the source of truth; the entries here
extend it, in the same shape, with what it does not (yet) express: more OpenInference and
OpenLLMetry names, and the Logfire and MLflow dialects. :func:`merged_mappings` combines both,
the shared data winning wherever both define an entry.

Keys understood per dialect, beyond the shared ones (``detect``, ``kind_attribute``,
``span_kind``, ``renames``, ``content_by_kind``, ``entity_name_by_kind``, ``also_set``,
``message_prefixes``, ``tools_prefix``, ``llm_request_type``):

* ``detect_by_renames``: every ``renames`` source also marks the dialect;
* ``entity_attribute``: the attribute ``entity_name_by_kind`` reads (default
  ``traceloop.entity.name``);
* ``json_fields_by_kind``: ``{operation: {attribute: {dotted.path: target}}}``, fields picked
  out of a JSON-valued attribute;
* ``companions``: attributes that only describe another one (``input.mime_type``) and go
  when it is mapped;
* ``json_encoded_values``: attribute values are JSON-encoded (MLflow stores ``"LLM"`` as
  ``'"LLM"'``);
* ``name_from_attribute``: for spans whose operation stays unknown, the span name is replaced by
  this attribute when the name is a format template (Logfire names spans ``Function: {name}``);
* ``events_attribute``: a JSON list of ``gen_ai.*.message`` events holding both directions.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

from agenttrace import semconv

_TOOL_IO = {
    "input": semconv.GEN_AI_TOOL_CALL_ARGUMENTS,
    "output": semconv.GEN_AI_TOOL_CALL_RESULT,
}
_MESSAGES_IO = {"input": semconv.GEN_AI_INPUT_MESSAGES, "output": semconv.GEN_AI_OUTPUT_MESSAGES}

EXTRA_MAPPINGS: Final[dict[str, dict[str, Any]]] = {
    "openinference": {
        "renames": {
            "llm.request.model_name": semconv.GEN_AI_REQUEST_MODEL,
            "llm.response.model_name": semconv.GEN_AI_RESPONSE_MODEL,
            "embedding.model_name": semconv.GEN_AI_REQUEST_MODEL,
            "reranker.model_name": semconv.GEN_AI_REQUEST_MODEL,
            "llm.finish_reason": semconv.GEN_AI_RESPONSE_FINISH_REASONS,
            "tool.id": semconv.GEN_AI_TOOL_CALL_ID,
        },
        "companions": {"input.value": ["input.mime_type"], "output.value": ["output.mime_type"]},
    },
    # Their names are namespaced and unambiguous: any renamed attribute marks the dialect.
    "openllmetry": {"detect_by_renames": True},
    "gen_ai_legacy": {
        "detect_by_renames": True,
        "renames": {
            "gen_ai.usage.reasoning_tokens": semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
            "llm.usage.reasoning_tokens": semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
            "gen_ai.response.finish_reason": semconv.GEN_AI_RESPONSE_FINISH_REASONS,
            "llm.response.finish_reason": semconv.GEN_AI_RESPONSE_FINISH_REASONS,
        },
    },
    # Logfire (and the OpenAI Agents SDK through logfire.instrument_openai_agents): spans are
    # named by their message template; plain attribute names carry the payload.
    "logfire": {
        "detect": ["logfire.msg_template"],
        "kind_attribute": "logfire.msg_template",
        "span_kind": {
            "Agent run: {name!r}": "invoke_agent",
            "Function: {name}": "execute_tool",
            "Handoff: {from_agent} → {to_agent}": "agenttrace:handoff",
            "Guardrail {name!r} {triggered=}": "agenttrace:guardrail",
            "OpenAI Agents trace: {name}": "invoke_workflow",
            "Responses API with {gen_ai.request.model!r}": "chat",
            "Chat completion with {gen_ai.request.model!r}": "chat",
            "Chat Completion with {request_data[model]!r}": "chat",
            "Embedding Creation with {request_data[model]!r}": "embeddings",
            "Message with {request_data[model]!r}": "chat",
        },
        "entity_attribute": "name",
        "entity_name_by_kind": {
            "invoke_agent": semconv.GEN_AI_AGENT_NAME,
            "execute_tool": semconv.GEN_AI_TOOL_NAME,
            "invoke_workflow": semconv.AGENTTRACE_WORKFLOW_NAME,
            "agenttrace:guardrail": semconv.AGENTTRACE_STEP_NAME,
        },
        "content_by_kind": {
            "execute_tool": _TOOL_IO,
            "chat": {
                **_MESSAGES_IO,
                "request_data": semconv.GEN_AI_INPUT_MESSAGES,
                "response_data": semconv.GEN_AI_OUTPUT_MESSAGES,
            },
            "agenttrace:handoff": {
                "from_agent": semconv.AGENTTRACE_SENDER_AGENT_NAME,
                "to_agent": semconv.AGENTTRACE_RECEIVER_AGENT_NAME,
            },
            "invoke_workflow": {
                "group_id": semconv.GEN_AI_CONVERSATION_ID,
            },
        },
        "json_fields_by_kind": {
            "chat": {
                "usage": {
                    "input_tokens": semconv.GEN_AI_USAGE_INPUT_TOKENS,
                    "output_tokens": semconv.GEN_AI_USAGE_OUTPUT_TOKENS,
                },
                "response": {
                    "id": semconv.GEN_AI_RESPONSE_ID,
                    "model": semconv.GEN_AI_RESPONSE_MODEL,
                    "usage.input_tokens": semconv.GEN_AI_USAGE_INPUT_TOKENS,
                    "usage.output_tokens": semconv.GEN_AI_USAGE_OUTPUT_TOKENS,
                    "usage.input_tokens_details.cached_tokens": (
                        semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS
                    ),
                    "usage.output_tokens_details.reasoning_tokens": (
                        semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS
                    ),
                },
                "request_data": {"model": semconv.GEN_AI_REQUEST_MODEL},
                "response_data": {
                    "model": semconv.GEN_AI_RESPONSE_MODEL,
                    "usage.prompt_tokens": semconv.GEN_AI_USAGE_INPUT_TOKENS,
                    "usage.completion_tokens": semconv.GEN_AI_USAGE_OUTPUT_TOKENS,
                    "usage.input_tokens": semconv.GEN_AI_USAGE_INPUT_TOKENS,
                    "usage.output_tokens": semconv.GEN_AI_USAGE_OUTPUT_TOKENS,
                },
            },
        },
        "also_set": {semconv.GEN_AI_CONVERSATION_ID: [semconv.AGENTTRACE_SESSION_ID]},
        "name_from_attribute": "logfire.msg",
        "events_attribute": "events",
    },
    # MLflow tracing: mlflow.* attribute values are JSON-encoded.
    "mlflow": {
        "detect": ["mlflow.spanType"],
        "kind_attribute": "mlflow.spanType",
        "json_encoded_values": True,
        "span_kind": {
            "LLM": "chat",
            "CHAT_MODEL": "chat",
            "EMBEDDING": "embeddings",
            "RETRIEVER": "retrieval",
            "RERANKER": "retrieval",
            "TOOL": "execute_tool",
            "AGENT": "invoke_agent",
            "CHAIN": "invoke_workflow",
            "GUARDRAIL": "agenttrace:guardrail",
        },
        "renames": {
            "mlflow.llm.model": semconv.GEN_AI_REQUEST_MODEL,
            "mlflow.chat.tools": semconv.GEN_AI_TOOL_DEFINITIONS,
        },
        "content_by_kind": {
            op: {"mlflow.spanInputs": target_in, "mlflow.spanOutputs": target_out}
            for op, target_in, target_out in (
                (
                    "execute_tool",
                    semconv.GEN_AI_TOOL_CALL_ARGUMENTS,
                    semconv.GEN_AI_TOOL_CALL_RESULT,
                ),
                ("chat", semconv.GEN_AI_INPUT_MESSAGES, semconv.GEN_AI_OUTPUT_MESSAGES),
                ("invoke_agent", semconv.GEN_AI_INPUT_MESSAGES, semconv.GEN_AI_OUTPUT_MESSAGES),
                ("invoke_workflow", semconv.GEN_AI_INPUT_MESSAGES, semconv.GEN_AI_OUTPUT_MESSAGES),
            )
        },
        "json_fields_by_kind": {
            "*": {
                "mlflow.chat.tokenUsage": {
                    "input_tokens": semconv.GEN_AI_USAGE_INPUT_TOKENS,
                    "output_tokens": semconv.GEN_AI_USAGE_OUTPUT_TOKENS,
                },
                "mlflow.llm.cost": {"total_cost": semconv.AGENTTRACE_COST_USD},
            },
        },
    },
}

# Provider values other instrumentations use, as the GenAI ``gen_ai.provider.name`` values.
PROVIDER_VALUES: Final[dict[str, str]] = {
    "az.ai.openai": "azure.ai.openai",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "aws": "aws.bedrock",
    "bedrock": "aws.bedrock",
    "google": "gcp.gen_ai",
    "vertexai": "gcp.vertex_ai",
    "vertex_ai": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "mistralai": "mistral_ai",
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "watsonx": "ibm.watsonx.ai",
}

# Span name per operation: the attribute whose value follows the operation in the name.
SPAN_NAME_ATTRIBUTE: Final[dict[str, str]] = {
    "chat": semconv.GEN_AI_REQUEST_MODEL,
    "text_completion": semconv.GEN_AI_REQUEST_MODEL,
    "generate_content": semconv.GEN_AI_REQUEST_MODEL,
    "embeddings": semconv.GEN_AI_REQUEST_MODEL,
    "retrieval": semconv.GEN_AI_DATA_SOURCE_ID,
    "execute_tool": semconv.GEN_AI_TOOL_NAME,
    "invoke_agent": semconv.GEN_AI_AGENT_NAME,
    "invoke_workflow": semconv.AGENTTRACE_WORKFLOW_NAME,
    "agenttrace:step": semconv.AGENTTRACE_STEP_NAME,
}

# When a dialect names the operation but not its subject, the span's own name is the subject.
NAME_FALLBACK: Final[dict[str, str]] = {
    "invoke_agent": semconv.GEN_AI_AGENT_NAME,
    "execute_tool": semconv.GEN_AI_TOOL_NAME,
    "invoke_workflow": semconv.AGENTTRACE_WORKFLOW_NAME,
    "agenttrace:step": semconv.AGENTTRACE_STEP_NAME,
}

# Dialects in precedence order when several mark the same span.
DIALECT_ORDER: Final = ("openinference", "openllmetry", "logfire", "mlflow", "gen_ai_legacy")


def merged_mappings(shared: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``shared`` (the semconv mapping data) completed with :data:`EXTRA_MAPPINGS`."""
    merged: dict[str, dict[str, Any]] = copy.deepcopy(EXTRA_MAPPINGS)
    for dialect, spec in shared.items():
        target = merged.setdefault(dialect, {})
        for key, value in spec.items():
            if isinstance(value, dict) and isinstance(target.get(key), dict):
                target[key] = {**target[key], **value}
            elif isinstance(value, list) and isinstance(target.get(key), list):
                target[key] = list(dict.fromkeys([*value, *target[key]]))
            else:
                target[key] = copy.deepcopy(value)
    return merged
