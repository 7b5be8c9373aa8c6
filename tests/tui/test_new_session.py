"""The new session dialog on a real database file, the demo's git project and its replay script:
the session it starts runs in the console's own event loop, as `wave run` would run it, and a
refusal is one line in the dialog with nothing written."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from textual.widgets import Input, Select, Static

from tests.tui.console_helpers import SIZE, session_status, stories, until
from wave_tui.config import Settings
from wave_tui.db import Database, SessionRepository
from wave_tui.demo.project import create_demo_project, demo_script_path, demo_stories_dir
from wave_tui.domain.enums import AutonomyLevel, StoryStatus
from wave_tui.tui.app import WaveApp
from wave_tui.tui.screens.dashboard import DashboardScreen
from wave_tui.tui.screens.new_session import NewSessionDialog
from wave_tui.tui.screens.sessions import SessionsScreen
from wave_tui.workspace import git

pytestmark = pytest.mark.timeout(300)

DEMO_1 = demo_stories_dir() / "demo-1-slug.yaml"


def _settings() -> Settings:
    return Settings(operator="ops-alice")


def _dialog(app: WaveApp) -> NewSessionDialog:
    assert isinstance(app.screen, NewSessionDialog), app.screen
    return app.screen


def _fill(app: WaveApp, **fields: str) -> None:
    for name, value in fields.items():
        _dialog(app).query_one(f"#new-session-{name}", Input).value = value


def _result(app: WaveApp) -> Static:
    return _dialog(app).query_one("#new-session-result", Static)


async def _sessions(database: Database) -> int:
    async with database.session(readonly=True) as db:
        return len(await SessionRepository(db).list())


async def test_a_session_started_from_the_console_runs_to_completion_there(
    sqlite: Database, tmp_path: Path
) -> None:
    project = await create_demo_project(tmp_path / "project")
    app = WaveApp(sqlite, _settings())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SessionsScreen))
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewSessionDialog))
        await pilot.press(*str(DEMO_1))  # typed into the stories field, which has the focus
        _fill(app, project=str(project), script=str(demo_script_path()), budget="3.50")
        _dialog(app).query_one("#new-session-autonomy", Select).value = AutonomyLevel.L3
        await pilot.press("ctrl+s")

        await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        sid = screen.session_id
        assert sid in app.live  # runs in this process

        async def completed() -> bool:
            return await session_status(sqlite, sid) == "completed"

        await until(pilot, completed)

    async with sqlite.session(readonly=True) as db:
        session = await SessionRepository(db).require(sid)
    assert session.project_path == str(project.resolve())
    assert session.project_name == project.name
    assert session.budget_usd == Decimal("3.50")
    assert session.autonomy_level is AutonomyLevel.L3
    assert session.meta_data["provider"] == "replay"  # `wave resume` carries on the same way
    assert session.meta_data["script"] == str(demo_script_path().resolve())
    rows = await stories(sqlite, sid)
    assert list(rows) == ["DEMO-1"]
    assert rows["DEMO-1"].status is StoryStatus.COMPLETE
    log = await git("log", "--oneline", "main", cwd=project)
    assert "Merge wave/DEMO-1" in log


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"stories": "missing.yaml"}, "missing.yaml"),
        ({"stories": "'unclosed"}, "stories: No closing quotation"),
        ({"project": ""}, "project: name the project's git repository"),
        ({"project": "{not_git}"}, "is not a git repository"),
        ({"script": ""}, "the replay provider needs --script FILE"),
        ({"budget": "lots"}, "budget: not a number of USD: 'lots'"),
        ({"budget": "-1"}, "the session budget and token limit must be positive"),
        ({"concurrency": "two"}, "concurrency: not a whole number: 'two'"),
        ({"concurrency": "0"}, "--concurrency must be at least 1, got 0"),
    ],
    ids=[
        "missing-stories",
        "bad-quote",
        "no-project",
        "not-git",
        "no-model",
        "budget-text",
        "budget-negative",
        "concurrency-text",
        "concurrency-zero",
    ],
)
async def test_a_refused_session_says_why_in_the_dialog_and_writes_nothing(
    sqlite: Database, tmp_path: Path, fields: dict[str, str], said: str
) -> None:
    project = await create_demo_project(tmp_path / "project")
    not_git = tmp_path / "plain"
    not_git.mkdir()
    good = {"stories": str(DEMO_1), "project": str(project), "script": str(demo_script_path())}
    filled = {**good, **{k: v.format(not_git=not_git) for k, v in fields.items()}}
    app = WaveApp(sqlite, _settings())  # no ANTHROPIC_API_KEY here: offline needs a script
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SessionsScreen))
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewSessionDialog))
        _fill(app, **filled)
        await pilot.press("ctrl+s")

        await until(pilot, lambda: _result(app).has_class("-error"))
        shown = str(_result(app).render())
        assert said in shown
        assert "\n" not in shown.strip()  # one line
        assert isinstance(app.screen, NewSessionDialog)  # open, to fix the field
        assert not _dialog(app).query_one("#new-session-start").disabled
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, SessionsScreen))

    assert await _sessions(sqlite) == 0
    assert not app.live


async def test_a_read_only_console_starts_no_session(sqlite: Database) -> None:
    app = WaveApp(sqlite, _settings(), readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SessionsScreen))
        await pilot.press("n")
        await pilot.pause(0.2)
        assert isinstance(app.screen, SessionsScreen)
        app.new_session()  # from the command palette or anywhere else: refused the same way
        await pilot.pause(0.2)
        assert isinstance(app.screen, SessionsScreen)
    assert await _sessions(sqlite) == 0


@pytest.mark.parametrize("readonly", [False, True], ids=["operator", "observer"])
async def test_an_empty_sessions_screen_says_how_to_start_one(
    sqlite: Database, readonly: bool
) -> None:
    app = WaveApp(sqlite, _settings(), readonly=readonly)
    async with app.run_test(size=SIZE) as pilot:
        empty = app.screen.query_one("#sessions-empty", Static)
        await until(pilot, lambda: empty.display and "no sessions yet" in str(empty.render()))
        hint = str(empty.render())
    assert "no sessions yet" in hint
    assert "wave run" in hint
    assert ("press n" in hint) is not readonly  # an observer's console starts nothing
