"""The console's modal dialogs, driven with keys and clicks the way an operator would."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.syntax import Syntax
from rich.text import Text
from textual.app import App
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, DataTable, Input, RadioButton, Select, Static

import wave_tui.tui
from wave_tui.domain.enums import CheckpointType
from wave_tui.domain.gates import Gate
from wave_tui.engine.views import EscalationView
from wave_tui.errors import UserError
from wave_tui.recovery.strategy import RecoveryStrategy
from wave_tui.recovery.validation import RecoveryPoint, StateSummary
from wave_tui.tui.screens.confirm import ReasonDialog
from wave_tui.tui.screens.escalation import READONLY_NOTICE, Decision, EscalationDialog
from wave_tui.tui.screens.help import HelpScreen
from wave_tui.tui.screens.quit import QuitDialog
from wave_tui.tui.screens.recovery import RecoveryDialog, RecoveryRequest

DIALOGS_CSS = Path(wave_tui.tui.__file__).parent / "dialogs.tcss"
SIZE = (100, 40)
BLOCK, ESCALATE = 0.3, 0.7


class Host(App[None]):
    """Pushes one dialog and keeps what it was dismissed with, and every notification."""

    CSS_PATH = DIALOGS_CSS

    def __init__(self, dialog: ModalScreen[Any]) -> None:
        super().__init__()
        self.dialog = dialog
        self.results: list[Any] = []
        self.notes: list[str] = []

    def on_mount(self) -> None:
        self.push_screen(self.dialog, self.results.append)

    def notify(self, message: str, **kwargs: Any) -> None:
        self.notes.append(message)
        super().notify(message, **kwargs)


def focused_id(app: App[Any]) -> str | None:
    return app.focused.id if app.focused is not None else None


def shown(widget: Widget) -> str:
    """The plain text a Static shows."""
    assert isinstance(widget, Static)
    content = widget.content
    if isinstance(content, Content | Text):
        return content.plain
    if isinstance(content, Syntax):
        return content.code
    return str(content)


# -- ReasonDialog -------------------------------------------------------------------------


def reason_dialog() -> ReasonDialog:
    return ReasonDialog("Kill", "Kill story DEMO-2?", "Kill")


async def test_reason_dialog_starts_on_no_so_an_enter_right_away_cancels() -> None:
    app = Host(reason_dialog())
    async with app.run_test(size=SIZE) as pilot:
        assert focused_id(app) == "reason-no"
        await pilot.press("enter")
        await pilot.pause()
    assert app.results == [None]


async def test_reason_dialog_escape_cancels() -> None:
    app = Host(reason_dialog())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r", "escape")
        await pilot.pause()
    assert app.results == [None]


async def test_reason_dialog_refuses_an_empty_or_blank_reason() -> None:
    app = Host(reason_dialog())
    async with app.run_test(size=SIZE) as pilot:
        error = app.screen.query_one("#reason-error")
        assert not error.display
        await pilot.click("#reason-confirm")
        await pilot.pause()
        assert error.display
        assert focused_id(app) == "reason-input"
        await pilot.press("space", "space", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ReasonDialog)
        assert error.display
        assert app.results == []


async def test_reason_dialog_returns_the_stripped_reason_typed_straight_away() -> None:
    app = Host(reason_dialog())
    async with app.run_test(size=SIZE) as pilot:
        # Focus is on No; the typing still lands in the reason.
        await pilot.press("space", *"runaway", "space", *"cost", "space", "enter")
        await pilot.pause()
    assert app.results == ["runaway cost"]


async def test_reason_dialog_confirm_button_dismisses_with_the_reason() -> None:
    app = Host(reason_dialog())
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#reason-input", Input).value = "stuck in a loop"
        await pilot.click("#reason-confirm")
        await pilot.pause()
    assert app.results == ["stuck in a loop"]


async def test_reason_dialog_tab_moves_between_the_reason_and_the_buttons() -> None:
    app = Host(reason_dialog())
    async with app.run_test(size=SIZE) as pilot:
        order: list[str | None] = []
        for _ in range(3):
            await pilot.press("tab")
            order.append(focused_id(app))
    assert order == ["reason-confirm", "reason-input", "reason-no"]


# -- EscalationDialog ---------------------------------------------------------------------


def escalation(
    *,
    tool: str | None = "run_command",
    arguments: Mapping[str, Any] | None = None,
    score: float | None = 0.5,
) -> EscalationView:
    return EscalationView(
        id=7,
        story_id="DEMO-2",
        kind="tool_call",
        summary="run_command scored 0.50: deletes a directory",
        agent="dev",
        tool=tool,
        arguments={"argv": ["rm", "-rf", "build dir"]} if arguments is None else arguments,
        score=score,
        violations=("P3 destructive actions need approval",),
        risks=("deletes files outside git",),
        reasoning="removes a directory recursively",
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def escalation_dialog(view: EscalationView | None = None, **kwargs: Any) -> EscalationDialog:
    return EscalationDialog(
        view or escalation(), block_threshold=BLOCK, escalate_threshold=ESCALATE, **kwargs
    )


async def test_escalation_y_approves() -> None:
    app = Host(escalation_dialog())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("y")
        await pilot.pause()
    assert app.results == [Decision(True, "")]


async def test_escalation_n_asks_a_reason_naming_the_action_then_rejects() -> None:
    app = Host(escalation_dialog())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, ReasonDialog)
        assert "rm -rf 'build dir'" in shown(app.screen.query_one("#reason-question"))
        await pilot.press(*"too", "space", *"broad", "enter")
        await pilot.pause()
    assert app.results == [Decision(False, "too broad")]


async def test_escalation_stays_open_when_the_reject_reason_is_cancelled() -> None:
    app = Host(escalation_dialog())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, EscalationDialog)
        assert app.results == []
        await pilot.press("y")
        await pilot.pause()
    assert app.results == [Decision(True, "")]


async def test_escalation_escape_leaves_it_for_later() -> None:
    app = Host(escalation_dialog())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]


async def test_readonly_escalation_decides_nothing_and_says_so() -> None:
    app = Host(escalation_dialog(readonly=True))
    async with app.run_test(size=SIZE) as pilot:
        assert shown(app.screen.query_one("#escalation-readonly")) == READONLY_NOTICE
        await pilot.press("y", "n")
        await pilot.pause()
        assert isinstance(app.screen, EscalationDialog)
        assert app.results == []
        assert app.notes == [READONLY_NOTICE, READONLY_NOTICE]
        await pilot.press("escape")
        await pilot.pause()
    assert app.results == [None]


@pytest.mark.parametrize(
    ("score", "css_class"),
    [(0.1, "-blocked"), (0.5, "-escalated"), (0.9, "-allowed"), (None, "-unknown")],
)
async def test_escalation_score_is_coloured_by_the_thresholds(
    score: float | None, css_class: str
) -> None:
    app = Host(escalation_dialog(escalation(score=score)))
    async with app.run_test(size=SIZE):
        line = app.screen.query_one("#escalation-score")
        assert line.has_class(css_class)
        assert shown(line).startswith("safety score " + ("—" if score is None else f"{score:.2f}"))


async def test_escalation_shows_a_command_as_a_bash_line() -> None:
    app = Host(escalation_dialog())
    async with app.run_test(size=SIZE):
        action = app.screen.query_one("#escalation-action", Static).content
        assert isinstance(action, Syntax)
        assert action.code == "rm -rf 'build dir'"
        assert getattr(action.lexer, "name", None) == "Bash"
        assert shown(app.screen.query_one("#escalation-tool")) == "run_command"


async def test_escalation_shows_other_arguments_as_json() -> None:
    view = escalation(tool="write_file", arguments={"path": ".env", "content": "X=1"})
    app = Host(escalation_dialog(view))
    async with app.run_test(size=SIZE):
        action = app.screen.query_one("#escalation-action", Static).content
        assert isinstance(action, Syntax)
        assert '"path": ".env"' in action.code
        assert getattr(action.lexer, "name", None) == "JSON"


async def test_escalation_shows_who_why_and_how_many_wait() -> None:
    app = Host(escalation_dialog(waiting=3))
    async with app.run_test(size=SIZE):
        header = shown(app.screen.query_one("#escalation-header"))
        assert header == "story DEMO-2 · agent dev · tool_call · 3 waiting"
        findings = shown(app.screen.query_one("#escalation-findings"))
        assert "P3 destructive actions need approval" in findings
        assert "deletes files outside git" in findings
        assert "removes a directory recursively" in findings
        assert "deletes a directory" in shown(app.screen.query_one("#escalation-summary"))


async def test_escalation_alone_does_not_say_waiting() -> None:
    app = Host(escalation_dialog(waiting=1))
    async with app.run_test(size=SIZE):
        assert "waiting" not in shown(app.screen.query_one("#escalation-header"))


async def test_escalation_keys_line_follows_a_remapped_key() -> None:
    app = Host(escalation_dialog())
    app.set_keymap({"escalation.approve": "a"})
    async with app.run_test(size=SIZE) as pilot:
        keys = shown(app.screen.query_one("#escalation-keys"))
        assert keys.split("   ") == ["a approve", "n reject", "esc later"]
        await pilot.press("y")
        await pilot.pause()
        assert app.results == []
        await pilot.press("a")
        await pilot.pause()
    assert app.results == [Decision(True, "")]


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


# -- HelpScreen ---------------------------------------------------------------------------

SECTIONS = [
    ("General", [("?", "Help"), ("q", "Quit")]),
    ("Steer the selected story", [("p", "Hold"), ("K", "Kill")]),
]


@pytest.mark.parametrize("key", ["escape", "q", "question_mark"])
async def test_help_lists_the_sections_and_closes(key: str) -> None:
    app = Host(HelpScreen(SECTIONS))
    async with app.run_test(size=SIZE) as pilot:
        titles = [shown(w) for w in app.screen.query(".help-section")]
        keys = [shown(w) for w in app.screen.query(".help-key")]
        descriptions = [shown(w) for w in app.screen.query(".help-description")]
        assert titles == ["General", "Steer the selected story"]
        assert keys == ["?", "q", "p", "K"]
        assert descriptions == ["Help", "Quit", "Hold", "Kill"]
        await pilot.press(key)
        await pilot.pause()
    assert app.results == [None]


# -- QuitDialog ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("button", "expected"), [("#quit-hold", "hold"), ("#quit-detach", "detach")]
)
async def test_quit_returns_the_chosen_way_out(button: str, expected: str) -> None:
    app = Host(QuitDialog(3, can_continue=True))
    async with app.run_test(size=SIZE) as pilot:
        assert shown(app.screen.query_one("#quit-running")) == "3 stories are running."
        await pilot.click(button)
        await pilot.pause()
    assert app.results == [expected]


@pytest.mark.parametrize("key", ["escape", "enter"])
async def test_quit_defaults_to_staying(key: str) -> None:
    app = Host(QuitDialog(1, can_continue=True))
    async with app.run_test(size=SIZE) as pilot:
        assert focused_id(app) == "quit-cancel"
        await pilot.press(key)
        await pilot.pause()
    assert app.results == [None]


async def test_quit_offers_no_background_when_it_cannot_continue() -> None:
    app = Host(QuitDialog(2, can_continue=False, session="abc123"))
    async with app.run_test(size=SIZE):
        assert not app.screen.query("#quit-detach")
        options = " ".join(shown(w) for w in app.screen.query(".dialog-option"))
        assert "wave resume abc123" in options
        assert "wave attach" not in options
