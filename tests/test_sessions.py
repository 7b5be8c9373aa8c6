"""SessionRepository on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from wave_tui.db import (
    CheckpointRepository,
    Database,
    EscalationRepository,
    EventRepository,
    SessionRepository,
    StoryExecutionRepository,
)
from wave_tui.domain.enums import (
    AutonomyLevel,
    CheckpointType,
    EscalationKind,
    SessionStatus,
    StoryStatus,
)
from wave_tui.errors import InvalidTransitionError, NotFoundError


async def test_create_and_get_round_trips_every_field(database: Database) -> None:
    async with database.session() as db:
        created = await SessionRepository(db).create(
            "shop",
            3,
            project_path="/work/shop",
            budget_usd=Decimal("4.25"),
            token_limit=50_000,
            autonomy_level=AutonomyLevel.L0,
            concurrency=4,
            story_count=2,
            metadata={"note": "first wave"},
        )
    async with database.session(readonly=True) as db:
        session = await SessionRepository(db).get(created.id)
    assert session is not None
    assert (session.project_name, session.project_path, session.wave_number) == (
        "shop",
        "/work/shop",
        3,
    )
    assert session.status is SessionStatus.PENDING
    assert session.budget_usd == Decimal("4.25")
    assert session.actual_cost_usd == Decimal(0)
    assert (session.token_limit, session.tokens_used) == (50_000, 0)
    assert session.autonomy_level is AutonomyLevel.L0
    assert session.concurrency == 4
    assert session.story_count == 2
    assert session.meta_data == {"note": "first wave"}
    assert session.created_at.tzinfo is not None
    assert session.started_at is None


async def test_get_unknown_session_is_none_and_require_names_it(database: Database) -> None:
    missing = uuid.uuid4()
    async with database.session(readonly=True) as db:
        repo = SessionRepository(db)
        assert await repo.get(missing) is None
        with pytest.raises(NotFoundError, match=str(missing)):
            await repo.require(missing)


async def test_list_is_newest_first_and_filters(database: Database) -> None:
    async with database.session() as db:
        repo = SessionRepository(db)
        old = await repo.create("alpha", 1)
        await asyncio.sleep(0.01)
        new = await repo.create("beta", 2)
        await repo.start_session(new.id)
    async with database.session(readonly=True) as db:
        repo = SessionRepository(db)
        assert [s.id for s in await repo.list()] == [new.id, old.id]
        assert [s.id for s in await repo.list(status=SessionStatus.PENDING)] == [old.id]
        assert [s.id for s in await repo.list(project_name="beta")] == [new.id]
        assert len(await repo.list(limit=1)) == 1


async def test_lifecycle_start_progress_complete(database: Database) -> None:
    async with database.session() as db:
        repo = SessionRepository(db)
        session = await repo.create("shop")
        await repo.start_session(session.id)
        await repo.update_progress(
            session.id,
            story_count=3,
            stories_completed=2,
            stories_failed=1,
            actual_cost_usd=Decimal("1.5"),
            tokens_used=1234,
        )
        await repo.complete_session(session.id)
    async with database.session(readonly=True) as db:
        done = await SessionRepository(db).require(session.id)
    assert done.status is SessionStatus.COMPLETED
    assert (done.story_count, done.stories_completed, done.stories_failed) == (3, 2, 1)
    assert (done.actual_cost_usd, done.tokens_used) == (Decimal("1.5"), 1234)
    assert done.started_at is not None
    assert done.completed_at is not None
    assert done.completed_at >= done.started_at


async def test_fail_and_cancel_record_why(database: Database) -> None:
    async with database.session() as db:
        repo = SessionRepository(db)
        failed = await repo.create("a")
        await repo.start_session(failed.id)
        await repo.fail_session(failed.id, "worktree vanished")
        cancelled = await repo.create("b")
        await repo.cancel_session(cancelled.id, "operator stopped it")
    async with database.session(readonly=True) as db:
        repo = SessionRepository(db)
        failed = await repo.require(failed.id)
        cancelled = await repo.require(cancelled.id)
    assert failed.status is SessionStatus.FAILED
    assert failed.meta_data["error"] == "worktree vanished"
    assert cancelled.status is SessionStatus.CANCELLED
    assert cancelled.meta_data["cancel_reason"] == "operator stopped it"


async def test_completing_a_cancelled_session_is_refused_and_changes_nothing(
    database: Database,
) -> None:
    async with database.session() as db:
        repo = SessionRepository(db)
        session = await repo.create("shop")
        await repo.cancel_session(session.id, "not needed")
    with pytest.raises(InvalidTransitionError, match="is cancelled; it cannot become completed"):
        async with database.session() as db:
            await SessionRepository(db).complete_session(session.id)
    async with database.session(readonly=True) as db:
        assert (await SessionRepository(db).require(session.id)).status is SessionStatus.CANCELLED


async def test_charge_adds_concurrent_usage_without_losing_any(database: Database) -> None:
    async with database.session() as db:
        session = await SessionRepository(db).create("shop")

    async def charge_once() -> None:
        async with database.session() as db:
            await SessionRepository(db).charge(session.id, tokens=10, cost_usd=Decimal("0.001"))

    await asyncio.gather(*(charge_once() for _ in range(20)))
    async with database.session(readonly=True) as db:
        charged = await SessionRepository(db).require(session.id)
    assert charged.tokens_used == 200
    assert charged.actual_cost_usd == Decimal("0.020")


async def test_charge_unknown_session_is_not_found(database: Database) -> None:
    with pytest.raises(NotFoundError):
        async with database.session() as db:
            await SessionRepository(db).charge(uuid.uuid4(), tokens=1, cost_usd=Decimal(0))


async def test_list_resumable_finds_interrupted_sessions_only(database: Database) -> None:
    async with database.session() as db:
        sessions, stories = SessionRepository(db), StoryExecutionRepository(db)
        crashed = await sessions.create("crashed")
        await sessions.start_session(crashed.id)
        story = await stories.create(crashed.id, "AUTH-001", "Login")
        await stories.start_execution(story.id)

        running = await sessions.create("running elsewhere")
        await sessions.start_session(running.id)
        live = await stories.create(running.id, "PAY-001", "Checkout")
        await stories.acquire_lease(live.id, "host-b:4242", ttl=timedelta(minutes=5))

        finished = await sessions.create("finished work")
        await sessions.start_session(finished.id)
        done = await stories.create(finished.id, "DOC-001", "Docs")
        await stories.start_execution(done.id)
        await stories.complete_execution(done.id)

        await sessions.create("never started")
    async with database.session(readonly=True) as db:
        resumable = await SessionRepository(db).list_resumable()
    assert [s.id for s in resumable] == [crashed.id]


async def test_statistics_count_everything(database: Database) -> None:
    async with database.session() as db:
        sessions, stories = SessionRepository(db), StoryExecutionRepository(db)
        first = await sessions.create("a")
        await sessions.start_session(first.id)
        await sessions.charge(first.id, tokens=500, cost_usd=Decimal("0.25"))
        story = await stories.create(first.id, "S-1", "one")
        await stories.start_execution(story.id)
        await stories.create(first.id, "S-2", "two")
        await CheckpointRepository(db).create(
            first.id, CheckpointType.STORY_START, "start", {}, story_id="S-1"
        )
        await EventRepository(db).append(first.id, "agent_output", {"text": "hi"})
        await EscalationRepository(db).create(first.id, EscalationKind.BUDGET, "over budget")
        second = await sessions.create("b")
        await sessions.charge(second.id, tokens=100, cost_usd=Decimal("0.05"))
    async with database.session(readonly=True) as db:
        stats = await SessionRepository(db).statistics()
    assert stats.sessions == 2
    assert stats.sessions_by_status == {"in_progress": 1, "pending": 1}
    assert stats.stories == 2
    assert stats.stories_by_status == {"in_progress": 1, "pending": 1}
    assert stats.total_tokens == 600
    assert stats.total_cost_usd == Decimal("0.30")
    assert (stats.checkpoints, stats.events, stats.pending_escalations) == (1, 1, 1)
    assert stats.resumable_sessions == 1
    assert StoryStatus.PENDING.value in stats.stories_by_status


async def test_a_read_only_unit_of_work_sees_one_snapshot(database: Database) -> None:
    """What commits while a read-only unit of work is open is not seen by it: a SQLite read
    transaction is one snapshot, and on PostgreSQL it runs REPEATABLE READ (READ COMMITTED would
    show each statement a newer state, a board of stories from two different moments)."""
    async with database.session() as db:
        first = await SessionRepository(db).create("alpha", 1)
    async with database.session(readonly=True) as reading:
        before = [s.id for s in await SessionRepository(reading).list()]
        async with database.session() as db:
            second = await SessionRepository(db).create("beta", 2)
        during = [s.id for s in await SessionRepository(reading).list()]
    async with database.session(readonly=True) as db:
        after = [s.id for s in await SessionRepository(db).list()]
    assert before == during == [first.id]
    assert after == [second.id, first.id]
