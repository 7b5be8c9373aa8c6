"""Leaving the console while stories run: hold them, hand them to a background process, or stay."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

HOLD, DETACH = "hold", "detach"


class QuitDialog(ModalScreen[str | None]):
    """Dismisses with "hold", "detach" (only offered when `can_continue`) or None to stay.

    `session` names the session in the `wave resume` / `wave attach` hints when given."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", key_display="esc", id="quit.cancel")]
    AUTO_FOCUS = "#quit-cancel"

    def __init__(self, running: int, *, can_continue: bool, session: str | None = None) -> None:
        super().__init__()
        self.running = running
        self.can_continue = can_continue
        self.session = session or "SESSION"

    def compose(self) -> ComposeResult:
        stories = "1 story is" if self.running == 1 else f"{self.running} stories are"
        with Vertical(id="quit-dialog", classes="dialog") as dialog:
            dialog.border_title = "Quit"
            yield Static(f"{stories} running.", id="quit-running")
            yield Static(
                "Hold and quit: they stop at their next step boundary and their checkpoints "
                f"are kept; `wave resume {self.session}` continues them.",
                classes="dialog-option",
                markup=False,
            )
            if self.can_continue:
                yield Static(
                    "Continue in the background: a background `wave resume` process takes "
                    f"them over; `wave attach {self.session}` watches them.",
                    classes="dialog-option",
                    markup=False,
                )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Hold and quit", id="quit-hold", variant="warning")
                if self.can_continue:
                    yield Button("Continue in the background", id="quit-detach", variant="primary")
                yield Button("Cancel", id="quit-cancel")

    @on(Button.Pressed, "#quit-hold")
    def _chose_hold(self) -> None:
        self.dismiss(HOLD)

    @on(Button.Pressed, "#quit-detach")
    def _chose_detach(self) -> None:
        self.dismiss(DETACH)

    @on(Button.Pressed, "#quit-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
