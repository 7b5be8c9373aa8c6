"""The recovery dialog, driven with keys and clicks the way an operator would: a strategy, a gate
or a checkpoint, the result or the error, and no way out while it recovers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from textual.widgets import Button, DataTable, RadioButton, Select

from tests.tui.dialog_host import SIZE, Host, shown
from wave_tui.domain.enums import CheckpointType
from wave_tui.domain.gates import Gate
from wave_tui.errors import UserError
from wave_tui.recovery.strategy import RecoveryStrategy
from wave_tui.recovery.validation import RecoveryPoint, StateSummary
from wave_tui.tui.screens.recovery import RecoveryDialog, RecoveryRequest

# -- RecoveryDialog -----------------------------------------------------------------------


def point(
    checkpoint_id: int,
    kind: CheckpointType,
    gate: Gate | None,
    *,
    graph: str | None = "g",
    problem: str | None = None,
) -> RecoveryPoint:
    return RecoveryPoint(
        checkpoint_id=checkpoint_id,
        story_id="DEMO-2",
        story_execution_id=uuid.uuid4(),
        checkpoint_type=kind,
        name=f"{kind.value}-{checkpoint_id}",
        gate=gate,
        created_at=datetime(2026, 1, 2, 3, 4, checkpoint_id, tzinfo=UTC),
        graph_thread_id="thread" if graph else None,
        graph_checkpoint_id=f"{graph}-{checkpoint_id}" if graph else None,
        valid=problem is None,
        problem=problem,
        summary=StateSummary("dev", gate.value if gate else "gate-0", 1, 2, 1),
    )


POINTS = (
    point(11, CheckpointType.STORY_START, None, graph=None),
    point(12, CheckpointType.GATE, Gate.GATE_1),
    point(13, CheckpointType.GATE, Gate.GATE_3),
    point(14, CheckpointType.AGENT_HANDOFF, None),
    point(15, CheckpointType.GATE, Gate.GATE_4, problem="LangGraph checkpoint g-15 is missing"),
)


def result_of(request: RecoveryRequest) -> dict[str, Any]:
    return {
        "strategy": request.strategy.value,
        "story_id": "DEMO-2",
        "checkpoint_id": request.checkpoint_id,
        "checkpoint_type": None,
        "state": None,
        "status": "in_progress",
        "recovery_time_seconds": 0.0142,
        "recovery_timestamp": "2026-01-02T03:04:05+00:00",
    }


class FakeRecover:
    """Records each request; answers with a result, or raises what it was told to."""

    def __init__(self, *errors: Exception) -> None:
        self.requests: list[RecoveryRequest] = []
        self.errors = list(errors)
        self.gate: asyncio.Event | None = None

    async def __call__(self, request: RecoveryRequest) -> dict[str, Any]:
        self.requests.append(request)
        if self.gate is not None:
            await self.gate.wait()
        if self.errors:
            raise self.errors.pop(0)
        return result_of(request)


def recovery_dialog(
    recover: Callable[[RecoveryRequest], Awaitable[dict[str, Any]]],
    points: Sequence[RecoveryPoint] = POINTS,
) -> RecoveryDialog:
    return RecoveryDialog("DEMO-2", "in_progress", points, recover)


async def confirm_and_wait(app: Host, pilot: Any) -> None:
    await pilot.press("ctrl+s")
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_recovery_defaults_to_resume_from_last_and_closes_with_the_result() -> None:
    recover = FakeRecover()
    app = Host(recovery_dialog(recover))
    async with app.run_test(size=SIZE) as pilot:
        await confirm_and_wait(app, pilot)
        assert recover.requests == [RecoveryRequest(RecoveryStrategy.RESUME_FROM_LAST, None, None)]
        assert shown(app.screen.query_one("#recovery-result")) == (
            "DEMO-2 in_progress (resume_from_last) in 0.014 s"
        )
        confirm = app.screen.query_one("#recovery-confirm", Button)
        assert str(confirm.label) == "Close"
        assert app.results == []
        await pilot.click("#recovery-confirm")
        await pilot.pause()
    assert app.results == [result_of(recover.requests[0])]


async def test_recovery_escape_after_a_success_also_returns_the_result() -> None:
    recover = FakeRecover()
    app = Host(recovery_dialog(recover))
    async with app.run_test(size=SIZE) as pilot:
        await confirm_and_wait(app, pilot)
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [result_of(recover.requests[0])]


async def test_recovery_escape_before_anything_cancels_without_recovering() -> None:
    recover = FakeRecover()
    app = Host(recovery_dialog(recover))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]
    assert recover.requests == []


@pytest.mark.parametrize(
    ("downs", "expected"),
    [
        (3, RecoveryRequest(RecoveryStrategy.RESTART, None, None)),
        (4, RecoveryRequest(RecoveryStrategy.SKIP, None, None)),
    ],
)
async def test_recovery_restart_and_skip_are_chosen_with_the_arrows(
    downs: int, expected: RecoveryRequest
) -> None:
    recover = FakeRecover()
    app = Host(recovery_dialog(recover))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*["down"] * downs, "enter")
        await confirm_and_wait(app, pilot)
    assert recover.requests == [expected]


async def test_recovery_from_a_gate_offers_only_gates_with_a_resumable_checkpoint() -> None:
    recover = FakeRecover()
    app = Host(recovery_dialog(recover))
    async with app.run_test(size=SIZE) as pilot:
        picker = app.screen.query_one("#recovery-gate-picker")
        assert not picker.display
        await pilot.press("down", "enter")
        await pilot.pause()
        assert picker.display
        select: Select[Gate] = app.screen.query_one("#recovery-gate", Select)
        assert [value for _, value in select._options] == [Gate.GATE_1, Gate.GATE_3]
        assert select.value == Gate.GATE_3
        select.value = Gate.GATE_1
        await pilot.pause()
        await confirm_and_wait(app, pilot)
    assert recover.requests == [
        RecoveryRequest(RecoveryStrategy.RESUME_FROM_GATE, Gate.GATE_1, None)
    ]


async def test_recovery_from_a_gate_is_off_when_no_gate_has_a_checkpoint() -> None:
    recover = FakeRecover()
    points = [POINTS[0], POINTS[3]]  # the start and a handoff: no gate checkpoint
    app = Host(recovery_dialog(recover, points))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "enter")
        await pilot.pause()
        assert "no gate" in shown(app.screen.query_one("#recovery-no-gate"))
        assert app.screen.query_one("#recovery-confirm", Button).disabled
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert recover.requests == []
        await pilot.press("up", "enter")
        await pilot.pause()
        assert not app.screen.query_one("#recovery-confirm", Button).disabled


async def test_selecting_a_checkpoint_row_switches_to_pick_and_resumes_from_it() -> None:
    recover = FakeRecover()
    app = Host(recovery_dialog(recover))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("tab")
        table = app.screen.query_one("#recovery-checkpoints", DataTable)
        assert app.focused is table
        # Newest first; the cursor starts on the newest resumable row (14, not the broken 15).
        assert table.cursor_row == 1
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.screen.query_one("#recovery-choice-pick", RadioButton).value
        await confirm_and_wait(app, pilot)
    assert recover.requests == [RecoveryRequest(RecoveryStrategy.RESUME_FROM_GATE, None, 13)]


@pytest.mark.parametrize("row", [0, 4], ids=["invalid", "start"])
async def test_a_checkpoint_that_cannot_be_resumed_cannot_be_picked(row: int) -> None:
    recover = FakeRecover()
    app = Host(recovery_dialog(recover))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "down", "enter", "tab")
        table = app.screen.query_one("#recovery-checkpoints", DataTable)
        table.move_cursor(row=row)
        await pilot.pause()
        assert app.screen.query_one("#recovery-confirm", Button).disabled
        hint = shown(app.screen.query_one("#recovery-hint"))
        assert (
            hint
            == {
                0: "checkpoint 15 cannot be resumed: LangGraph checkpoint g-15 is missing",
                4: "checkpoint 11 is the story's start: choose Restart",
            }[row]
        )
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert recover.requests == []


async def test_recovery_checkpoint_table_describes_each_point() -> None:
    app = Host(recovery_dialog(FakeRecover()))
    async with app.run_test(size=SIZE):
        table = app.screen.query_one("#recovery-checkpoints", DataTable)
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
    local = datetime(2026, 1, 2, 3, 4, 13, tzinfo=UTC).astimezone().strftime("%H:%M:%S")
    assert [row[0] for row in rows] == ["15", "14", "13", "12", "11"]
    assert rows[2] == ["13", "gate", "gate-3", local, "gate-3 · dev · AC 1/2 · iter 1", ""]
    assert rows[0][5] == "invalid: LangGraph chec…"
    assert rows[4][5] == "start"


async def test_recovery_error_is_shown_and_the_operator_chooses_again() -> None:
    message = "story DEMO-2 has no valid checkpoint: recover it with --strategy restart"
    recover = FakeRecover(UserError(message))
    app = Host(recovery_dialog(recover))
    async with app.run_test(size=SIZE) as pilot:
        await confirm_and_wait(app, pilot)
        result = app.screen.query_one("#recovery-result")
        assert shown(result) == message
        assert result.has_class("-error")
        assert isinstance(app.screen, RecoveryDialog)
        assert str(app.screen.query_one("#recovery-confirm", Button).label) == "Recover"
        await pilot.press("down", "down", "down", "enter")
        await confirm_and_wait(app, pilot)
        assert result.has_class("-success")
    assert [r.strategy for r in recover.requests] == [
        RecoveryStrategy.RESUME_FROM_LAST,
        RecoveryStrategy.RESTART,
    ]


async def test_recovery_unexpected_error_is_shown_not_fatal() -> None:
    recover = FakeRecover(RuntimeError("boom"))
    app = Host(recovery_dialog(recover))
    async with app.run_test(size=SIZE) as pilot:
        await confirm_and_wait(app, pilot)
        assert "RuntimeError: boom" in shown(app.screen.query_one("#recovery-result"))
        assert isinstance(app.screen, RecoveryDialog)


async def test_recovery_says_recovering_and_cannot_be_left_meanwhile() -> None:
    recover = FakeRecover()
    recover.gate = asyncio.Event()
    app = Host(recovery_dialog(recover))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert shown(app.screen.query_one("#recovery-result")) == "recovering…"
        assert app.screen.query_one("#recovery-confirm", Button).disabled
        await pilot.press("escape", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, RecoveryDialog)
        assert len(recover.requests) == 1
        recover.gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "in_progress" in shown(app.screen.query_one("#recovery-result"))
    assert app.results == []
