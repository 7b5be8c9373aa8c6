"""Every key of the console in one table: the bindings, the `?` help, the command palette and the
README's key table come from it. Each binding has an id, so a user remaps it from config
(`WAVE_KEYMAP='{"story.hold": "h"}'`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True, slots=True)
class Key:
    id: str
    key: str
    action: str
    description: str
    section: str
    mutating: bool = False  # off in a --readonly console
    show: bool = True  # in the footer
    key_display: str | None = None
    palette: bool = True  # offered in the command palette

    def binding(self) -> Binding:
        return Binding(
            self.key,
            self.action,
            self.description,
            show=self.show,
            key_display=self.key_display,
            id=self.id,
        )


APP_KEYS: tuple[Key, ...] = (
    Key("app.help", "question_mark", "help", "Help", "General", key_display="?"),
    Key("app.quit", "q", "quit_console", "Quit", "General"),
    Key(
        "app.commands",
        "colon",
        "command_palette",
        "Commands",
        "General",
        show=False,
        key_display=":",
        palette=False,
    ),
)

SESSIONS_KEYS: tuple[Key, ...] = (
    Key("sessions.open", "enter", "open", "Open", "Sessions"),
    Key("sessions.down", "j", "cursor_down", "Down", "Sessions", show=False, palette=False),
    Key("sessions.up", "k", "cursor_up", "Up", "Sessions", show=False, palette=False),
    Key("sessions.new", "n", "new_session", "New session", "Sessions", mutating=True),
    Key("sessions.recover", "R", "recover", "Recover", "Sessions", mutating=True),
    Key("sessions.refresh", "ctrl+r", "refresh", "Refresh", "Sessions", show=False),
)

DASHBOARD_KEYS: tuple[Key, ...] = (
    Key("story.open", "enter", "open_story", "Story", "Navigate"),
    Key("dashboard.back", "escape", "back", "Back / clear filter", "Navigate", key_display="esc"),
    Key("story.down", "j", "cursor_down", "Down", "Navigate", show=False, palette=False),
    Key("story.up", "k", "cursor_up", "Up", "Navigate", show=False, palette=False),
    Key("story.top", "g", "cursor_top", "Top", "Navigate", show=False),
    Key("story.bottom", "G", "cursor_bottom", "Bottom", "Navigate", show=False),
    Key("stories.filter", "slash", "filter", "Filter", "Navigate", key_display="/"),
    Key("stories.sort", "s", "sort", "Sort", "Navigate", show=False),
    Key("story.hold", "p", "hold", "Hold", "Steer the selected story", mutating=True),
    Key("story.resume", "r", "resume", "Resume", "Steer the selected story", mutating=True),
    Key("story.kill", "K", "kill", "Kill", "Steer the selected story", mutating=True),
    Key("story.recover", "R", "recover", "Recover", "Steer the selected story", mutating=True),
    Key("story.checkpoints", "c", "checkpoints", "Checkpoints", "Steer the selected story"),
    Key("session.stop", "X", "stop", "Stop all", "Session", mutating=True),
    Key("session.escalation", "a", "escalation", "Escalation", "Session"),
)


def bindings(keys: Iterable[Key]) -> list[BindingType]:
    return [key.binding() for key in keys]


def mutating_actions(keys: Iterable[Key]) -> frozenset[str]:
    return frozenset(key.action for key in keys if key.mutating)


def help_sections(
    groups: Sequence[Sequence[Key]], keymap: Mapping[str, str], *, readonly: bool
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The `?` screen: sections in order, each key as the user has it (remapped or not)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    for keys in groups:
        for key in keys:
            shown = keymap.get(key.id) or key.key_display or key.key
            note = " (off: read-only)" if readonly and key.mutating else ""
            sections.setdefault(key.section, []).append((shown, key.description + note))
    return list(sections.items())
