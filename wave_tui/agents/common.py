"""Small pieces the agent nodes share: reading the runtime context, failing a story, outputs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from langgraph.runtime import Runtime

from wave_tui.agents.context import StoryContext
from wave_tui.agents.conversation import Spend
from wave_tui.domain.state import AgentOutput, GateStatus, Phase, WAVEState, utcnow
from wave_tui.safety import Verdict


def context_of(runtime: Runtime[StoryContext]) -> StoryContext:
    return runtime.context


def spent(state: WAVEState, spend: Spend) -> dict[str, Any]:
    """The state update that charges what a conversation spent to the story's budget."""
    return {"budget": state.budget.charge(spend.tokens, spend.cost_usd)}


def output(
    agent: str,
    action: str,
    result: str,
    spend: Spend | None = None,
    tool_calls: Sequence[Mapping[str, Any]] = (),
) -> list[AgentOutput]:
    return [
        AgentOutput(
            agent=agent,
            action=action,
            result=result,
            tokens_used=spend.tokens if spend else 0,
            cost_usd=spend.cost_usd if spend else Decimal(0),
            tool_calls=[dict(call) for call in tool_calls],
        )
    ]


def failed(state: WAVEState, agent: str, reason: str, spend: Spend | None = None) -> dict[str, Any]:
    """The update that ends the story as failed, charging what was spent on the way."""
    update: dict[str, Any] = {
        "phase": Phase.FAILED,
        "error": reason,
        "error_count": state.error_count + 1,
        "current_agent": agent,
        "agent_outputs": output(agent, "failed", reason, spend),
        "updated_at": utcnow(),
    }
    if spend is not None:
        update.update(spent(state, spend))
    return update


def held(state: WAVEState, agent: str, reason: str) -> dict[str, Any]:
    """The update that holds the story for the operator, saying why."""
    return {
        "current_agent": agent,
        "phase": Phase.HELD,
        "gates": state.gates.model_copy(
            update={"gate_status": GateStatus.HOLD, "hold_reason": reason}
        ),
        "agent_outputs": output(agent, "hold", reason),
        "updated_at": utcnow(),
    }


def escalation_request(
    story_id: str, agent: str, tool: str, arguments: Mapping[str, Any], verdict: Verdict
) -> dict[str, Any]:
    """What the operator is shown for an escalated action: the action, its score and why the
    safety layer wants a human. It becomes the interrupt value and the escalation row."""
    record = verdict.record()
    return {
        "subject": "action",
        "story": story_id,
        "agent": agent,
        "tool": tool,
        "arguments": dict(arguments),
        "score": verdict.score,
        "violations": record.get("violations", []),
        "risks": record.get("risks", []),
        "reasoning": verdict.reason,
        "layer": verdict.layer,
        "summary": f"{story_id}: {agent} wants to run {tool} {brief(arguments)}",
    }


def brief(arguments: Mapping[str, Any]) -> str:
    """Tool arguments as one short line for summaries and records."""
    text = json.dumps(dict(arguments), sort_keys=True, default=str)
    return text if len(text) <= 200 else text[:199] + "…"
