"""Really interrupted stories for the recovery tests: a session on a real project stopped by an
operator's hold or made to look crashed, and what recovery left behind (rows, events, git)."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from tests.engine_helpers import (
    cto_turn,
    dev_turns,
    make_project,
    pm_turn,
    write_script,
    write_story,
)
from wave_tui.config import Settings
from wave_tui.db import (
    Database,
    StoryExecutionRepository,
    WaveCheckpoint,
    WaveEscalation,
    WaveEvent,
    WaveLLMTurn,
    WaveSession,
    WaveStoryExecution,
)
from wave_tui.domain.enums import (
    AutonomyLevel,
    SessionStatus,
    StoryStatus,
)
from wave_tui.domain.story import load_stories
from wave_tui.engine.events import EventBus
from wave_tui.engine.runner import SessionRunner
from wave_tui.engine.sessions import create_session
from wave_tui.llm import ReplayProvider, ReplayScript
from wave_tui.recovery import RecoveryManager

PM, CTO = ["S-1/pm/1#0"], ["S-1/cto/1#0"]
DEV = ["S-1/dev/1#0", "S-1/dev/1#1"]


@dataclass
class World:
    """One session on a real project, and how to run it and recover it."""

    bus: EventBus
    sid: uuid.UUID
    project: Path
    settings: Settings
    script: Path

    @property
    def database(self) -> Database:
        return self.bus.database

    @property
    def worktree(self) -> Path:
        return self.settings.data_dir / "worktrees" / str(self.sid) / "S-1"

    def manager(self, owner: str | None = None) -> RecoveryManager:
        return RecoveryManager(
            self.database, owner=owner, worktrees=self.settings.data_dir / "worktrees"
        )

    async def run(
        self, owner: str | None = None, hold_after: str | None = None
    ) -> tuple[SessionStatus, list[str]]:
        """Run the session; with `hold_after`, the operator holds S-1 once it passes that gate.
        The session's status and the turns the model was asked."""
        provider = ReplayProvider(ReplayScript.load(self.script))
        runner = SessionRunner(
            self.bus, self.sid, provider=provider, settings=self.settings, owner=owner
        )
        events = self.bus.subscribe()

        async def hold() -> None:
            if hold_after is None:
                return
            async for event in events:
                payload = event.payload
                if (event.kind, payload.get("story"), payload.get("gate")) == (
                    "step", "S-1", hold_after,
                ):  # fmt: skip
                    runner.hold("S-1", "operator wants a look")
                    return

        watcher = asyncio.create_task(hold())
        try:
            status = await runner.start()
        finally:
            events.close()
            await watcher
        assert hold_after is None or "S-1" in runner.held, f"S-1 never passed {hold_after}"
        return status, list(provider.calls)


async def make_world(
    bus: EventBus, tmp_path: Path, settings: Settings, second: dict[str, Any] | None = None
) -> World:
    """S-1 (and S-2 with the `second` story fields, if given) on a fresh project, autonomy L3."""
    paths = [write_story(tmp_path / "s1.yaml")]
    conversations = {
        "S-1/pm/1": pm_turn(),
        "S-1/dev/1": dev_turns("x * 2"),
        "S-1/cto/1": cto_turn(),
    }
    if second is not None:
        paths.append(write_story(tmp_path / "s2.yaml", "S-2", **second))
        conversations.update(
            {"S-2/pm/1": pm_turn(), "S-2/dev/1": dev_turns("x + x", "twice"),
             "S-2/cto/1": cto_turn()}
        )  # fmt: skip
    return await world_of(bus, tmp_path, settings, paths, conversations)


async def world_of(
    bus: EventBus,
    tmp_path: Path,
    settings: Settings,
    paths: list[Path],
    conversations: dict[str, Any],
    *,
    token_limit: int = 100_000,
) -> World:
    """These story files as a session on a fresh project (autonomy L3), with this replay script."""
    project = make_project(tmp_path / "project")
    sid = await create_session(
        bus, load_stories(paths), project, budget_usd=Decimal(5), token_limit=token_limit,
        story_budget_usd=Decimal(2), autonomy=AutonomyLevel.L3,
    )  # fmt: skip
    script = write_script(tmp_path / "script.yaml", conversations)
    return World(bus, sid, project, settings, script)


async def story_row(w: World, story_id: str = "S-1") -> WaveStoryExecution:
    async with w.database.session(readonly=True) as db:
        story = await StoryExecutionRepository(db).get_by_story(w.sid, story_id)
    assert story is not None
    return story


async def checkpoints_of(w: World, story_id: str = "S-1") -> list[WaveCheckpoint]:
    """The story's domain checkpoints, oldest first."""
    async with w.database.session(readonly=True) as db:
        query = select(WaveCheckpoint).where(
            WaveCheckpoint.session_id == w.sid, WaveCheckpoint.story_id == story_id
        )
        return list((await db.scalars(query.order_by(WaveCheckpoint.id))).all())


async def recovered_events(w: World) -> list[dict[str, Any]]:
    """The payloads of the session's story_recovered events, oldest first."""
    async with w.database.session(readonly=True) as db:
        query = select(WaveEvent.payload).where(
            WaveEvent.session_id == w.sid, WaveEvent.kind == "story_recovered"
        )
        return [dict(p) for p in (await db.scalars(query.order_by(WaveEvent.id))).all()]


async def snapshot(w: World) -> tuple[Any, ...]:
    """Every row a recovery could write: a refused recovery must leave all of it as it was."""
    async with w.database.session(readonly=True) as db:
        stories = (
            await db.execute(
                select(WaveStoryExecution.__table__)
                .where(WaveStoryExecution.session_id == w.sid)
                .order_by(WaveStoryExecution.story_id)
            )
        ).all()
        session = (
            await db.execute(select(WaveSession.__table__).where(WaveSession.id == w.sid))
        ).one()
        counts = [
            await db.scalar(select(func.count()).select_from(table))
            for table in (WaveEvent, WaveCheckpoint, WaveEscalation, WaveLLMTurn)
        ]
    return tuple(tuple(row) for row in stories), tuple(session), tuple(counts)


def check(result: dict[str, Any], strategy: str, status: str, checkpoint: int | None) -> None:
    assert (result["strategy"], result["story_id"], result["status"]) == (strategy, "S-1", status)
    assert result["checkpoint_id"] == checkpoint
    assert result["recovery_time_seconds"] >= 0
    assert datetime.fromisoformat(result["recovery_timestamp"]) <= datetime.now(UTC)


def check_event(event: dict[str, Any], strategy: str, status: str, checkpoint: int | None) -> None:
    assert (event["story"], event["strategy"], event["status"]) == ("S-1", strategy, status)
    assert event["checkpoint"] == checkpoint
    assert event["recovery_time_seconds"] >= 0


def git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()


async def lease(w: World, owner: str) -> None:
    """Leave S-1 as a crashed or running process `owner` would: in progress, lease unexpired."""
    now = datetime.now(UTC)
    async with w.database.session() as db:
        story = await StoryExecutionRepository(db).get_by_story(w.sid, "S-1")
        assert story is not None
        if story.status is not StoryStatus.IN_PROGRESS:
            await StoryExecutionRepository(db).start_execution(story.id)
        await db.execute(
            update(WaveStoryExecution)
            .where(WaveStoryExecution.id == story.id)
            .values(lease_owner=owner, lease_acquired_at=now,
                    lease_expires_at=now + timedelta(minutes=10))
        )  # fmt: skip


async def pid_of_finished_process() -> int:
    """The pid of a process that has ended and been reaped."""
    process = await asyncio.create_subprocess_exec("true")
    await process.wait()
    return process.pid
