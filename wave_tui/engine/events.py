"""The EventBus: events are written in the caller's transaction and published once it commits.

A subscriber (the TUI, a headless printer) never sees an event that was rolled back, and a slow
subscriber never blocks the agents: its queue is bounded and drops the oldest events, counting them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from wave_tui.db import Database, EventRepository, WaveEvent


@dataclass(frozen=True, slots=True)
class Event:
    """One recorded event, as subscribers receive it."""

    id: int
    session_id: uuid.UUID
    story_execution_id: uuid.UUID | None
    kind: str
    agent: str | None
    payload: Mapping[str, Any]
    created_at: datetime

    @classmethod
    def from_row(cls, row: WaveEvent) -> Event:
        return cls(
            id=row.id,
            session_id=row.session_id,
            story_execution_id=row.story_execution_id,
            kind=row.kind,
            agent=row.agent,
            payload=dict(row.payload),
            created_at=row.created_at,
        )


class Subscription:
    """An async iterator of events; bounded, so a slow reader loses the oldest, never blocks."""

    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize)
        self.dropped = 0

    def offer(self, event: Event) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(event)

    def close(self) -> None:
        self._bus.unsubscribe(self)
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def batch(self, wait_s: float) -> list[Event]:
        """Everything that has arrived, waiting up to `wait_s` for the first: a burst of events
        costs the reader one call. Empty when nothing came (or the subscription is closed)."""
        events: list[Event] = []
        if wait_s <= 0 and self._queue.empty():
            return events
        try:
            # wait_for(…, 0) would cancel the read before it ran: a queued event is taken now.
            first = (
                self._queue.get_nowait()
                if not self._queue.empty()
                else await asyncio.wait_for(self._queue.get(), wait_s)
            )
        except TimeoutError:
            return events
        if first is None:
            self._queue.put_nowait(None)  # stay closed for the next reader
            return events
        events.append(first)
        while not self._queue.empty():
            event = self._queue.get_nowait()
            if event is None:
                self._queue.put_nowait(None)
                break
            events.append(event)
        return events

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        event = await self._queue.get()
        if event is None:
            raise StopAsyncIteration
        return event


@dataclass
class Recorder:
    """Inside one unit of work: records events that the bus publishes after the commit."""

    db: AsyncSession
    pending: list[WaveEvent] = field(default_factory=list)

    async def record(
        self,
        session_id: uuid.UUID,
        kind: str,
        payload: Mapping[str, Any] | None = None,
        *,
        story_execution_id: uuid.UUID | None = None,
        agent: str | None = None,
    ) -> WaveEvent:
        row = await EventRepository(self.db).append(
            session_id,
            kind,
            dict(payload or {}),
            story_execution_id=story_execution_id,
            agent=agent,
        )
        self.pending.append(row)
        return row


class EventBus:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._subscribers: list[Subscription] = []

    def subscribe(self, *, maxsize: int = 10_000) -> Subscription:
        subscription = Subscription(self, maxsize)
        self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscribers:
            self._subscribers.remove(subscription)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Recorder]:
        """A unit of work whose recorded events are published only if it commits."""
        async with self.database.session() as db:
            recorder = Recorder(db)
            yield recorder
        for row in recorder.pending:
            self.publish(Event.from_row(row))

    async def emit(
        self,
        session_id: uuid.UUID,
        kind: str,
        payload: Mapping[str, Any] | None = None,
        *,
        story_execution_id: uuid.UUID | None = None,
        agent: str | None = None,
    ) -> Event:
        """Record and publish one event on its own."""
        async with self.transaction() as recorder:
            row = await recorder.record(
                session_id, kind, payload, story_execution_id=story_execution_id, agent=agent
            )
        return Event.from_row(row)

    def publish(self, event: Event) -> None:
        for subscription in list(self._subscribers):
            subscription.offer(event)
