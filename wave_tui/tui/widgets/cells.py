"""How one value looks in the console: the gate strip, a safety score, a status, money, a meter.
Plain functions returning Rich Text, so the table, the header and the tests share them."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from rich.text import Text

from wave_tui.domain.enums import SessionStatus, StoryStatus
from wave_tui.engine.views import CURRENT, FAILED, PASSED

GATE_GLYPHS = {PASSED: ("■", "green"), CURRENT: ("▶", "bold yellow"), FAILED: ("✗", "bold red")}
NOT_REACHED_GLYPH = ("·", "bright_black")
# The budget meter turns yellow at 75 % and red at 90 %.
WARN_AT, ALARM_AT = 0.75, 0.90

STATUS_STYLES = {
    StoryStatus.PENDING: "bright_black",
    StoryStatus.IN_PROGRESS: "bold cyan",
    StoryStatus.REVIEW: "bold magenta",
    StoryStatus.BLOCKED: "bold yellow",
    StoryStatus.COMPLETE: "bold green",
    StoryStatus.FAILED: "bold red",
    StoryStatus.CANCELLED: "red",
    SessionStatus.COMPLETED: "bold green",
    SessionStatus.CANCELLED: "red",
}


def gate_strip(cells: tuple[str, ...]) -> Text:
    """Eight cells, one per gate: ■ passed, ▶ current, ✗ failed, · not reached."""
    text = Text()
    for cell in cells:
        glyph, style = GATE_GLYPHS.get(cell, NOT_REACHED_GLYPH)
        text.append(glyph, style=style)
    return text


def safety(score: float | None, *, block: float, escalate: float) -> Text:
    """A score coloured by the two thresholds: red below block, yellow below escalate."""
    if score is None:
        return Text("-", style="bright_black")
    style = "bold red" if score < block else "yellow" if score < escalate else "green"
    return Text(f"{score:.2f}", style=style)


def status(value: StoryStatus | SessionStatus, reason: str | None = None) -> Text:
    """A status; a held story says so (`held`), not just blocked."""
    label = str(value).replace("_", " ")
    if value is StoryStatus.BLOCKED and reason:
        label = reason.split(":", 1)[0] if reason.startswith(("held", "emergency")) else "blocked"
    return Text(label, style=STATUS_STYLES.get(value, ""))


def money(amount: Decimal) -> str:
    return f"${amount:,.4f}" if amount < 1 else f"${amount:,.2f}"


def tokens(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f}M"
    if count >= 10_000:
        return f"{count / 1_000:.0f}k"
    return f"{count:,}"


def meter_style(fraction: float) -> str:
    return "bold red" if fraction >= ALARM_AT else "bold yellow" if fraction >= WARN_AT else "green"


def meter(fraction: float, width: int = 12) -> Text:
    """A bar with its percentage, coloured at 75 % and 90 %."""
    filled = max(0, min(width, round(fraction * width)))
    style = meter_style(fraction)
    text = Text("█" * filled, style=style)
    text.append("░" * (width - filled), style="bright_black")
    text.append(f" {fraction:>4.0%}", style=style)
    return text


def elapsed(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def clock(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%H:%M:%S") if moment else "-"


def when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else "-"
