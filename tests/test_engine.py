"""The engine end to end: real graph, real git, real pytest, the replay provider."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import update

from tests.engine_helpers import (
    cto_turn,
    dev_turns,
    first_time_right,
    make_project,
    pm_turn,
    write_script,
    write_story,
)
from wave_tui.checkpoint import WAVECheckpointSaver
from wave_tui.config import Settings, load_settings
from wave_tui.db import (
    ApprovalRepository,
    CheckpointRepository,
    Database,
    EscalationRepository,
    EventRepository,
    SessionRepository,
    StoryExecutionRepository,
    WaveStoryExecution,
)
from wave_tui.domain.enums import (
    ApprovalDecision,
    ApprovalSubject,
    AutonomyLevel,
    CheckpointType,
    EscalationKind,
    EscalationStatus,
    SessionStatus,
    StoryStatus,
)
from wave_tui.domain.gates import Gate
from wave_tui.domain.story import load_stories
from wave_tui.engine.events import EventBus
from wave_tui.engine.graph import checkpoint_serializer
from wave_tui.engine.runner import SessionRunner
from wave_tui.engine.sessions import create_session
from wave_tui.errors import InvalidTransitionError, NotFoundError
from wave_tui.llm import ReplayProvider, ReplayScript


@pytest.fixture
async def bus(tmp_path: Path) -> AsyncIterator[EventBus]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'wave.db'}")
    await database.upgrade()
    yield EventBus(database)
    await database.dispose()


async def _session(
    bus: EventBus,
    tmp_path: Path,
    story: Path,
    autonomy: AutonomyLevel = AutonomyLevel.L3,
    **options: object,
) -> tuple[uuid.UUID, Path]:
    project = make_project(tmp_path / "project")
    session_id = await create_session(
        bus,
        load_stories([story]),
        project,
        budget_usd=Decimal(str(options.get("budget_usd", "5"))),
        token_limit=100_000,
        story_budget_usd=Decimal("2"),
        autonomy=autonomy,
    )
    return session_id, project


def _runner(
    bus: EventBus, session_id: uuid.UUID, script: Path, settings: Settings
) -> tuple[SessionRunner, ReplayProvider]:
    provider = ReplayProvider(ReplayScript.load(script))
    return SessionRunner(bus, session_id, provider=provider, settings=settings), provider


def _pytest(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=project, capture_output=True, text=True, check=True
    ).stdout


async def test_a_failing_first_attempt_is_fixed_on_iteration_two_and_merged(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    story = write_story(tmp_path / "story.yaml")
    script = write_script(
        tmp_path / "script.yaml",
        {
            "S-1/pm/1": pm_turn(),
            "S-1/dev/1": dev_turns("x + 2"),  # double(3) == 5: the test fails
            "S-1/dev/2": dev_turns("x * 2"),
            "S-1/cto/2": cto_turn(),
        },
    )
    session_id, project = await _session(bus, tmp_path, story)
    runner, provider = _runner(bus, session_id, script, settings)

    assert await runner.start() is SessionStatus.COMPLETED

    async with bus.database.session(readonly=True) as db:
        (execution,) = await StoryExecutionRepository(db).list_by_session(session_id)
        session = await SessionRepository(db).require(session_id)
        checkpoints = await CheckpointRepository(db).list_by_story(session_id, "S-1")
    assert execution.status is StoryStatus.COMPLETE
    assert (execution.iteration, execution.recycle_count) == (2, 1)
    assert (execution.ac_passed, execution.ac_total) == (1, 1)
    assert execution.branch_name == "wave/S-1"
    assert execution.files_created == ["pkg/double.py", "tests/test_double.py"]
    # The merge commit on main is the one recorded, and main passes its own tests.
    assert execution.commit_sha == _git(project, "rev-parse", "main").strip()
    assert "Merge wave/S-1" in _git(project, "log", "-1", "--format=%s", "main")
    tests = _pytest(project)
    assert tests.returncode == 0, tests.stdout
    # Budget: what the story spent is what the session was charged.
    assert execution.token_count > 0
    assert session.tokens_used == execution.token_count
    assert session.actual_cost_usd == execution.cost_usd
    # Every gate left a checkpoint pointing at a LangGraph checkpoint that exists.
    gates = {c.gate for c in checkpoints if c.checkpoint_type is CheckpointType.GATE}
    assert {Gate.GATE_1, Gate.GATE_3, Gate.GATE_4, Gate.GATE_5, Gate.GATE_6, Gate.GATE_7} <= gates
    assert checkpoints[-1].checkpoint_type is CheckpointType.STORY_START
    assert checkpoints[0].checkpoint_type is CheckpointType.STORY_COMPLETE
    assert checkpoints[0].parent_checkpoint_id == checkpoints[1].id
    saver = WAVECheckpointSaver(bus.database, serde=checkpoint_serializer())
    for checkpoint in checkpoints[:-1]:
        config = {"configurable": {"thread_id": str(execution.id), "checkpoint_ns": "",
                                   "checkpoint_id": checkpoint.graph_checkpoint_id}}  # fmt: skip
        assert await saver.aget_tuple(config) is not None  # type: ignore[arg-type]
    assert provider.calls == [
        "S-1/pm/1#0", "S-1/dev/1#0", "S-1/dev/1#1", "S-1/dev/2#0", "S-1/dev/2#1", "S-1/cto/2#0",
    ]  # fmt: skip


async def test_a_story_that_never_passes_stops_after_max_recycles_with_an_escalation(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    story = write_story(tmp_path / "story.yaml")
    wrong = ["x + 1", "x + 2", "x + 4", "x + 5"]  # each fails differently: not "stuck"
    conversations = {"S-1/pm/1": pm_turn()}
    conversations.update({f"S-1/dev/{n}": dev_turns(b) for n, b in enumerate(wrong, 1)})
    script = write_script(tmp_path / "script.yaml", conversations)
    session_id, _ = await _session(bus, tmp_path, story)
    runner, provider = _runner(bus, session_id, script, settings)

    assert await runner.start() is SessionStatus.FAILED

    async with bus.database.session(readonly=True) as db:
        (execution,) = await StoryExecutionRepository(db).list_by_session(session_id)
        (escalation,) = await EscalationRepository(db).list_pending(session_id)
    assert execution.status is StoryStatus.BLOCKED
    assert (execution.iteration, execution.recycle_count) == (4, 3)
    assert "QA failed after 3 fix attempts" in (execution.block_reason or "")
    assert escalation.kind is EscalationKind.RETRY_EXHAUSTED
    assert not any("cto" in call for call in provider.calls)


async def test_the_same_failure_twice_holds_the_story_as_stuck(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    story = write_story(tmp_path / "story.yaml")
    script = write_script(
        tmp_path / "script.yaml",
        {"S-1/pm/1": pm_turn(), "S-1/dev/1": dev_turns("x + 2"), "S-1/dev/2": dev_turns("x + 2")},
    )
    session_id, _ = await _session(bus, tmp_path, story)
    runner, _provider = _runner(bus, session_id, script, settings)
    await runner.start()
    async with bus.database.session(readonly=True) as db:
        (execution,) = await StoryExecutionRepository(db).list_by_session(session_id)
    assert execution.status is StoryStatus.BLOCKED
    assert execution.iteration == 2
    assert (execution.block_reason or "").startswith("stuck: the same tests failed")


async def test_a_story_over_budget_fails_before_the_next_call(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    story = write_story(tmp_path / "story.yaml", budget_usd=0.001)
    script = write_script(tmp_path / "script.yaml", {"S-1/pm/1": pm_turn()})
    session_id, _ = await _session(bus, tmp_path, story)
    runner, provider = _runner(bus, session_id, script, settings)

    assert await runner.start() is SessionStatus.FAILED

    async with bus.database.session(readonly=True) as db:
        (execution,) = await StoryExecutionRepository(db).list_by_session(session_id)
        session = await SessionRepository(db).require(session_id)
    assert execution.status is StoryStatus.FAILED
    assert (execution.error or "").startswith("budget exceeded")
    assert provider.calls == ["S-1/pm/1#0"]  # the dev call that would start over budget never ran
    assert execution.cost_usd > Decimal("0.001")
    assert (session.tokens_used, session.actual_cost_usd) == (
        execution.token_count,
        execution.cost_usd,
    )


async def test_a_held_story_resumes_from_its_thread_without_rerunning_finished_nodes(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    story = write_story(tmp_path / "story.yaml")
    script = first_time_right(tmp_path)
    session_id, _ = await _session(bus, tmp_path, story)
    first, first_provider = _runner(bus, session_id, script, settings)
    events = bus.subscribe()

    async def hold_after_gate_3() -> None:
        async for event in events:
            if event.kind == "step" and event.payload.get("gate") == "gate-3":
                first.hold("S-1", "operator wants a look")
                return

    watcher = asyncio.create_task(hold_after_gate_3())
    assert await first.start() is SessionStatus.FAILED  # not complete: one story is held
    await watcher
    async with bus.database.session(readonly=True) as db:
        (held,) = await StoryExecutionRepository(db).list_by_session(session_id)
    assert held.status is StoryStatus.BLOCKED
    assert held.block_reason == "held: operator wants a look"
    assert first_provider.calls == ["S-1/pm/1#0", "S-1/dev/1#0", "S-1/dev/1#1"]

    # A new runner (as after a restart) continues from the thread: QA, CTO, merge only.
    second, second_provider = _runner(bus, session_id, script, settings)
    assert await second.resume("S-1") == ["S-1"]
    assert await second.start() is SessionStatus.COMPLETED
    assert second_provider.calls == ["S-1/cto/1#0"]
    async with bus.database.session(readonly=True) as db:
        (done,) = await StoryExecutionRepository(db).list_by_session(session_id)
    assert done.status is StoryStatus.COMPLETE
    assert done.iteration == 1


async def test_a_replay_script_without_the_asked_turn_fails_that_story_loudly(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    story = write_story(tmp_path / "story.yaml")
    script = write_script(tmp_path / "script.yaml", {"S-1/pm/1": pm_turn()})
    session_id, _ = await _session(bus, tmp_path, story)
    runner, _provider = _runner(bus, session_id, script, settings)

    assert await runner.start() is SessionStatus.FAILED

    async with bus.database.session(readonly=True) as db:
        (execution,) = await StoryExecutionRepository(db).list_by_session(session_id)
        session = await SessionRepository(db).require(session_id)
    assert execution.status is StoryStatus.FAILED
    assert "S-1/dev/1" in (execution.error or "")
    assert execution.lease_owner is None
    assert session.meta_data["error"] == "1 of 1 stories did not complete"


async def test_a_runner_that_loses_its_lease_stops_the_story_and_leaves_the_row_alone(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    story = write_story(tmp_path / "story.yaml")
    script = first_time_right(tmp_path)
    session_id, _ = await _session(bus, tmp_path, story)
    slow = {**yaml.safe_load(script.read_text()), "latency_s": 0.5}  # time to notice the theft
    provider = ReplayProvider(ReplayScript.from_data(slow))
    runner = SessionRunner(
        bus, session_id, provider=provider, settings=settings, lease_ttl=timedelta(seconds=0.3)
    )
    events = bus.subscribe()

    async def take_over_after_planning() -> None:
        async for event in events:
            if event.kind == "step" and event.payload.get("node") == "pm":
                async with bus.database.session() as db:
                    # As a live process that took over an expired lease would leave it.
                    taken = {
                        "lease_owner": "other-host:99",
                        "lease_expires_at": datetime.now(UTC) + timedelta(minutes=5),
                    }
                    await db.execute(update(WaveStoryExecution).values(**taken))
                return

    thief = asyncio.create_task(take_over_after_planning())
    await runner.start()
    await thief
    async with bus.database.session(readonly=True) as db:
        (execution,) = await StoryExecutionRepository(db).list_by_session(session_id)
        kinds = [e.kind for e in await EventRepository(db).tail(session_id, limit=1000)]
    assert "lease_lost" in kinds
    assert execution.lease_owner == "other-host:99"
    assert execution.status is StoryStatus.IN_PROGRESS  # the new owner's to finish
    assert "story_finished" not in kinds


async def test_at_l2_the_merge_waits_for_an_operator_and_proceeds_when_approved(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    story = write_story(tmp_path / "story.yaml")
    script = first_time_right(tmp_path)
    session_id, project = await _session(bus, tmp_path, story, AutonomyLevel.L2)
    provider = ReplayProvider(ReplayScript.load(script))
    runner = SessionRunner(
        bus, session_id, provider=provider, settings=settings, decision_poll_s=0.05
    )

    async def operator_in_another_terminal() -> str:
        while True:
            async with bus.database.session() as db:
                pending = await EscalationRepository(db).list_pending(session_id)
                if pending:
                    assert _git(project, "log", "--merges", "--oneline") == ""  # not yet merged
                    await EscalationRepository(db).decide(
                        pending[0].id, EscalationStatus.APPROVED, "alice", "looks right"
                    )
                    return pending[0].summary
            await asyncio.sleep(0.05)

    operator = asyncio.create_task(operator_in_another_terminal())
    assert await runner.start() is SessionStatus.COMPLETED
    assert await operator == "merge wave/S-1 into main"
    async with bus.database.session(readonly=True) as db:
        (execution,) = await StoryExecutionRepository(db).list_by_session(session_id)
        (approval,) = await ApprovalRepository(db).list_by_story(execution.id)
    assert (approval.subject, approval.decision, approval.decided_by) == (
        ApprovalSubject.MERGE,
        ApprovalDecision.APPROVED,
        "alice",
    )
    assert "Merge wave/S-1" in _git(project, "log", "-1", "--format=%s", "main")


async def test_a_headless_run_rejects_the_merge_and_holds_the_story_unmerged(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    story = write_story(tmp_path / "story.yaml")
    script = first_time_right(tmp_path)
    session_id, project = await _session(bus, tmp_path, story, AutonomyLevel.L2)
    provider = ReplayProvider(ReplayScript.load(script))
    runner = SessionRunner(
        bus, session_id, provider=provider, settings=settings, on_escalation="reject"
    )
    assert await runner.start() is SessionStatus.FAILED
    async with bus.database.session(readonly=True) as db:
        (execution,) = await StoryExecutionRepository(db).list_by_session(session_id)
        (approval,) = await ApprovalRepository(db).list_by_story(execution.id)
    assert execution.status is StoryStatus.BLOCKED
    assert execution.block_reason == "merge rejected: headless run"
    assert approval.decision is ApprovalDecision.REJECTED
    assert approval.reason == "headless run"
    assert _git(project, "log", "--merges", "--oneline") == ""
    async with bus.database.session(readonly=True) as db:
        assert (
            await EscalationRepository(db).list_pending(session_id) == []
        )  # decided, not re-asked


async def test_an_emergency_stop_after_gate_3_resumes_without_rerunning_finished_nodes(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    story = write_story(tmp_path / "story.yaml")
    script = first_time_right(tmp_path)
    session_id, _ = await _session(bus, tmp_path, story)
    first, first_provider = _runner(bus, session_id, script, settings)
    events = bus.subscribe()

    async def stop_everything_after_gate_3() -> None:
        async for event in events:
            if event.kind == "step" and event.payload.get("gate") == "gate-3":
                first.kill(None, "power cut")  # cancels the running task mid-graph
                return

    watcher = asyncio.create_task(stop_everything_after_gate_3())
    await first.start()
    await watcher
    async with bus.database.session(readonly=True) as db:
        (stopped,) = await StoryExecutionRepository(db).list_by_session(session_id)
    assert stopped.status is StoryStatus.BLOCKED
    assert stopped.block_reason == "emergency stop: power cut"
    assert stopped.lease_owner is None
    assert first_provider.calls == ["S-1/pm/1#0", "S-1/dev/1#0", "S-1/dev/1#1"]

    second, second_provider = _runner(bus, session_id, script, settings)
    assert await second.resume(None) == ["S-1"]
    assert await second.start() is SessionStatus.COMPLETED
    assert second_provider.calls == ["S-1/cto/1#0"]  # pm and dev were not asked again


async def test_a_manual_checkpoint_points_at_the_story_s_latest_graph_checkpoint(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    story = write_story(tmp_path / "story.yaml")
    session_id, _ = await _session(bus, tmp_path, story)
    runner, _provider = _runner(bus, session_id, first_time_right(tmp_path), settings)
    with pytest.raises(InvalidTransitionError, match="has not started"):
        await runner.manual_checkpoint("S-1", "too early")
    await runner.start()
    checkpoint_id = await runner.manual_checkpoint("S-1", "before the release")
    async with bus.database.session(readonly=True) as db:
        checkpoints = await CheckpointRepository(db).list_by_story(session_id, "S-1")
    manual, complete = checkpoints[0], checkpoints[1]
    assert manual.id == checkpoint_id
    assert manual.checkpoint_type is CheckpointType.MANUAL
    assert manual.checkpoint_name == "before the release"
    assert manual.parent_checkpoint_id == complete.id
    assert manual.graph_checkpoint_id == complete.graph_checkpoint_id
    assert manual.state["phase"] == "complete"
    with pytest.raises(NotFoundError):
        await runner.manual_checkpoint("NOPE-1", "x")


async def test_each_step_event_carries_every_gate_verdict_and_the_story_s_progress(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    story = write_story(tmp_path / "story.yaml")
    script = write_script(
        tmp_path / "script.yaml",
        {
            "S-1/pm/1": pm_turn(),
            "S-1/dev/1": dev_turns("x + 2"),  # QA fails once: a FAIL on gate-4, then a recycle
            "S-1/dev/2": dev_turns("x * 2"),
            "S-1/cto/2": cto_turn(),
        },
    )
    session_id, _ = await _session(bus, tmp_path, story)
    runner, _provider = _runner(bus, session_id, script, settings)
    assert await runner.start() is SessionStatus.COMPLETED

    async with bus.database.session(readonly=True) as db:
        events = await EventRepository(db).tail(session_id)
        steps = [dict(event.payload) for event in events if event.kind == "step"]
        checkpoints = CheckpointRepository(db)
        states = {}
        for step in steps:
            checkpoint = await checkpoints.get(step["checkpoint"])
            assert checkpoint is not None
            states[step["checkpoint"]] = checkpoint.state
    # Each step says where the story stood as a whole, as its checkpoint recorded it.
    for step in steps:
        state = states[step["checkpoint"]]
        verdicts = {gate: result["passed"] for gate, result in state["gates"]["results"].items()}
        assert step["gates"] == verdicts
        assert step["safety"] == state["safety"]["score"]
        assert isinstance(step["safety"], float)
        assert (step["iteration"], step["recycles"], step["ac_total"]) == (
            state["iteration"], state["gates"]["recycle_count"], len(state["acceptance_criteria"]),
        )  # fmt: skip
    qa = [step for step in steps if step["node"] == "qa"]
    assert [(s["gates"]["gate-4"], s["recycles"], s["ac_passed"]) for s in qa] == [
        (False, 0, 0), (True, 1, 1),
    ]  # fmt: skip
    merge = next(step for step in steps if step["node"] == "merge")
    # Not only the merge's own gate: every verdict recorded so far, all passed by now.
    assert merge["gates"] == {gate.value: True for gate in Gate}
    assert (merge["iteration"], merge["recycles"], merge["ac_passed"], merge["ac_total"]) == (
        2, 1, 1, 1,
    )  # fmt: skip
    assert merge["safety"] == 1.0


@pytest.mark.parametrize("prune", [True, False])
async def test_a_completed_story_keeps_its_recovery_points_and_the_newest_checkpoints(
    bus: EventBus, tmp_path: Path, prune: bool
) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data", checkpoint_keep_latest=2, checkpoint_prune_on_complete=prune
    )
    session_id, _ = await _session(bus, tmp_path, write_story(tmp_path / "story.yaml"))
    runner, _ = _runner(bus, session_id, first_time_right(tmp_path), settings)
    assert await runner.start() is SessionStatus.COMPLETED

    async with bus.database.session(readonly=True) as db:
        (execution,) = await StoryExecutionRepository(db).list_by_session(session_id)
        points = await CheckpointRepository(db).list_by_story(session_id, "S-1")
    saver = WAVECheckpointSaver(bus.database, serde=checkpoint_serializer())
    thread = {"configurable": {"thread_id": str(execution.id)}}
    kept = [item.checkpoint["id"] async for item in saver.alist(thread)]  # type: ignore[arg-type]
    protected = {p.graph_checkpoint_id for p in points if p.graph_checkpoint_id}
    assert protected <= set(kept)
    if prune:
        assert set(kept) == protected | set(kept[:2])
    else:
        assert len(kept) > len(protected | set(kept[:2]))
