"""The stories table: one row per story, changed cell by cell (`update_cell`), never rebuilt
while the session runs. Filtering and sorting are the operator's own acts and may reorder rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from wave_tui.engine.views import StoryView
from wave_tui.tui.widgets import cells

# Key, label and width: fixed widths, because cells change in place and must not be cut.
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("id", "ID", 10),
    ("title", "Title", 32),
    ("agent", "Agent", 10),
    ("phase", "Phase", 18),
    ("gates", "Gates 0-7", 9),
    ("iter", "Iter/Rec", 8),
    ("tokens", "Tokens", 7),
    ("cost", "Cost", 9),
    ("safety", "Safety", 6),
    ("status", "Status", 18),
)
# The orders the operator cycles through with `s`: a column and whether the biggest comes first.
SORTS: tuple[tuple[str, bool], ...] = (
    ("order", False),
    ("status", False),
    ("cost", True),
    ("tokens", True),
    ("safety", False),
    ("id", False),
)


def row_cells(story: StoryView, *, block: float, escalate: float) -> list[Any]:
    """The table's cells for one story, in COLUMNS order."""
    return [
        Text(story.story_id, style="bold"),
        story.title if len(story.title) <= 32 else story.title[:31] + "…",
        story.agent or "-",
        story.phase or "-",
        cells.gate_strip(story.gates),
        f"{story.iteration}/{story.recycles}",
        Text(cells.tokens(story.tokens), justify="right"),
        Text(cells.money(story.cost_usd), justify="right"),
        cells.safety(story.safety, block=block, escalate=escalate),
        cells.status(story.status, story.block_reason),
    ]


def matches(story: StoryView, needle: str) -> bool:
    """The filter: every word must appear in the story's id, title, agent, phase or status."""
    haystack = " ".join(
        [story.story_id, story.title, story.agent or "", story.phase or "", str(story.status)]
        + ([story.block_reason] if story.block_reason else [])
    ).lower()
    return all(word in haystack for word in needle.lower().split())


class StoriesTable(DataTable[Any]):
    def __init__(self, *, block: float, escalate: float, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.block, self.escalate = block, escalate
        self.needle = ""
        self.sort_index = 0
        self._shown: dict[str, list[Any]] = {}  # what each row shows now, by story id
        self.cell_updates = 0  # how many cells changed since mount: for tests and the bench

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    @property
    def selected(self) -> str | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def sync(self, stories: Sequence[StoryView], changed: Iterable[str] | None = None) -> None:
        """Bring the rows in line with `stories`: new rows appended, changed cells updated in
        place. `changed` (story ids) limits the work to those; None looks at every story."""
        wanted = {s.story_id: s for s in stories if not self.needle or matches(s, self.needle)}
        for story_id in list(self._shown):
            if story_id not in wanted:
                self.remove_row(story_id)
                del self._shown[story_id]
        look_at = wanted if changed is None else {k: wanted[k] for k in changed if k in wanted}
        added = False
        for story in stories:
            if story.story_id not in wanted:
                continue
            if story.story_id not in self._shown:
                values = row_cells(story, block=self.block, escalate=self.escalate)
                self.add_row(*values, key=story.story_id)
                self._shown[story.story_id] = values
                added = True
            elif story.story_id in look_at:
                self._update(story)
        if added and self.sort_index:
            self.apply_sort()

    def set_filter(self, needle: str, stories: Sequence[StoryView]) -> None:
        self.needle = needle.strip()
        self.sync(stories)

    def cycle_sort(self) -> str:
        self.sort_index = (self.sort_index + 1) % len(SORTS)
        self.apply_sort()
        return SORTS[self.sort_index][0]

    def apply_sort(self) -> None:
        name, descending = SORTS[self.sort_index]
        if name == "order":
            # Back to the session's order: the order the rows were first added in.
            order = {sid: i for i, sid in enumerate(self._shown)}
            self.sort("id", key=lambda cell: order.get(cell.plain, 0))
        else:
            self.sort(name, key=_sortable, reverse=descending)

    def _update(self, story: StoryView) -> None:
        values = row_cells(story, block=self.block, escalate=self.escalate)
        shown = self._shown[story.story_id]
        for (column, _, _), old, new in zip(COLUMNS, shown, values, strict=True):
            if _same(old, new):
                continue
            self.update_cell(story.story_id, column, new)
            self.cell_updates += 1
        self._shown[story.story_id] = values


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Text) and isinstance(b, Text):
        return a.plain == b.plain and a.spans == b.spans and a.style == b.style
    return bool(a == b)


def _sortable(cell: Any) -> tuple[int, float, str]:
    """Numbers (money, token counts, scores) by value, text by text; a dash sorts last."""
    text = cell.plain if isinstance(cell, Text) else str(cell)
    number, scale = text.replace("$", "").replace(",", ""), 1.0
    for suffix, factor in (("M", 1e6), ("k", 1e3)):
        if number.endswith(suffix):
            number, scale = number[: -len(suffix)], factor
    try:
        return (0, float(number) * scale, "")
    except ValueError:
        return (1, 0.0, text)
