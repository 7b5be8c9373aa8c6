"""The confirm-with-a-reason dialog behind destructive keys: kill a story, stop a session, reject
an escalation. It defaults to No, and nothing happens without a written reason."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

REASON_REQUIRED = "a reason is required"


class ReasonDialog(ModalScreen[str | None]):
    """Asks `question`; dismisses with the stripped reason, or None on No / esc.

    Focus starts on No so that a stray enter cancels. Typing while a button has focus goes to
    the reason, so an operator who starts writing straight away loses nothing.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="reason.cancel")]
    AUTO_FOCUS = "#reason-no"

    def __init__(
        self,
        title: str,
        question: str,
        confirm_label: str,
        *,
        placeholder: str = "reason (required)",
        destructive: bool = True,
    ) -> None:
        super().__init__()
        self._title = title
        self._question = question
        self._confirm_label = confirm_label
        self._placeholder = placeholder
        self._destructive = destructive

    def compose(self) -> ComposeResult:
        with Vertical(id="reason-dialog", classes="dialog") as dialog:
            dialog.border_title = self._title
            yield Static(self._question, id="reason-question", markup=False)
            # No select-on-focus: the key that moved focus here is already in the reason.
            yield Input(placeholder=self._placeholder, select_on_focus=False, id="reason-input")
            yield Static(REASON_REQUIRED, id="reason-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("No", id="reason-no")
                yield Button(
                    self._confirm_label,
                    id="reason-confirm",
                    variant="error" if self._destructive else "primary",
                )

    def on_key(self, event: Key) -> None:
        reason = self.query_one("#reason-input", Input)
        if event.is_printable and event.character and self.focused is not reason:
            event.stop()
            event.prevent_default()
            reason.focus()
            reason.insert_text_at_cursor(event.character)

    @on(Button.Pressed, "#reason-confirm")
    @on(Input.Submitted, "#reason-input")
    def _confirm(self) -> None:
        reason = self.query_one("#reason-input", Input)
        text = reason.value.strip()
        if not text:
            self.query_one("#reason-error", Static).add_class("-visible")
            reason.focus()
            return
        self.dismiss(text)

    @on(Input.Changed, "#reason-input")
    def _typed(self, event: Input.Changed) -> None:
        if event.value.strip():
            self.query_one("#reason-error", Static).remove_class("-visible")

    @on(Button.Pressed, "#reason-no")
    def action_cancel(self) -> None:
        self.dismiss(None)
