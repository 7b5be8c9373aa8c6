"""Operator decisions: the graph pauses here (a LangGraph interrupt) until one is made.

Two kinds pass through this one node: gate approvals (plan, review, merge; a rejection holds the
story) and safety escalations (one agent action; the decision goes back to the agent, which runs
the action or is told why not). The node does nothing before `interrupt()`, so re-running it on
resume repeats no work.
"""

from __future__ import annotations

from typing import Any

from langgraph.types import interrupt

from wave_tui.agents.common import held
from wave_tui.domain.state import WAVEState, utcnow


async def approval_node(state: WAVEState) -> dict[str, Any]:
    pending = state.pending_approval or {}
    kind = str(pending.get("kind", "gate_approval"))
    decision = interrupt({**pending, "kind": kind})
    approved = isinstance(decision, dict) and decision.get("approved") is True
    reason = str(decision.get("reason", "")) if isinstance(decision, dict) else ""
    by = str(decision.get("by", "operator")) if isinstance(decision, dict) else "operator"
    decided = {**pending, "decided": True, "approved": approved, "reason": reason, "by": by}
    if kind == "safety":
        action = {**(state.pending_action or {}), "decision": decided}
        return {"pending_approval": decided, "pending_action": action, "updated_at": utcnow()}
    if approved:
        return {"pending_approval": decided, "updated_at": utcnow()}
    rejected = f"{pending.get('subject', 'approval')} rejected: {reason}"
    return held(state, "operator", rejected) | {"pending_approval": decided}
