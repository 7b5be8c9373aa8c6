"""The selected story in depth: its live event log, the gate timeline with evidence, its
checkpoints and the files it changed, as tabs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, RichLog, Static, TabbedContent, TabPane

from wave_tui.engine.describe import describe
from wave_tui.engine.details import StoryDetails
from wave_tui.engine.events import Event
from wave_tui.engine.views import StoryView
from wave_tui.tui.widgets import cells

EVENT_STYLES = {
    "step": "cyan",
    "tool_call": "white",
    "test_run": "magenta",
    "escalation": "bold red",
    "escalation_decided": "bold yellow",
    "operator_command": "bold yellow",
    "story_finished": "bold green",
    "story_failed": "bold red",
    "story_stopped": "yellow",
}


def event_text(event: Event) -> Text:
    """One log line: time, agent, kind, what happened; a scored action shows its verdict."""
    line = Text(cells.clock(event.created_at) + " ", style="bright_black")
    line.append(f"{event.agent or '-':<10} ", style="bold")
    style = EVENT_STYLES.get(event.kind, "")
    if event.kind == "tool_call":
        decision = str(event.payload.get("decision") or "")
        style = {"block": "bold red", "escalate": "bold yellow"}.get(decision, "green")
    line.append(f"{event.kind:<16} ", style=style)
    line.append(describe(event))
    return line


class StoryDetail(Vertical):
    """Tabs: log, gates, checkpoints, files. `show()` switches story; `append()` adds events."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.story_id: str | None = None
        self._files_shown = ""

    def compose(self) -> ComposeResult:
        with TabbedContent(initial="tab-log"):
            with TabPane("Log", id="tab-log"):
                yield RichLog(id="story-log", max_lines=2_000, wrap=False, markup=False)
            with TabPane("Gates", id="tab-gates"), VerticalScroll():
                yield Static(id="story-gates")
            with TabPane("Checkpoints", id="tab-checkpoints"):
                yield DataTable(id="story-checkpoints", cursor_type="row", zebra_stripes=True)
            with TabPane("Files", id="tab-files"), VerticalScroll():
                yield Static(id="story-files")

    @property
    def active(self) -> str:
        return self.query_one(TabbedContent).active

    @active.setter
    def active(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def on_mount(self) -> None:
        table = self.query_one("#story-checkpoints", DataTable)
        for label in ("ID", "Type", "Gate", "Time", "State", "Valid"):
            table.add_column(label, key=label.lower())

    def show(self, story: StoryView, events: Iterable[Event]) -> None:
        """Switch to a story: its log from the board, its files from the row."""
        log = self.query_one("#story-log", RichLog)
        if story.story_id != self.story_id:
            self.story_id = story.story_id
            log.clear()
            for event in events:
                log.write(event_text(event))
        files = _files(story)
        if files.plain != self._files_shown:  # no layout pass for the same list again
            self._files_shown = files.plain
            self.query_one("#story-files", Static).update(files)

    def append(self, events: Iterable[Event]) -> None:
        log = self.query_one("#story-log", RichLog)
        for event in events:
            if event.payload.get("story") == self.story_id:
                log.write(event_text(event))

    def show_details(self, details: StoryDetails) -> None:
        if details.story_id != self.story_id:
            return
        self.query_one("#story-gates", Static).update(_gates(details))
        table = self.query_one("#story-checkpoints", DataTable)
        table.clear()
        for point in details.checkpoints:
            summary = point.summary
            state = (
                f"{summary.current_gate} · {summary.phase} · AC {summary.ac_passed}/"
                f"{summary.ac_total} · iter {summary.iteration}"
                if summary
                else "-"
            )
            valid = (
                Text("yes", style="green")
                if point.resumable
                else Text("start", style="bright_black")
                if point.valid
                else Text(f"no: {point.problem}", style="red")
            )
            table.add_row(
                str(point.checkpoint_id),
                point.checkpoint_type.value,
                point.gate.value if point.gate else "-",
                cells.clock(point.created_at),
                state,
                valid,
                key=str(point.checkpoint_id),
            )


def _gates(details: StoryDetails) -> Group:
    """The gate timeline with each gate's evidence, then the plan and the last test output."""
    parts: list[RenderableType] = [_timeline(details)]
    if details.plan:
        parts += [Text("\nplan", style="bold"), Text(details.plan)]
    if details.test_output:
        parts += [Text("\nlast test output", style="bold"), Text(details.test_output[-2_000:])]
    return Group(*parts)


def _timeline(details: StoryDetails) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold")
    table.add_column()
    table.add_column()
    table.add_column(ratio=1)
    for line in details.gates:
        if line.passed is None:
            verdict = Text("·", style="bright_black")
        else:
            verdict = Text("PASS", style="green") if line.passed else Text("FAIL", style="red")
        evidence = "\n".join(line.evidence) or "-"
        table.add_row(line.gate.value, verdict, cells.clock(line.at), f"{line.name}: {evidence}")
    return table


def _files(story: StoryView) -> Text:
    text = Text()
    for label, files in (("created", story.files_created), ("modified", story.files_modified)):
        text.append(f"{label} ({len(files)})\n", style="bold")
        for name in files:
            text.append(f"  {name}\n")
    if story.block_reason:
        text.append(f"\nblocked: {story.block_reason}\n", style="yellow")
    if story.error:
        text.append(f"\nerror: {story.error}\n", style="red")
    return text
