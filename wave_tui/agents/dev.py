"""The Dev agent (gates 2-3): a tool-use loop in the worktree, every call scored before it runs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from langgraph.runtime import Runtime

from wave_tui.agents import prompts
from wave_tui.agents.common import brief, context_of, escalation_request, failed, output, spent
from wave_tui.agents.context import StoryContext
from wave_tui.agents.conversation import (
    BudgetExceededError,
    ConversationPaused,
    NoAnswerError,
    PauseTurn,
    Spend,
    ToolOutcome,
    converse,
)
from wave_tui.domain.gates import Gate
from wave_tui.domain.state import GateStatus, Phase, SafetyState, WAVEState, utcnow
from wave_tui.domain.story import Story
from wave_tui.llm import ToolCall
from wave_tui.safety import Decision, SafetyContext, ToolAction, Verdict
from wave_tui.workspace import matches_glob

AGENT = "dev"
STUCK_REPEATS = 3


class StuckError(Exception):
    """The agent repeats the same call and gets the same result: it is going in circles."""


class ActionBlockedError(Exception):
    """The safety layer blocked a call: the step ends here and the safety gate holds the story."""


async def dev_node(state: WAVEState, runtime: Runtime[StoryContext]) -> dict[str, Any]:
    ctx = context_of(runtime)
    pending = state.pending_action
    resuming = bool(pending and pending.get("agent") == AGENT and pending.get("decision"))
    iteration = state.iteration if resuming else state.iteration + 1
    ac_ids = [ac.id for ac in state.acceptance_criteria]
    recent: list[str] = []
    scored = Scored(state.safety.score)
    safety_context = SafetyContext.for_story(ctx.story, ctx.worktree.path)

    async def on_tool(call: ToolCall) -> ToolOutcome:
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
                context=safety_context,
            )
        )
        scored.score = min(scored.score, verdict.score)
        spend.tokens += verdict.tokens  # the judge's answer is paid for like any model turn
        spend.cost_usd += verdict.cost_usd
        ctx.ledger.charge(verdict.tokens, verdict.cost_usd)
        await ctx.sink.emit(
            "tool_call", AGENT, {"tool": call.name, "arguments": call.input, **verdict.record()}
        )
        if verdict.decision is Decision.BLOCK:
            scored.blocked.append(f"{call.name} {brief(call.input)}")
            scored.violations.extend(_violations(verdict))
            raise ActionBlockedError(verdict.reason)
        if verdict.decision is Decision.ESCALATE:
            scored.violations.extend(_violations(verdict))
            raise PauseTurn(escalation_request(ctx.story.id, AGENT, call.name, call.input, verdict))
        return await run(call)

    async def run(call: ToolCall) -> ToolOutcome:
        result = await ctx.tools.dispatch(call.name, call.input)
        signature = json.dumps([call.name, call.input, result.content], sort_keys=True)
        recent.append(signature)
        if len(recent) >= STUCK_REPEATS and len(set(recent[-STUCK_REPEATS:])) == 1:
            raise StuckError(f"{call.name} called {STUCK_REPEATS} times with the same result")
        return ToolOutcome(result.content, is_error=not result.ok)

    async def on_decided(call: ToolCall) -> ToolOutcome:
        """The escalated call, now that the operator decided: run it, or tell the agent why not."""
        decision = (pending or {}).get("decision") or {}
        by, reason = decision.get("by", "the operator"), decision.get("reason") or "no reason"
        if decision.get("approved") is True:
            await ctx.sink.emit(
                "tool_call_approved", AGENT, {"tool": call.name, "by": by, "reason": reason}
            )
            return await run(call)
        await ctx.sink.emit(
            "tool_call_rejected", AGENT, {"tool": call.name, "by": by, "reason": reason}
        )
        return ToolOutcome(
            f"rejected by the operator ({by}): {reason}. The action did not run; do not try it "
            "again. Find another way within the plan, or finish.",
            is_error=True,
        )

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
            resume=(pending or {}).get("conversation") if resuming else None,
            on_paused=on_decided,
        )
    except ConversationPaused as paused:
        return {
            "iteration": iteration,
            "phase": Phase.DEVELOPMENT,
            "current_agent": AGENT,
            "pending_action": {**paused.payload, "conversation": paused.snapshot},
            "pending_approval": {**paused.payload, "kind": "safety", "next": "dev"},
            "safety": scored.update(state),
            "updated_at": utcnow(),
            **spent(state, spend),
        }
    except ActionBlockedError as blocked:
        return {
            "iteration": iteration,
            "phase": Phase.DEVELOPMENT,
            "current_agent": AGENT,
            "pending_action": None,
            "safety": scored.update(state),
            "agent_outputs": output(AGENT, "blocked", str(blocked), spend),
            "updated_at": utcnow(),
            **spent(state, spend),
        }
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
        "pending_action": None,
        "safety": scored.update(state),
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


@dataclass
class Scored:
    """What the safety layer said during one Dev step: the lowest score and what it flagged."""

    score: float
    violations: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def update(self, state: WAVEState) -> SafetyState:
        return state.safety.model_copy(
            update={
                "score": min(self.score, state.safety.score),
                "violations": [*state.safety.violations, *self.violations],
                "blocked_actions": [*state.safety.blocked_actions, *self.blocked],
            }
        )


def _violations(verdict: Verdict) -> list[str]:
    decision = str(verdict.decision)
    return [f"{decision}: {v.get('rule')} ({v.get('detail')})" for v in verdict.violations] or [
        f"{decision}: {verdict.reason}"
    ]
