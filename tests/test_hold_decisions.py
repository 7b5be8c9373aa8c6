"""A story that waits for an operator's decision can be held: it stops waiting, keeps its open
question, and on resume asks the same question once (a decision made meanwhile counts)."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from pathlib import Path

from tests.engine_helpers import cto_turn, make_project, pm_turn, write_script, write_story
from tests.test_engine_safety import _escalating_dev
from wave_tui.config import Settings
from wave_tui.db import Database, EscalationRepository, StoryExecutionRepository
from wave_tui.domain.enums import AutonomyLevel, EscalationStatus, SessionStatus, StoryStatus
from wave_tui.domain.story import load_stories
from wave_tui.engine.events import EventBus
from wave_tui.engine.runner import SessionRunner
from wave_tui.engine.sessions import create_session
from wave_tui.llm import ReplayProvider, ReplayScript


async def _session(
    database: Database, tmp_path: Path, count: int = 1
) -> tuple[EventBus, uuid.UUID, Path]:
    bus = EventBus(database)
    stories = [write_story(tmp_path / f"s{n}.yaml", f"S-{n}") for n in range(1, count + 1)]
    script = write_script(
        tmp_path / "script.yaml",
        {
            key: value
            for n in range(1, count + 1)
            for key, value in {
                f"S-{n}/pm/1": pm_turn(), f"S-{n}/dev/1": _escalating_dev(),
                f"S-{n}/cto/1": cto_turn(),
            }.items()
        },
    )  # fmt: skip
    project = make_project(tmp_path / "project")
    session_id = await create_session(
        bus, load_stories(stories), project, budget_usd=Decimal(5), token_limit=1_000_000,
        story_budget_usd=Decimal(2), autonomy=AutonomyLevel.L3,
    )  # fmt: skip
    return bus, session_id, script


def _runner(
    bus: EventBus, session_id: uuid.UUID, script: Path, settings: Settings
) -> SessionRunner:
    return SessionRunner(
        bus, session_id, provider=ReplayProvider(ReplayScript.load(script)), settings=settings,
        decision_poll_s=0.05, command_poll_s=0.05,
    )  # fmt: skip


async def _pending(database: Database, session_id: uuid.UUID) -> list[int]:
    while True:
        async with database.session(readonly=True) as db:
            pending = await EscalationRepository(db).list_pending(session_id)
        if pending:
            return [e.id for e in pending]
        await asyncio.sleep(0.05)


async def test_a_story_held_while_it_waits_for_a_decision_asks_the_same_question_on_resume(
    database: Database, tmp_path: Path, settings: Settings
) -> None:
    bus, session_id, script = await _session(database, tmp_path)
    runner = _runner(bus, session_id, script, settings)
    run = asyncio.create_task(runner.start())
    (asked,) = await _pending(database, session_id)
    runner.hold("S-1", "ops: lunch")
    status = await asyncio.wait_for(run, 60)  # the wait ends: the runner finishes, story held
    assert status is SessionStatus.FAILED
    async with database.session(readonly=True) as db:
        story = await StoryExecutionRepository(db).get_by_story(session_id, "S-1")
        open_question = await EscalationRepository(db).get(asked)
    assert story is not None
    assert (story.status, story.block_reason) == (StoryStatus.BLOCKED, "held: ops: lunch")
    assert open_question is not None
    assert open_question.status is EscalationStatus.PENDING  # the question stays open

    # Decided while the story is held; then the story resumes and uses that decision.
    async with database.session() as db:
        await EscalationRepository(db).decide(asked, EscalationStatus.APPROVED, "bob", "fine")
    second = _runner(bus, session_id, script, settings)
    await second.resume("S-1")
    assert await asyncio.wait_for(second.start(), 120) is SessionStatus.COMPLETED
    async with database.session(readonly=True) as db:
        everything = await EscalationRepository(db).list_all(session_id)
    assert [(e.id, e.status, e.decided_by) for e in everything] == [
        (asked, EscalationStatus.APPROVED, "bob")
    ]


async def test_holding_every_story_before_the_runner_has_read_them_holds_them_all(
    database: Database, tmp_path: Path, settings: Settings
) -> None:
    bus, session_id, script = await _session(database, tmp_path, count=2)
    runner = _runner(bus, session_id, script, settings)
    runner.hold(None, "not today")  # before start(): nothing is known yet
    assert await asyncio.wait_for(runner.start(), 60) is SessionStatus.FAILED
    async with database.session(readonly=True) as db:
        rows = await StoryExecutionRepository(db).list_by_session(session_id)
    assert {(r.story_id, r.status, r.block_reason) for r in rows} == {
        ("S-1", StoryStatus.BLOCKED, "held: not today"),
        ("S-2", StoryStatus.BLOCKED, "held: not today"),
    }
