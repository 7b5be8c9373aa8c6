"""`make screenshots`: the shipped demo run in this process with the console headless at 160x48,
and four of its screens saved to screenshots/ as SVG and PNG: the dashboard mid-run, DEMO-3's
escalation, the recovery dialog and, once the escalation is approved and the demo is done, the
sessions screen."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

import cairosvg
from textual.pilot import Pilot
from textual.widgets import DataTable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the console tests' demo helpers live in tests/

from tests.tui.console_helpers import SIZE, demo_app, demo_session, until  # noqa: E402
from wave_tui.config import load_settings  # noqa: E402
from wave_tui.db import Database  # noqa: E402
from wave_tui.domain.enums import SessionStatus  # noqa: E402
from wave_tui.tui.screens.dashboard import DashboardScreen  # noqa: E402
from wave_tui.tui.screens.escalation import EscalationDialog  # noqa: E402
from wave_tui.tui.screens.recovery import RecoveryDialog  # noqa: E402
from wave_tui.tui.screens.sessions import SessionsScreen  # noqa: E402
from wave_tui.tui.widgets.detail import StoryDetail  # noqa: E402

OUT = ROOT / "screenshots"
PNG_WIDTH = 1600
ESCALATED = "DEMO-3"  # its first command is `rm -rf build`: the safety layer asks the operator


async def main() -> list[Path]:
    OUT.mkdir(exist_ok=True)
    shots: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="wave-screenshots-") as tmp:
        root = Path(tmp)
        settings = load_settings(data_dir=root / "data")
        database = Database(f"sqlite+aiosqlite:///{root / 'wave.db'}")
        try:
            await database.upgrade()
            runner = await demo_session(database, settings, root)
            app = demo_app(database, settings, runner)

            async def drive(pilot: Pilot[Any]) -> None:
                await tour(pilot, shots)

            await app.run_async(headless=True, size=SIZE, auto_pilot=drive)
        finally:
            await database.dispose()
    if len(shots) != 4:
        raise SystemExit(f"screenshots: only {len(shots)} of 4 screens were saved")
    return [path for svg in shots for path in (svg, to_png(svg))]


async def tour(pilot: Pilot[Any], shots: list[Path]) -> None:
    """Dashboard (a story done, DEMO-3 waiting), escalation, recovery; approve; sessions."""
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
    dashboard = app.screen
    assert isinstance(dashboard, DashboardScreen)

    def mid_run() -> bool:
        board = dashboard.board
        return board is not None and board.session.completed >= 1 and bool(board.escalations)

    await until(pilot, mid_run)
    assert dashboard.board is not None
    rows = [story.story_id for story in dashboard.board.ordered()]
    await pilot.press(*["j"] * rows.index(ESCALATED))
    detail = dashboard.query_one("#detail", StoryDetail)
    await until(pilot, lambda: detail.story_id == ESCALATED)
    await settle(pilot)
    shots.append(shoot(pilot, "dashboard"))

    await pilot.press("a")
    await until(pilot, lambda: isinstance(app.screen, EscalationDialog))
    await settle(pilot)
    shots.append(shoot(pilot, "escalation"))
    await pilot.press("escape")
    await until(pilot, lambda: app.screen is dashboard)

    await pilot.press("R")
    await until(pilot, lambda: isinstance(app.screen, RecoveryDialog))
    await settle(pilot)
    shots.append(shoot(pilot, "recovery"))
    await pilot.press("escape")
    await until(pilot, lambda: app.screen is dashboard)

    await pilot.press("a")
    await until(pilot, lambda: isinstance(app.screen, EscalationDialog))
    await pilot.press("y")

    def done() -> bool:
        board = dashboard.board
        return board is not None and board.session.status is SessionStatus.COMPLETED

    await until(pilot, done)
    await pilot.press("escape")
    await until(pilot, lambda: isinstance(app.screen, SessionsScreen))
    await pilot.press("ctrl+r")
    sessions = app.screen.query_one("#sessions", DataTable)
    session_id = str(dashboard.session_id)
    await until(pilot, lambda: shown_status(sessions, session_id) == "completed")
    await settle(pilot)
    shots.append(shoot(pilot, "sessions"))
    app.exit(0)


def shown_status(table: DataTable[Any], row: str) -> str:
    if row not in table.rows:
        return ""
    return str(getattr(table.get_cell(row, "status"), "plain", ""))


async def settle(pilot: Pilot[Any]) -> None:
    """Let workers started by the last key (details, recovery points) finish and draw."""
    await pilot.pause(0.5)
    await pilot.wait_for_scheduled_animations()


def shoot(pilot: Pilot[Any], name: str) -> Path:
    return Path(pilot.app.save_screenshot(f"{name}.svg", str(OUT)))


def to_png(svg: Path) -> Path:
    """The SVG asks for Fira Code from a CDN, which cairosvg cannot fetch: without a change it
    falls back to a proportional font and the columns drift. The machine's monospace font it has."""
    text = svg.read_text(encoding="utf-8")
    text = text.replace("font-family: Fira Code, monospace;", "font-family: monospace;")
    png = svg.with_suffix(".png")
    cairosvg.svg2png(bytestring=text.encode(), write_to=str(png), output_width=PNG_WIDTH)
    return png


if __name__ == "__main__":
    for written in asyncio.run(main()):
        print(written.relative_to(ROOT))
