"""Sessions: create, progress, finish, and the questions the sessions screen asks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, exists, func, select, update

from wave_tui.db.models import (
    WaveCheckpoint,
    WaveEscalation,
    WaveEvent,
    WaveSession,
    WaveStoryExecution,
)
from wave_tui.db.repositories.base import Repository, assign_given
from wave_tui.db.types import utcnow
from wave_tui.domain.enums import AutonomyLevel, EscalationStatus, SessionStatus
from wave_tui.domain.lifecycle import UNFINISHED_STORY_STATUSES, check_session_transition
from wave_tui.errors import NotFoundError

DEFAULT_BUDGET_USD = Decimal("10.0")
DEFAULT_TOKEN_LIMIT = 100_000


@dataclass(frozen=True, slots=True)
class Statistics:
    """Totals across the whole database, for `wave stats` and the sessions screen."""

    sessions: int
    sessions_by_status: dict[str, int]
    stories: int
    stories_by_status: dict[str, int]
    total_cost_usd: Decimal
    total_tokens: int
    checkpoints: int
    events: int
    pending_escalations: int
    resumable_sessions: int


class SessionRepository(Repository):
    async def create(
        self,
        project_name: str,
        wave_number: int = 1,
        *,
        project_path: str | None = None,
        budget_usd: Decimal = DEFAULT_BUDGET_USD,
        token_limit: int = DEFAULT_TOKEN_LIMIT,
        autonomy_level: AutonomyLevel = AutonomyLevel.L2,
        concurrency: int = 1,
        story_count: int = 0,
        metadata: dict[str, Any] | None = None,
    ) -> WaveSession:
        session = WaveSession(
            project_name=project_name,
            project_path=project_path,
            wave_number=wave_number,
            status=SessionStatus.PENDING,
            budget_usd=budget_usd,
            actual_cost_usd=Decimal(0),
            token_limit=token_limit,
            tokens_used=0,
            autonomy_level=autonomy_level,
            concurrency=concurrency,
            story_count=story_count,
            stories_completed=0,
            stories_failed=0,
            meta_data=metadata or {},
        )
        self.db.add(session)
        await self.db.flush()
        return session

    async def get(self, session_id: uuid.UUID) -> WaveSession | None:
        return await self.db.get(WaveSession, session_id)

    async def require(self, session_id: uuid.UUID) -> WaveSession:
        return await self._require(WaveSession, session_id, "session")

    async def list(
        self,
        *,
        status: SessionStatus | None = None,
        project_name: str | None = None,
        limit: int = 100,
    ) -> Sequence[WaveSession]:
        """Sessions, newest first."""
        query = select(WaveSession).order_by(WaveSession.created_at.desc(), WaveSession.id)
        if status is not None:
            query = query.where(WaveSession.status == status)
        if project_name is not None:
            query = query.where(WaveSession.project_name == project_name)
        return (await self.db.scalars(query.limit(limit))).all()

    async def start_session(self, session_id: uuid.UUID) -> WaveSession:
        session = await self._transition(session_id, SessionStatus.IN_PROGRESS)
        session.started_at = session.started_at or utcnow()
        await self.db.flush()
        return session

    async def update_progress(
        self,
        session_id: uuid.UUID,
        *,
        story_count: int | None = None,
        stories_completed: int | None = None,
        stories_failed: int | None = None,
        actual_cost_usd: Decimal | None = None,
        tokens_used: int | None = None,
    ) -> WaveSession:
        session = await self.require(session_id)
        assign_given(
            session,
            story_count=story_count,
            stories_completed=stories_completed,
            stories_failed=stories_failed,
            actual_cost_usd=actual_cost_usd,
            tokens_used=tokens_used,
        )
        await self.db.flush()
        return session

    async def charge(self, session_id: uuid.UUID, *, tokens: int, cost_usd: Decimal) -> WaveSession:
        """Add usage in SQL, so concurrent stories never lose each other's charges."""
        charged = await self.db.execute(
            update(WaveSession)
            .where(WaveSession.id == session_id)
            .values(
                tokens_used=WaveSession.tokens_used + tokens,
                actual_cost_usd=WaveSession.actual_cost_usd + cost_usd,
                updated_at=utcnow(),
            )
            .returning(WaveSession.id)
            .execution_options(synchronize_session=False)
        )
        if charged.scalar_one_or_none() is None:
            raise NotFoundError(f"session {session_id} not found")
        return await self._require(WaveSession, session_id, "session", refresh=True)

    async def complete_session(
        self, session_id: uuid.UUID, actual_cost_usd: Decimal | None = None
    ) -> WaveSession:
        session = await self._transition(session_id, SessionStatus.COMPLETED)
        if actual_cost_usd is not None:
            session.actual_cost_usd = actual_cost_usd
        session.completed_at = utcnow()
        await self.db.flush()
        return session

    async def fail_session(self, session_id: uuid.UUID, error: str) -> WaveSession:
        session = await self._transition(session_id, SessionStatus.FAILED)
        session.completed_at = utcnow()
        session.meta_data = {**session.meta_data, "error": error}
        await self.db.flush()
        return session

    async def cancel_session(self, session_id: uuid.UUID, reason: str) -> WaveSession:
        session = await self._transition(session_id, SessionStatus.CANCELLED)
        session.completed_at = utcnow()
        session.meta_data = {**session.meta_data, "cancel_reason": reason}
        await self.db.flush()
        return session

    async def list_resumable(self, limit: int = 100) -> Sequence[WaveSession]:
        """Interrupted sessions: in progress or failed, with unfinished stories nobody runs now."""
        query = _resumable().order_by(WaveSession.created_at.desc(), WaveSession.id).limit(limit)
        return (await self.db.scalars(query)).all()

    async def list_interrupted(self, project_path: str | None = None) -> Sequence[WaveSession]:
        """Sessions with unfinished stories, newest first, live leases or not: the caller tells
        a dead holder (a process of this machine that is gone) from a live one."""
        query = _interrupted()
        if project_path is not None:
            query = query.where(WaveSession.project_path == project_path)
        return (await self.db.scalars(query.order_by(WaveSession.created_at.desc()))).all()

    async def statistics(self) -> Statistics:
        sessions_by_status = await self._count_by(WaveSession.status)
        stories_by_status = await self._count_by(WaveStoryExecution.status)
        cost, tokens = (
            await self.db.execute(
                select(
                    func.coalesce(func.sum(WaveSession.actual_cost_usd), 0),
                    func.coalesce(func.sum(WaveSession.tokens_used), 0),
                )
            )
        ).one()
        checkpoints = await self.db.scalar(select(func.count()).select_from(WaveCheckpoint))
        events = await self.db.scalar(select(func.count()).select_from(WaveEvent))
        pending = await self.db.scalar(
            select(func.count())
            .select_from(WaveEscalation)
            .where(WaveEscalation.status == EscalationStatus.PENDING)
        )
        return Statistics(
            sessions=sum(sessions_by_status.values()),
            sessions_by_status=sessions_by_status,
            stories=sum(stories_by_status.values()),
            stories_by_status=stories_by_status,
            total_cost_usd=Decimal(cost),
            total_tokens=int(tokens),
            checkpoints=checkpoints or 0,
            events=events or 0,
            pending_escalations=pending or 0,
            resumable_sessions=await self.db.scalar(
                select(func.count()).select_from(_resumable().subquery())
            )
            or 0,
        )

    async def _count_by(self, column: Any) -> dict[str, int]:
        rows = await self.db.execute(select(column, func.count()).group_by(column))
        return {str(status): count for status, count in rows.all()}

    async def _transition(self, session_id: uuid.UUID, target: SessionStatus) -> WaveSession:
        session = await self.require(session_id)
        check_session_transition(f"session {session_id}", session.status, target)
        session.status = target
        return session


def _interrupted() -> Select[WaveSession]:
    """In progress or failed, with unfinished stories: whoever may still be running them."""
    unfinished = exists().where(
        WaveStoryExecution.session_id == WaveSession.id,
        WaveStoryExecution.status.in_(UNFINISHED_STORY_STATUSES),
    )
    return select(WaveSession).where(
        WaveSession.status.in_([SessionStatus.IN_PROGRESS, SessionStatus.FAILED]), unfinished
    )


def _resumable() -> Select[WaveSession]:
    running_now = exists().where(
        WaveStoryExecution.session_id == WaveSession.id,
        WaveStoryExecution.lease_owner.is_not(None),
        WaveStoryExecution.lease_expires_at > utcnow(),
    )
    return _interrupted().where(~running_now)
