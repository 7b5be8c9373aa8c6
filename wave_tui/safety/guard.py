"""The hook every agent action passes through before it runs, and the verdict it returns.

`RuleGuard` (in `rule_guard`) is the one the engine runs; there is no guard that lets an action
through unscored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from wave_tui.llm import LLMProvider
    from wave_tui.safety.context import SafetyContext
    from wave_tui.safety.evaluation import SafetyEvaluation


class Decision(StrEnum):
    ALLOW = "allow"
    ESCALATE = "escalate"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class ToolAction:
    """One tool call an agent wants to make, with what the guard needs to judge it."""

    story_id: str
    agent: str
    tool: str
    arguments: Mapping[str, Any]
    worktree: str
    forbidden: Sequence[str] = ()
    context: SafetyContext | None = None  # the story's file rules and text, when known


@dataclass(frozen=True, slots=True)
class Verdict:
    """The guard's answer for one action: its evaluation, read the way the agents act on it."""

    evaluation: SafetyEvaluation

    @property
    def decision(self) -> Decision:
        return self.evaluation.decision

    @property
    def score(self) -> float:
        return self.evaluation.score

    @property
    def layer(self) -> str:
        return self.evaluation.layer

    @property
    def reason(self) -> str:
        return self.evaluation.reasoning

    @property
    def violations(self) -> tuple[dict[str, Any], ...]:
        """The findings that lowered the score, each as the audit trail stores it."""
        return tuple(f.as_dict() for f in self.evaluation.findings if f.score < 1.0)

    @property
    def tokens(self) -> int:
        """What judging the action spent (the LLM judge), to charge to the story."""
        judge = self.evaluation.judge
        return judge.tokens if judge else 0

    @property
    def cost_usd(self) -> Decimal:
        judge = self.evaluation.judge
        return judge.cost_usd if judge else Decimal(0)

    def record(self) -> dict[str, Any]:
        """What the audit trail keeps of this verdict (events, escalations, agent outputs)."""
        return self.evaluation.as_dict()


class SafetyGuard(Protocol):
    async def evaluate(self, action: ToolAction) -> Verdict: ...

    def for_story(self, provider: LLMProvider) -> SafetyGuard:
        """This guard for one story: any model it asks (the judge) is asked through `provider`,
        the story's journaled one, so its answers are on the record and survive a crash."""
        ...
