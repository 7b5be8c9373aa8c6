"""The hook every Dev tool call passes through before it runs, and the verdict it returns.

Until the rule layer lands (the safety issue), `AllowAllGuard` allows everything and says so:
its verdicts carry score 1.0 and layer "none", so the record shows nothing was really checked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


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


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Decision
    score: float
    layer: str
    violations: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    reason: str = ""


class SafetyGuard(Protocol):
    async def evaluate(self, action: ToolAction) -> Verdict: ...


class AllowAllGuard:
    """Scores every action 1.0 without checking it: a placeholder the safety issue replaces."""

    async def evaluate(self, action: ToolAction) -> Verdict:
        return Verdict(Decision.ALLOW, 1.0, layer="none", reason="no safety rules installed")
