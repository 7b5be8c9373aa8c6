"""The safety gate after every Dev step: a blocked action holds the story for the operator.

The Dev step has already refused to run the action and recorded it; this node turns that into a
hold whose reason lists what was blocked and why, so nothing downstream (QA, review, merge) runs
on work the safety layer stopped.
"""

from __future__ import annotations

from typing import Any

from wave_tui.agents.common import held
from wave_tui.domain.state import WAVEState

AGENT = "safety"


async def safety_gate_node(state: WAVEState) -> dict[str, Any]:
    safety = state.safety
    if not safety.should_block:
        return {}
    blocked = "; ".join(safety.blocked_actions[-3:]) or "an action"
    violations = "; ".join(v for v in safety.violations if v.startswith("block"))[-600:]
    reason = (
        f"safety: blocked {blocked} (score {safety.score:.2f} below {safety.block_threshold}); "
        f"violations: {violations or 'see the events'}"
    )
    return held(state, AGENT, reason)
