"""The console's board and detail pane: gate strips, events applied in memory, rows read again,
the escalation queue, the spend sparkline; on real rows and events (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from tests.engine_helpers import (
    cto_turn,
    dev_turns,
    make_project,
    pm_turn,
    write_script,
    write_story,
)
from wave_tui.agents.common import escalation_request
from wave_tui.config import Settings, load_settings
from wave_tui.db import (
    CheckpointRepository,
    Database,
    EscalationRepository,
    StoryExecutionRepository,
    WaveCheckpoint,
    WaveStoryExecution,
)
from wave_tui.db.types import utcnow
from wave_tui.domain.enums import (
    AutonomyLevel,
    CheckpointType,
    EscalationKind,
    EscalationStatus,
    SessionStatus,
    StoryStatus,
)
from wave_tui.domain.gates import Gate
from wave_tui.domain.state import WAVEState
from wave_tui.domain.story import AcceptanceCriterion, load_stories
from wave_tui.engine.board import Board
from wave_tui.engine.describe import event_line
from wave_tui.engine.details import story_details
from wave_tui.engine.events import Event, EventBus, Subscription
from wave_tui.engine.feed import SessionFeed
from wave_tui.engine.runner import SessionRunner
from wave_tui.engine.sessions import create_session
from wave_tui.engine.steps import StepRecorder
from wave_tui.engine.views import (
    CURRENT,
    FAILED,
    NOT_REACHED,
    PASSED,
    SessionView,
    gate_strip,
)
from wave_tui.llm import ReplayProvider, ReplayScript
from wave_tui.safety import Thresholds
from wave_tui.safety.guard import ToolAction
from wave_tui.safety.rule_guard import RuleGuard

P, C, F, N = PASSED, CURRENT, FAILED, NOT_REACHED
TOKEN_PRICE = Decimal("0.000006")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data")


# -- building the world -------------------------------------------------------------------------


async def new_session(bus: EventBus, tmp_path: Path, *story_ids: str) -> uuid.UUID:
    """A session on a real git project with one story per id (default: S-1), as `wave run`
    creates it."""
    project = make_project(tmp_path / "project")
    paths = [write_story(tmp_path / f"{sid}.yaml", sid) for sid in story_ids or ("S-1",)]
    return await create_session(
        bus,
        load_stories(paths),
        project,
        budget_usd=Decimal("5"),
        token_limit=100_000,
        story_budget_usd=Decimal("2"),
        autonomy=AutonomyLevel.L3,
    )


def first_time_right(tmp_path: Path) -> Path:
    """A replay script in which S-1 passes QA on the first attempt."""
    conversations = {
        "S-1/pm/1": pm_turn(),
        "S-1/dev/1": dev_turns("x * 2"),
        "S-1/cto/1": cto_turn(),
    }
    return write_script(tmp_path / "script.yaml", conversations)


class HandRun:
    """One story recorded by hand the way SessionRunner records it: status changes with their
    events in one transaction, each step through the real StepRecorder (row, spend, checkpoint
    and `step` event)."""

    def __init__(self, bus: EventBus, session_id: uuid.UUID, row: WaveStoryExecution) -> None:
        self.bus, self.session_id, self.row = bus, session_id, row
        self.steps = StepRecorder(bus, session_id, row.id, row.story_id, str(row.id))
        self.state = WAVEState(
            session_id=str(session_id),
            story_id=row.story_id,
            thread_id=str(row.id),
            acceptance_criteria=[AcceptanceCriterion(id="AC-1", description="double(3) == 6")],
        )
        self.graph_steps = 0

    @classmethod
    async def of(cls, bus: EventBus, session_id: uuid.UUID, story_id: str) -> HandRun:
        async with bus.database.session(readonly=True) as db:
            row = await StoryExecutionRepository(db).get_by_story(session_id, story_id)
        assert row is not None
        return cls(bus, session_id, row)

    async def start(self) -> None:
        gates = self.state.gates.record(Gate.GATE_0, True, ["worktree wave/S-1 ready"])
        self.state = self.state.model_copy(update={"gates": gates})
        async with self.bus.transaction() as recorder:
            await StoryExecutionRepository(recorder.db).start_execution(self.row.id)
            await recorder.record(
                self.session_id, "story_started", {"story": self.row.story_id},
                story_execution_id=self.row.id,
            )  # fmt: skip
            await self.steps.write(recorder, "start", self.state, "", CheckpointType.STORY_START)

    async def step(
        self,
        node: str,
        *verdicts: tuple[Gate, bool, str],
        tokens: int = 0,
        safety: float | None = None,
        **update: Any,
    ) -> None:
        gates = self.state.gates
        for gate, passed, evidence in verdicts:
            gates = gates.record(gate, passed, [evidence])
        score = self.state.safety.score if safety is None else safety
        self.state = self.state.model_copy(
            update={
                "gates": gates,
                "budget": self.state.budget.charge(tokens, tokens * TOKEN_PRICE),
                "safety": self.state.safety.model_copy(update={"score": score}),
                "current_agent": node,
                **update,
            }
        )
        self.graph_steps += 1
        await self.steps.record(node, self.state, f"graph-{self.graph_steps}", None)

    async def end(self, status: StoryStatus, reason: str = "") -> None:
        async with self.bus.transaction() as recorder:
            stories = StoryExecutionRepository(recorder.db)
            if status is StoryStatus.COMPLETE:
                await stories.complete_execution(self.row.id)
            elif status is StoryStatus.FAILED:
                await stories.fail_execution(self.row.id, reason)
            else:
                await stories.cancel_execution(self.row.id, reason)
            await recorder.record(
                self.session_id, "story_finished", {"story": self.row.story_id,
                "status": str(status)}, story_execution_id=self.row.id,
            )  # fmt: skip


async def published(subscription: Subscription) -> list[Event]:
    """What the bus has published so far (it publishes when the transaction commits, so
    everything the awaited writes recorded is queued already)."""
    return await subscription.batch(5.0)


def the_board() -> Board:
    """An empty board of a session nobody has stored (for the in-memory parts)."""
    now = utcnow()
    view = SessionView(
        id=uuid.uuid4(), name="shop", project_path=None,
        status=SessionStatus.IN_PROGRESS, autonomy=AutonomyLevel.L2, created_at=now,
        started_at=now, completed_at=None, budget_usd=Decimal("5"), cost_usd=Decimal(0),
        token_limit=100_000, tokens_used=0, story_count=2,
    )  # fmt: skip
    return Board(view)


def step_event(event_id: int, story: str, tokens: int, moment: datetime) -> Event:
    payload = {"story": story, "node": "dev", "phase": "development", "tokens": tokens}
    return Event(event_id, uuid.uuid4(), None, "step", "dev", payload, moment)


# -- the gate strip -----------------------------------------------------------------------------


def test_a_complete_story_shows_all_eight_gates_passed_whatever_it_recorded() -> None:
    assert gate_strip(StoryStatus.COMPLETE, None, {}) == (P,) * 8
    assert gate_strip(StoryStatus.COMPLETE, Gate.GATE_4, {"gate-4": False}) == (P,) * 8


@pytest.mark.parametrize("status", [StoryStatus.FAILED, StoryStatus.CANCELLED])
def test_a_story_that_ended_unfinished_shows_failed_at_its_current_gate(
    status: StoryStatus,
) -> None:
    passed = {"gate-0": True, "gate-1": True, "gate-2": True}
    assert gate_strip(status, Gate.GATE_3, passed) == (P, P, P, F, N, N, N, N)
    # Without verdicts (rows only), the gates before the current one were passed to reach it.
    assert gate_strip(status, Gate.GATE_2, {}) == (P, P, F, N, N, N, N, N)


@pytest.mark.parametrize("status", [StoryStatus.FAILED, StoryStatus.CANCELLED])
def test_a_story_that_ended_before_its_first_step_shows_failed_at_gate_0(
    status: StoryStatus,
) -> None:
    assert gate_strip(status, None, {}) == (F, N, N, N, N, N, N, N)


def test_a_running_story_shows_the_gate_it_stands_at_as_current() -> None:
    passed = {"gate-0": True, "gate-1": True, "gate-2": True}
    assert gate_strip(StoryStatus.IN_PROGRESS, Gate.GATE_3, passed) == (P, P, P, C, N, N, N, N)


def test_a_gate_4_fail_shows_failed_while_the_story_goes_back_to_dev() -> None:
    verdicts = {"gate-0": True, "gate-1": True, "gate-2": True, "gate-3": True, "gate-4": False}
    strip = gate_strip(StoryStatus.IN_PROGRESS, Gate.GATE_4, verdicts)
    assert strip == (P, P, P, P, F, N, N, N)


def test_a_story_that_never_started_has_reached_no_gate() -> None:
    assert gate_strip(StoryStatus.PENDING, None, {}) == (N,) * 8


# -- events applied, rows read again ------------------------------------------------------------


async def test_a_step_event_updates_the_story_s_gates_and_safety_without_reading_the_rows(
    database: Database, tmp_path: Path
) -> None:
    bus = EventBus(database)
    session_id = await new_session(bus, tmp_path)
    board = await Board.load(database, session_id)
    assert board.stories["S-1"].gates == (N,) * 8
    subscription = bus.subscribe()
    run = await HandRun.of(bus, session_id, "S-1")
    await run.start()
    await run.step("pm", (Gate.GATE_1, True, "plan fixed"), tokens=600, safety=0.9)
    events = await published(subscription)

    changes = board.apply(events)

    assert changes.stories == {"S-1"}
    story = board.stories["S-1"]
    assert story.gates == (P, P, C, N, N, N, N, N)
    assert (story.safety, story.tokens) == (0.9, 600)
    assert story.status is StoryStatus.PENDING  # the row was not read again: only the events
    assert [e.kind for e in board.story_log("S-1")] == ["story_started", "step", "step"]

    # The same events again (a tail repeats what the bus delivered): nothing changes.
    log = list(board.log)
    again = board.apply(events)
    assert not again
    assert (again.events, again.stories) == ([], set())
    assert list(board.log) == log
    assert len(board.story_log("S-1")) == 3


async def test_status_events_mark_the_rows_stale_and_agent_chatter_does_not(
    database: Database, tmp_path: Path
) -> None:
    bus = EventBus(database)
    session_id = await new_session(bus, tmp_path)
    board = await Board.load(database, session_id)
    subscription = bus.subscribe()
    for kind in ("agent_turn", "tool_call", "test_run", "tool_call_approved"):
        await bus.emit(session_id, kind, {"story": "S-1"}, agent="dev")
        changes = board.apply(await published(subscription))
        assert [e.kind for e in changes.events] == [kind]
        assert not changes.rows_stale, kind
    for kind in ("story_started", "story_blocked", "escalation", "operator_command", "recovery"):
        await bus.emit(session_id, kind, {"story": "S-1"})
        assert board.apply(await published(subscription)).rows_stale, kind


async def test_refresh_reports_exactly_the_stories_whose_row_changed(
    database: Database, tmp_path: Path
) -> None:
    bus = EventBus(database)
    session_id = await new_session(bus, tmp_path, "S-1", "S-2", "S-3")
    board = await Board.load(database, session_id)
    assert not await board.refresh(database)  # nothing happened since the load

    await (await HandRun.of(bus, session_id, "S-2")).start()
    changes = await board.refresh(database)
    assert changes.stories == {"S-2"}
    assert changes.session  # one story runs now
    assert (board.session.running, board.stories["S-2"].status) == (1, StoryStatus.IN_PROGRESS)
    assert not await board.refresh(database)

    async with database.session() as db:
        row = await StoryExecutionRepository(db).get_by_story(session_id, "S-3")
        assert row is not None
        await StoryExecutionRepository(db).block(row.id, "depends on S-2, which is failed")
    changes = await board.refresh(database)
    assert changes.stories == {"S-3"}
    assert not changes.session  # no count moved: a blocked story is neither running nor done
    assert board.stories["S-3"].block_reason == "depends on S-2, which is failed"


async def test_the_session_counts_finished_and_running_stories_and_open_escalations(
    database: Database, tmp_path: Path
) -> None:
    bus = EventBus(database)
    session_id = await new_session(bus, tmp_path, "S-1", "S-2", "S-3", "S-4")
    done, failed, running = [await HandRun.of(bus, session_id, s) for s in ("S-1", "S-2", "S-3")]
    await done.start()
    await done.step("merge", (Gate.GATE_7, True, "merged"), tokens=900)
    await done.end(StoryStatus.COMPLETE)
    await failed.start()
    await failed.step("pm", (Gate.GATE_1, True, "plan fixed"), tokens=300)
    await failed.end(StoryStatus.FAILED, "the model API is down")
    await running.start()
    async with bus.transaction() as recorder:
        await EscalationRepository(recorder.db).create(
            session_id, EscalationKind.GATE_APPROVAL, "merge wave/S-3 into main",
            {"subject": "merge", "story": "S-3"}, story_execution_id=running.row.id,
        )  # fmt: skip

    board = await Board.load(database, session_id)

    session = board.session
    assert (session.completed, session.failed, session.running) == (1, 1, 1)
    assert (session.open_escalations, session.story_count) == (1, 4)
    assert session.tokens_used == 1_200
    assert board.stories["S-1"].gates == (P,) * 8
    assert board.stories["S-2"].gates == (P, P, F, N, N, N, N, N)
    assert board.stories["S-2"].error == "the model API is down"
    assert board.stories["S-3"].gates == (P, C, N, N, N, N, N, N)
    assert board.stories["S-4"].gates == (N,) * 8
    escalation = board.next_escalation()
    assert escalation is not None
    assert (escalation.story_id, escalation.kind) == ("S-3", "gate_approval")

    async with database.session() as db:
        await EscalationRepository(db).decide(escalation.id, EscalationStatus.APPROVED, "alice")
    changes = await board.refresh(database)
    assert changes.escalations
    assert changes.session
    assert (board.escalations, board.session.open_escalations) == ([], 0)


async def test_an_escalated_action_shows_its_tool_score_and_reasons(
    database: Database, tmp_path: Path, settings: Settings
) -> None:
    bus = EventBus(database)
    session_id = await new_session(bus, tmp_path)
    run = await HandRun.of(bus, session_id, "S-1")
    arguments = {"argv": ["rm", "-rf", "build"]}
    verdict = await RuleGuard(thresholds=Thresholds.of(settings)).evaluate(
        ToolAction("S-1", "dev", "run_command", arguments, worktree=str(tmp_path / "wt"))
    )
    # As StoryOutcomes.decide records the interrupt the dev agent raised.
    request = {**escalation_request("S-1", "dev", "run_command", arguments, verdict),
               "kind": "safety", "next": "dev"}  # fmt: skip
    async with database.session() as db:
        await EscalationRepository(db).create(
            session_id, EscalationKind.TOOL_CALL, request["summary"], request,
            story_execution_id=run.row.id, score=request["score"],
            violations=list(request["violations"]),
        )  # fmt: skip

    board = await Board.load(database, session_id)

    (shown,) = board.escalations
    assert (shown.story_id, shown.kind, shown.agent, shown.tool) == (
        "S-1", "tool_call", "dev", "run_command",
    )  # fmt: skip
    assert shown.arguments == arguments
    assert shown.summary == 'S-1: dev wants to run run_command {"argv": ["rm", "-rf", "build"]}'
    assert shown.score == verdict.score < 0.85
    (violation,) = shown.violations
    assert violation.startswith("file.delete.recursive_in_worktree (data_integrity")
    assert shown.risks == ("a recursive delete inside the worktree: git cannot bring back "
                           "untracked files",)  # fmt: skip
    assert shown.reasoning == verdict.reason


async def test_an_escalation_with_structured_violations_names_the_principle_and_the_risk(
    database: Database, tmp_path: Path
) -> None:
    bus = EventBus(database)
    session_id = await new_session(bus, tmp_path)
    found = {"rule": "file.delete.recursive_in_worktree", "principle": "data_integrity",
             "risk": "git cannot bring back untracked files", "detail": "build"}  # fmt: skip
    async with database.session() as db:
        await EscalationRepository(db).create(
            session_id, EscalationKind.TOOL_CALL, "S-1: dev wants to run rm",
            {"story": "S-1", "reason": "a guard without an evaluation"}, violations=[found],
        )  # fmt: skip
    board = await Board.load(database, session_id)
    (shown,) = board.escalations
    assert shown.story_id == "S-1"  # from the action: the row names no story execution
    assert shown.violations == ("data_integrity: git cannot bring back untracked files",)
    assert shown.reasoning == "a guard without an evaluation"


# -- spend over time ----------------------------------------------------------------------------


def test_the_spend_series_sums_each_story_s_new_tokens_into_its_bucket() -> None:
    board = the_board()
    assert board.spend_series(buckets=4) == [0.0] * 4  # a flat line, not one full bar
    # In the future, so the series ends at the newest step whatever the clock says.
    end = utcnow() + timedelta(hours=1)
    board.apply(
        [
            step_event(1, "S-1", 100, end - timedelta(seconds=12)),  # third bucket from the end
            step_event(2, "S-2", 50, end - timedelta(seconds=11)),
            step_event(3, "S-1", 100, end - timedelta(seconds=6)),  # no new tokens: no spend
            step_event(4, "S-1", 300, end - timedelta(seconds=1)),  # 200 more
            step_event(5, "S-2", 80, end),  # 30 more
        ]
    )
    series = board.spend_series(buckets=10)
    assert len(series) == 10
    assert series[-3:] == [150.0, 0.0, 230.0]
    assert sum(series) == 380.0
    assert board.spend_series(buckets=2) == [0.0, 230.0]  # older spend falls off the left


def test_a_step_stamped_ahead_of_the_clock_counts_as_spent_now() -> None:
    board = the_board()
    now = utcnow()
    board.apply([step_event(1, "S-1", 70, now + timedelta(hours=1)),  # a clock running ahead
                 step_event(2, "S-2", 30, now - timedelta(hours=1))])  # fmt: skip
    series = board.spend_series(buckets=5)
    assert series[-1] == 70.0
    assert sum(series) == 70.0  # the hour-old spend is off the chart


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
