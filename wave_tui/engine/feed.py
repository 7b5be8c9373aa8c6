"""A session's events as they happen, for a console: from the EventBus when this process runs the
session, and tailed from the events table for what other processes (or machines) record."""

from __future__ import annotations

import asyncio
import uuid
from collections import deque

from wave_tui.db import Database, EventRepository
from wave_tui.engine.events import Event, EventBus, Subscription

# Ids are handed out before commit: a later id can become visible first. Each tail looks this
# far back (the reader drops what it has seen, see `SeenIds`), so an event committed late is not
# lost.
LOOKBACK = 500


class SeenIds:
    """The ids of the newest `size` events taken in: repeats are recognised, memory is bounded."""

    def __init__(self, size: int = 5_000) -> None:
        self._order: deque[int] = deque(maxlen=size)
        self._ids: set[int] = set()

    def add(self, event_id: int) -> bool:
        """False when the id was seen already."""
        if event_id in self._ids:
            return False
        if len(self._order) == self._order.maxlen:
            self._ids.discard(self._order[0])
        self._order.append(event_id)
        self._ids.add(event_id)
        return True


class SessionFeed:
    """`next_batch()` returns new events in id order, waiting up to a bound; a tail may repeat
    recent ones (see LOOKBACK), which the reader drops.

    With a bus (the session runs here), events arrive the moment their transaction commits and
    the table is tailed every `tail_s` for the rest; without one, the table is tailed every
    `poll_s`."""

    def __init__(
        self,
        database: Database,
        session_id: uuid.UUID,
        *,
        bus: EventBus | None = None,
        after_id: int = 0,
        poll_s: float = 0.25,
        tail_s: float = 2.0,
    ) -> None:
        self.database = database
        self.session_id = session_id
        self.poll_s = poll_s
        self.tail_s = tail_s if bus is not None else poll_s
        self._subscription: Subscription | None = bus.subscribe() if bus is not None else None
        self._after = after_id
        self._recent: deque[int] = deque(maxlen=LOOKBACK)  # ids delivered lately
        self._next_tail = 0.0
        self.tails = 0  # how many times the table was read: for tests and the bench

    async def next_batch(self, wait_s: float) -> list[Event]:
        loop = asyncio.get_running_loop()
        events: list[Event] = []
        if self._subscription is not None:
            until_tail = max(0.0, self._next_tail - loop.time())
            got = await self._subscription.batch(min(wait_s, until_tail))
            events.extend(e for e in got if e.session_id == self.session_id)
        elif (pause := min(wait_s, self._next_tail - loop.time())) > 0:
            await asyncio.sleep(pause)
        if loop.time() >= self._next_tail:
            self._next_tail = loop.time() + self.tail_s
            events.extend(await self._tail())
        events.sort(key=lambda e: e.id)
        if events:
            self._after = max(self._after, events[-1].id)
        for event in events:
            self._recent.append(event.id)
        return events

    def close(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None

    async def _tail(self) -> list[Event]:
        self.tails += 1
        since = max(0, self._after - LOOKBACK)
        # What the look-back window holds already is not read again: only late commits are.
        seen = [i for i in self._recent if i > since]
        async with self.database.session(readonly=True) as db:
            rows = await EventRepository(db).tail(
                self.session_id, after_id=since, limit=2_000, seen=seen
            )
        return [Event.from_row(row) for row in rows]
