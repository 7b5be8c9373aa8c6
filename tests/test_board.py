"""The console's board: events applied in memory, rows read again, the escalation queue, the spend
sparkline; on real rows and events (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.board_helpers import (
    HandRun,
    new_session,
    published,
    step_event,
    the_board,
)
from wave_tui.agents.common import escalation_request
from wave_tui.config import Settings
from wave_tui.db import (
    Database,
    EscalationRepository,
    StoryExecutionRepository,
)
from wave_tui.db.types import utcnow
from wave_tui.domain.enums import (
    EscalationKind,
    EscalationStatus,
    StoryStatus,
)
from wave_tui.domain.gates import Gate
from wave_tui.engine.board import Board
from wave_tui.engine.events import EventBus
from wave_tui.engine.views import (
    CURRENT,
    FAILED,
    NOT_REACHED,
    PASSED,
)
from wave_tui.safety import Thresholds
from wave_tui.safety.guard import ToolAction
from wave_tui.safety.rule_guard import RuleGuard

P, C, F, N = PASSED, CURRENT, FAILED, NOT_REACHED


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
