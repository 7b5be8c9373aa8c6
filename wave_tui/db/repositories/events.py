"""The black-box recorder: append-only events, read back in order from any id on."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import func, select

from wave_tui.db.models import WaveEvent
from wave_tui.db.repositories.base import Repository
from wave_tui.domain.redaction import redact


class EventRepository(Repository):
    async def append(
        self,
        session_id: uuid.UUID,
        kind: str,
        payload: dict[str, Any] | None = None,
        *,
        story_execution_id: uuid.UUID | None = None,
        agent: str | None = None,
    ) -> WaveEvent:
        event = WaveEvent(
            session_id=session_id,
            story_execution_id=story_execution_id,
            kind=kind,
            agent=agent,
            payload=redact(payload or {}),
        )
        self.db.add(event)
        await self.db.flush()
        return event

    async def tail(
        self,
        session_id: uuid.UUID,
        *,
        after_id: int = 0,
        story_execution_id: uuid.UUID | None = None,
        limit: int = 500,
        seen: Collection[int] = (),
    ) -> Sequence[WaveEvent]:
        """Events with an id above `after_id`, oldest first: poll with the last id you saw
        (`seen`: ids above it the caller has already, left out)."""
        query = (
            select(WaveEvent)
            .where(WaveEvent.session_id == session_id, WaveEvent.id > after_id)
            .order_by(WaveEvent.id)
            .limit(limit)
        )
        if seen:
            query = query.where(WaveEvent.id.not_in(list(seen)))
        if story_execution_id is not None:
            query = query.where(WaveEvent.story_execution_id == story_execution_id)
        return (await self.db.scalars(query)).all()

    async def recent(
        self,
        session_id: uuid.UUID,
        *,
        story_execution_id: uuid.UUID | None = None,
        limit: int = 500,
    ) -> list[WaveEvent]:
        """The newest `limit` events (of one story, or of the session), oldest first."""
        query = (
            select(WaveEvent)
            .where(WaveEvent.session_id == session_id)
            .order_by(WaveEvent.id.desc())
            .limit(limit)
        )
        if story_execution_id is not None:
            query = query.where(WaveEvent.story_execution_id == story_execution_id)
        return list(reversed((await self.db.scalars(query)).all()))

    async def last_id(self, session_id: uuid.UUID) -> int:
        """The id of the session's newest event (0 when it has none): where a tail starts."""
        newest = await self.db.scalar(
            select(func.max(WaveEvent.id)).where(WaveEvent.session_id == session_id)
        )
        return int(newest or 0)

    async def latest_per_story(self, session_id: uuid.UUID, kind: str) -> Sequence[WaveEvent]:
        """Each story's newest event of one kind (a story without one is left out)."""
        newest = (
            select(func.max(WaveEvent.id))
            .where(WaveEvent.session_id == session_id, WaveEvent.kind == kind)
            .group_by(WaveEvent.story_execution_id)
        )
        return (await self.db.scalars(select(WaveEvent).where(WaveEvent.id.in_(newest)))).all()
