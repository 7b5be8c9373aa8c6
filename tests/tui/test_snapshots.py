"""Snapshots of the console's four main screens over a fixed world (tests/tui/world.py) at
160x48: the sessions screen, a session's dashboard, the escalation and the recovery dialog.

A change to what an operator sees fails here until it is looked at and accepted with
`pytest tests/tui/test_snapshots.py --snapshot-update` (the report shows both pictures).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.tui.console_helpers import until
from tests.tui.world import World, build_world, fixed_now
from wave_tui.config import Settings
from wave_tui.db import Database
from wave_tui.engine import board, views
from wave_tui.tui.app import WaveApp
from wave_tui.tui.screens.dashboard import DashboardScreen
from wave_tui.tui.screens.escalation import EscalationDialog
from wave_tui.tui.screens.recovery import RecoveryDialog
from wave_tui.tui.screens.sessions import SessionsScreen
from wave_tui.tui.widgets.detail import StoryDetail

SIZE = (160, 48)
Compare = Callable[..., bool]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Database, World]]:
    """The world in a fresh SQLite file; times shown in UTC; the board's clock at fixed_now."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'world.db'}"
    built = asyncio.run(_build(url))
    # The spend sparkline buckets spend back from the wall clock, not from the app's `now`.
    monkeypatch.setattr(board, "utcnow", fixed_now)
    monkeypatch.setattr(views, "utcnow", fixed_now)
    database = Database(url)
    with monkeypatch.context() as local:
        local.setenv("TZ", "UTC")
        time.tzset()
        try:
            yield database, built
        finally:
            asyncio.run(database.dispose())
    time.tzset()


async def _build(url: str) -> World:
    database = Database(url)
    try:
        await database.upgrade()
        return await build_world(database)
    finally:
        await database.dispose()


def console(database: Database, tmp_path: Path, world: World | None = None) -> WaveApp:
    settings = Settings(data_dir=tmp_path / "data", operator="ops")
    session_id = world.session_id if world is not None else None
    return WaveApp(database, settings, session_id=session_id, now=fixed_now)


def dashboard(pilot: Pilot[Any]) -> DashboardScreen:
    screen = pilot.app.screen
    assert isinstance(screen, DashboardScreen), f"not on the dashboard: {screen!r}"
    return screen


async def dashboard_loaded(pilot: Pilot[Any]) -> DashboardScreen:
    await until(pilot, lambda: isinstance(pilot.app.screen, DashboardScreen))
    screen = dashboard(pilot)
    await until(pilot, lambda: screen.board is not None and screen.flushes > 0)
    return screen


async def on_story(pilot: Pilot[Any], world: World, story_id: str) -> DashboardScreen:
    """The dashboard with the row cursor moved (by key) onto `story_id`, its detail loaded."""
    screen = await dashboard_loaded(pilot)
    await pilot.press(*["j"] * world.row(story_id))
    detail = screen.query_one("#detail", StoryDetail)
    await until(pilot, lambda: detail.story_id == story_id)
    await until(pilot, lambda: details_done(pilot))
    return screen


def details_done(pilot: Pilot[Any]) -> bool:
    return all(w.is_finished for w in pilot.app.workers if w.group == "details")


def test_sessions_screen_flags_the_interrupted_session_on_top(
    snap_compare: Compare, world: tuple[Database, World], tmp_path: Path
) -> None:
    database, built = world

    async def loaded(pilot: Pilot[Any]) -> None:
        def listed() -> bool:
            screen = pilot.app.screen
            return (
                isinstance(screen, SessionsScreen)
                and built.interrupted_session_id in screen.interrupted
            )

        await until(pilot, listed)
        table = pilot.app.screen.query_one("#sessions")
        await until(pilot, lambda: getattr(table, "row_count", 0) == 3)

    assert snap_compare(console(database, tmp_path), terminal_size=SIZE, run_before=loaded)


def test_dashboard_shows_the_escalated_story_and_its_log(
    snap_compare: Compare, world: tuple[Database, World], tmp_path: Path
) -> None:
    database, built = world

    async def selected(pilot: Pilot[Any]) -> None:
        await on_story(pilot, built, built.escalated_story)

    app = console(database, tmp_path, built)
    assert snap_compare(app, terminal_size=SIZE, run_before=selected)


def test_escalation_dialog_shows_the_action_its_score_and_why(
    snap_compare: Compare, world: tuple[Database, World], tmp_path: Path
) -> None:
    database, built = world

    async def opened(pilot: Pilot[Any]) -> None:
        await on_story(pilot, built, built.escalated_story)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(pilot.app.screen, EscalationDialog))

    app = console(database, tmp_path, built)
    assert snap_compare(app, terminal_size=SIZE, run_before=opened)


def test_recovery_dialog_lists_the_held_storys_checkpoints(
    snap_compare: Compare, world: tuple[Database, World], tmp_path: Path
) -> None:
    database, built = world

    async def opened(pilot: Pilot[Any]) -> None:
        await on_story(pilot, built, built.held_story)
        await pilot.press("R")
        await until(pilot, lambda: isinstance(pilot.app.screen, RecoveryDialog))

    app = console(database, tmp_path, built)
    assert snap_compare(app, terminal_size=SIZE, run_before=opened)
