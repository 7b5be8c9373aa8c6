"""What the console shows of a session, a story and an escalation: plain frozen values built from
rows and events, with each story's gate strip. The board (board.py) keeps them current."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from wave_tui.db import WaveEscalation, WaveSession
from wave_tui.db.types import utcnow
from wave_tui.domain.enums import AutonomyLevel, SessionStatus, StoryStatus
from wave_tui.domain.gates import Gate

# The four states of one cell of a story's gate strip.
PASSED, CURRENT, FAILED, NOT_REACHED = "passed", "current", "failed", "not reached"
GATE_STATES = (PASSED, CURRENT, FAILED, NOT_REACHED)


@dataclass(frozen=True, slots=True)
class SessionView:
    id: uuid.UUID
    name: str
    project_path: str | None
    status: SessionStatus
    autonomy: AutonomyLevel
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    budget_usd: Decimal
    cost_usd: Decimal
    token_limit: int
    tokens_used: int
    story_count: int
    completed: int = 0
    failed: int = 0
    running: int = 0
    open_escalations: int = 0

    @property
    def cost_fraction(self) -> float:
        return float(self.cost_usd / self.budget_usd) if self.budget_usd else 0.0

    @property
    def token_fraction(self) -> float:
        return self.tokens_used / self.token_limit if self.token_limit else 0.0

    def elapsed(self, now: datetime | None = None) -> timedelta:
        if self.started_at is None:
            return timedelta(0)
        return (self.completed_at or now or utcnow()) - self.started_at

    @classmethod
    def of(cls, row: WaveSession, **counts: int) -> SessionView:
        return cls(
            id=row.id,
            name=row.project_name,
            project_path=row.project_path,
            status=row.status,
            autonomy=row.autonomy_level,
            created_at=row.created_at,
            started_at=row.started_at,
            completed_at=row.completed_at,
            budget_usd=row.budget_usd,
            cost_usd=row.actual_cost_usd,
            token_limit=row.token_limit,
            tokens_used=row.tokens_used,
            story_count=row.story_count,
            **counts,
        )


@dataclass(frozen=True, slots=True)
class StoryView:
    execution_id: uuid.UUID
    story_id: str
    title: str
    status: StoryStatus
    agent: str | None
    phase: str | None
    gates: tuple[str, ...]  # one of GATE_STATES per gate, gate-0 … gate-7
    iteration: int
    recycles: int
    tokens: int
    cost_usd: Decimal
    safety: float | None
    ac_passed: int
    ac_total: int
    block_reason: str | None
    error: str | None
    files_created: tuple[str, ...]
    files_modified: tuple[str, ...]
    depends_on: tuple[str, ...]
    lease_owner: str | None

    @property
    def finished(self) -> bool:
        return self.status in (StoryStatus.COMPLETE, StoryStatus.FAILED, StoryStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class EscalationView:
    """An escalation as the operator is shown it: the action, its score and why."""

    id: int
    story_id: str | None
    kind: str
    summary: str
    agent: str | None
    tool: str | None
    arguments: Mapping[str, Any]
    score: float | None
    violations: tuple[str, ...]
    risks: tuple[str, ...]
    reasoning: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: WaveEscalation, story_id: str | None) -> EscalationView:
        action = dict(row.action or {})
        return cls(
            id=row.id,
            story_id=story_id or action.get("story"),
            kind=str(row.kind),
            summary=row.summary,
            agent=action.get("agent"),
            tool=action.get("tool"),
            arguments=dict(action.get("arguments") or {}),
            score=row.score,
            violations=tuple(_violation_text(v) for v in row.violations or []),
            risks=tuple(str(r) for r in action.get("risks") or []),
            reasoning=action.get("reasoning") or action.get("reason"),
            created_at=row.created_at,
        )


def gate_strip(
    status: StoryStatus, current: Gate | None, verdicts: Mapping[str, bool]
) -> tuple[str, ...]:
    """Eight cells: a gate's newest verdict, else `current` for the gate the story stands at
    (`failed` there when the story ended without passing it), else not reached. A story that
    ended before its first step (no worktree, killed while pending) failed at gate 0."""
    if status is StoryStatus.COMPLETE:
        return (PASSED,) * len(Gate)
    if current is None and not verdicts and status in (StoryStatus.FAILED, StoryStatus.CANCELLED):
        current = Gate.GATE_0
    cells = []
    for gate in Gate:
        verdict = verdicts.get(gate.value)
        if verdict is not None:
            cells.append(PASSED if verdict else FAILED)
        elif current is not None and gate is current:
            ended = status in (StoryStatus.FAILED, StoryStatus.CANCELLED)
            cells.append(FAILED if ended else CURRENT)
        elif current is not None and gate.number < current.number:
            cells.append(PASSED)
        else:
            cells.append(NOT_REACHED)
    return tuple(cells)


def first_not_passed(verdicts: Mapping[str, bool]) -> Gate:
    for gate in Gate:
        if not verdicts.get(gate.value):
            return gate
    return Gate.GATE_7


def _violation_text(violation: Any) -> str:
    if isinstance(violation, Mapping):
        name = violation.get("principle") or violation.get("rule") or violation.get("name")
        detail = (
            violation.get("reason")
            or violation.get("description")
            or violation.get("risk")
            or violation.get("detail")
            or ""
        )
        return f"{name}: {detail}" if name and detail else str(name or detail or violation)
    return str(violation)
