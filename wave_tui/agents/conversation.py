"""The tool-use loop every LLM agent runs: ask, run the tools it called, answer, until it is done.

Budget is checked before every model call, so a story stops before a call that would start over
its own or its session's budget; what was spent up to then is still returned and charged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from wave_tui.agents.context import StoryContext
from wave_tui.domain.state import BudgetState
from wave_tui.llm import (
    ToolCall,
    assistant_message,
    conversation_id,
    tool_results_message,
    turn_index,
)


class BudgetExceededError(Exception):
    """The next model call would start over budget."""


class NoAnswerError(Exception):
    """The agent stopped talking (or ran out of turns) without its structured answer."""


class PauseTurn(Exception):
    """Raised by a tool handler: this call waits for the operator; stop the conversation here."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        super().__init__("paused for the operator")
        self.payload = dict(payload)


class ConversationPaused(Exception):
    """The conversation stopped at a tool call waiting for the operator. `snapshot` is plain
    JSON-like data (kept in the graph state) from which `converse(resume=…)` carries on."""

    def __init__(self, snapshot: dict[str, Any], payload: dict[str, Any]) -> None:
        super().__init__("conversation paused for the operator")
        self.snapshot = snapshot
        self.payload = payload


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    content: str
    is_error: bool = False
    answer: Mapping[str, Any] | None = None  # set when this call is the agent's final answer


@dataclass
class Spend:
    tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    turns: int = 0


@dataclass
class Conversation:
    answer: Mapping[str, Any]
    spend: Spend
    texts: list[str] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


ToolHandler = Callable[[ToolCall], Awaitable[ToolOutcome]]


async def converse(
    ctx: StoryContext,
    budget: BudgetState,
    *,
    agent: str,
    iteration: int,
    system: str,
    opening: str,
    tools: Sequence[Mapping[str, Any]],
    on_tool: ToolHandler,
    spend: Spend,
    resume: Mapping[str, Any] | None = None,
    on_paused: ToolHandler | None = None,
) -> Conversation:
    """Run one agent conversation to its structured answer. `spend` is filled as it goes, so a
    caller that catches an exception still knows what was spent.

    A handler that raises `PauseTurn` stops the conversation with `ConversationPaused`; calling
    again with `resume=` that snapshot and `on_paused` (which answers the call that paused)
    carries on from the same turn without asking the model anything twice.
    """
    key = conversation_id(ctx.story.id, agent, iteration)
    messages: list[dict[str, Any]] = [{"role": "user", "content": opening}]
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    if resume is not None:
        messages = [dict(m) for m in resume["messages"]]
        texts, calls = list(resume["texts"]), [dict(c) for c in resume["calls"]]
        pending = [_call(c) for c in resume["pending"]]
        done = [(str(r[0]), str(r[1]), bool(r[2])) for r in resume["results"]]
        handler = on_paused or on_tool
        answer = await _answer_calls(pending, done, messages, texts, calls, on_tool, handler)
        if answer is not None:
            return Conversation(answer, spend, texts, calls)
        messages.append(tool_results_message(done))
    for _turn in range(ctx.max_turns - _assistant_turns(messages)):
        if ctx.ledger.exhausted or budget.charge(spend.tokens, spend.cost_usd).is_exceeded:
            raise BudgetExceededError(_budget_words(ctx, budget, spend))
        turn = turn_index(messages)
        response = await ctx.provider.complete(system, messages, tools, conversation=key)
        spend.tokens += response.usage.total_tokens
        spend.cost_usd += response.cost_usd
        spend.turns += 1
        ctx.ledger.charge(response.usage.total_tokens, response.cost_usd)
        messages.append(assistant_message(response))
        if response.text:
            texts.append(response.text)
        await ctx.sink.emit(
            "agent_turn",
            agent,
            {
                "conversation": key,
                "turn": turn,
                "journaled": response.journaled,
                "text": response.text[:2000],
                "tool_calls": [call.name for call in response.tool_calls],
                "tokens": response.usage.total_tokens,
                "cost_usd": str(response.cost_usd),
            },
        )
        if not response.tool_calls:
            raise NoAnswerError(f"{agent} ended its turn without calling a tool")
        results: list[tuple[str, str, bool]] = []
        answer = await _answer_calls(
            list(response.tool_calls), results, messages, texts, calls, on_tool, on_tool
        )
        if answer is not None:
            return Conversation(answer, spend, texts, calls)
        messages.append(tool_results_message(results))
    raise NoAnswerError(f"{agent} used {ctx.max_turns} turns without finishing")


async def _answer_calls(
    pending: list[ToolCall],
    results: list[tuple[str, str, bool]],
    messages: list[dict[str, Any]],
    texts: list[str],
    calls: list[dict[str, Any]],
    on_tool: ToolHandler,
    first: ToolHandler,
) -> Mapping[str, Any] | None:
    """Answer one turn's tool calls in order (`first` answers the first of them); a pause keeps
    what was answered so far and the calls still to answer in the snapshot."""
    answer: Mapping[str, Any] | None = None
    for index, call in enumerate(pending):
        try:
            outcome = await (first if index == 0 else on_tool)(call)
        except PauseTurn as pause:
            snapshot = {
                "messages": messages,
                "texts": texts,
                "calls": calls,
                "results": [list(r) for r in results],
                "pending": [_call_dict(c) for c in pending[index:]],
            }
            raise ConversationPaused(snapshot, pause.payload) from None
        calls.append({"name": call.name, "input": call.input, "ok": not outcome.is_error})
        results.append((call.id, outcome.content, outcome.is_error))
        if outcome.answer is not None:
            answer = outcome.answer
    return answer


def _call(data: Mapping[str, Any]) -> ToolCall:
    return ToolCall(id=str(data["id"]), name=str(data["name"]), input=dict(data["input"]))


def _call_dict(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "name": call.name, "input": dict(call.input)}


def _assistant_turns(messages: Sequence[Mapping[str, Any]]) -> int:
    return sum(1 for message in messages if message.get("role") == "assistant")


def _budget_words(ctx: StoryContext, budget: BudgetState, spend: Spend) -> str:
    if ctx.ledger.exhausted:
        return (
            f"budget exceeded: the session has used {ctx.ledger.tokens_used} of "
            f"{ctx.ledger.token_limit} tokens and ${ctx.ledger.cost_usd:.4f} of "
            f"${ctx.ledger.cost_limit_usd:.2f}"
        )
    used = budget.charge(spend.tokens, spend.cost_usd)
    return (
        f"budget exceeded: the story has used {used.tokens_used} of {used.token_limit} tokens "
        f"and ${used.cost_usd:.4f} of ${used.cost_limit_usd:.2f}"
    )
