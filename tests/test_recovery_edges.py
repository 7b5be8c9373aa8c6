"""Recovery at its edges, on both databases: a story merged before its checkpoint is reconciled,
refusals change nothing, only a live process keeps its lease, the log tells only of what
committed, and two recoveries of one session at once let exactly one proceed."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from tests.engine_helpers import (
    GIT_IDENTITY,
)
from tests.recovery_world import (
    CTO,
    DEV,
    PM,
    check,
    check_event,
    checkpoints_of,
    git,
    lease,
    make_world,
    pid_of_finished_process,
    recovered_events,
    snapshot,
    story_row,
)
from wave_tui.config import Settings
from wave_tui.db import (
    StoryExecutionRepository,
    WaveCheckpoint,
    WaveEvent,
    WaveSession,
    WaveStoryExecution,
)
from wave_tui.domain.enums import (
    SessionStatus,
    StoryStatus,
)
from wave_tui.domain.gates import Gate
from wave_tui.engine.events import EventBus
from wave_tui.errors import LeaseHeldError, NotFoundError, UserError
from wave_tui.recovery.recover import StoryRecovery


async def test_a_story_merged_before_its_checkpoint_is_reconciled_not_run_again(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    w = await make_world(bus, tmp_path, settings)
    assert await w.run() == (SessionStatus.COMPLETED, PM + DEV + CTO)
    manager = w.manager()
    before = await snapshot(w)
    with pytest.raises(UserError, match="story S-1 is complete; only --strategy restart"):
        await manager.recover_story(w.sid, "S-1")
    with pytest.raises(UserError, match="is completed; nothing to recover"):
        await manager.recover_session(w.sid, "resume_from_last")
    assert await snapshot(w) == before
    # The crash came after the merge, before its checkpoint and the story's completion.
    *_, prep, merge, end = await checkpoints_of(w)
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

    check(result, "resume_from_last", "reconciled", prep.id)
    story_commit = git(w.project, "rev-parse", "wave/S-1")
    story = await story_row(w)
    assert (story.status, story.commit_sha, story.lease_owner) == (
        StoryStatus.COMPLETE, story_commit, None,
    )  # fmt: skip
    (event,) = await recovered_events(w)
    check_event(event, "resume_from_last", "reconciled", prep.id)
    merges = git(w.project, "log", "--merges", "--format=%s", "main").splitlines()
    assert len([m for m in merges if "wave/S-1" in m]) == 1
    # A runner afterwards finds nothing left to do.
    assert await w.run(owner=manager.owner) == (SessionStatus.COMPLETED, [])
    assert git(w.project, "log", "--merges", "--format=%s", "main").splitlines() == merges


async def test_a_crash_between_the_story_commit_and_its_checkpoint_still_passes_gate_6(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    w = await make_world(bus, tmp_path, settings)
    status, calls = await w.run(hold_after="gate-4")
    assert (status, calls[:3]) == (SessionStatus.FAILED, PM + DEV)
    held = await checkpoints_of(w)
    assert Gate.GATE_6 not in {c.gate for c in held}  # merge prep has not run
    # The crash came after merge prep's commit on the story branch, before its checkpoint.
    git(w.worktree, *GIT_IDENTITY, "add", "--all")
    git(w.worktree, *GIT_IDENTITY, "commit", "-qm", "S-1: Add double (S-1)")
    story_commit = git(w.worktree, "rev-parse", "HEAD")
    manager = w.manager()
    check(await manager.recover_story(w.sid, "S-1"), "resume_from_last", "resumed", held[-1].id)

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
    assert git(w.project, "log", "--format=%H", "main").splitlines().count(story_commit) == 1


async def test_refusals_change_nothing_and_only_a_live_holder_keeps_its_lease(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    w = await make_world(bus, tmp_path, settings)
    assert await w.run(hold_after="gate-3") == (SessionStatus.FAILED, PM + DEV)
    manager = w.manager()
    before = await snapshot(w)
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
    assert await snapshot(w) == before

    # A live process holds the story: another machine's, or one of this machine that runs.
    here = socket.gethostname()
    for holder in ("other-host:4242:x", f"{here}:{os.getppid()}:x"):
        await lease(w, holder)
        held = await snapshot(w)
        with pytest.raises(LeaseHeldError, match=f"story S-1 is being run by {holder} since "):
            await manager.recover_story(w.sid, "S-1")
        with pytest.raises(LeaseHeldError, match=f"story S-1 is being run by {holder} since "):
            await manager.recover_session(w.sid)
        assert await snapshot(w) == held

    # A process of this machine that is gone: its unexpired lease is taken over.
    await lease(w, f"{here}:{await pid_of_finished_process()}:x")
    check(await manager.recover_story(w.sid, "S-1"), "resume_from_last", "resumed",
           (await checkpoints_of(w))[-1].id)  # fmt: skip
    story = await story_row(w)
    assert (story.lease_owner, story.status, story.retry_count) == (
        manager.owner, StoryStatus.PENDING, 1,
    )  # fmt: skip

    # A cancelled story comes back only by a restart.
    async with w.database.session() as db:
        await StoryExecutionRepository(db).cancel_execution(story.id, "operator gave up")
    cancelled = await snapshot(w)
    for strategy in ("resume_from_last", "skip"):
        with pytest.raises(UserError, match="story S-1 is cancelled; only --strategy restart"):
            await manager.recover_story(w.sid, "S-1", strategy)
    assert await snapshot(w) == cancelled
    check(await manager.recover_story(w.sid, "S-1", "restart"), "restart", "restarted", None)
    assert (await story_row(w)).status is StoryStatus.PENDING


async def test_the_log_tells_only_of_a_recovery_that_committed(
    bus: EventBus,
    tmp_path: Path,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = await make_world(bus, tmp_path, settings)
    assert await w.run(hold_after="gate-3") == (SessionStatus.FAILED, PM + DEV)
    manager = w.manager()
    dead = f"{socket.gethostname()}:{await pid_of_finished_process()}:x"
    await lease(w, dead)
    before = await snapshot(w)
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
    assert await snapshot(w) == before
    assert taken_over not in caplog.messages
    assert not [m for m in caplog.messages if m.startswith("Recovery complete")]

    with caplog.at_level("INFO", logger="wave_tui.recovery"):
        check(await manager.recover_story(w.sid, "S-1"), "resume_from_last", "resumed",
               (await checkpoints_of(w))[-1].id)  # fmt: skip
    assert caplog.messages.count(taken_over) == 1
    complete = [m for m in caplog.messages if m.startswith("Recovery complete")]
    assert len(complete) == 1
    assert caplog.messages.index(taken_over) < caplog.messages.index(complete[0])


async def test_two_concurrent_session_recoveries_let_exactly_one_proceed(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    w = await make_world(bus, tmp_path, settings)
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
    story = await story_row(w)
    assert (story.lease_owner, story.retry_count) == (winner.owner, 1)
    (event,) = await recovered_events(w)  # the loser recorded nothing
    assert event["status"] == "resumed"
