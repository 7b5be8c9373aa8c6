"""RecoveryManager's write side: every strategy on really interrupted stories, on both databases.

Stories are stopped for real (an operator's hold after a gate, a finished run made to look as if
it crashed mid-merge), recovered, then run on by a SessionRunner of the manager's owner. The
replay provider's calls prove which model turns were asked again; the rows and events prove what
recovery recorded; a refused recovery is compared with a snapshot of every row it could touch.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from tests.recovery_world import (
    CTO,
    DEV,
    PM,
    check,
    check_event,
    checkpoints_of,
    git,
    make_world,
    recovered_events,
    snapshot,
    story_row,
)
from wave_tui.checkpoint.tables import graph_checkpoints
from wave_tui.config import Settings
from wave_tui.db import (
    WaveCheckpoint,
    WaveEscalation,
)
from wave_tui.domain.enums import (
    EscalationKind,
    EscalationStatus,
    SessionStatus,
    StoryStatus,
)
from wave_tui.domain.gates import Gate
from wave_tui.engine.events import EventBus
from wave_tui.errors import NotFoundError, UserError


async def test_resume_from_last_continues_a_held_story_and_asks_only_the_remaining_turn(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    w = await make_world(bus, tmp_path, settings)
    assert await w.run(hold_after="gate-3") == (SessionStatus.FAILED, PM + DEV)
    newest = (await checkpoints_of(w))[-1].id
    manager = w.manager()

    result = await manager.recover_story(w.sid, "S-1")

    check(result, "resume_from_last", "resumed", newest)
    assert (result["state"]["ac_total"], result["state"]["iteration"]) == (1, 1)
    story = await story_row(w)
    assert (story.status, story.retry_count, story.lease_owner) == (
        StoryStatus.PENDING, 1, manager.owner,
    )  # fmt: skip
    assert (story.meta_data, story.block_reason) == ({}, None)
    (event,) = await recovered_events(w)
    check_event(event, "resume_from_last", "resumed", newest)

    assert await w.run(owner=manager.owner) == (SessionStatus.COMPLETED, CTO)
    story = await story_row(w)
    assert (story.status, story.retry_count, story.iteration, story.lease_owner) == (
        StoryStatus.COMPLETE, 0, 1, None,
    )  # fmt: skip
    assert [c.id for c in await checkpoints_of(w)][-1] > newest


async def test_resume_from_gate_forks_from_the_gate_and_asks_the_model_afresh(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    w = await make_world(bus, tmp_path, settings)
    assert await w.run(hold_after="gate-4") == (SessionStatus.FAILED, PM + DEV)
    old = await checkpoints_of(w)
    manager = w.manager()
    before = await snapshot(w)
    with pytest.raises(UserError, match="unknown gate 'gate-9'"):
        await manager.recover_story(w.sid, "S-1", "resume_from_gate", "gate-9")
    gates = r"no valid checkpoint at gate-5; gates with one: gate-1, gate-3, gate-4$"
    with pytest.raises(UserError, match=gates):
        await manager.recover_story(w.sid, "S-1", "resume_from_gate", "gate-5")
    assert await snapshot(w) == before

    result = await manager.recover_story(w.sid, "S-1", "resume_from_gate", "gate-1")

    gate_1 = next(c for c in reversed(old) if c.gate is Gate.GATE_1)
    check(result, "resume_from_gate", "forked", gate_1.id)
    assert result["checkpoint_type"] == "gate"
    story = await story_row(w)
    assert story.meta_data["fork_from"] == gate_1.graph_checkpoint_id
    assert (story.meta_data["epoch"], story.retry_count) == (1, 1)
    (event,) = await recovered_events(w)
    check_event(event, "resume_from_gate", "forked", gate_1.id)
    assert event["graph_checkpoint"] == gate_1.graph_checkpoint_id

    # A new journal epoch: the developer is asked again, the planner's answer is kept.
    assert await w.run(owner=manager.owner) == (SessionStatus.COMPLETED, DEV + CTO)
    story = await story_row(w)
    assert story.status is StoryStatus.COMPLETE
    assert story.meta_data == {"epoch": 1}
    after = await checkpoints_of(w)
    assert [c.id for c in after[: len(old)]] == [c.id for c in old]  # history kept, untouched
    assert [(c.state, c.graph_checkpoint_id) for c in after[: len(old)]] == [
        (c.state, c.graph_checkpoint_id) for c in old
    ]
    assert {c.gate for c in after[len(old) :]} >= {Gate.GATE_3, Gate.GATE_5, Gate.GATE_7}


async def test_a_picked_checkpoint_is_forked_from_and_must_belong_to_the_story(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    w = await make_world(bus, tmp_path, settings, second={})
    status, calls = await w.run(hold_after="gate-5")
    assert (status, calls[:4]) == (SessionStatus.FAILED, PM + DEV + CTO)
    manager = w.manager()
    points = await manager.find_recovery_points(w.sid, "S-1")
    assert [p.checkpoint_id for p in points] == [c.id for c in reversed(await checkpoints_of(w))]
    gate_3 = next(p for p in points if p.gate is Gate.GATE_3)
    assert (gate_3.valid, gate_3.resumable) == (True, True)
    other = (await manager.find_recovery_points(w.sid, "S-2"))[0].checkpoint_id
    before = await snapshot(w)
    for wrong in (other, 10**9):
        with pytest.raises(NotFoundError, match=f"checkpoint {wrong} is not a checkpoint of S-1"):
            await manager.recover_story(w.sid, "S-1", checkpoint_id=wrong)
    assert await snapshot(w) == before

    result = await manager.recover_story(w.sid, "S-1", checkpoint_id=gate_3.checkpoint_id)

    check(result, "resume_from_last", "forked", gate_3.checkpoint_id)
    assert (await story_row(w)).meta_data["fork_from"] == gate_3.graph_checkpoint_id
    # QA runs again and the CTO, whose answer is in the journal, is asked afresh.
    assert await w.run(owner=manager.owner) == (SessionStatus.COMPLETED, CTO)
    story = await story_row(w)
    assert (story.status, story.retry_count) == (StoryStatus.COMPLETE, 0)
    assert "Merge wave/S-1" in git(w.project, "log", "--merges", "--format=%s", "main")


async def test_restart_starts_over_from_the_base_branch_on_a_new_thread(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    w = await make_world(bus, tmp_path, settings)
    assert await w.run(hold_after="gate-3") == (SessionStatus.FAILED, PM + DEV)
    assert (w.worktree / "pkg" / "double.py").is_file()
    old = [c.id for c in await checkpoints_of(w)]
    manager = w.manager()

    result = await manager.recover_story(w.sid, "S-1", "restart")

    check(result, "restart", "restarted", None)
    story = await story_row(w)
    thread = f"{story.id}:1"
    assert (story.status, story.retry_count, story.iteration, story.current_gate) == (
        StoryStatus.PENDING, 0, 0, None,
    )  # fmt: skip
    assert story.meta_data == {"epoch": 1, "thread": thread}
    assert not (w.worktree / "pkg" / "double.py").exists()
    assert git(w.project, "rev-parse", "wave/S-1") == git(w.project, "rev-parse", "main")
    (event,) = await recovered_events(w)
    check_event(event, "restart", "restarted", None)

    assert await w.run(owner=manager.owner) == (SessionStatus.COMPLETED, PM + DEV + CTO)
    assert (await story_row(w)).status is StoryStatus.COMPLETE
    after = await checkpoints_of(w)
    assert [c.id for c in after[: len(old)]] == old
    assert {c.graph_thread_id for c in after[: len(old)]} == {str(story.id)}
    assert {c.graph_thread_id for c in after[len(old) :]} == {thread}


async def test_skip_cancels_the_story_and_blocks_its_dependents(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    w = await make_world(bus, tmp_path, settings, second={"depends_on": ["S-1"]})
    assert await w.run(hold_after="gate-3") == (SessionStatus.FAILED, PM + DEV)
    assert (await story_row(w, "S-2")).status is StoryStatus.PENDING
    manager = w.manager()

    result = await manager.recover_story(w.sid, "S-1", "skip")

    check(result, "skip", "skipped", None)
    skipped, dependent = await story_row(w), await story_row(w, "S-2")
    assert (skipped.status, skipped.lease_owner) == (StoryStatus.CANCELLED, None)
    assert skipped.block_reason == "skipped during recovery by wave"
    assert (dependent.status, dependent.block_reason) == (
        StoryStatus.BLOCKED, "depends on S-1, which was skipped",
    )  # fmt: skip
    (event,) = await recovered_events(w)
    check_event(event, "skip", "skipped", None)

    assert await w.run(owner=manager.owner) == (SessionStatus.FAILED, [])
    assert (await story_row(w)).status is StoryStatus.CANCELLED
    assert (await story_row(w, "S-2")).status is StoryStatus.BLOCKED


@pytest.mark.parametrize("damage", ["state", "graph checkpoint"])
async def test_a_damaged_newest_checkpoint_is_passed_over_for_the_previous_valid_one(
    bus: EventBus, tmp_path: Path, settings: Settings, damage: str
) -> None:
    w = await make_world(bus, tmp_path, settings)
    assert await w.run(hold_after="gate-3") == (SessionStatus.FAILED, PM + DEV)
    *_, previous, newest = await checkpoints_of(w)
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

    check(result, "resume_from_last", "forked", previous.id)
    story = await story_row(w)
    assert story.meta_data == {"fork_from": previous.graph_checkpoint_id}  # same journal epoch
    (event,) = await recovered_events(w)
    check_event(event, "resume_from_last", "forked", previous.id)
    # The same epoch: turns that completed before are answered by the journal.
    assert await w.run(owner=manager.owner) == (SessionStatus.COMPLETED, CTO)
    story = await story_row(w)
    assert (story.status, story.retry_count, story.meta_data) == (StoryStatus.COMPLETE, 0, {})


async def test_the_fourth_recovery_without_progress_asks_for_manual_review(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    w = await make_world(bus, tmp_path, settings)
    assert await w.run(hold_after="gate-3") == (SessionStatus.FAILED, PM + DEV)
    newest = (await checkpoints_of(w))[-1].id
    manager = w.manager()
    for attempt in (1, 2, 3):
        check(await manager.recover_story(w.sid, "S-1"), "resume_from_last", "resumed", newest)
        assert (await story_row(w)).retry_count == attempt

    result = await manager.recover_story(w.sid, "S-1")

    check(result, "resume_from_last", "failed_recovery", newest)
    story = await story_row(w)
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
    assert [e["status"] for e in await recovered_events(w)] == ["resumed"] * 3 + ["failed_recovery"]
