"""Gate approvals by the operator: the graph pauses here (a LangGraph interrupt) until decided.

The node does nothing before `interrupt()`, so re-running it on resume repeats no work.
"""

from __future__ import annotations

from typing import Any

from langgraph.types import interrupt

from wave_tui.agents.common import held
from wave_tui.domain.state import WAVEState, utcnow


async def approval_node(state: WAVEState) -> dict[str, Any]:
    pending = state.pending_approval or {}
    decision = interrupt({"kind": "gate_approval", **pending})
    approved = isinstance(decision, dict) and decision.get("approved") is True
    reason = str(decision.get("reason", "")) if isinstance(decision, dict) else ""
    decided = {**pending, "decided": True, "approved": approved, "reason": reason}
    if approved:
        return {"pending_approval": decided, "updated_at": utcnow()}
    rejected = f"{pending.get('subject', 'approval')} rejected: {reason}"
    return held(state, "operator", rejected) | {"pending_approval": decided}
