"""StoryExecutionRepository and leases on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from wave_tui.db import Database, SessionRepository, StoryExecutionRepository, WaveSession
from wave_tui.domain.enums import StoryStatus
from wave_tui.domain.gates import Gate
from wave_tui.errors import InvalidTransitionError, LeaseHeldError, LeaseLostError, NotFoundError


@pytest.fixture
async def session(database: Database) -> WaveSession:
    async with database.session() as db:
        created = await SessionRepository(db).create("shop")
        await SessionRepository(db).start_session(created.id)
        return created


async def _story(database: Database, session: WaveSession, story_id: str = "AUTH-001") -> uuid.UUID:
    async with database.session() as db:
        story = await StoryExecutionRepository(db).create(
            session.id,
            story_id,
            "Login with email",
            domain="auth",
            agent="dev",
            definition={"story_id": story_id, "acceptance_criteria": [{"id": "AC-1"}]},
            ac_total=1,
            budget_usd=Decimal("2.00"),
        )
        return story.id


async def test_create_get_and_lookup_by_story_id(database: Database, session: WaveSession) -> None:
    story_id = await _story(database, session)
    async with database.session(readonly=True) as db:
        repo = StoryExecutionRepository(db)
        story = await repo.get(story_id)
        by_story = await repo.get_by_story(session.id, "AUTH-001")
        assert await repo.get_by_story(session.id, "NOPE-404") is None
    assert story is not None
    assert by_story is not None
    assert by_story.id == story.id
    assert story.status is StoryStatus.PENDING
    assert (story.domain, story.agent, story.ac_total, story.ac_passed) == ("auth", "dev", 1, 0)
    assert story.definition["acceptance_criteria"] == [{"id": "AC-1"}]
    assert story.files_created == []
    assert story.budget_usd == Decimal("2.00")


async def test_story_ids_are_unique_within_a_session(
    database: Database, session: WaveSession
) -> None:
    await _story(database, session)
    with pytest.raises(IntegrityError):
        await _story(database, session)


async def test_list_by_session_keeps_file_order_and_filters(
    database: Database, session: WaveSession
) -> None:
    first = await _story(database, session, "A-1")
    second = await _story(database, session, "A-2")
    async with database.session() as db:
        await StoryExecutionRepository(db).start_execution(second)
    async with database.session(readonly=True) as db:
        repo = StoryExecutionRepository(db)
        assert [s.id for s in await repo.list_by_session(session.id)] == [first, second]
        in_progress = await repo.list_by_session(session.id, status=StoryStatus.IN_PROGRESS)
        assert [s.id for s in in_progress] == [second]


async def test_metrics_and_completion_are_recorded(
    database: Database, session: WaveSession
) -> None:
    story_id = await _story(database, session)
    async with database.session() as db:
        repo = StoryExecutionRepository(db)
        await repo.start_execution(story_id)
        await repo.update_metrics(
            story_id,
            token_count=900,
            cost_usd=Decimal("0.0123"),
            retry_count=1,
            iteration=2,
            recycle_count=1,
            ac_passed=1,
            current_gate=Gate.GATE_4,
            phase="testing",
            agent="qa",
            tests_passing=False,
        )
        await repo.complete_execution(
            story_id,
            tests_passing=True,
            coverage_achieved=Decimal("87.50"),
            files_created=["src/login.py", "tests/test_login.py"],
            files_modified=["src/app.py"],
            branch_name="wave/AUTH-001",
            commit_sha="a" * 40,
        )
    async with database.session(readonly=True) as db:
        story = await StoryExecutionRepository(db).require(story_id)
    assert story.status is StoryStatus.COMPLETE
    assert (story.token_count, story.cost_usd) == (900, Decimal("0.0123"))
    assert (story.iteration, story.recycle_count, story.retry_count) == (2, 1, 1)
    assert (story.ac_passed, story.current_gate, story.phase, story.agent) == (
        1,
        Gate.GATE_4,
        "testing",
        "qa",
    )
    assert story.tests_passing is True
    assert story.coverage_achieved == Decimal("87.50")
    assert story.files_created == ["src/login.py", "tests/test_login.py"]
    assert story.files_modified == ["src/app.py"]
    assert (story.branch_name, story.commit_sha) == ("wave/AUTH-001", "a" * 40)
    assert story.started_at is not None
    assert story.completed_at is not None


async def test_failure_block_and_cancel_reasons(database: Database, session: WaveSession) -> None:
    failed = await _story(database, session, "S-1")
    blocked = await _story(database, session, "S-2")
    cancelled = await _story(database, session, "S-3")
    async with database.session() as db:
        repo = StoryExecutionRepository(db)
        await repo.start_execution(failed)
        await repo.fail_execution(failed, "tests never passed")
        await repo.block(blocked, "waits for S-1")
        await repo.cancel_execution(cancelled, "skipped by operator")
    async with database.session(readonly=True) as db:
        repo = StoryExecutionRepository(db)
        assert (await repo.require(failed)).error == "tests never passed"
        assert (await repo.require(failed)).status is StoryStatus.FAILED
        assert (await repo.require(blocked)).block_reason == "waits for S-1"
        assert (await repo.require(blocked)).status is StoryStatus.BLOCKED
        assert (await repo.require(cancelled)).status is StoryStatus.CANCELLED


async def test_completing_a_cancelled_story_is_refused(
    database: Database, session: WaveSession
) -> None:
    story_id = await _story(database, session)
    async with database.session() as db:
        await StoryExecutionRepository(db).cancel_execution(story_id, "not needed")
    with pytest.raises(InvalidTransitionError, match="story AUTH-001 is cancelled"):
        async with database.session() as db:
            await StoryExecutionRepository(db).complete_execution(story_id)


async def test_unknown_story_execution_is_not_found(database: Database) -> None:
    with pytest.raises(NotFoundError, match="story execution"):
        async with database.session() as db:
            await StoryExecutionRepository(db).start_execution(uuid.uuid4())


async def test_two_concurrent_lease_attempts_exactly_one_wins(
    database: Database, session: WaveSession
) -> None:
    story_id = await _story(database, session)

    async def attempt(owner: str) -> str:
        try:
            async with database.session() as db:
                await StoryExecutionRepository(db).acquire_lease(story_id, owner)
            return "won"
        except LeaseHeldError as refused:
            return str(refused)

    results = await asyncio.gather(attempt("host-a:1"), attempt("host-b:2"))
    assert results.count("won") == 1
    (refusal,) = [r for r in results if r != "won"]
    assert refusal.startswith("story AUTH-001 is being run by host-")
    assert " since " in refusal
    async with database.session(readonly=True) as db:
        story = await StoryExecutionRepository(db).require(story_id)
    winner = "host-a:1" if results[0] == "won" else "host-b:2"
    assert story.lease_owner == winner


async def test_an_expired_lease_can_be_taken_over(database: Database, session: WaveSession) -> None:
    story_id = await _story(database, session)
    async with database.session() as db:
        await StoryExecutionRepository(db).acquire_lease(
            story_id, "dead-host:1", ttl=timedelta(seconds=-1)
        )
    async with database.session() as db:
        lease = await StoryExecutionRepository(db).acquire_lease(story_id, "new-host:2")
    assert lease.owner == "new-host:2"
    assert lease.expires_at > lease.acquired_at


async def test_owner_renews_and_releases_others_cannot(
    database: Database, session: WaveSession
) -> None:
    story_id = await _story(database, session)
    async with database.session() as db:
        first = await StoryExecutionRepository(db).acquire_lease(story_id, "me:1")
    async with database.session() as db:
        renewed = await StoryExecutionRepository(db).renew_lease(
            story_id, "me:1", ttl=timedelta(minutes=10)
        )
    assert renewed.expires_at > first.expires_at
    with pytest.raises(LeaseLostError, match="held by me:1"):
        async with database.session() as db:
            await StoryExecutionRepository(db).renew_lease(story_id, "intruder:2")
    with pytest.raises(LeaseLostError):
        async with database.session() as db:
            await StoryExecutionRepository(db).release_lease(story_id, "intruder:2")
    async with database.session() as db:
        await StoryExecutionRepository(db).release_lease(story_id, "me:1")
    async with database.session() as db:
        story = await StoryExecutionRepository(db).require(story_id)
        assert story.lease_owner is None
        assert (await StoryExecutionRepository(db).acquire_lease(story_id, "next:3")).owner
