"""RecoveryManager's read side: recovery status, recovery points and their validation."""

from __future__ import annotations

import asyncio
import json
import logging
import operator
import subprocess
import sys
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from sqlalchemy import delete, update

from wave_tui.checkpoint import WAVECheckpointSaver
from wave_tui.checkpoint.tables import graph_checkpoints
from wave_tui.db import (
    CheckpointRepository,
    Database,
    SessionRepository,
    StoryExecutionRepository,
    WaveCheckpoint,
)
from wave_tui.domain.enums import CheckpointType
from wave_tui.domain.gates import Gate
from wave_tui.domain.state import Phase, WAVEState
from wave_tui.domain.story import AcceptanceCriterion
from wave_tui.errors import NotFoundError, UserError
from wave_tui.recovery import RecoveryManager, RecoveryStrategy

CRITERIA = [AcceptanceCriterion(id=f"AC-{n}", description=f"criterion {n}") for n in (1, 2)]


class Steps(TypedDict):
    log: Annotated[list[str], operator.add]


@dataclass
class World:
    session_id: uuid.UUID
    # Domain checkpoint ids per story, oldest first.
    points: dict[str, list[int]]


def _state(story: str, gate: Gate, phase: Phase, iteration: int) -> dict[str, Any]:
    state = WAVEState(
        story_id=story, acceptance_criteria=CRITERIA, phase=phase, iteration=iteration
    )
    gates = state.gates
    for passed in Gate:
        if passed.number <= gate.number:
            gates = gates.record(passed, True, [f"{passed.value} ok"])
    evidence = {"AC-1": ["test_one"], "AC-2": ["test_two"]} if gate.number >= 4 else {}
    return state.model_copy(update={"gates": gates, "ac_evidence": evidence}).model_dump(
        mode="json"
    )


async def _graph_checkpoint_ids(database: Database, thread_id: str) -> list[str]:
    """Run a small real graph on the saver; its checkpoint ids, oldest first."""
    builder = StateGraph(Steps)
    for name in ("pm", "dev", "qa"):
        builder.add_node(name, lambda _state, name=name: {"log": [name]})
    builder.add_edge(START, "pm")
    builder.add_edge("pm", "dev")
    builder.add_edge("dev", "qa")
    builder.add_edge("qa", END)
    saver = WAVECheckpointSaver(database)
    config: Any = {"configurable": {"thread_id": thread_id}}
    await builder.compile(checkpointer=saver).ainvoke({"log": []}, config)
    ids = [t.config["configurable"]["checkpoint_id"] async for t in saver.alist(config)]
    return ids[::-1]


STEPS = [
    (CheckpointType.GATE, Gate.GATE_1, Phase.PLANNING, 0),
    (CheckpointType.GATE, Gate.GATE_3, Phase.TESTING, 1),
    (CheckpointType.GATE, Gate.GATE_4, Phase.REVIEW, 1),
]


@pytest.fixture
async def world(database: Database) -> World:
    """S-1 completed, S-2 blocked after gate 4, S-3 pending and never started."""
    await database.upgrade()
    async with database.session() as db:
        session = await SessionRepository(db).create("shop", story_count=3)
        await SessionRepository(db).start_session(session.id)
        stories = StoryExecutionRepository(db)
        executions = {s: await stories.create(session.id, s, f"story {s}") for s in ("S-1", "S-2")}
        await stories.create(session.id, "S-3", "story S-3")
    points: dict[str, list[int]] = {}
    for story, execution in executions.items():
        thread = str(execution.id)
        graph_ids = await _graph_checkpoint_ids(database, thread)
        async with database.session() as db:
            repo = CheckpointRepository(db)
            start = await repo.create(
                session.id, CheckpointType.STORY_START, "start",
                _state(story, Gate.GATE_0, Phase.INITIALIZING, 0), story_execution_id=execution.id,
                story_id=story, graph_thread_id=thread, graph_checkpoint_id="",
            )  # fmt: skip
            points[story] = [start.id]
            for (kind, gate, phase, iteration), graph_id in zip(STEPS, graph_ids[-3:], strict=True):
                row = await repo.create(
                    session.id, kind, f"{gate.value}: {phase.value}",
                    _state(story, gate, phase, iteration), story_execution_id=execution.id,
                    story_id=story, gate=gate, graph_thread_id=thread, graph_checkpoint_id=graph_id,
                )  # fmt: skip
                points[story].append(row.id)
            await StoryExecutionRepository(db).start_execution(execution.id)
            if story == "S-1":
                await StoryExecutionRepository(db).complete_execution(execution.id)
            else:
                await StoryExecutionRepository(db).block(execution.id, "waiting for review")
                await StoryExecutionRepository(db).update_metrics(execution.id, retry_count=1)
    return World(session.id, points)


