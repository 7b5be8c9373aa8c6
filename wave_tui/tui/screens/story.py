"""One story full-screen (enter on the dashboard): the same detail as the pane, room to read it,
and the same keys to steer it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from wave_tui.tui import keys
from wave_tui.tui.widgets.detail import StoryDetail

if TYPE_CHECKING:
    from wave_tui.tui.screens.dashboard import DashboardScreen

STORY_KEYS: tuple[keys.Key, ...] = (
    *(k for k in keys.DASHBOARD_KEYS if k.section == "Steer the selected story"),
    keys.Key("story.back", "escape", "back", "Back", "Navigate", key_display="esc"),
)


class StoryScreen(Screen[None]):
    BINDINGS = keys.bindings(STORY_KEYS)

    def __init__(self, dashboard: DashboardScreen, story_id: str) -> None:
        super().__init__(name=f"story-{story_id}")
        self.dashboard = dashboard
        self.story_id = story_id
        self.detail = StoryDetail(id="story-detail")

    def compose(self) -> ComposeResult:
        yield Static(id="story-title")
        yield self.detail
        yield Footer()

    def on_mount(self) -> None:
        board = self.dashboard.board
        if board is not None and (story := board.stories.get(self.story_id)) is not None:
            title = f"{story.story_id}  {story.title}  ·  {story.status}  ·  {story.phase or '-'}"
            self.query_one("#story-title", Static).update(title)
            self.detail.show(story, board.story_log(self.story_id))
            self.dashboard.load_details(self.story_id)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_hold(self) -> None:
        self.dashboard.hold(self.story_id)

    def action_resume(self) -> None:
        self.dashboard.resume(self.story_id)

    def action_kill(self) -> None:
        self.dashboard.kill(self.story_id)

    def action_recover(self) -> None:
        self.dashboard.recover(self.story_id)

    def action_checkpoints(self) -> None:
        self.detail.active = "tab-checkpoints"
        self.detail.query_one("#story-checkpoints", DataTable).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.dashboard.check_action(action, parameters)
