"""RecoveryManager's write side: every strategy on really interrupted stories, on both databases.

Stories are stopped for real (an operator's hold after a gate, a finished run made to look as if
it crashed mid-merge), recovered, then run on by a SessionRunner of the manager's owner. The
replay provider's calls prove which model turns were asked again; the rows and events prove what
recovery recorded; a refused recovery is compared with a snapshot of every row it could touch.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from tests.engine_helpers import (
    GIT_IDENTITY,
    cto_turn,
    dev_turns,
    make_project,
    pm_turn,
    write_script,
    write_story,
)
from wave_tui.checkpoint.tables import graph_checkpoints
from wave_tui.config import Settings, load_settings
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
    EscalationKind,
    EscalationStatus,
    SessionStatus,
    StoryStatus,
)
from wave_tui.domain.gates import Gate
from wave_tui.domain.story import load_stories
from wave_tui.engine.events import EventBus
from wave_tui.engine.runner import SessionRunner
from wave_tui.engine.sessions import create_session
from wave_tui.errors import LeaseHeldError, NotFoundError, UserError
from wave_tui.llm import ReplayProvider, ReplayScript
from wave_tui.recovery import RecoveryManager
from wave_tui.recovery.recover import StoryRecovery

PM, CTO = ["S-1/pm/1#0"], ["S-1/cto/1#0"]
DEV = ["S-1/dev/1#0", "S-1/dev/1#1"]


@pytest.fixture
def bus(database: Database) -> EventBus:
    return EventBus(database)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data")


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


async def _world(
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
    project = make_project(tmp_path / "project")
    sid = await create_session(
        bus, load_stories(paths), project, budget_usd=Decimal(5), token_limit=100_000,
        story_budget_usd=Decimal(2), autonomy=AutonomyLevel.L3,
    )  # fmt: skip
    script = write_script(tmp_path / "script.yaml", conversations)
    return World(bus, sid, project, settings, script)


async def _story(w: World, story_id: str = "S-1") -> WaveStoryExecution:
    async with w.database.session(readonly=True) as db:
        story = await StoryExecutionRepository(db).get_by_story(w.sid, story_id)
    assert story is not None
    return story


async def _checkpoints(w: World, story_id: str = "S-1") -> list[WaveCheckpoint]:
    """The story's domain checkpoints, oldest first."""
    async with w.database.session(readonly=True) as db:
        query = select(WaveCheckpoint).where(
            WaveCheckpoint.session_id == w.sid, WaveCheckpoint.story_id == story_id
        )
        return list((await db.scalars(query.order_by(WaveCheckpoint.id))).all())


async def _recovered(w: World) -> list[dict[str, Any]]:
    """The payloads of the session's story_recovered events, oldest first."""
    async with w.database.session(readonly=True) as db:
        query = select(WaveEvent.payload).where(
            WaveEvent.session_id == w.sid, WaveEvent.kind == "story_recovered"
        )
        return [dict(p) for p in (await db.scalars(query.order_by(WaveEvent.id))).all()]


async def _snapshot(w: World) -> tuple[Any, ...]:
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


def _check(result: dict[str, Any], strategy: str, status: str, checkpoint: int | None) -> None:
    assert (result["strategy"], result["story_id"], result["status"]) == (strategy, "S-1", status)
    assert result["checkpoint_id"] == checkpoint
    assert result["recovery_time_seconds"] >= 0
    assert datetime.fromisoformat(result["recovery_timestamp"]) <= datetime.now(UTC)


def _check_event(event: dict[str, Any], strategy: str, status: str, checkpoint: int | None) -> None:
    assert (event["story"], event["strategy"], event["status"]) == ("S-1", strategy, status)
    assert event["checkpoint"] == checkpoint
    assert event["recovery_time_seconds"] >= 0


def _git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=project, capture_output=True, text=True, check=True
    ).stdout.strip()