async def test_the_status_counts_stories_and_lists_the_unfinished_ones_with_a_valid_checkpoint(
    database: Database, world: World
) -> None:
    status = await RecoveryManager(database).get_recovery_status(str(world.session_id))

    assert status["session_id"] == str(world.session_id)
    assert status["session_status"] == "in_progress"
    assert status["total_stories"] == 3
    assert status["by_status"] == {"complete": 1, "blocked": 1, "pending": 1}
    [recoverable] = status["recoverable_stories"]
    assert recoverable["story_id"] == "S-2"
    assert recoverable["current_status"] == "blocked"
    assert recoverable["retry_count"] == 1
    assert recoverable["last_checkpoint"]["type"] == "gate"
    assert recoverable["last_checkpoint"]["gate"] == "gate-4"
    assert recoverable["last_checkpoint"]["created_at"].endswith("+00:00")


async def test_points_come_newest_first_with_a_summary_of_the_state(
    database: Database, world: World
) -> None:
    points = await RecoveryManager(database).find_recovery_points(world.session_id, "S-2")

    assert [p.checkpoint_id for p in points] == world.points["S-2"][::-1]
    assert all(p.valid and p.problem is None for p in points)
    newest = points[0]
    assert newest.gate is Gate.GATE_4
    assert newest.summary is not None
    assert newest.summary.as_dict() == {
        "phase": "review", "current_gate": "gate-4", "ac_passed": 2, "ac_total": 2,
        "iteration": 1,
    }  # fmt: skip
    # The start row names no LangGraph checkpoint: valid, but only a restart can use it.
    assert points[-1].checkpoint_type is CheckpointType.STORY_START
    assert points[-1].valid
    assert not points[-1].resumable
    assert points[0].resumable
    every_story = await RecoveryManager(database).find_recovery_points(world.session_id)
    assert {p.story_id for p in every_story} == {"S-1", "S-2"}
    assert [p.checkpoint_id for p in every_story] == sorted(
        world.points["S-1"] + world.points["S-2"], reverse=True
    )


