"""The Dev agent (gates 2-3): a tool-use loop in the worktree, every call scored before it runs."""

from __future__ import annotations

import json
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
from wave_tui.domain.gates import Gate
from wave_tui.domain.state import GateStatus, Phase, WAVEState, utcnow
from wave_tui.domain.story import Story
from wave_tui.llm import ToolCall
from wave_tui.safety import Decision, ToolAction
from wave_tui.workspace import matches_glob

AGENT = "dev"
STUCK_REPEATS = 3


class StuckError(Exception):
    """The agent repeats the same call and gets the same result: it is going in circles."""


async def dev_node(state: WAVEState, runtime: Runtime[StoryContext]) -> dict[str, Any]:
    ctx = context_of(runtime)
    iteration = state.iteration + 1
    ac_ids = [ac.id for ac in state.acceptance_criteria]
    recent: list[str] = []
    min_score = state.safety.score
    violations: list[str] = []

    async def on_tool(call: ToolCall) -> ToolOutcome:
        nonlocal min_score
        if call.name == "finish":
            mapping = call.input.get("ac_mapping")
            missing = [ac for ac in ac_ids if not isinstance(mapping, dict) or not mapping.get(ac)]
            if missing:
                return ToolOutcome(f"ac_mapping must name every criterion; missing {missing}", True)
            return ToolOutcome("finished", answer=dict(call.input))
        verdict = await ctx.guard.evaluate(
            ToolAction(
                story_id=ctx.story.id,
                agent=AGENT,
                tool=call.name,
                arguments=call.input,
                worktree=str(ctx.worktree.path),
                forbidden=tuple(ctx.story.files.forbidden),
            )
        )
        min_score = min(min_score, verdict.score)
        await ctx.sink.emit(
            "tool_call",
            AGENT,
            {
                "tool": call.name,
                "arguments": call.input,
                "decision": str(verdict.decision),
                "score": verdict.score,
                "layer": verdict.layer,
                "reason": verdict.reason,
            },
        )
        if verdict.decision is not Decision.ALLOW:
            # The operator queue for escalations arrives with the safety issue; until then an
            # action the guard does not allow is not run.
            violations.append(f"{call.name}: {verdict.reason}")
            return ToolOutcome(f"rejected by the safety layer: {verdict.reason}", is_error=True)
        result = await ctx.tools.dispatch(call.name, call.input)
        signature = json.dumps([call.name, call.input, result.content], sort_keys=True)
        recent.append(signature)
        if len(recent) >= STUCK_REPEATS and len(set(recent[-STUCK_REPEATS:])) == 1:
            raise StuckError(f"{call.name} called {STUCK_REPEATS} times with the same result")
        return ToolOutcome(result.content, is_error=not result.ok)

    spend = Spend()
    opening = prompts.dev_opening(
        ctx.story, state.plan or "", state.acceptance_criteria, iteration, state.test_output
    )
    try:
        talk = await converse(
            ctx,
            state.budget,
            agent=AGENT,
            iteration=iteration,
            system=prompts.DEV_SYSTEM,
            opening=opening,
            tools=[*ctx.tools.tool_specs(), prompts.FINISH],
            on_tool=on_tool,
            spend=spend,
        )
    except BudgetExceededError as exceeded:
        return failed(state, AGENT, str(exceeded), spend) | {"iteration": iteration}
    except StuckError as stuck:
        return {
            "phase": Phase.HELD,
            "iteration": iteration,
            "current_agent": AGENT,
            "gates": state.gates.model_copy(
                update={"gate_status": GateStatus.HOLD, "hold_reason": f"stuck: {stuck}"}
            ),
            "agent_outputs": output(AGENT, "stuck", str(stuck), spend),
            "updated_at": utcnow(),
            **spent(state, spend),
        }
    except NoAnswerError as silent:
        return failed(state, AGENT, f"development did not finish: {silent}", spend)

    created, modified = await ctx.worktree.changes()
    outside = _outside_constraints(ctx.story, created, modified)
    gates = state.gates.record(
        Gate.GATE_2,
        bool(created or modified),
        [f"{len(talk.tool_calls)} tool calls, each scored", *[f"changed {f}" for f in created]],
    )
    mapping: dict[str, str] = talk.answer.get("ac_mapping", {})
    gate3_ok = bool(created or modified) and not outside
    gates = gates.record(
        Gate.GATE_3,
        gate3_ok,
        [f"{ac}: {where}" for ac, where in mapping.items()]
        + [f"outside the story's file rules: {path}" for path in outside]
        + ([] if created or modified else ["no file changed"]),
    )
    return {
        "iteration": iteration,
        "phase": Phase.TESTING,
        "current_agent": AGENT,
        "files_created": created,
        "files_modified": modified,
        "gates": gates,
        "safety": state.safety.model_copy(
            update={
                "score": min_score,
                "violations": [*state.safety.violations, *violations],
            }
        ),
        "agent_outputs": output(
            AGENT, f"implement (attempt {iteration})", str(talk.answer.get("summary", "")),
            spend, talk.tool_calls,
        ),
        "updated_at": utcnow(),
        **spent(state, spend),
    }  # fmt: skip


def _outside_constraints(story: Story, created: list[str], modified: list[str]) -> list[str]:
    rules = story.files
    outside = [p for p in created + modified if any(matches_glob(p, g) for g in rules.forbidden)]
    if rules.create:
        outside += [p for p in created if not any(matches_glob(p, g) for g in rules.create)]
    if rules.modify:
        outside += [p for p in modified if not any(matches_glob(p, g) for g in rules.modify)]
    return sorted(set(outside))
