"""The first screen of `wave`: every session, newest first, with the interrupted ones flagged on
top (the startup scan) and one key to recover them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from wave_tui.db import SessionRepository, WaveSession
from wave_tui.recovery import RecoveryManager
from wave_tui.tui import keys
from wave_tui.tui.widgets import cells

if TYPE_CHECKING:
    from wave_tui.tui.app import WaveApp

REFRESH_S = 2.0
# Label and width: fixed, because cells change in place and must not be cut.
COLUMNS = (
    ("", 1),
    ("ID", 8),
    ("Project", 20),
    ("Status", 20),
    ("Stories", 14),
    ("Cost / budget", 20),
    ("Tokens", 14),
    ("Started", 16),
    ("Ended", 16),
)


@dataclass(frozen=True, slots=True)
class Interrupted:
    session_id: uuid.UUID
    stories: tuple[str, ...]  # "DEMO-2 (in_progress, last gate-3)"


class SessionsScreen(Screen[None]):
    BINDINGS = keys.bindings(keys.SESSIONS_KEYS)

    def __init__(self) -> None:
        super().__init__(name="sessions")
        self.interrupted: dict[uuid.UUID, Interrupted] = {}
        self._rows: dict[str, list[Any]] = {}

    @property
    def wave(self) -> WaveApp:
        from wave_tui.tui.app import WaveApp

        assert isinstance(self.app, WaveApp)
        return self.app

    def compose(self) -> ComposeResult:
        yield Static("wave · sessions", id="sessions-title")
        yield Static(id="interrupted")
        yield Static(id="sessions-empty")
        yield DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#sessions", DataTable)
        for label, width in COLUMNS:
            table.add_column(label, key=label.lower() or "flag", width=width)
        table.focus()
        self.load()
        self.set_interval(REFRESH_S, self._refresh_if_shown)

    def _refresh_if_shown(self) -> None:
        if self.is_current:  # behind a dashboard it waits: the dashboard has the database
            self.load()

    def on_screen_resume(self) -> None:
        self.load()

    @work(exclusive=True, group="sessions", name="load sessions", exit_on_error=False)
    async def load(self) -> None:
        database = self.wave.database
        async with database.session(readonly=True) as db:
            sessions = await SessionRepository(db).list(limit=200)
        found = await RecoveryManager(database).interrupted_sessions()
        self.interrupted = {
            session.id: Interrupted(
                session.id,
                tuple(
                    f"{s['story_id']} ({s['current_status']}, last "
                    f"{s['last_checkpoint']['gate'] or s['last_checkpoint']['type']})"
                    for s in status["recoverable_stories"]
                ),
            )
            for session, status in found
        }
        self._show(sessions)

    def _show(self, sessions: list[WaveSession] | Any) -> None:
        table = self.query_one("#sessions", DataTable)
        ordered = sorted(sessions, key=lambda s: s.id not in self.interrupted)  # stable: newest
        wanted = [str(s.id) for s in ordered]
        if list(self._rows) != wanted:
            table.clear()
            self._rows.clear()
        for session in ordered:
            key = str(session.id)
            values = self._cells(session)
            if key not in self._rows:
                table.add_row(*values, key=key)
            else:
                for (column, _), old, new in zip(COLUMNS, self._rows[key], values, strict=True):
                    if str(old) != str(new):
                        table.update_cell(key, column.lower() or "flag", new)
            self._rows[key] = values
        empty = self.query_one("#sessions-empty", Static)
        empty.display = not ordered
        if not ordered:
            start = "" if self.wave.readonly else "press n to start one here, or "
            empty.update(Text(f"no sessions yet: {start}run `wave run` or `wave demo` in a shell"))
        banner = self.query_one("#interrupted", Static)
        banner.display = bool(self.interrupted)
        if self.interrupted:
            text = Text("⚠ interrupted sessions: ", style="bold yellow")
            for item in self.interrupted.values():
                stories = ", ".join(item.stories) or "no checkpoint yet: its stories start over"
                text.append(f"\n  {str(item.session_id)[:8]}  recoverable: {stories}")
            text.append("\n  select one and press R to recover it and run it here", style="italic")
            banner.update(text)

    def _cells(self, session: WaveSession) -> list[Any]:
        flag = Text("⚠", style="bold yellow") if session.id in self.interrupted else Text("")
        stories = f"{session.stories_completed}/{session.story_count}"
        if session.stories_failed:
            stories += f" ({session.stories_failed} failed)"
        running = self.wave.live.get(session.id)
        status = cells.status(session.status)
        if running is not None and running.running:
            status.append(" · here", style="italic")
        return [
            flag,
            str(session.id)[:8],
            session.project_name,
            status,
            stories,
            f"{cells.money(session.actual_cost_usd)} / {cells.money(session.budget_usd)}",
            f"{cells.tokens(session.tokens_used)} / {cells.tokens(session.token_limit)}",
            cells.when(session.started_at),
            cells.when(session.completed_at),
        ]

    def selected(self) -> uuid.UUID | None:
        table = self.query_one("#sessions", DataTable)
        if not table.row_count:
            self.notify("no sessions yet: `wave demo` runs the shipped demo", severity="warning")
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return uuid.UUID(str(row_key.value))

    @on(DataTable.RowSelected, "#sessions")
    def _open_selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        if (session_id := self.selected()) is not None:
            self.wave.open_dashboard(session_id)

    def action_cursor_down(self) -> None:
        self.query_one("#sessions", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#sessions", DataTable).action_cursor_up()

    def action_refresh(self) -> None:
        self.load()

    def action_new_session(self) -> None:
        self.wave.new_session()

    def action_recover(self) -> None:
        if (session_id := self.selected()) is None:
            return
        if session_id not in self.interrupted:
            self.notify("this session is not interrupted: nothing to recover", severity="warning")
            return
        self.wave.recover_session(session_id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.wave.readonly and action in keys.mutating_actions(keys.SESSIONS_KEYS))
