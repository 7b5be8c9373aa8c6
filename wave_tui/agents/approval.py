"""Gate approvals by the operator: the graph pauses here (a LangGraph interrupt) until decided.

The node does nothing before `interrupt()`, so re-running it on resume repeats no work.
"""

from __future__ import annotations

from typing import Any

from langgraph.types import interrupt

from wave_tui.domain.state import GateStatus, Phase, WAVEState, utcnow


async def approval_node(state: WAVEState) -> dict[str, Any]:
    pending = state.pending_approval or {}
    decision = interrupt({"kind": "gate_approval", **pending})
    approved = isinstance(decision, dict) and decision.get("approved") is True
    reason = str(decision.get("reason", "")) if isinstance(decision, dict) else ""
    decided = {**pending, "decided": True, "approved": approved, "reason": reason}
    if approved:
        return {"pending_approval": decided, "updated_at": utcnow()}
    return {
        "pending_approval": decided,
        "phase": Phase.HELD,
        "gates": state.gates.model_copy(
            update={
                "gate_status": GateStatus.HOLD,
                "hold_reason": f"{pending.get('subject', 'approval')} rejected: {reason}",
            }
        ),
        "updated_at": utcnow(),
    }
