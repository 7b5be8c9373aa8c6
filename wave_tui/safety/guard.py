"""The hook every agent action passes through before it runs, and the verdict it returns.

`RuleGuard` (in `rule_guard`) is the real one. `AllowAllGuard` allows everything and says so (score
1.0, layer "none"): only tests of the engine's plumbing use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
    decision: Decision
    score: float
    layer: str
    violations: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    reason: str = ""
    evaluation: SafetyEvaluation | None = None  # the full evaluation behind the verdict
    tokens: int = 0  # what judging the action spent (the LLM judge), to charge to the story
    cost_usd: Decimal = Decimal(0)

    def record(self) -> dict[str, Any]:
        """What the audit trail keeps of this verdict (events, escalations, agent outputs)."""
        if self.evaluation is not None:
            return self.evaluation.as_dict()
        return {
            "decision": str(self.decision),
            "score": self.score,
            "layer": self.layer,
            "reasoning": self.reason,
            "violations": [dict(v) for v in self.violations],
        }


class SafetyGuard(Protocol):
    async def evaluate(self, action: ToolAction) -> Verdict: ...

    def for_story(self, provider: LLMProvider) -> SafetyGuard:
        """This guard for one story: any model it asks (the judge) is asked through `provider`,
        the story's journaled one, so its answers are on the record and survive a crash."""
        ...


class AllowAllGuard:
    """Scores every action 1.0 without checking it: for tests of the engine's plumbing only."""

    async def evaluate(self, action: ToolAction) -> Verdict:
        return Verdict(Decision.ALLOW, 1.0, layer="none", reason="no safety rules installed")

    def for_story(self, provider: LLMProvider) -> AllowAllGuard:
        return self