async def test_resume_from_last_continues_a_held_story_and_asks_only_the_remaining_turn(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    w = await _world(bus, tmp_path, settings)
    assert await w.run(hold_after="gate-3") == (SessionStatus.FAILED, PM + DEV)
    newest = (await _checkpoints(w))[-1].id
    manager = w.manager()

    result = await manager.recover_story(w.sid, "S-1")

    _check(result, "resume_from_last", "resumed", newest)
    assert (result["state"]["ac_total"], result["state"]["iteration"]) == (1, 1)
    story = await _story(w)
    assert (story.status, story.retry_count, story.lease_owner) == (
        StoryStatus.PENDING, 1, manager.owner,
    )  # fmt: skip
    assert (story.meta_data, story.block_reason) == ({}, None)
    (event,) = await _recovered(w)
    _check_event(event, "resume_from_last", "resumed", newest)

    assert await w.run(owner=manager.owner) == (SessionStatus.COMPLETED, CTO)
    story = await _story(w)
    assert (story.status, story.retry_count, story.iteration, story.lease_owner) == (
        StoryStatus.COMPLETE, 0, 1, None,
    )  # fmt: skip
    assert [c.id for c in await _checkpoints(w)][-1] > newest


async def test_resume_from_gate_forks_from_the_gate_and_asks_the_model_afresh(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    w = await _world(bus, tmp_path, settings)
    assert await w.run(hold_after="gate-4") == (SessionStatus.FAILED, PM + DEV)
    old = await _checkpoints(w)
    manager = w.manager()
    before = await _snapshot(w)
    with pytest.raises(UserError, match="unknown gate 'gate-9'"):
        await manager.recover_story(w.sid, "S-1", "resume_from_gate", "gate-9")
    gates = r"no valid checkpoint at gate-5; gates with one: gate-1, gate-3, gate-4$"
    with pytest.raises(UserError, match=gates):
        await manager.recover_story(w.sid, "S-1", "resume_from_gate", "gate-5")
    assert await _snapshot(w) == before

    result = await manager.recover_story(w.sid, "S-1", "resume_from_gate", "gate-1")

    gate_1 = next(c for c in reversed(old) if c.gate is Gate.GATE_1)
    _check(result, "resume_from_gate", "forked", gate_1.id)
    assert result["checkpoint_type"] == "gate"
    story = await _story(w)
    assert story.meta_data["fork_from"] == gate_1.graph_checkpoint_id
    assert (story.meta_data["epoch"], story.retry_count) == (1, 1)
    (event,) = await _recovered(w)
    _check_event(event, "resume_from_gate", "forked", gate_1.id)
    assert event["graph_checkpoint"] == gate_1.graph_checkpoint_id

    # A new journal epoch: the developer is asked again, the planner's answer is kept.
    assert await w.run(owner=manager.owner) == (SessionStatus.COMPLETED, DEV + CTO)
    story = await _story(w)
    assert story.status is StoryStatus.COMPLETE
    assert story.meta_data == {"epoch": 1}
    after = await _checkpoints(w)
    assert [c.id for c in after[: len(old)]] == [c.id for c in old]  # history kept, untouched
    assert [(c.state, c.graph_checkpoint_id) for c in after[: len(old)]] == [
        (c.state, c.graph_checkpoint_id) for c in old
    ]
    assert {c.gate for c in after[len(old) :]} >= {Gate.GATE_3, Gate.GATE_5, Gate.GATE_7}


async def test_a_picked_checkpoint_is_forked_from_and_must_belong_to_the_story(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    w = await _world(bus, tmp_path, settings, second={})
    status, calls = await w.run(hold_after="gate-5")
    assert (status, calls[:4]) == (SessionStatus.FAILED, PM + DEV + CTO)
    manager = w.manager()
    points = await manager.find_recovery_points(w.sid, "S-1")
    assert [p.checkpoint_id for p in points] == [c.id for c in reversed(await _checkpoints(w))]
    gate_3 = next(p for p in points if p.gate is Gate.GATE_3)
    assert (gate_3.valid, gate_3.resumable) == (True, True)
    other = (await manager.find_recovery_points(w.sid, "S-2"))[0].checkpoint_id
    before = await _snapshot(w)
    for wrong in (other, 10**9):
        with pytest.raises(NotFoundError, match=f"checkpoint {wrong} is not a checkpoint of S-1"):
            await manager.recover_story(w.sid, "S-1", checkpoint_id=wrong)
    assert await _snapshot(w) == before

    result = await manager.recover_story(w.sid, "S-1", checkpoint_id=gate_3.checkpoint_id)

    _check(result, "resume_from_last", "forked", gate_3.checkpoint_id)
    assert (await _story(w)).meta_data["fork_from"] == gate_3.graph_checkpoint_id
    # QA runs again and the CTO, whose answer is in the journal, is asked afresh.
    assert await w.run(owner=manager.owner) == (SessionStatus.COMPLETED, CTO)
    story = await _story(w)
    assert (story.status, story.retry_count) == (StoryStatus.COMPLETE, 0)
    assert "Merge wave/S-1" in _git(w.project, "log", "--merges", "--format=%s", "main")


async def test_restart_starts_over_from_the_base_branch_on_a_new_thread(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    w = await _world(bus, tmp_path, settings)
    assert await w.run(hold_after="gate-3") == (SessionStatus.FAILED, PM + DEV)
    assert (w.worktree / "pkg" / "double.py").is_file()
    old = [c.id for c in await _checkpoints(w)]
    manager = w.manager()

    result = await manager.recover_story(w.sid, "S-1", "restart")

    _check(result, "restart", "restarted", None)
    story = await _story(w)
    thread = f"{story.id}:1"
    assert (story.status, story.retry_count, story.iteration, story.current_gate) == (
        StoryStatus.PENDING, 0, 0, None,
    )  # fmt: skip
    assert story.meta_data == {"epoch": 1, "thread": thread}
    assert not (w.worktree / "pkg" / "double.py").exists()
    assert _git(w.project, "rev-parse", "wave/S-1") == _git(w.project, "rev-parse", "main")
    (event,) = await _recovered(w)
    _check_event(event, "restart", "restarted", None)

    assert await w.run(owner=manager.owner) == (SessionStatus.COMPLETED, PM + DEV + CTO)
    assert (await _story(w)).status is StoryStatus.COMPLETE
    after = await _checkpoints(w)
    assert [c.id for c in after[: len(old)]] == old
    assert {c.graph_thread_id for c in after[: len(old)]} == {str(story.id)}
    assert {c.graph_thread_id for c in after[len(old) :]} == {thread}


async def test_skip_cancels_the_story_and_blocks_its_dependents(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    w = await _world(bus, tmp_path, settings, second={"depends_on": ["S-1"]})
    assert await w.run(hold_after="gate-3") == (SessionStatus.FAILED, PM + DEV)
    assert (await _story(w, "S-2")).status is StoryStatus.PENDING
    manager = w.manager()

    result = await manager.recover_story(w.sid, "S-1", "skip")

    _check(result, "skip", "skipped", None)
    skipped, dependent = await _story(w), await _story(w, "S-2")
    assert (skipped.status, skipped.lease_owner) == (StoryStatus.CANCELLED, None)
    assert skipped.block_reason == "skipped during recovery by wave"
    assert (dependent.status, dependent.block_reason) == (
        StoryStatus.BLOCKED, "depends on S-1, which was skipped",
    )  # fmt: skip
    (event,) = await _recovered(w)
    _check_event(event, "skip", "skipped", None)

    assert await w.run(owner=manager.owner) == (SessionStatus.FAILED, [])
    assert (await _story(w)).status is StoryStatus.CANCELLED
    assert (await _story(w, "S-2")).status is StoryStatus.BLOCKED


@pytest.mark.parametrize("damage", ["state", "graph checkpoint"])
async def test_a_damaged_newest_checkpoint_is_passed_over_for_the_previous_valid_one(
    bus: EventBus, tmp_path: Path, settings: Settings, damage: str
) -> None:
    w = await _world(bus, tmp_path, settings)
    assert await w.run(hold_after="gate-3") == (SessionStatus.FAILED, PM + DEV)
    *_, previous, newest = await _checkpoints(w)
    async with w.database.session() as db:
        if damage == "state":
            await db.execute(
                update(WaveCheckpoint)
                .where(WaveCheckpoint.id == newest.id)
                .values(state={"phase": "exploded", "iteration": "many"})
            )
        else:
            await db.execute(
                delete(graph_checkpoints).where(
                    graph_checkpoints.c.thread_id == newest.graph_thread_id,
                    graph_checkpoints.c.checkpoint_id == newest.graph_checkpoint_id,
                )
            )
    manager = w.manager()
    points = await manager.find_recovery_points(w.sid, "S-1")
    assert [(p.checkpoint_id, p.valid) for p in points[:2]] == [
        (newest.id, False), (previous.id, True),
    ]  # fmt: skip

    result = await manager.recover_story(w.sid, "S-1")

    _check(result, "resume_from_last", "forked", previous.id)
    story = await _story(w)
    assert story.meta_data == {"fork_from": previous.graph_checkpoint_id}  # same journal epoch
    (event,) = await _recovered(w)
    _check_event(event, "resume_from_last", "forked", previous.id)
    # The same epoch: turns that completed before are answered by the journal.
    assert await w.run(owner=manager.owner) == (SessionStatus.COMPLETED, CTO)
    story = await _story(w)
    assert (story.status, story.retry_count, story.meta_data) == (StoryStatus.COMPLETE, 0, {})


async def test_the_fourth_recovery_without_progress_asks_for_manual_review(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    w = await _world(bus, tmp_path, settings)
    assert await w.run(hold_after="gate-3") == (SessionStatus.FAILED, PM + DEV)
    newest = (await _checkpoints(w))[-1].id
    manager = w.manager()
    for attempt in (1, 2, 3):
        _check(await manager.recover_story(w.sid, "S-1"), "resume_from_last", "resumed", newest)
        assert (await _story(w)).retry_count == attempt

    result = await manager.recover_story(w.sid, "S-1")

    _check(result, "resume_from_last", "failed_recovery", newest)
    story = await _story(w)
    assert (story.status, story.retry_count, story.lease_owner) == (StoryStatus.FAILED, 3, None)
    assert (story.error or "").startswith("failed_recovery")
    async with w.database.session(readonly=True) as db:
        (escalation,) = (
            await db.scalars(select(WaveEscalation).where(WaveEscalation.session_id == w.sid))
        ).all()
    assert (escalation.kind, escalation.status) == (
        EscalationKind.RETRY_EXHAUSTED, EscalationStatus.PENDING,
    )  # fmt: skip
    assert escalation.story_execution_id == story.id
    assert [e["status"] for e in await _recovered(w)] == ["resumed"] * 3 + ["failed_recovery"]


async def test_a_story_merged_before_its_checkpoint_is_reconciled_not_run_again(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    w = await _world(bus, tmp_path, settings)
    assert await w.run() == (SessionStatus.COMPLETED, PM + DEV + CTO)
    manager = w.manager()
    before = await _snapshot(w)
    with pytest.raises(UserError, match="story S-1 is complete; only --strategy restart"):
        await manager.recover_story(w.sid, "S-1")
    with pytest.raises(UserError, match="is completed; nothing to recover"):
        await manager.recover_session(w.sid, "resume_from_last")
    assert await _snapshot(w) == before
    # The crash came after the merge, before its checkpoint and the story's completion.
    *_, prep, merge, end = await _checkpoints(w)
    assert (prep.gate, merge.gate, end.checkpoint_name) == (
        Gate.GATE_6, Gate.GATE_7, "end: complete",
    )  # fmt: skip
    async with w.database.session() as db:
        for row in (end, merge):
            await db.execute(delete(WaveCheckpoint).where(WaveCheckpoint.id == row.id))
        await db.execute(
            update(WaveStoryExecution)
            .where(WaveStoryExecution.session_id == w.sid)
            .values(status=StoryStatus.IN_PROGRESS, completed_at=None, commit_sha=None)
        )
        await db.execute(
            update(WaveSession)
            .where(WaveSession.id == w.sid)
            .values(status=SessionStatus.IN_PROGRESS, completed_at=None)
        )

    result = await manager.recover_story(w.sid, "S-1")

    _check(result, "resume_from_last", "reconciled", prep.id)
    story_commit = _git(w.project, "rev-parse", "wave/S-1")
    story = await _story(w)
    assert (story.status, story.commit_sha, story.lease_owner) == (
        StoryStatus.COMPLETE, story_commit, None,
    )  # fmt: skip
    (event,) = await _recovered(w)
    _check_event(event, "resume_from_last", "reconciled", prep.id)
    merges = _git(w.project, "log", "--merges", "--format=%s", "main").splitlines()
    assert len([m for m in merges if "wave/S-1" in m]) == 1
    # A runner afterwards finds nothing left to do.
    assert await w.run(owner=manager.owner) == (SessionStatus.COMPLETED, [])
    assert _git(w.project, "log", "--merges", "--format=%s", "main").splitlines() == merges


async def test_a_crash_between_the_story_commit_and_its_checkpoint_still_passes_gate_6(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    w = await _world(bus, tmp_path, settings)
    status, calls = await w.run(hold_after="gate-4")
    assert (status, calls[:3]) == (SessionStatus.FAILED, PM + DEV)
    held = await _checkpoints(w)
    assert Gate.GATE_6 not in {c.gate for c in held}  # merge prep has not run
    # The crash came after merge prep's commit on the story branch, before its checkpoint.
    _git(w.worktree, *GIT_IDENTITY, "add", "--all")
    _git(w.worktree, *GIT_IDENTITY, "commit", "-qm", "S-1: Add double (S-1)")
    story_commit = _git(w.worktree, "rev-parse", "HEAD")
    manager = w.manager()
    _check(await manager.recover_story(w.sid, "S-1"), "resume_from_last", "resumed", held[-1].id)

    assert (await w.run(owner=manager.owner))[0] is SessionStatus.COMPLETED
    async with w.database.session(readonly=True) as db:
        query = select(WaveEvent.payload).where(
            WaveEvent.session_id == w.sid, WaveEvent.kind == "step"
        )
        steps = [p for p in (await db.scalars(query)).all() if p["node"] == "merge_prep"]
    # The commit is on the branch: gate-6 passes with it (not "committed None"), then the merge.
    assert [(p["passed"], p["evidence"][0]) for p in steps] == [
        (True, f"committed {story_commit} on wave/S-1")
    ]
    assert _git(w.project, "log", "--format=%H", "main").splitlines().count(story_commit) == 1


async def test_refusals_change_nothing_and_only_a_live_holder_keeps_its_lease(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    w = await _world(bus, tmp_path, settings)
    assert await w.run(hold_after="gate-3") == (SessionStatus.FAILED, PM + DEV)
    manager = w.manager()
    before = await _snapshot(w)
    refusals: list[tuple[type[Exception], str, dict[str, Any]]] = [
        (UserError, "'nope' is not a session id", {"session_id": "nope"}),
        (NotFoundError, "not found", {"session_id": uuid.uuid4()}),
        (NotFoundError, "story S-9 is not in session", {"story_id": "S-9"}),
        (UserError, "unknown recovery strategy 'teleport'", {"strategy": "teleport"}),
        (UserError, "resume_from_gate needs a gate", {"strategy": "resume_from_gate"}),
        (UserError, "unknown gate 'gate-9'", {"strategy": "resume_from_gate",
                                             "target_gate": "gate-9"}),
        (UserError, "a checkpoint is picked to resume from", {"strategy": "restart",
                                                             "checkpoint_id": 1}),
    ]  # fmt: skip
    for error, message, arguments in refusals:
        call = {"session_id": w.sid, "story_id": "S-1", **arguments}
        with pytest.raises(error, match=message):
            await manager.recover_story(**call)
    assert await _snapshot(w) == before

    # A live process holds the story: another machine's, or one of this machine that runs.
    here = socket.gethostname()
    for holder in ("other-host:4242:x", f"{here}:{os.getppid()}:x"):
        await _lease(w, holder)
        held = await _snapshot(w)
        with pytest.raises(LeaseHeldError, match=f"story S-1 is being run by {holder} since "):
            await manager.recover_story(w.sid, "S-1")
        with pytest.raises(LeaseHeldError, match=f"story S-1 is being run by {holder} since "):
            await manager.recover_session(w.sid)
        assert await _snapshot(w) == held

    # A process of this machine that is gone: its unexpired lease is taken over.
    await _lease(w, f"{here}:{await _pid_of_finished_process()}:x")
    _check(await manager.recover_story(w.sid, "S-1"), "resume_from_last", "resumed",
           (await _checkpoints(w))[-1].id)  # fmt: skip
    story = await _story(w)
    assert (story.lease_owner, story.status, story.retry_count) == (
        manager.owner, StoryStatus.PENDING, 1,
    )  # fmt: skip

    # A cancelled story comes back only by a restart.
    async with w.database.session() as db:
        await StoryExecutionRepository(db).cancel_execution(story.id, "operator gave up")
    cancelled = await _snapshot(w)
    for strategy in ("resume_from_last", "skip"):
        with pytest.raises(UserError, match="story S-1 is cancelled; only --strategy restart"):
            await manager.recover_story(w.sid, "S-1", strategy)
    assert await _snapshot(w) == cancelled
    _check(await manager.recover_story(w.sid, "S-1", "restart"), "restart", "restarted", None)
    assert (await _story(w)).status is StoryStatus.PENDING


async def test_the_log_tells_only_of_a_recovery_that_committed(
    bus: EventBus,
    tmp_path: Path,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = await _world(bus, tmp_path, settings)
    assert await w.run(hold_after="gate-3") == (SessionStatus.FAILED, PM + DEV)
    manager = w.manager()
    dead = f"{socket.gethostname()}:{await _pid_of_finished_process()}:x"
    await _lease(w, dead)
    before = await _snapshot(w)
    taken_over = f"Lease taken over | story=S-1 | from dead process {dead}"

    async def disk_full(*_args: Any) -> None:
        raise OSError(28, "No space left on device")

    # The lease is taken over inside the transaction, then its event cannot be written.
    with monkeypatch.context() as patch:
        patch.setattr(StoryRecovery, "_event", disk_full)
        with (
            caplog.at_level("INFO", logger="wave_tui.recovery"),
            pytest.raises(OSError, match="No space left"),
        ):
            await manager.recover_story(w.sid, "S-1")
    assert await _snapshot(w) == before
    assert taken_over not in caplog.messages
    assert not [m for m in caplog.messages if m.startswith("Recovery complete")]

    with caplog.at_level("INFO", logger="wave_tui.recovery"):
        _check(await manager.recover_story(w.sid, "S-1"), "resume_from_last", "resumed",
               (await _checkpoints(w))[-1].id)  # fmt: skip
    assert caplog.messages.count(taken_over) == 1
    complete = [m for m in caplog.messages if m.startswith("Recovery complete")]
    assert len(complete) == 1
    assert caplog.messages.index(taken_over) < caplog.messages.index(complete[0])


async def _lease(w: World, owner: str) -> None:
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


async def _pid_of_finished_process() -> int:
    """The pid of a process that has ended and been reaped."""
    process = await asyncio.create_subprocess_exec("true")
    await process.wait()
    return process.pid


async def test_two_concurrent_session_recoveries_let_exactly_one_proceed(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    w = await _world(bus, tmp_path, settings)
    assert await w.run(hold_after="gate-3") == (SessionStatus.FAILED, PM + DEV)
    first, second = w.manager(), w.manager()
    assert first.owner != second.owner

    outcomes = await asyncio.gather(
        first.recover_session(w.sid), second.recover_session(w.sid), return_exceptions=True
    )

    won = [o for o in outcomes if isinstance(o, dict)]
    lost = [o for o in outcomes if isinstance(o, BaseException)]
    assert (len(won), len(lost)) == (1, 1), outcomes
    assert isinstance(lost[0], LeaseHeldError), lost[0]
    assert "story S-1 is being run by " in str(lost[0])
    winner = first if outcomes[0] is won[0] else second
    assert (won[0]["session_id"], won[0]["failed"]) == (str(w.sid), [])
    assert [r["story_id"] for r in won[0]["recovered"]] == ["S-1"]
    story = await _story(w)
    assert (story.lease_owner, story.retry_count) == (winner.owner, 1)
    (event,) = await _recovered(w)  # the loser recorded nothing
    assert event["status"] == "resumed"
