"""Planning a recovery: every refusal is decided here, from a read only, so a refused recovery
changes nothing; the plan says which checkpoint the story continues from and how."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_
from sqlalchemy.ext.asyncio import AsyncSession

from wave_tui.db import WaveCheckpoint, WaveSession, WaveStoryExecution
from wave_tui.db.repositories.stories import held_message
from wave_tui.domain.enums import CheckpointType, StoryStatus
from wave_tui.domain.gates import Gate
from wave_tui.domain.lifecycle import TERMINAL_SESSION_STATUSES
from wave_tui.errors import LeaseHeldError, NotFoundError, UserError, WaveError
from wave_tui.recovery.leases import live_holder
from wave_tui.recovery.strategy import RecoveryStrategy
from wave_tui.recovery.validation import RecoveryPoint, judge, points_query

log = logging.getLogger("wave_tui.recovery")

# A story's newest checkpoint id and its newest valid point (RecoveryManager._story_newest).
NewestPoint = Callable[
    [AsyncSession, uuid.UUID, str], Awaitable[tuple[int | None, RecoveryPoint | None]]
]
RESUMING = frozenset({RecoveryStrategy.RESUME_FROM_LAST, RecoveryStrategy.RESUME_FROM_GATE})
_TERMINAL = frozenset({StoryStatus.COMPLETE, StoryStatus.CANCELLED})


class UnrecoverableError(WaveError):
    """The story has checkpoints but none is valid: only a restart (or a skip) can help."""


@dataclass
class Plan:
    """What a recovery will do, decided before anything changes."""

    session: WaveSession
    story: WaveStoryExecution
    strategy: RecoveryStrategy
    point: RecoveryPoint | None = None
    fork_from: str | None = None
    new_thread: bool = False
    new_epoch: bool = False
    # Log lines (level, message) written only after the recovery committed: the log never tells
    # of a change that rolled back.
    notes: list[tuple[int, str]] = field(default_factory=list)


def parse_strategy(value: RecoveryStrategy | str) -> RecoveryStrategy:
    try:
        return RecoveryStrategy(value)
    except ValueError:
        known = ", ".join(s.value for s in RecoveryStrategy)
        raise UserError(f"unknown recovery strategy {value!r}; choose one of {known}") from None


def parse_gate(value: Gate | str | None) -> Gate | None:
    if value is None or isinstance(value, Gate):
        return value
    text = value.strip().lower()
    try:
        return Gate(text if text.startswith("gate-") else f"gate-{text}")
    except ValueError:
        known = ", ".join(g.value for g in Gate)
        raise UserError(f"unknown gate {value!r}; the gates are {known}") from None


def check_arguments(
    strategy: RecoveryStrategy, gate: Gate | None, checkpoint_id: int | None
) -> None:
    if strategy is RecoveryStrategy.RESUME_FROM_GATE and gate is None and checkpoint_id is None:
        raise UserError("resume_from_gate needs a gate, e.g. --gate gate-3")
    if gate is not None and strategy is not RecoveryStrategy.RESUME_FROM_GATE:
        raise UserError(f"a gate is only for resume_from_gate, not {strategy.value}")
    if checkpoint_id is not None and strategy not in RESUMING:
        raise UserError(f"a checkpoint is picked to resume from, not with {strategy.value}")


async def plan_recovery(
    db: AsyncSession,
    session: WaveSession,
    story: WaveStoryExecution,
    strategy: RecoveryStrategy,
    gate: Gate | None,
    checkpoint_id: int | None,
    owner: str,
    story_newest: NewestPoint,
) -> Plan:
    """Decide, from a read only, what recovering `story` means; refuse with a clear error."""
    label = f"story {story.story_id}"
    if story.status in _TERMINAL and strategy is not RecoveryStrategy.RESTART:
        raise UserError(f"{label} is {story.status.value}; only --strategy restart runs it again")
    if session.status in TERMINAL_SESSION_STATUSES and strategy is not RecoveryStrategy.SKIP:
        raise UserError(f"session {session.id} is {session.status.value}; nothing to recover")
    if live_holder(story.lease_owner, story.lease_expires_at, owner):
        raise LeaseHeldError(held_message(story))
    plan = Plan(session, story, strategy)
    if strategy in (RecoveryStrategy.RESTART, RecoveryStrategy.SKIP):
        return plan
    if checkpoint_id is not None:
        point = await _one_point(db, story, checkpoint_id)
        if gate is not None and point.gate is not gate:
            raise UserError(f"checkpoint {checkpoint_id} is not at {gate.value}")
        return _fork(plan, point)
    if gate is not None:
        return _fork(plan, await _gate_point(db, story, gate))
    newest_id, point = await story_newest(db, session.id, story.story_id)
    if newest_id is None:
        return plan  # never started, or crashed before its first row: it runs from the start
    if point is None:
        raise UnrecoverableError(
            f"{label} has no valid checkpoint: recover it with --strategy restart, or skip it"
        )
    plan.point = point
    if point.checkpoint_id != newest_id:
        # Newer checkpoints are invalid: branch off the newest good one, same journal epoch.
        log.warning(
            "Invalid newer checkpoints skipped | story=%s | resuming from checkpoint %s",
            story.story_id, point.checkpoint_id,
        )  # fmt: skip
        plan.fork_from = point.graph_checkpoint_id
        plan.new_thread = point.graph_checkpoint_id is None
    return plan


def _fork(plan: Plan, point: RecoveryPoint) -> Plan:
    """Time travel: continue from an older graph checkpoint; the model is asked afresh."""
    plan.point, plan.fork_from, plan.new_epoch = point, point.graph_checkpoint_id, True
    return plan


async def _one_point(db: AsyncSession, story: WaveStoryExecution, checkpoint_id: int) -> Any:
    row = (await db.execute(points_query(WaveCheckpoint.id == checkpoint_id))).first()
    if row is None or row.story_id != story.story_id or row.session_id != story.session_id:
        raise NotFoundError(f"checkpoint {checkpoint_id} is not a checkpoint of {story.story_id}")
    point = judge(row)
    if not point.valid:
        raise UserError(f"checkpoint {checkpoint_id} cannot be resumed: {point.problem}")
    if not point.resumable:
        raise UserError(
            f"checkpoint {checkpoint_id} is the story's start: use --strategy restart instead"
        )
    return point


async def _gate_point(db: AsyncSession, story: WaveStoryExecution, gate: Gate) -> RecoveryPoint:
    where = and_(
        WaveCheckpoint.session_id == story.session_id,
        WaveCheckpoint.story_id == story.story_id,
        WaveCheckpoint.checkpoint_type == CheckpointType.GATE,
    )
    rows = (await db.execute(points_query(where).order_by(WaveCheckpoint.id.desc()))).all()
    points = [judge(row) for row in rows]
    for point in points:
        if point.gate is gate and point.resumable:
            return point
    have = sorted({p.gate.value for p in points if p.gate and p.resumable})
    listed = ", ".join(have) if have else "none"
    raise UserError(
        f"story {story.story_id} has no valid checkpoint at {gate.value}; gates with one: {listed}"
    )
