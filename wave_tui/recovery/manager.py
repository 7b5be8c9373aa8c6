"""RecoveryManager, the read side: a session's recovery status and each story's recovery points.

Every call is a fixed number of queries whatever the number of stories and checkpoints: the
LangGraph checkpoint each row points at is checked by an outer join in the same query, and the
status looks only at the newest few checkpoints per story (older ones only for stories whose
newest are all invalid).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wave_tui.db import Database, SessionRepository, StoryExecutionRepository
from wave_tui.db.models import WaveCheckpoint, WaveSession, WaveStoryExecution
from wave_tui.db.repositories.stories import DEFAULT_LEASE_TTL, held_message
from wave_tui.domain.enums import StoryStatus
from wave_tui.domain.gates import Gate
from wave_tui.domain.lifecycle import TERMINAL_SESSION_STATUSES
from wave_tui.errors import LeaseHeldError, NotFoundError, UserError, WaveError
from wave_tui.recovery.leases import live_holder, new_owner, owner_is_dead
from wave_tui.recovery.planning import check_arguments, parse_gate, parse_strategy, plan_recovery
from wave_tui.recovery.recover import StoryRecovery
from wave_tui.recovery.strategy import RecoveryStrategy
from wave_tui.recovery.validation import RecoveryPoint, judge, points_query

log = logging.getLogger(__name__)

# A story is recovered only from a live status; a finished one needs an explicit restart.
TERMINAL_STORY_STATUSES: frozenset[StoryStatus] = frozenset(
    {StoryStatus.COMPLETE, StoryStatus.CANCELLED}
)
# The status reads this many newest checkpoints per story; deeper only when all are invalid.
NEWEST_PER_STORY = 1


class RecoveryManager:
    """What can be recovered after a crash, and the recovery itself.

    `owner` is the lease owner that will run the recovered stories (a SessionRunner built with
    the same owner picks them up); `worktrees` is where session worktrees live (for a restart's
    reset); `operator` is who asked, for the record.
    """

    def __init__(
        self,
        database: Database,
        *,
        owner: str | None = None,
        worktrees: Path | None = None,
        operator: str = "wave",
        lease_ttl: timedelta = DEFAULT_LEASE_TTL,
    ) -> None:
        self.database = database
        self.owner = owner or new_owner()
        self._writer = StoryRecovery(
            database, self.owner, worktrees=worktrees, operator=operator, lease_ttl=lease_ttl
        )
        # Each invalid checkpoint is logged once per manager, not on every poll of the status.
        self._logged: set[int] = set()

    async def recover_story(
        self,
        session_id: uuid.UUID | str,
        story_id: str,
        strategy: RecoveryStrategy | str = RecoveryStrategy.RESUME_FROM_LAST,
        target_gate: Gate | str | None = None,
        checkpoint_id: int | None = None,
    ) -> dict[str, Any]:
        """Bring one story back; refusals (bad ids, a finished story, a live holder, no such
        checkpoint or gate) change nothing. The story is left for this manager's owner to run."""
        started = time.perf_counter()
        chosen, gate = parse_strategy(strategy), parse_gate(target_gate)
        check_arguments(chosen, gate, checkpoint_id)
        sid = parse_session_id(session_id)
        log.info(
            "Starting recovery | session=%s | story=%s | strategy=%s", sid, story_id, chosen.value
        )
        # One transaction plans and applies: a refusal rolls back with nothing written. A
        # restart resets a worktree with git, which is not done holding the write lock.
        restart = chosen is RecoveryStrategy.RESTART
        async with self.database.session(readonly=restart) as db:
            session = await SessionRepository(db).require(sid)
            story = await _require_story(db, sid, story_id)
            plan = await plan_recovery(
                db, session, story, chosen, gate, checkpoint_id, self.owner, self._story_newest
            )
            if not restart:
                status = await self._writer.apply(db, plan, started)
        if restart:
            status = await self._writer.restart(plan, started)
        return self._writer.finish(plan, status, started)

    async def recover_session(
        self,
        session_id: uuid.UUID | str,
        strategy: RecoveryStrategy | str = RecoveryStrategy.RESUME_FROM_LAST,
        target_gate: Gate | str | None = None,
    ) -> dict[str, Any]:
        """Every unfinished story of the session, with one strategy.

        All their leases are taken first in one transaction (the session row locked on
        PostgreSQL), so of two recoveries of one session exactly one proceeds and the other
        changes nothing. A story that cannot be recovered is listed under `failed`.
        """
        started = time.perf_counter()
        chosen, gate = parse_strategy(strategy), parse_gate(target_gate)
        check_arguments(chosen, gate, None)
        sid = parse_session_id(session_id)
        unfinished = await self._claim_session(sid)
        recovered: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for story_id in unfinished:
            try:
                result = await self.recover_story(sid, story_id, chosen, gate)
            except WaveError as problem:
                failed.append({"story_id": story_id, "error": str(problem)})
                log.error("Recovery failed | session=%s | story=%s | %s", sid, story_id, problem)
            else:
                recovered.append({"story_id": story_id, "result": result})
        async with self.database.session(readonly=True) as db:
            total = len(await StoryExecutionRepository(db).list_by_session(sid))
        return {
            "session_id": str(sid),
            "strategy": chosen.value,
            "total_stories": total,
            "recovered": recovered,
            "failed": failed,
            "recovery_time_seconds": round(time.perf_counter() - started, 6),
        }

    async def interrupted_sessions(
        self, project_path: str | None = None, limit: int = 100
    ) -> list[tuple[WaveSession, dict[str, Any]]]:
        """The startup scan: sessions in progress (or failed) with unfinished stories that no
        live process runs, newest first, each with its recovery status. A lease left by a dead
        process of this machine does not hide its session."""
        async with self.database.session(readonly=True) as db:
            sessions = await SessionRepository(db).list_interrupted(project_path)
            leases = (
                await db.execute(
                    select(
                        WaveStoryExecution.session_id,
                        WaveStoryExecution.lease_owner,
                        WaveStoryExecution.lease_expires_at,
                    ).where(
                        WaveStoryExecution.session_id.in_([s.id for s in sessions]),
                        WaveStoryExecution.lease_owner.is_not(None),
                    )
                )
            ).all()
        running = {sid for sid, owner, until in leases if live_holder(owner, until, self.owner)}
        found = [s for s in sessions if s.id not in running][:limit]
        return [(session, await self.get_recovery_status(session.id)) for session in found]

    async def _claim_session(self, sid: uuid.UUID) -> list[str]:
        """Take the lease of every unfinished story at once, or none: the unfinished story ids."""
        async with self.database.session() as db:
            session = await db.scalar(
                select(WaveSession).where(WaveSession.id == sid).with_for_update()
            )
            if session is None:
                raise NotFoundError(f"session {sid} not found")
            if session.status in TERMINAL_SESSION_STATUSES:
                raise UserError(f"session {sid} is {session.status.value}; nothing to recover")
            repo = StoryExecutionRepository(db)
            stories = [
                s for s in await repo.list_by_session(sid)
                if s.status not in TERMINAL_STORY_STATUSES
            ]  # fmt: skip
            for story in stories:
                if live_holder(story.lease_owner, story.lease_expires_at, self.owner):
                    raise LeaseHeldError(held_message(story))
                dead = story.lease_owner if owner_is_dead(story.lease_owner) else None
                await repo.acquire_lease(
                    story.id, self.owner, self._writer.lease_ttl, take_over=dead
                )
        return [s.story_id for s in stories]

    async def _story_newest(
        self, db: AsyncSession, sid: uuid.UUID, story_id: str
    ) -> tuple[int | None, RecoveryPoint | None]:
        """One story's newest checkpoint id and its newest valid point: one indexed row in the
        usual case, the older rows only when the newest is invalid."""
        where = and_(WaveCheckpoint.session_id == sid, WaveCheckpoint.story_id == story_id)
        newest_first = points_query(where).order_by(WaveCheckpoint.id.desc())
        rows = (await db.execute(newest_first.limit(1))).all()
        if not rows:
            return None, None
        newest = rows[0].id
        (point,) = self._judge_all(rows)
        if point.valid:
            return newest, point
        older = (await db.execute(newest_first.where(WaveCheckpoint.id < newest))).all()
        return newest, next((p for p in self._judge_all(older) if p.valid), None)

    async def find_recovery_points(
        self, session_id: uuid.UUID | str, story_id: str | None = None
    ) -> list[RecoveryPoint]:
        """The story's (or every story's) checkpoints, newest first, each judged valid or not."""
        sid = parse_session_id(session_id)
        async with self.database.session(readonly=True) as db:
            await SessionRepository(db).require(sid)
            if story_id is not None:
                await _require_story(db, sid, story_id)
            query = points_query(_story_filter(sid, story_id)).order_by(WaveCheckpoint.id.desc())
            rows = (await db.execute(query)).all()
        return self._judge_all(rows)

    async def can_recover(self, session_id: uuid.UUID | str, story_id: str) -> bool:
        """True when the story is unfinished and has at least one valid checkpoint."""
        sid = parse_session_id(session_id)
        async with self.database.session(readonly=True) as db:
            await SessionRepository(db).require(sid)
            story = await _require_story(db, sid, story_id)
            if story.status in TERMINAL_STORY_STATUSES:
                return False
            _, point = await self._story_newest(db, sid, story_id)
        return point is not None

    async def get_recovery_status(self, session_id: uuid.UUID | str) -> dict[str, Any]:
        """The session's stories by status and the unfinished ones that have a valid checkpoint."""
        sid = parse_session_id(session_id)
        async with self.database.session(readonly=True) as db:
            session = await SessionRepository(db).require(sid)
            stories = await StoryExecutionRepository(db).list_by_session(sid)
            unfinished = [s for s in stories if s.status not in TERMINAL_STORY_STATUSES]
            newest = await self._newest_valid(db, sid, [s.story_id for s in unfinished])
        return {
            "session_id": str(sid),
            "session_status": session.status.value,
            "total_stories": len(stories),
            "by_status": dict(Counter(s.status.value for s in stories)),
            "recoverable_stories": [
                {
                    "story_id": story.story_id,
                    "current_status": story.status.value,
                    "retry_count": story.retry_count,
                    "last_checkpoint": {
                        "type": point.checkpoint_type.value,
                        "gate": point.gate.value if point.gate else None,
                        "created_at": point.created_at.isoformat(),
                    },
                }
                for story in unfinished
                if (point := newest.get(story.story_id)) is not None
            ],
        }

    async def _newest_valid(
        self, db: AsyncSession, session_id: uuid.UUID, story_ids: Sequence[str]
    ) -> dict[str, RecoveryPoint]:
        """Each story's newest valid point: its newest few first, then the rest of the stuck ones.

        Two queries at most, whatever the number of stories or how deep the corruption goes.
        """
        if not story_ids:
            return {}
        found: dict[str, RecoveryPoint] = {}
        seen: defaultdict[str, int] = defaultdict(int)
        rows = (await db.execute(_ranked(session_id, story_ids, newest=True))).all()
        for point in self._judge_all(rows):
            seen[point.story_id] += 1
            if point.valid and point.story_id not in found:
                found[point.story_id] = point
        stuck = [s for s, n in seen.items() if n >= NEWEST_PER_STORY and s not in found]
        if stuck:
            rows = (await db.execute(_ranked(session_id, stuck, newest=False))).all()
            for point in self._judge_all(rows):
                if point.valid and point.story_id not in found:
                    found[point.story_id] = point
        return found

    def _judge_all(self, rows: Sequence[Any]) -> list[RecoveryPoint]:
        points = [judge(row) for row in rows]
        for point in points:
            if not point.valid and point.checkpoint_id not in self._logged:
                self._logged.add(point.checkpoint_id)
                log.warning(
                    "Invalid checkpoint skipped | story=%s | checkpoint=%s | %s",
                    point.story_id,
                    point.checkpoint_id,
                    point.problem,
                )
        return points


