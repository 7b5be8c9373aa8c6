"""A real run through the board and the story detail pane: gate verdicts with their evidence, the
plan, the checkpoints judged for recovery; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from tests.board_helpers import (
    HandRun,
    new_session,
)
from tests.engine_helpers import first_time_right
from wave_tui.config import Settings
from wave_tui.db import (
    CheckpointRepository,
    Database,
    StoryExecutionRepository,
    WaveCheckpoint,
)
from wave_tui.domain.enums import (
    CheckpointType,
    SessionStatus,
    StoryStatus,
)
from wave_tui.domain.gates import Gate
from wave_tui.engine.board import Board
from wave_tui.engine.describe import event_line
from wave_tui.engine.details import story_details
from wave_tui.engine.events import EventBus
from wave_tui.engine.feed import SessionFeed
from wave_tui.engine.runner import SessionRunner
from wave_tui.engine.views import (
    CURRENT,
    FAILED,
    NOT_REACHED,
    PASSED,
)
from wave_tui.llm import ReplayProvider, ReplayScript

P, C, F, N = PASSED, CURRENT, FAILED, NOT_REACHED


# -- a real run ---------------------------------------------------------------------------------


async def test_a_real_run_leaves_every_gate_passed_on_the_board_and_in_the_story_details(
    database: Database, tmp_path: Path, settings: Settings
) -> None:
    bus = EventBus(database)
    session_id = await new_session(bus, tmp_path)
    provider = ReplayProvider(ReplayScript.load(first_time_right(tmp_path)))
    runner = SessionRunner(bus, session_id, provider=provider, settings=settings)
    # A console follows the run as the dashboard does: events applied, rows read when stale.
    live = await Board.load(database, session_id)
    feed = SessionFeed(database, session_id, bus=bus, after_id=live.last_event_id)
    run = asyncio.create_task(runner.start())
    while not run.done():
        if live.apply(await feed.next_batch(0.2)).rows_stale:
            await live.refresh(database)
    assert run.result() is SessionStatus.COMPLETED
    live.apply(await feed.next_batch(0.2))
    await live.refresh(database)
    feed.close()

    board = await Board.load(database, session_id)

    async with database.session(readonly=True) as db:
        (row,) = await StoryExecutionRepository(db).list_by_session(session_id)
    story = board.stories["S-1"]
    assert (story.status, story.gates, story.safety) == (StoryStatus.COMPLETE, (P,) * 8, 1.0)
    assert story.tokens == row.token_count > 0
    assert story.cost_usd == row.cost_usd > 0
    assert (story.ac_passed, story.ac_total) == (1, 1)
    assert story.files_created == ("pkg/double.py", "tests/test_double.py")
    session = board.session
    assert (session.status, session.completed, session.running) == (SessionStatus.COMPLETED, 1, 0)
    assert session.tokens_used == story.tokens
    kinds = {e.kind for e in board.story_log("S-1")}
    assert {"story_started", "step", "agent_turn", "tool_call", "test_run", "story_finished"} <= (
        kinds
    )
    nodes = [e.payload["node"] for e in board.story_log("S-1") if e.kind == "step"]
    assert [n for n in nodes if n in {"pm", "dev", "qa", "cto", "merge_prep", "merge"}] == [
        "pm", "dev", "qa", "cto", "merge_prep", "merge",
    ]  # fmt: skip
    assert all(event_line(e) for e in board.log)
    # The board that followed the run says what the one loaded afterwards says.
    assert live.stories == board.stories
    assert live.session == board.session
    assert {e.id for e in live.log} == {e.id for e in board.log}

    details = await story_details(database, session_id, "S-1")
    assert [line.gate for line in details.gates] == list(Gate)
    assert all(line.passed and line.evidence and line.at for line in details.gates)
    qa = details.gates[4]
    assert qa.name == "QA validation"
    assert "passed" in qa.evidence[0]
    assert details.plan == "1. pkg/double.py\n2. its test"
    newest = details.checkpoints[0]
    assert (newest.checkpoint_type, newest.valid) == (CheckpointType.STORY_COMPLETE, True)
    assert details.checkpoints[-1].checkpoint_type is CheckpointType.STORY_START
    ids = [point.checkpoint_id for point in details.checkpoints]
    assert ids == sorted(ids, reverse=True)


async def test_a_story_that_fails_before_its_first_step_shows_failed_at_gate_0(
    database: Database, tmp_path: Path, settings: Settings
) -> None:
    bus = EventBus(database)
    session_id = await new_session(bus, tmp_path)
    shutil.rmtree(tmp_path / "project" / ".git")  # no repository: no worktree for the story
    provider = ReplayProvider(ReplayScript.load(first_time_right(tmp_path)))
    runner = SessionRunner(bus, session_id, provider=provider, settings=settings)

    assert await runner.start() is SessionStatus.FAILED

    story = (await Board.load(database, session_id)).stories["S-1"]
    assert story.status is StoryStatus.FAILED
    assert story.error
    assert story.gates == (F, N, N, N, N, N, N, N)


# -- the detail pane ----------------------------------------------------------------------------


async def test_story_details_show_each_gate_s_newest_verdict_and_evidence(
    database: Database, tmp_path: Path
) -> None:
    bus = EventBus(database)
    session_id = await new_session(bus, tmp_path)
    run = await HandRun.of(bus, session_id, "S-1")
    await run.start()
    await run.step("pm", (Gate.GATE_1, True, "plan fixed"), plan="1. pkg/double.py")
    await run.step("dev", (Gate.GATE_2, True, "2 files"), (Gate.GATE_3, True, "AC-1 mapped"))
    await run.step("qa", (Gate.GATE_4, False, "1 failed"), test_output="E assert 5 == 6")

    details = await story_details(database, session_id, "S-1")

    verdicts = [(line.passed, line.evidence) for line in details.gates]
    assert verdicts == [
        (True, ("worktree wave/S-1 ready",)), (True, ("plan fixed",)), (True, ("2 files",)),
        (True, ("AC-1 mapped",)), (False, ("1 failed",)), (None, ()), (None, ()), (None, ()),
    ]  # fmt: skip
    assert [line.name for line in details.gates[:2]] == ["assignment", "planning"]
    assert (details.plan, details.test_output) == ("1. pkg/double.py", "E assert 5 == 6")
    async with database.session(readonly=True) as db:
        rows = await CheckpointRepository(db).list_by_story(session_id, "S-1")
    assert [p.checkpoint_id for p in details.checkpoints] == [r.id for r in rows]
    assert len(rows) == 4  # the start and three steps
    limited = await story_details(database, session_id, "S-1", checkpoints=2)
    assert [p.checkpoint_id for p in limited.checkpoints] == [r.id for r in rows[:2]]


@pytest.mark.parametrize(
    "damage",
    [
        {"phase": "exploded", "gates": "none of them"},
        {"gates": {"results": {"gate-9": {"passed": True}}}, "plan": 42},
        ["not", "a", "state"],
    ],
    ids=["bad gates", "unknown gate", "not a mapping"],
)
async def test_a_damaged_newest_checkpoint_leaves_the_details_readable(
    database: Database, tmp_path: Path, damage: Any
) -> None:
    bus = EventBus(database)
    session_id = await new_session(bus, tmp_path)
    run = await HandRun.of(bus, session_id, "S-1")
    await run.start()
    await run.step("pm", (Gate.GATE_1, True, "plan fixed"))
    async with database.session() as db:
        newest = await CheckpointRepository(db).get_latest_by_story(session_id, "S-1")
        assert newest is not None
        await db.execute(
            update(WaveCheckpoint).where(WaveCheckpoint.id == newest.id).values(state=damage)
        )

    details = await story_details(database, session_id, "S-1")

    assert [line.passed for line in details.gates] == [None] * 8
    assert details.plan in (None, "42")
    assert details.checkpoints[0].checkpoint_id == newest.id
    assert not details.checkpoints[0].valid
    assert details.checkpoints[0].problem