async def test_a_corrupted_newest_checkpoint_is_invalid_and_the_older_one_is_used(
    database: Database, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    newest, older = world.points["S-2"][-1], world.points["S-2"][-2]
    async with database.session() as db:
        await db.execute(
            update(WaveCheckpoint)
            .where(WaveCheckpoint.id == newest)
            .values(state={"phase": "exploded", "iteration": -3})
        )
    manager = RecoveryManager(database)

    with caplog.at_level(logging.WARNING, logger="wave_tui.recovery.manager"):
        points = await manager.find_recovery_points(world.session_id, "S-2")
        status = await manager.get_recovery_status(world.session_id)

    assert points[0].checkpoint_id == newest
    assert not points[0].valid
    assert points[0].summary is None
    assert "does not parse as WAVEState" in (points[0].problem or "")
    assert points[1].checkpoint_id == older
    assert points[1].valid
    assert status["recoverable_stories"][0]["last_checkpoint"]["gate"] == "gate-3"
    # Logged once, though both calls saw it.
    assert [r.getMessage() for r in caplog.records].count(
        f"Invalid checkpoint skipped | story=S-2 | checkpoint={newest} | {points[0].problem}"
    ) == 1


async def test_a_checkpoint_whose_langgraph_checkpoint_was_deleted_is_invalid(
    database: Database, world: World
) -> None:
    manager = RecoveryManager(database)
    [newest, *_] = await manager.find_recovery_points(world.session_id, "S-2")
    async with database.session() as db:
        await db.execute(
            delete(graph_checkpoints).where(
                graph_checkpoints.c.checkpoint_id == newest.graph_checkpoint_id
            )
        )

    [gone, previous, *_] = await manager.find_recovery_points(world.session_id, "S-2")

    assert not gone.valid
    assert gone.problem == f"LangGraph checkpoint {newest.graph_checkpoint_id} is missing"
    assert gone.summary is not None  # the state itself is fine
    assert previous.valid
    status = await manager.get_recovery_status(world.session_id)
    assert status["recoverable_stories"][0]["last_checkpoint"]["gate"] == "gate-3"


async def test_a_story_whose_newest_checkpoints_are_all_corrupted_falls_back_further(
    database: Database, world: World
) -> None:
    async with database.session() as db:
        await db.execute(
            update(WaveCheckpoint)
            .where(WaveCheckpoint.id.in_(world.points["S-2"][1:]))
            .values(state=["not", "a", "state"])
        )

    status = await RecoveryManager(database).get_recovery_status(world.session_id)

    # Only the start row is left: the status still lists the story, from its start.
    assert status["recoverable_stories"][0]["last_checkpoint"]["type"] == "story_start"


async def test_a_completed_story_is_not_recoverable_and_a_blocked_one_is(
    database: Database, world: World
) -> None:
    manager = RecoveryManager(database)

    assert not await manager.can_recover(world.session_id, "S-1")
    assert await manager.can_recover(world.session_id, "S-2")
    # A story that never started has nothing to recover from.
    assert not await manager.can_recover(world.session_id, "S-3")


async def test_malformed_and_unknown_ids_are_clear_errors(database: Database, world: World) -> None:
    manager = RecoveryManager(database)
    unknown = uuid.uuid4()

    with pytest.raises(UserError, match="'not-a-uuid' is not a session id"):
        await manager.get_recovery_status("not-a-uuid")
    with pytest.raises(NotFoundError, match=f"session {unknown} not found"):
        await manager.get_recovery_status(unknown)
    with pytest.raises(NotFoundError, match=f"session {unknown} not found"):
        await manager.find_recovery_points(unknown)
    with pytest.raises(NotFoundError, match=f"story AUTH-9 is not in session {world.session_id}"):
        await manager.can_recover(world.session_id, "AUTH-9")
    with pytest.raises(NotFoundError, match="story AUTH-9"):
        await manager.find_recovery_points(world.session_id, "AUTH-9")


def test_the_strategies_have_the_names_the_cli_takes() -> None:
    assert [s.value for s in RecoveryStrategy] == [
        "resume_from_last", "resume_from_gate", "restart", "skip",
    ]  # fmt: skip


def _wave(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wave_tui", *args], capture_output=True, text=True, timeout=120
    )


async def test_status_and_checkpoints_from_the_command_line(
    database: Database, world: World, database_url: str
) -> None:
    session = str(world.session_id)
    status = await asyncio.to_thread(_wave, "status", session, "--json", "--database-url",
                                     database_url)  # fmt: skip
    assert status.returncode == 0, status.stderr
    expected = await RecoveryManager(database).get_recovery_status(session)
    assert json.loads(status.stdout) == expected
    text = await asyncio.to_thread(_wave, "status", session, "--database-url", database_url)
    assert "S-2" in text.stdout
    assert "gate-4" in text.stdout

    listed = await asyncio.to_thread(_wave, "checkpoints", session, "--story", "S-2", "--json",
                                     "--database-url", database_url)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    ids = [point["checkpoint_id"] for point in json.loads(listed.stdout)]
    assert ids == sorted(world.points["S-2"], reverse=True)

    missing = await asyncio.to_thread(_wave, "status", "not-a-uuid", "--database-url",
                                      database_url)  # fmt: skip
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1
    assert "not a session id" in missing.stderr