def parse_session_id(session_id: uuid.UUID | str) -> uuid.UUID:
    if isinstance(session_id, uuid.UUID):
        return session_id
    try:
        return uuid.UUID(session_id.strip())
    except ValueError:
        raise UserError(f"{session_id!r} is not a session id (expected a UUID)") from None


async def _require_story(
    db: AsyncSession, session_id: uuid.UUID, story_id: str
) -> WaveStoryExecution:
    story = await StoryExecutionRepository(db).get_by_story(session_id, story_id)
    if story is None:
        raise NotFoundError(f"story {story_id} is not in session {session_id}")
    return story


def _story_filter(session_id: uuid.UUID, story_id: str | None) -> ColumnElement[bool]:
    where = WaveCheckpoint.session_id == session_id
    return and_(where, WaveCheckpoint.story_id == story_id) if story_id is not None else where


def _ranked(session_id: uuid.UUID, story_ids: Collection[str], *, newest: bool) -> Select[Any]:
    """The newest NEWEST_PER_STORY checkpoints of each story (or, `newest=False`, the others)."""
    rank = (
        select(
            WaveCheckpoint.id,
            func.row_number()
            .over(partition_by=WaveCheckpoint.story_id, order_by=WaveCheckpoint.id.desc())
            .label("rank"),
        )
        .where(WaveCheckpoint.session_id == session_id, WaveCheckpoint.story_id.in_(story_ids))
        .subquery()
    )
    depth = rank.c.rank <= NEWEST_PER_STORY if newest else rank.c.rank > NEWEST_PER_STORY
    return (
        points_query(WaveCheckpoint.session_id == session_id)
        .join(rank, rank.c.id == WaveCheckpoint.id)
        .where(depth)
        .order_by(WaveCheckpoint.id.desc())
    )
