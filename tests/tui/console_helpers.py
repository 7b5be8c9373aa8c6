"""The console on the shipped demo, in this process: a real database file, the demo's git
project, its replay script, the real SessionRunner, and the app driven by Textual's Pilot."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.css.query import NoMatches
from textual.pilot import Pilot
from textual.widgets.data_table import CellDoesNotExist

from wave_tui.config import Settings
from wave_tui.db import Database, SessionRepository, StoryExecutionRepository
from wave_tui.db.models import WaveStoryExecution
from wave_tui.demo.project import create_demo_project, demo_script_path, demo_stories_dir
from wave_tui.domain.enums import AutonomyLevel
from wave_tui.domain.story import load_stories
from wave_tui.engine.events import EventBus
from wave_tui.engine.launch import guard_for, run_meta
from wave_tui.engine.live import LiveSession
from wave_tui.engine.runner import SessionRunner
from wave_tui.engine.sessions import create_session
from wave_tui.llm import ReplayProvider, ReplayScript
from wave_tui.tui.app import WaveApp
from wave_tui.tui.widgets.stories import StoriesTable

SIZE = (160, 48)


async def demo_session(database: Database, settings: Settings, root: Path) -> SessionRunner:
    """The shipped demo as `wave demo` starts it, not yet running."""
    project = await create_demo_project(root / "demo")
    provider = ReplayProvider(ReplayScript.load(demo_script_path()), model=settings.model)
    bus = EventBus(database)
    session_id = await create_session(
        bus,
        load_stories([demo_stories_dir()]),
        project,
        budget_usd=Decimal("5"),
        token_limit=1_000_000,
        story_budget_usd=Decimal("2"),
        autonomy=AutonomyLevel.L3,
        run_meta=run_meta(provider, demo_script_path()),
    )
    return SessionRunner(
        bus, session_id, provider=provider, settings=settings,
        guard=guard_for(settings, project, provider),
    )  # fmt: skip


def demo_app(
    database: Database, settings: Settings, runner: SessionRunner, *, readonly: bool = False
) -> WaveApp:
    return WaveApp(database, settings, live=LiveSession.of(runner), readonly=readonly)


async def until(pilot: Pilot[Any], check: Callable[[], object], *, within: float = 120) -> None:
    """Let the app run until `check()` (a function, or an async one) is true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        outcome = check()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        if loop.time() > deadline:
            raise AssertionError(f"still not true after {within:.0f} s: {check.__qualname__}")
        await pilot.pause(0.1)


async def stories(database: Database, session_id: uuid.UUID) -> dict[str, WaveStoryExecution]:
    async with database.session(readonly=True) as db:
        rows = await StoryExecutionRepository(db).list_by_session(session_id)
    return {row.story_id: row for row in rows}


async def session_status(database: Database, session_id: uuid.UUID) -> str:
    async with database.session(readonly=True) as db:
        return str((await SessionRepository(db).require(session_id)).status)


def cell(app: WaveApp, story: str, column: str) -> str:
    """What the stories table shows for a story ("" before its row is there)."""
    try:
        value = app.screen.query_one("#stories", StoriesTable).get_cell(story, column)
    except (CellDoesNotExist, NoMatches):
        return ""
    return value.plain if isinstance(value, Text) else str(value)
