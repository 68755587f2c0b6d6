"""Step and agent attribution over parent links, on hand-built span-index rows."""

from __future__ import annotations

import pyarrow as pa

from agenttrace.query._attribution import attribute

_ROWS = [
    # span_id, parent, kind, name, step_label, agent_name
    ("root", None, "agent", "invoke_agent planner", None, "planner"),
    ("step1", "root", "step", "step", "research", None),
    ("chat1", "step1", "model", "chat gpt", None, None),
    ("sdk1", "chat1", "model", "openai.chat", None, None),  # the provider SDK's span
    ("sub", "step1", "agent", "invoke_agent", None, None),  # unnamed sub-agent
    ("tool1", "sub", "tool", "execute_tool search", None, None),
    ("server1", "tool1", "tool", "mcp search", None, None),  # the MCP server's span
    ("loose", None, "model", "chat orphan", None, None),
    ("late", "not-arrived", "tool", "execute_tool late", None, None),
]


def _table() -> pa.Table:
    columns = list(zip(*_ROWS, strict=True))
    return pa.table(
        {
            "trace_id": ["t"] * len(_ROWS),
            "span_id": list(columns[0]),
            "parent_span_id": pa.array(columns[1], pa.string()),
            "kind": list(columns[2]),
            "name": list(columns[3]),
            "step_label": pa.array(columns[4], pa.string()),
            "agent_name": pa.array(columns[5], pa.string()),
        }
    )


def test_nearest_step_and_agent_depth_and_nesting() -> None:
    result = attribute(_table()).to_pylist()
    by_id = {row["span_id"]: row for row in result}
    picked = {
        span: (row["depth"], row["step_id"], row["step_name"], row["agent"], row["nested"])
        for span, row in by_id.items()
    }
    assert picked == {
        "root": (0, None, None, "planner", False),
        "step1": (1, "step1", "research", "planner", False),
        "chat1": (2, "step1", "research", "planner", False),
        "sdk1": (3, "step1", "research", "planner", True),
        # An unnamed agent is named by its span name.
        "sub": (2, "step1", "research", "invoke_agent", False),
        "tool1": (3, "step1", "research", "invoke_agent", False),
        "server1": (4, "step1", "research", "invoke_agent", True),
        # A call outside any harness step is its own step.
        "loose": (0, "loose", "chat orphan", None, False),
        # A parent that has not arrived yet: the span is a root for now.
        "late": (0, "late", "execute_tool late", None, False),
    }


def test_a_nested_call_outside_any_step_belongs_to_its_parent() -> None:
    rows = pa.table(
        {
            "trace_id": ["t", "t"],
            "span_id": ["outer", "inner"],
            "parent_span_id": pa.array([None, "outer"], pa.string()),
            "kind": ["model", "model"],
            "name": ["chat", "openai.chat"],
            "step_label": pa.array([None, None], pa.string()),
            "agent_name": pa.array([None, None], pa.string()),
        }
    )
    inner = attribute(rows).to_pylist()[1]
    assert (inner["step_id"], inner["step_name"], inner["nested"]) == ("outer", None, True)
