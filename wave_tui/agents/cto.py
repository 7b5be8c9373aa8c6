"""The CTO agent (gate-5): GO, HOLD or KILL as a structured answer, never a substring search."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from wave_tui.agents import prompts
from wave_tui.agents.common import context_of, failed, output, spent
from wave_tui.agents.context import StoryContext
from wave_tui.agents.conversation import (
    BudgetExceededError,
    NoAnswerError,
    Spend,
    ToolOutcome,
    converse,
)
from wave_tui.domain.enums import AutonomyLevel
from wave_tui.domain.gates import Gate
from wave_tui.domain.state import GateStatus, Phase, WAVEState, utcnow
from wave_tui.llm import ToolCall

AGENT = "cto"
DECISIONS = {"GO", "HOLD", "KILL"}


async def cto_node(state: WAVEState, runtime: Runtime[StoryContext]) -> dict[str, Any]:
    ctx = context_of(runtime)

    async def on_tool(call: ToolCall) -> ToolOutcome:
        decision = str(call.input.get("decision", ""))
        if call.name != "submit_review" or decision not in DECISIONS:
            return ToolOutcome("call submit_review with decision GO, HOLD or KILL", True)
        return ToolOutcome("review recorded", answer=dict(call.input))

    qa = state.gates.results.get(Gate.GATE_4.value)
    summaries = [out.result for out in state.agent_outputs if out.agent == "dev"]
    spend = Spend()
    try:
        talk = await converse(
            ctx,
            state.budget,
            agent=AGENT,
            iteration=state.iteration,
            system=prompts.CTO_SYSTEM,
            opening=prompts.cto_opening(
                ctx.story,
                state.plan or "",
                summaries[-1] if summaries else "",
                state.ac_evidence,
                qa.evidence[0] if qa and qa.evidence else "",
            ),
            tools=[prompts.SUBMIT_REVIEW],
            on_tool=on_tool,
            spend=spend,
        )
    except BudgetExceededError as exceeded:
        return failed(state, AGENT, str(exceeded), spend)
    except NoAnswerError as silent:
        talk_decision, reason = "HOLD", f"no structured review: {silent}"
    else:
        talk_decision, reason = str(talk.answer["decision"]), str(talk.answer.get("reason", ""))

    safe = not state.safety.should_block
    go = talk_decision == "GO" and safe
    gates = state.gates.record(
        Gate.GATE_5,
        go,
        [f"CTO: {talk_decision} ({reason})", f"safety score {state.safety.score:.2f}"],
    )
    update: dict[str, Any] = {
        "current_agent": AGENT,
        "review_reason": reason,
        "agent_outputs": output(AGENT, f"review: {talk_decision}", reason, spend),
        "updated_at": utcnow(),
        **spent(state, spend),
    }
    if go:
        update["gates"] = gates.model_copy(update={"gate_status": GateStatus.GO})
        if ctx.autonomy is AutonomyLevel.L0:
            update["pending_approval"] = {
                "subject": "review",
                "next": "merge_prep",
                "summary": f"confirm the CTO's GO for {ctx.story.id}: {reason}",
            }
    elif talk_decision == "KILL":
        update["phase"] = Phase.KILLED
        update["gates"] = gates.model_copy(
            update={"gate_status": GateStatus.KILL, "kill_reason": reason}
        )
    else:
        why = reason if safe else f"safety score {state.safety.score:.2f} below the threshold"
        update["phase"] = Phase.HELD
        update["gates"] = gates.model_copy(
            update={"gate_status": GateStatus.HOLD, "hold_reason": f"CTO: {why}"}
        )
    return update
