"""The `?` help: every key of the console in sections, scrollable, closed by esc, q or ?."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

Section = tuple[str, Sequence[tuple[str, str]]]


class HelpScreen(ModalScreen[None]):
    """Sections of (key, description) rows, as `keys.help_sections` builds them."""

    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close", key_display="esc", id="help.close")
    ]
    AUTO_FOCUS = "#help-dialog"

    def __init__(self, sections: Sequence[Section]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog", classes="dialog") as dialog:
            dialog.border_title = "Keys"
            dialog.border_subtitle = "esc / q / ? close"
            for title, rows in self.sections:
                yield Static(title, classes="help-section", markup=False)
                with Grid(classes="help-rows"):
                    for key, description in rows:
                        yield Static(key, classes="help-key", markup=False)
                        yield Static(description, classes="help-description", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
