"""The dashboard's header: which session, how far, how much of the budget, what waits for you."""

from __future__ import annotations

from datetime import datetime

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from wave_tui.engine.views import SessionView
from wave_tui.tui.widgets import cells


class SessionHeader(Static):
    """Two lines: the session and its progress; the budget in USD and tokens; escalations."""

    DEFAULT_CSS = """
    SessionHeader { height: 3; padding: 0 1; background: $panel; }
    SessionHeader.-escalations { background: $error 30%; }
    """

    def show(self, session: SessionView, now: datetime, *, attached: str | None = None) -> None:
        self.set_class(session.open_escalations > 0, "-escalations")
        # Its height is fixed: no layout pass for a new figure.
        self.update(render_header(session, now, attached=attached), layout=False)


def render_header(session: SessionView, now: datetime, *, attached: str | None = None) -> Group:
    top = Text()
    top.append("wave  ", style="bold")
    top.append(session.name, style="bold cyan")
    top.append(f"  {str(session.id)[:8]}  ", style="bright_black")
    top.append_text(cells.status(session.status))
    top.append(f"  {cells.elapsed(session.elapsed(now))}", style="bold")
    top.append(f"  {session.autonomy}", style="bright_black")
    if attached:
        top.append(f"  {attached}", style="italic bright_black")
    grid = Table.grid(expand=True, padding=(0, 2))
    for _ in range(4):
        grid.add_column()
    usd = Text("USD ")
    usd.append_text(cells.meter(session.cost_fraction))
    usd.append(f" {cells.money(session.cost_usd)} / {cells.money(session.budget_usd)}")
    tok = Text("tokens ")
    tok.append_text(cells.meter(session.token_fraction))
    tok.append(f" {cells.tokens(session.tokens_used)} / {cells.tokens(session.token_limit)}")
    stories = Text(f"{session.completed}/{session.story_count} done", style="green")
    stories.append(f"  {session.failed} failed", style="red" if session.failed else "bright_black")
    stories.append(f"  {session.running} running", style="cyan")
    if session.open_escalations:
        waiting = Text(
            f" ⚠ {session.open_escalations} ESCALATION{'S' if session.open_escalations > 1 else ''}"
            " — press a ",
            style="bold reverse red",
        )
    else:
        waiting = Text("no escalations", style="bright_black")
    grid.add_row(usd, tok, stories, waiting)
    return Group(top, grid)
