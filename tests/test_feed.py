"""A session's feed of events (from the bus, tailed from the table) and events as log lines."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import pytest

from wave_tui.db import Database, EventRepository, SessionRepository
from wave_tui.engine.board import Board
from wave_tui.engine.describe import describe, event_line
from wave_tui.engine.events import Event, EventBus
from wave_tui.engine.feed import SeenIds, SessionFeed


async def two_sessions(database: Database) -> tuple[uuid.UUID, uuid.UUID]:
    """The session the console watches, and another one on the same database."""
    async with database.session() as db:
        ours = await SessionRepository(db).create("shop")
        theirs = await SessionRepository(db).create("ledger")
    return ours.id, theirs.id


async def until_delivered(feed: SessionFeed, ids: Iterable[int], rounds: int = 100) -> list[Event]:
    """Batches from the feed until every id in `ids` came (a bounded number of rounds)."""
    wanted, events = set(ids), []
    for _ in range(rounds):
        events += await feed.next_batch(0.1)
        if wanted <= {e.id for e in events}:
            return events
    raise AssertionError(f"never delivered: {wanted - {e.id for e in events}}")


# -- the feed -----------------------------------------------------------------------------------


async def test_with_a_bus_this_session_s_events_arrive_without_reading_the_table(
    database: Database,
) -> None:
    ours, theirs = await two_sessions(database)
    bus = EventBus(database)
    feed = SessionFeed(database, ours, bus=bus, tail_s=3_600)
    assert await feed.next_batch(0.1) == []  # the first batch reads the table once: empty
    assert feed.tails == 1

    await bus.emit(theirs, "operator_command", {"verb": "hold"})
    mine = await bus.emit(ours, "operator_command", {"verb": "kill", "story": "S-1"})
    events = await until_delivered(feed, [mine.id])

    assert [(e.id, e.kind, e.payload) for e in events] == [(mine.id, mine.kind, mine.payload)]
    assert feed.tails == 1  # it came over the bus, the moment it committed
    feed.close()


async def test_without_a_bus_events_another_process_records_arrive_through_the_tail(
    database: Database, database_url: str
) -> None:
    ours, theirs = await two_sessions(database)
    feed = SessionFeed(database, ours, poll_s=0.05)
    assert await feed.next_batch(0.1) == []
    other_process = Database(database_url)  # its own engine and connections
    try:
        writer = EventBus(other_process)
        await writer.emit(theirs, "story_started", {"story": "L-1"})
        first = await writer.emit(ours, "story_started", {"story": "S-1"})
        second = await writer.emit(ours, "step", {"story": "S-1", "node": "pm"})
    finally:
        await other_process.dispose()

    events = await until_delivered(feed, [first.id, second.id])

    assert {e.session_id for e in events} == {ours}
    assert sorted({e.id for e in events}) == [first.id, second.id]
    assert feed.tails >= 2


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("backend", "database_url"),
    [("postgresql", "postgresql")],
    indirect=["database_url"],
    ids=["postgresql"],
)
async def test_an_event_committed_after_a_newer_one_is_still_delivered_and_shown_once(
    backend: str, database: Database
) -> None:
    """Only on PostgreSQL can a lower id commit after a higher one: SQLite has one writer at a
    time, so its ids become visible in order."""
    ours, _ = await two_sessions(database)
    board = await Board.load(database, ours)
    feed = SessionFeed(database, ours, poll_s=0.05, after_id=board.last_event_id)
    writer = EventBus(database)
    async with database.session() as slow:
        late = await EventRepository(slow).append(ours, "tool_call", {"story": "S-1"})
        early = await writer.emit(ours, "step", {"story": "S-2", "node": "pm", "tokens": 5})
        assert late.id < early.id
        first = await until_delivered(feed, [early.id])
        assert late.id not in {e.id for e in first}  # not committed yet
        board.apply(first)
    # Committed now, below the id already delivered: the next tail looks back far enough.

    again = await until_delivered(feed, [late.id])

    assert early.id not in {e.id for e in again}  # the look-back reads only what it missed
    changes = board.apply([*first, *again])
    assert [e.id for e in changes.events] == [late.id]  # the board takes each event once
    assert [e.id for e in board.log] == [early.id, late.id]


async def test_a_closed_feed_takes_no_more_events_from_the_bus(database: Database) -> None:
    ours, _ = await two_sessions(database)
    bus = EventBus(database)
    feed = SessionFeed(database, ours, bus=bus, tail_s=3_600)
    await feed.next_batch(0.05)
    before = await bus.emit(ours, "operator_command", {"verb": "hold"})
    assert [e.id for e in await until_delivered(feed, [before.id])] == [before.id]

    feed.close()
    await bus.emit(ours, "operator_command", {"verb": "resume"})

    for _ in range(3):
        assert await feed.next_batch(0.05) == []
    feed.close()  # closing twice is harmless


def test_seen_ids_recognise_repeats_and_forget_the_oldest_beyond_their_size() -> None:
    seen = SeenIds(size=3)
    assert [seen.add(i) for i in (5, 3, 5, 9, 3)] == [True, True, False, True, False]
    assert seen.add(12)  # 5 is forgotten to make room
    assert seen.add(5)
    assert not seen.add(12)


# -- events as lines ----------------------------------------------------------------------------

AT = datetime(2026, 11, 23, 9, 0, 7, tzinfo=UTC)


def event(kind: str, agent: str | None = "dev", **payload: object) -> Event:
    return Event(1, uuid.uuid4(), None, kind, agent, {"story": "S-1", **payload}, AT)


@pytest.fixture
def in_kolkata() -> Iterator[None]:
    """Local time five and a half hours ahead of UTC (a POSIX rule: no zone files needed)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "IST-5:30")
        time.tzset()
        yield
    time.tzset()


