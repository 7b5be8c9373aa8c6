"""A bare app that shows one dialog, keeps what it was dismissed with and what it notified."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.syntax import Syntax
from rich.text import Text
from textual.app import App
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Static

import wave_tui.tui

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
