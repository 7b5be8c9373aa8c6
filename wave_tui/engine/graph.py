"""The story graph: pm → dev → safety_gate → qa → supervisor → (cto | dev | end); cto → merge.

Operator decisions (gate approvals by autonomy level, safety escalations of one agent action) pass
through one `approval` node that interrupts the graph.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import END, START, StateGraph

from wave_tui.agents.approval import approval_node
from wave_tui.agents.context import StoryContext
from wave_tui.agents.cto import cto_node
from wave_tui.agents.dev import dev_node
from wave_tui.agents.merge import merge_node, merge_prep_node
from wave_tui.agents.pm import pm_node
from wave_tui.agents.qa import qa_node
from wave_tui.agents.safety_gate import safety_gate_node
from wave_tui.agents.supervisor import route_after_supervisor, supervisor_node
from wave_tui.checkpoint.redacting import RedactingSerializer
from wave_tui.domain.state import CHECKPOINT_TYPES, STOPPED_PHASES, WAVEState


def checkpoint_serializer() -> RedactingSerializer:
    """Deserialise only the state's own types from a checkpoint, nothing else; redact secrets
    before anything is written."""
    return RedactingSerializer(JsonPlusSerializer(allowed_msgpack_modules=CHECKPOINT_TYPES))


def _then(default: str) -> Any:
    def route(state: WAVEState) -> str:
        if state.phase in STOPPED_PHASES:
            return END
        pending = state.pending_approval
        if pending and not pending.get("decided"):
            return "approval"
        return default

    return route


def _after_approval(state: WAVEState) -> str:
    if state.phase in STOPPED_PHASES or not state.pending_approval:
        return END
    return str(state.pending_approval.get("next", END))


def build_graph(checkpointer: BaseCheckpointSaver[Any]) -> Any:
    graph = StateGraph(WAVEState, context_schema=StoryContext)
    graph.add_node("pm", pm_node)
    graph.add_node("dev", dev_node)
    graph.add_node("qa", qa_node)
    graph.add_node("supervisor", supervisor_node)
    graph.add_node("cto", cto_node)
    graph.add_node("merge_prep", merge_prep_node)
    graph.add_node("merge", merge_node)
    graph.add_node("approval", approval_node)
    graph.add_node("safety_gate", safety_gate_node)

    graph.add_edge(START, "pm")
    graph.add_conditional_edges("pm", _then("dev"), ["dev", "approval", END])
    graph.add_edge("dev", "safety_gate")
    graph.add_conditional_edges("safety_gate", _then("qa"), ["qa", "approval", END])
    graph.add_conditional_edges("qa", _then("supervisor"), ["supervisor", "approval", END])
    graph.add_conditional_edges(
        "supervisor",
        route_after_supervisor,
        {"cto": "cto", "dev": "dev", "end": END},
    )
    graph.add_conditional_edges("cto", _then("merge_prep"), ["merge_prep", "approval", END])
    graph.add_conditional_edges("merge_prep", _then("merge"), ["merge", "approval", END])
    graph.add_edge("merge", END)
    graph.add_conditional_edges(
        "approval", _after_approval, ["dev", "qa", "merge_prep", "merge", END]
    )
    return graph.compile(checkpointer=checkpointer)
