"""RecoveryManager, the read side: a session's recovery status and each story's recovery points.

Every call is a fixed number of queries whatever the number of stories and checkpoints: the
LangGraph checkpoint each row points at is checked by an outer join in the same query, and the
status looks only at the newest few checkpoints per story (older ones only for stories whose
newest are all invalid).
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wave_tui.checkpoint.tables import graph_checkpoints
from wave_tui.db import Database, SessionRepository, StoryExecutionRepository
from wave_tui.db.models import WaveCheckpoint, WaveStoryExecution
from wave_tui.domain.enums import StoryStatus
from wave_tui.errors import NotFoundError, UserError
from wave_tui.recovery.validation import RecoveryPoint, judge

log = logging.getLogger(__name__)

# A story is recovered only from a live status; a finished one needs an explicit restart.
TERMINAL_STORY_STATUSES: frozenset[StoryStatus] = frozenset(
    {StoryStatus.COMPLETE, StoryStatus.CANCELLED}
)
# The status reads this many newest checkpoints per story; deeper only when all are invalid.
NEWEST_PER_STORY = 3


class RecoveryStrategy(StrEnum):
    RESUME_FROM_LAST = "resume_from_last"
    RESUME_FROM_GATE = "resume_from_gate"
    RESTART = "restart"
    SKIP = "skip"


class RecoveryManager:
    """What can be recovered after a crash, read from the database; nothing here writes."""

    def __init__(self, database: Database) -> None:
        self.database = database
        # Each invalid checkpoint is logged once per manager, not on every poll of the status.
        self._logged: set[int] = set()

    async def find_recovery_points(
        self, session_id: uuid.UUID | str, story_id: str | None = None
    ) -> list[RecoveryPoint]:
        """The story's (or every story's) checkpoints, newest first, each judged valid or not."""
        sid = parse_session_id(session_id)
        async with self.database.session(readonly=True) as db:
            await SessionRepository(db).require(sid)
            if story_id is not None:
                await _require_story(db, sid, story_id)
            query = _points_query(_story_filter(sid, story_id)).order_by(WaveCheckpoint.id.desc())
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
            newest = await self._newest_valid(db, sid, [story_id])
        return story_id in newest

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


def _points_query(where: ColumnElement[bool]) -> Select[Any]:
    """Checkpoint rows with `graph_found`: whether the LangGraph checkpoint they name exists."""
    graph = graph_checkpoints.c
    return (
        select(
            WaveCheckpoint.id,
            WaveCheckpoint.story_id,
            WaveCheckpoint.story_execution_id,
            WaveCheckpoint.checkpoint_type,
            WaveCheckpoint.checkpoint_name,
            WaveCheckpoint.gate,
            WaveCheckpoint.state,
            WaveCheckpoint.created_at,
            WaveCheckpoint.graph_thread_id,
            WaveCheckpoint.graph_checkpoint_id,
            graph.checkpoint_id.is_not(None).label("graph_found"),
        )
        .outerjoin(
            graph_checkpoints,
            and_(
                graph.thread_id == WaveCheckpoint.graph_thread_id,
                graph.checkpoint_ns == "",
                graph.checkpoint_id == WaveCheckpoint.graph_checkpoint_id,
            ),
        )
        .where(where)
    )


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
        _points_query(WaveCheckpoint.session_id == session_id)
        .join(rank, rank.c.id == WaveCheckpoint.id)
        .where(depth)
        .order_by(WaveCheckpoint.id.desc())
    )