def test_a_step_says_which_node_ran_the_gate_verdict_and_the_tokens() -> None:
    qa = event("step", node="qa", phase="development", gate="gate-4", passed=False, tokens=5200)
    assert describe(qa) == "qa → development gate-4 FAIL  tokens 5200"
    pm = event("step", node="pm", phase="planning", gate="gate-1", passed=True, tokens=600)
    assert describe(pm) == "pm → planning gate-1 PASS  tokens 600"
    handoff = event("step", node="supervisor", phase="development", gate=None, tokens=600)
    assert describe(handoff) == "supervisor → development  tokens 600"


def test_a_tool_call_shows_its_arguments_and_the_safety_verdict() -> None:
    rm = event("tool_call", tool="run_command", arguments={"argv": ["rm", "-rf", "build"]},
               decision="escalate", score=0.75)  # fmt: skip
    assert describe(rm) == 'run_command {"argv": ["rm", "-rf", "build"]}  [escalate 0.75]'
    big = event("tool_call", tool="write_file", arguments={"content": "x" * 500},
                decision="allow", score=1.0)  # fmt: skip
    text = describe(big)
    assert text.startswith('write_file {"content": "xxx')
    assert text.endswith("…  [allow 1.0]")
    assert len(text) == len("write_file ") + 80 + len("  [allow 1.0]")


def test_an_agent_turn_names_its_tool_calls_or_says_it_answered_in_text() -> None:
    calls = event("agent_turn", conversation="S-1/dev/1", tool_calls=["write_file", "finish"])
    assert describe(calls) == "S-1/dev/1 write_file, finish"
    assert describe(event("agent_turn", conversation="S-1/pm/1", tool_calls=[])) == "S-1/pm/1 text"


def test_a_test_run_shows_its_summary_and_other_events_their_fields() -> None:
    assert describe(event("test_run", summary="2 passed, 1 failed", exit_code=1)) == (
        "2 passed, 1 failed"
    )
    held = event("story_stopped", None, reason="held: operator wants a look", attempt=2)
    assert describe(held) == "reason=held: operator wants a look attempt=2"


def test_an_event_line_has_local_time_story_agent_kind_and_what_happened(
    in_kolkata: None,
) -> None:
    line = event_line(event("test_run", "qa", summary="2 passed"))
    assert line == f"14:30:07 S-1        qa         test_run{' ' * 11}2 passed"
    anonymous = Event(2, uuid.uuid4(), None, "session_finished", None, {"status": "completed"}, AT)
    assert event_line(anonymous) == (
        f"14:30:07 {'':<10} -          session_finished   status=completed"
    )
