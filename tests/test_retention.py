"""Checkpoint retention on real graph threads: recovery points and the newest N stay, a thread
waiting for a decision and a story another process runs are left whole, and `wave prune` /
`wave vacuum` do it from the command line, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tests.test_checkpoint_deltas import NODES, _run
from wave_tui.checkpoint import WAVECheckpointSaver
from wave_tui.checkpoint.tables import graph_checkpoints
from wave_tui.db import Database
from wave_tui.db.repositories import (
    CheckpointRepository,
    EscalationRepository,
    SessionRepository,
    StoryExecutionRepository,
)
from wave_tui.domain.enums import CheckpointType, EscalationKind
from wave_tui.domain.gates import Gate
from wave_tui.recovery.retention import prune_sessions, prune_story

PASSES = 6  # (NODES + 2) checkpoints per pass


@dataclass
class World:
    session_id: uuid.UUID
    threads: dict[str, str]  # story id -> graph thread
    protected: list[str]  # graph checkpoint ids WaveCheckpoint rows point to


async def _world(database: Database) -> World:
    """Four stories with real graph threads: S1 plain, S2 restarted (two threads), S3 waiting
    for a decision, S4 held by a live process (this one, under another owner name)."""
    saver = WAVECheckpointSaver(database)
    async with database.session() as db:
        session = await SessionRepository(db).create("retention")
        stories = {
            story_id: await StoryExecutionRepository(db).create(session.id, story_id, story_id)
            for story_id in ("S1", "S2", "S3", "S4")
        }
    threads = {story_id: str(story.id) for story_id, story in stories.items()}
    for thread_id in [*threads.values(), f"{threads['S2']}:1"]:
        await _run(saver, thread_id, PASSES)
    protected = []
    async with database.session() as db:
        for story_id in ("S1", "S2"):
            config = {"configurable": {"thread_id": threads[story_id]}}
            middle = [item async for item in saver.alist(config)][30]  # type: ignore[arg-type]
            protected.append(middle.checkpoint["id"])
            await CheckpointRepository(db).create(
                session.id, CheckpointType.GATE, "gate-3", {}, gate=Gate.GATE_3,
                story_execution_id=stories[story_id].id, story_id=story_id,
                graph_thread_id=threads[story_id], graph_checkpoint_id=middle.checkpoint["id"],
            )  # fmt: skip
        await EscalationRepository(db).create(
            session.id, EscalationKind.TOOL_CALL, "S3: rm -rf build",
            story_execution_id=stories["S3"].id, graph_thread_id=threads["S3"],
        )  # fmt: skip
        await StoryExecutionRepository(db).acquire_lease(
            stories["S4"].id, f"{os.uname().nodename}:{os.getpid()}:other", timedelta(minutes=5)
        )
    return World(session.id, threads, protected)


async def _count(database: Database, thread_id: str) -> int:
    table = graph_checkpoints.c
    async with database.session(readonly=True) as db:
        query = select(func.count()).where(table.thread_id == thread_id)
        return int((await db.execute(query)).scalar_one())


async def test_prune_keeps_recovery_points_and_the_newest_and_leaves_busy_stories_whole(
    database: Database,
) -> None:
    world = await _world(database)
    per_thread = PASSES * (NODES + 2)
    dry = await prune_sessions(database, session_id=world.session_id, keep_latest=5, dry_run=True)
    assert await _count(database, world.threads["S1"]) == per_thread

    [result] = await prune_sessions(database, session_id=world.session_id, keep_latest=5)

    assert result.report == dry[0].report
    assert result.skipped == {"S3": "waits for a decision", "S4": "running"}
    assert result.stories == 2
    # S1 and both threads of S2: the newest 5, plus the gate checkpoint where there is one.
    assert await _count(database, world.threads["S1"]) == 6
    assert await _count(database, world.threads["S2"]) == 6
    assert await _count(database, f"{world.threads['S2']}:1") == 5
    assert result.report.checkpoints == 3 * per_thread - 17
    assert await _count(database, world.threads["S3"]) == per_thread
    assert await _count(database, world.threads["S4"]) == per_thread
    saver = WAVECheckpointSaver(database)
    for story_id, checkpoint_id in zip(("S1", "S2"), world.protected, strict=True):
        config = {"configurable": {"thread_id": world.threads[story_id], "checkpoint_ns": "",
                                   "checkpoint_id": checkpoint_id}}  # fmt: skip
        kept = await saver.aget_tuple(config)  # type: ignore[arg-type]
        assert kept is not None
        assert len(kept.checkpoint["channel_values"]["messages"]) > 0
    latest = await saver.aget_tuple({"configurable": {"thread_id": world.threads["S1"]}})
    assert latest is not None
    assert len(latest.checkpoint["channel_values"]["messages"]) == PASSES * NODES


async def test_a_completed_story_is_pruned_by_its_own_runner_despite_its_lease(
    database: Database,
) -> None:
    world = await _world(database)
    report = await prune_story(database, world.session_id, "S4", keep_latest=2)
    assert report.kept == 2
    assert await _count(database, world.threads["S4"]) == 2
    assert await _count(database, world.threads["S1"]) == PASSES * (NODES + 2)


def _wave(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wave_tui", *args, "--database-url", database_url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


async def test_wave_prune_refuses_bad_input_and_changes_nothing(
    database: Database, database_url: str
) -> None:
    world = await _world(database)
    for args, message in [
        (("prune", "--keep-latest", "0"), "at least 1"),
        (("prune", "not-a-session"), "is not a session id"),
        (("prune", str(uuid.uuid4())), "no session"),
    ]:
        done = await asyncio.to_thread(_wave, database_url, *args)
        assert done.returncode == 2, done.stderr
        assert message in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
    assert await _count(database, world.threads["S1"]) == PASSES * (NODES + 2)

    dry = await asyncio.to_thread(
        _wave, database_url, "prune", str(world.session_id), "--keep-latest", "3", "--dry-run"
    )
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("would prune ")
    assert "skipped S3 (waits for a decision), S4 (running)" in dry.stdout
    assert await _count(database, world.threads["S1"]) == PASSES * (NODES + 2)
    done = await asyncio.to_thread(
        _wave, database_url, "prune", str(world.session_id), "--keep-latest", "3"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == dry.stdout.replace("would prune", "pruned")
    assert await _count(database, world.threads["S1"]) == 4


async def test_wave_vacuum_gives_the_space_back_on_sqlite_and_explains_on_postgresql(
    database: Database, database_url: str
) -> None:
    world = await _world(database)
    await prune_sessions(database, session_id=world.session_id, keep_latest=1)
    done = await asyncio.to_thread(_wave, database_url, "vacuum")
    assert done.returncode == 0, done.stderr
    path = database.sqlite_path
    if path is None:
        assert "autovacuum" in done.stdout
        return
    before, after = done.stdout.strip().rsplit(": ", 1)[1].split(" -> ")
    assert _bytes(after) < _bytes(before)
    # The WAL is folded into the file and emptied.
    assert _wal_size(path) == 0


async def test_wave_stats_shows_the_size_and_the_graph_checkpoints_a_prune_removes(
    database: Database, database_url: str
) -> None:
    world = await _world(database)

    async def stats() -> dict[str, Any]:
        done = await asyncio.to_thread(_wave, database_url, "stats", "--json")
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    async with database.session(readonly=True) as db:
        stored = await db.scalar(select(func.count()).select_from(graph_checkpoints))
    before = await stats()
    assert before["graph_checkpoints"] == stored > 0
    assert before["size_bytes"] > 100_000  # the world's checkpoints are well over that
    (pruned,) = await prune_sessions(database, session_id=world.session_id, keep_latest=1)

    after = await stats()
    assert after["graph_checkpoints"] == stored - pruned.report.checkpoints
    human = await asyncio.to_thread(_wave, database_url, "stats")
    assert f"(graph checkpoints {after['graph_checkpoints']:,})" in human.stdout
    assert "size  " in human.stdout
    if database.sqlite_path is not None:
        await asyncio.to_thread(_wave, database_url, "vacuum")
        assert (await stats())["size_bytes"] < after["size_bytes"]


def _wal_size(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def _bytes(text: str) -> float:
    number, unit = text.split()
    return float(number) * {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9}[unit]
