"""The EventBus: recorded in the database, published after commit, never blocked by a reader."""

from __future__ import annotations

import asyncio

import pytest

from wave_tui.db import Database, EventRepository, SessionRepository
from wave_tui.engine.events import EventBus


async def test_subscribers_get_committed_events_in_order(database: Database) -> None:
    async with database.session() as db:
        session = await SessionRepository(db).create("shop")
    bus = EventBus(database)
    subscription = bus.subscribe()
    first = await bus.emit(session.id, "operator", {"action": "hold"})
    async with bus.transaction() as recorder:
        await recorder.record(session.id, "gate", {"gate": "gate-0", "passed": True})
        await recorder.record(session.id, "gate", {"gate": "gate-1", "passed": True})
    received = [await asyncio.wait_for(anext(subscription), 1) for _ in range(3)]
    assert [e.kind for e in received] == ["operator", "gate", "gate"]
    assert received[0].id == first.id
    assert [e.payload.get("gate") for e in received[1:]] == ["gate-0", "gate-1"]
    async with database.session(readonly=True) as db:
        stored = await EventRepository(db).tail(session.id)
    assert [e.id for e in stored] == [e.id for e in received]


async def test_a_rolled_back_transaction_publishes_and_stores_nothing(database: Database) -> None:
    async with database.session() as db:
        session = await SessionRepository(db).create("shop")
    bus = EventBus(database)
    subscription = bus.subscribe()
    with pytest.raises(RuntimeError, match="crash"):
        async with bus.transaction() as recorder:
            await recorder.record(session.id, "gate", {"gate": "gate-0"})
            raise RuntimeError("crash before commit")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(subscription), 0.2)
    async with database.session(readonly=True) as db:
        assert await EventRepository(db).tail(session.id) == []


async def test_a_slow_subscriber_loses_the_oldest_events_and_never_blocks(
    database: Database,
) -> None:
    async with database.session() as db:
        session = await SessionRepository(db).create("shop")
    bus = EventBus(database)
    slow = bus.subscribe(maxsize=2)
    for n in range(5):
        await bus.emit(session.id, "tick", {"n": n})
    received = [await anext(slow), await anext(slow)]
    assert [e.payload["n"] for e in received] == [3, 4]
    assert slow.dropped == 3
    slow.close()
    assert [e async for e in slow] == []
