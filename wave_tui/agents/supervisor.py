"""The Supervisor: decides where a story goes after QA. Deterministic routing, no model call.

Green → CTO. Red → back to Dev while recycles remain; the same failure twice in a row, or the
recycles used up, holds the story for the operator instead of burning budget.
"""

from __future__ import annotations

from typing import Any, Literal

from wave_tui.agents.common import held, output
from wave_tui.domain.gates import Gate
from wave_tui.domain.state import STOPPED_PHASES, GateStatus, Phase, WAVEState, utcnow

AGENT = "supervisor"
Route = Literal["cto", "dev", "end"]


async def supervisor_node(state: WAVEState) -> dict[str, Any]:
    if state.phase in STOPPED_PHASES:
        return {"current_agent": AGENT}
    if reason := state.stop_reason():
        return _hold(state, reason)
    if state.gates.has_passed(Gate.GATE_4):
        return {"current_agent": AGENT, "phase": Phase.REVIEW}
    signatures = state.failure_signatures
    if len(signatures) >= 2 and signatures[-1] == signatures[-2]:
        return _hold(state, "stuck: the same tests failed the same way on consecutive attempts")
    if state.gates.recycle_count >= state.gates.max_recycles:
        return _hold(state, f"QA failed after {state.gates.recycle_count} fix attempts (the limit)")
    return {
        "current_agent": AGENT,
        "phase": Phase.DEVELOPMENT,
        "gates": state.gates.model_copy(
            update={
                "gate_status": GateStatus.RECYCLE,
                "recycle_count": state.gates.recycle_count + 1,
            }
        ),
        "agent_outputs": output(AGENT, "recycle", "tests failed: back to dev"),
        "updated_at": utcnow(),
    }


def route_after_supervisor(state: WAVEState) -> Route:
    if state.phase in STOPPED_PHASES:
        return "end"
    return "cto" if state.gates.has_passed(Gate.GATE_4) else "dev"


def _hold(state: WAVEState, reason: str) -> dict[str, Any]:
    return held(state, AGENT, reason)
