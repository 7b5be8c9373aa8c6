"""What every agent node gets besides the state: the story, its workspace, model and guard."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from wave_tui.domain.enums import AutonomyLevel
from wave_tui.domain.story import Story
from wave_tui.llm import LLMProvider
from wave_tui.safety import SafetyGuard
from wave_tui.workspace import WorkspaceTools, Worktree


@dataclass
class SessionLedger:
    """What the whole session has spent, shared by its concurrently running stories."""

    token_limit: int
    cost_limit_usd: Decimal
    tokens_used: int = 0
    cost_usd: Decimal = Decimal(0)

    @property
    def exhausted(self) -> bool:
        return self.tokens_used >= self.token_limit or self.cost_usd >= self.cost_limit_usd

    def charge(self, tokens: int, cost: Decimal) -> None:
        self.tokens_used += tokens
        self.cost_usd += cost


class EventSink(Protocol):
    """Where agents report what they do; the runner connects it to the EventBus."""

    async def emit(self, kind: str, agent: str, payload: dict[str, Any]) -> None: ...


@dataclass
class StoryContext:
    story: Story
    session_id: uuid.UUID
    story_execution_id: uuid.UUID
    provider: LLMProvider
    tools: WorkspaceTools
    worktree: Worktree
    guard: SafetyGuard
    ledger: SessionLedger
    sink: EventSink
    autonomy: AutonomyLevel = AutonomyLevel.L2
    test_timeout: float = 300.0
    max_turns: int = 30
