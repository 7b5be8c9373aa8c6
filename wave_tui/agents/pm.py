"""The PM agent (gate-1): a plan and fixed acceptance criteria, as a structured answer."""

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
from wave_tui.domain.state import Phase, WAVEState, utcnow
from wave_tui.domain.story import AcceptanceCriterion
from wave_tui.llm import ToolCall

AGENT = "pm"


async def pm_node(state: WAVEState, runtime: Runtime[StoryContext]) -> dict[str, Any]:
    ctx = context_of(runtime)
    story_ids = [ac.id for ac in ctx.story.acceptance_criteria]

    async def on_tool(call: ToolCall) -> ToolOutcome:
        if call.name != "submit_plan":
            return ToolOutcome(f"unknown tool {call.name}; call submit_plan", is_error=True)
        plan = str(call.input.get("plan", "")).strip()
        try:
            criteria = [AcceptanceCriterion(**item) for item in call.input["acceptance_criteria"]]
        except (KeyError, TypeError, ValueError) as problem:
            return ToolOutcome(f"acceptance_criteria malformed: {problem}", is_error=True)
        ids = [ac.id for ac in criteria]
        if not plan:
            return ToolOutcome("the plan is empty", is_error=True)
        if story_ids and sorted(ids) != sorted(story_ids):
            return ToolOutcome(
                f"keep the story's acceptance criteria ids {story_ids}; got {ids}", is_error=True
            )
        if not criteria:
            return ToolOutcome("give at least one acceptance criterion", is_error=True)
        return ToolOutcome("plan recorded", answer={"plan": plan, "criteria": criteria})

    spend = Spend()
    try:
        talk = await converse(
            ctx,
            state.budget,
            agent=AGENT,
            iteration=1,
            system=prompts.PM_SYSTEM,
            opening=prompts.pm_opening(ctx.story),
            tools=[prompts.SUBMIT_PLAN],
            on_tool=on_tool,
            spend=spend,
        )
    except BudgetExceededError as exceeded:
        return failed(state, AGENT, str(exceeded), spend)
    except NoAnswerError as silent:
        return failed(state, AGENT, f"no plan: {silent}", spend)

    criteria: list[AcceptanceCriterion] = list(talk.answer["criteria"])
    plan = str(talk.answer["plan"])
    evidence = [f"plan of {len(plan.splitlines())} lines", *[f"{ac.id} fixed" for ac in criteria]]
    update: dict[str, Any] = {
        "plan": plan,
        "acceptance_criteria": criteria,
        "phase": Phase.DEVELOPMENT,
        "current_agent": AGENT,
        "gates": state.gates.record(Gate.GATE_1, True, evidence),
        "agent_outputs": output(AGENT, "plan", plan, spend, talk.tool_calls),
        "updated_at": utcnow(),
        **spent(state, spend),
    }
    if ctx.autonomy in (AutonomyLevel.L0, AutonomyLevel.L1):
        update["pending_approval"] = {
            "subject": "plan",
            "next": "dev",
            "summary": f"approve the plan of {ctx.story.id}",
        }
    return update
