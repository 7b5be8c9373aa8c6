"""The console's modal dialogs (reason, escalation, help, quit), driven with keys and clicks the
way an operator would."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from rich.syntax import Syntax
from textual.widgets import Input, Static

from tests.tui.dialog_host import BLOCK, ESCALATE, SIZE, Host, focused_id, shown
from wave_tui.engine.views import EscalationView
from wave_tui.tui.screens.confirm import ReasonDialog
from wave_tui.tui.screens.escalation import READONLY_NOTICE, Decision, EscalationDialog
from wave_tui.tui.screens.help import HelpScreen
from wave_tui.tui.screens.quit import QuitDialog

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
