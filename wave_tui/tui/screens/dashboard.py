"""One session, live: the header, the stories table, the selected story in depth, the spend.

One loop (a worker) takes events in a few times a second, re-reads the rows when an event says
a status changed, and redraws only what changed inside `batch_update()`. Behind a dialog it keeps
the board current but does not redraw; closing the dialog redraws what changed meanwhile.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Sparkline, Static

from wave_tui.engine.board import Board, Changes
from wave_tui.engine.details import story_details
from wave_tui.engine.feed import SessionFeed
from wave_tui.tui import keys
from wave_tui.tui.widgets.detail import StoryDetail
from wave_tui.tui.widgets.header import SessionHeader
from wave_tui.tui.widgets.stories import SORTS, StoriesTable

if TYPE_CHECKING:
    from wave_tui.tui.app import WaveApp

# Events are taken in and flushed to the screen at most this often (4 redraws a second)...
FLUSH_S = 0.25
# ...the rows are re-read at most this often when events say they changed, and at least every
# ROWS_IDLE_S regardless (for changes no event announced, e.g. another process's lease expired).
ROWS_S, ROWS_IDLE_S = 0.5, 2.0
# The detail pane shows the story under the cursor once the cursor has rested this long.
CURSOR_REST_S = 0.12


class DashboardScreen(Screen[None]):
    BINDINGS = keys.bindings(keys.DASHBOARD_KEYS)

    def __init__(self, session_id: uuid.UUID) -> None:
        super().__init__(name=f"dashboard-{session_id}")
        self.session_id = session_id
        self.board: Board | None = None
        self.feed: SessionFeed | None = None
        self._pending = Changes()
        self._details_due = False
        self._follow_cursor: Timer | None = None
        self._spend_due = True  # the history loaded with the board is drawn on the first flush
        self.flushes = 0  # redraws done: for tests and the bench

    @property
    def wave(self) -> WaveApp:
        from wave_tui.tui.app import WaveApp

        assert isinstance(self.app, WaveApp)
        return self.app

    def compose(self) -> ComposeResult:
        settings = self.wave.settings
        yield SessionHeader(id="header")
        yield Input(placeholder="filter: words in id, title, agent, phase, status", id="filter")
        yield StoriesTable(
            id="stories",
            block=settings.constitutional_block_threshold,
            escalate=settings.constitutional_escalate_threshold,
        )
        yield StoryDetail(id="detail")
        yield Static("tokens spent (5 s buckets)", id="spend-label")
        yield Sparkline([0.0] * 60, id="spend")
        yield Footer()

    async def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one("#stories", StoriesTable).focus()
        self.follow()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        """The elapsed time moves on even when nothing else does."""
        if self.board is not None and self._visible():
            self._show_header()

    def on_unmount(self) -> None:
        if self.feed is not None:
            self.feed.close()

    # -- the live loop ----------------------------------------------------------------------

    @work(exclusive=True, group="follow", name="follow session", exit_on_error=False)
    async def follow(self) -> None:
        app = self.wave
        self.board = await Board.load(app.database, self.session_id)
        self.feed = SessionFeed(
            app.database,
            self.session_id,
            bus=app.buses.get(self.session_id),
            after_id=self.board.last_event_id,
        )
        self._pending = Changes(stories=set(self.board.stories), session=True, escalations=True)
        self._details_due = True
        self._flush()
        loop = asyncio.get_running_loop()
        rows_read = loop.time()
        flushed, stale = loop.time(), False
        while True:
            # While changes wait to be drawn, only until the next flush is due: a burst of
            # events costs one redraw per FLUSH_S, however fast it comes.
            due = FLUSH_S - (loop.time() - flushed) if self._pending else FLUSH_S
            events = await self.feed.next_batch(max(0.01, due))
            changes = self.board.apply(events)
            stale |= changes.rows_stale
            now = loop.time()
            since = now - rows_read
            if (stale and since >= ROWS_S) or since >= ROWS_IDLE_S:
                changes.merge(await self.board.refresh(app.database))
                rows_read, stale = now, False
            self._pending.merge(changes)
            if self._pending and self._visible() and now - flushed >= FLUSH_S:
                self._flush()
                flushed = now

    def _visible(self) -> bool:
        """This dashboard, or a story opened from it, is on top (not behind a dialog)."""
        from wave_tui.tui.screens.story import StoryScreen

        top = self.app.screen
        if isinstance(top, ModalScreen):
            return False
        return top is self or (isinstance(top, StoryScreen) and top.dashboard is self)

    def _flush(self) -> None:
        """Redraw what changed since the last flush, in one batch."""
        board, changes = self.board, self._pending
        if board is None:
            return
        self._pending = Changes()
        table = self.query_one("#stories", StoriesTable)
        detail, selected_story = self._detail_target()
        with self.app.batch_update():
            if changes.session or changes.escalations:
                self._show_header()
            if changes.stories:
                table.sync(board.ordered(), changes.stories)
            selected = selected_story or table.selected
            if selected is not None and selected in board.stories:
                if detail.story_id != selected:
                    detail.show(board.stories[selected], board.story_log(selected))
                    self._details_due = True
                else:
                    detail.append(changes.events)
                    if selected in changes.stories:
                        detail.show(board.stories[selected], ())
                        self._details_due = True
            if self._spend_due or any(e.kind == "step" for e in changes.events):
                self._spend_due = False
                self.query_one("#spend", Sparkline).data = board.spend_series(now=self.wave.now())
        self.flushes += 1
        if self._details_due and selected is not None:
            self._details_due = False
            self.load_details(selected)

    def _detail_target(self) -> tuple[StoryDetail, str | None]:
        """Where the selected story is shown: a story screen on top, else the detail pane."""
        from wave_tui.tui.screens.story import StoryScreen

        if isinstance(self.app.screen, StoryScreen) and self.app.screen.dashboard is self:
            return self.app.screen.detail, self.app.screen.story_id
        return self.query_one("#detail", StoryDetail), None

    def _show_header(self) -> None:
        assert self.board is not None
        live = self.wave.live.get(self.session_id)
        attached = None if live is not None else "attached: another process runs it"
        if self.wave.readonly:
            attached = f"{attached or ''}  read-only".strip()
        self.query_one("#header", SessionHeader).show(
            self.board.session, self.wave.now(), attached=attached
        )

    @work(exclusive=True, group="details", name="story details", exit_on_error=False)
    async def load_details(self, story_id: str) -> None:
        details = await story_details(self.wave.database, self.session_id, story_id)
        detail, _ = self._detail_target()
        detail.show_details(details)

    def on_screen_resume(self) -> None:
        # Back from a dialog: what changed behind it is drawn now.
        if self.board is not None:
            self._pending.merge(Changes(session=True, escalations=True))
            self._flush()

    @on(DataTable.RowHighlighted, "#stories")
    def _row_highlighted(self) -> None:
        # The detail pane follows the cursor once it rests: holding j does not rewrite the
        # story's log on every row it passes.
        if self._follow_cursor is not None:
            self._follow_cursor.stop()
        self._follow_cursor = self.set_timer(CURSOR_REST_S, self._flush)

    @on(DataTable.RowSelected, "#stories")
    def _row_selected(self) -> None:
        self.action_open_story()

    # -- navigation -------------------------------------------------------------------------

    @property
    def table(self) -> StoriesTable:
        return self.query_one("#stories", StoriesTable)

    def selected_story(self) -> str | None:
        story = self.table.selected
        if story is None:
            self.notify("no story selected", severity="warning")
        return story

    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()

    def action_cursor_top(self) -> None:
        self.table.move_cursor(row=0)

    def action_cursor_bottom(self) -> None:
        self.table.move_cursor(row=max(0, self.table.row_count - 1))

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self.board is not None:
            self.table.set_filter(event.value, self.board.ordered())

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.table.focus()

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display or self.table.needle:
            box.value = ""
            box.display = False
            if self.board is not None:
                self.table.set_filter("", self.board.ordered())
            self.table.focus()
        elif len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    def action_sort(self) -> None:
        name = self.table.cycle_sort()
        first = " (highest first)" if SORTS[self.table.sort_index][1] else ""
        self.notify(f"sorted by {name}{first}")

    def action_open_story(self) -> None:
        if (story := self.selected_story()) is not None and self.board is not None:
            from wave_tui.tui.screens.story import StoryScreen

            self.app.push_screen(StoryScreen(self, story))

    def action_checkpoints(self) -> None:
        if self.selected_story() is not None:
            detail = self.query_one("#detail", StoryDetail)
            detail.active = "tab-checkpoints"
            detail.query_one("#story-checkpoints", DataTable).focus()

    # -- steering (every one goes through the database: it works attached too) -------------

    def action_hold(self) -> None:
        if (story := self.selected_story()) is not None:
            self.hold(story)

    def action_resume(self) -> None:
        if (story := self.selected_story()) is not None:
            self.resume(story)

    def action_kill(self) -> None:
        if (story := self.selected_story()) is not None:
            self.kill(story)

    def action_recover(self) -> None:
        if (story := self.selected_story()) is not None:
            self.recover(story)

    def action_stop(self) -> None:
        from wave_tui.tui.screens.confirm import ReasonDialog

        def stopped(reason: str | None) -> None:
            if reason:
                self.wave.send_command(self.session_id, "stop", None, reason)

        self.app.push_screen(
            ReasonDialog(
                "Emergency stop",
                "Stop every story of this session now? Running steps are cancelled; every "
                "unfinished story is held with its checkpoints (r or `wave resume` continues).",
                "Stop all",
            ),
            stopped,
        )

    def action_escalation(self) -> None:
        if self.board is None or (escalation := self.board.next_escalation()) is None:
            self.notify("no escalation waits for a decision")
            return
        self.wave.open_escalation(escalation, waiting=len(self.board.escalations))

    def hold(self, story: str) -> None:
        self.wave.send_command(self.session_id, "hold", story)

    def resume(self, story: str) -> None:
        self.wave.send_command(self.session_id, "unhold", story)

    def kill(self, story: str) -> None:
        from wave_tui.tui.screens.confirm import ReasonDialog

        def killed(reason: str | None) -> None:
            if reason:
                self.wave.send_command(self.session_id, "kill", story, reason)

        self.app.push_screen(
            ReasonDialog(
                f"Kill {story}",
                f"Kill {story} now? Its step in flight is cancelled and the story ends "
                "cancelled (a restart can bring it back).",
                "Kill",
            ),
            killed,
        )

    def recover(self, story: str) -> None:
        if self.board is not None and story in self.board.stories:
            self.wave.open_recovery(self.session_id, self.board.stories[story])

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (self.wave.readonly and action in keys.mutating_actions(keys.DASHBOARD_KEYS))
