"""The console driven by its keys on the real demo: a real database file, the demo's git
project, its replay script and the real SessionRunner in the app's own event loop."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from tests.tui.console_helpers import (
    SIZE,
    cell,
    demo_app,
    demo_session,
    session_status,
    stories,
    until,
)
from wave_tui.config import Settings
from wave_tui.db import (
    CheckpointRepository,
    CommandRepository,
    Database,
    EscalationRepository,
    EventRepository,
)
from wave_tui.db.models import WaveStoryExecution
from wave_tui.domain.enums import EscalationStatus, StoryStatus
from wave_tui.domain.gates import Gate
from wave_tui.engine.board import Board
from wave_tui.tui.app import WaveApp
from wave_tui.tui.screens.dashboard import DashboardScreen
from wave_tui.tui.screens.escalation import EscalationDialog
from wave_tui.tui.screens.help import HelpScreen
from wave_tui.tui.screens.quit import QuitDialog
from wave_tui.tui.screens.recovery import RecoveryDialog
from wave_tui.tui.widgets.stories import StoriesTable

pytestmark = pytest.mark.timeout(480)


def _settings() -> Settings:
    return Settings(operator="ops-alice")


def _dashboard(app: WaveApp) -> DashboardScreen:
    screen = app.screen
    assert isinstance(screen, DashboardScreen), screen
    return screen


def _board(app: WaveApp) -> Board:
    board = _dashboard(app).board
    assert board is not None
    return board


def _rows(app: WaveApp) -> int:
    return app.screen.query_one("#stories", StoriesTable).row_count


async def test_the_whole_demo_is_driven_to_completion_from_the_keyboard(
    sqlite: Database, tmp_path: Path
) -> None:
    settings = _settings()
    runner = await demo_session(sqlite, settings, tmp_path)
    sid = runner.session_id
    app = demo_app(sqlite, settings, runner)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.flushes)
        # p holds the selected story (DEMO-1, the first row): the database and the table say so.
        await pilot.press("g", "p")
        rows: dict[str, WaveStoryExecution] = {}

        async def held() -> bool:
            rows.update(await stories(sqlite, sid))
            return (rows["DEMO-1"].block_reason or "").startswith("held")

        await until(pilot, held)
        await until(pilot, lambda: cell(app, "DEMO-1", "status") == "held")
        # r resumes it.
        await pilot.press("r")

        async def demo2_running() -> bool:
            rows.update(await stories(sqlite, sid))
            return rows["DEMO-2"].status is StoryStatus.IN_PROGRESS

        await until(pilot, demo2_running)
        # K + a reason kills DEMO-2 ...
        await pilot.press("j", "K")
        await pilot.press(*"wrong approach", "enter")

        async def demo2_cancelled() -> bool:
            rows.update(await stories(sqlite, sid))
            return rows["DEMO-2"].status is StoryStatus.CANCELLED

        await until(pilot, demo2_cancelled)
        await until(pilot, lambda: cell(app, "DEMO-2", "status") == "cancelled")
        # ... and R restarts it: the recovery after a kill.
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, RecoveryDialog))
        await pilot.click("#recovery-choice-restart")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen.query_one("#recovery-result").has_class("-success"))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen))

        # While DEMO-3 waits: `/` filters the table; esc clears the filter.
        await pilot.press("slash", *"DEMO-3", "enter")
        await until(pilot, lambda: _rows(app) == 1)
        assert cell(app, "DEMO-3", "id") == "DEMO-3"
        await pilot.press("escape")
        await until(pilot, lambda: _rows(app) == 4)
        # `?` shows the keys in sections.
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen))

        # a + y approves DEMO-3's escalation (`rm -rf build`): the story carries on.
        await until(pilot, lambda: bool(_board(app).escalations))
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, EscalationDialog))
        await pilot.press("y")

        async def finished() -> bool:
            return await session_status(sqlite, sid) in ("completed", "failed")

        await until(pilot, finished, within=300)
        await until(pilot, lambda: cell(app, "DEMO-4", "status") == "complete")

    final = await stories(sqlite, sid)
    assert {k: v.status for k, v in final.items()} == {
        f"DEMO-{n}": StoryStatus.COMPLETE for n in range(1, 5)
    }
    assert await session_status(sqlite, sid) == "completed"
    async with sqlite.session(readonly=True) as db:
        (escalation,) = await EscalationRepository(db).list_all(sid)
        commands = await CommandRepository(db).pending(sid, or_after=0)
        events = await EventRepository(db).tail(sid, limit=5_000)
    assert (escalation.status, escalation.decided_by) == (EscalationStatus.APPROVED, "ops-alice")
    issued = [(c.verb, c.story_id, c.issued_by, c.reason) for c in commands]
    assert issued[:3] == [
        ("hold", "DEMO-1", "ops-alice", "requested by ops-alice"),
        ("unhold", "DEMO-1", "ops-alice", None),
        ("kill", "DEMO-2", "ops-alice", "wrong approach"),
    ]
    recovered = [e.payload for e in events if e.kind == "story_recovered"]
    assert [(p["story"], p["strategy"]) for p in recovered] == [("DEMO-2", "restart")]
    approved = [e.payload for e in events if e.kind == "tool_call_approved"]
    assert [(p["story"], p["by"]) for p in approved] == [("DEMO-3", "ops-alice")]


async def test_a_held_story_resumes_from_a_picked_gate_checkpoint_and_quitting_holds_the_rest(
    sqlite: Database, tmp_path: Path
) -> None:
    settings = _settings()
    runner = await demo_session(sqlite, settings, tmp_path)
    sid = runner.session_id
    app = demo_app(sqlite, settings, runner)
    gate_1: list[int] = []

    async def planned() -> bool:
        async with sqlite.session(readonly=True) as db:
            points = await CheckpointRepository(db).list_by_gate(sid, "DEMO-1", Gate.GATE_1)
        gate_1[:] = [p.id for p in points]
        return bool(gate_1)

    async def held() -> bool:
        return ((await stories(sqlite, sid))["DEMO-1"].block_reason or "").startswith("held")

    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.flushes)
        await until(pilot, planned)
        await pilot.press("g", "p")
        await until(pilot, held)
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, RecoveryDialog))
        table = app.screen.query_one("#recovery-checkpoints", DataTable)
        table.focus()
        table.move_cursor(row=table.get_row_index(str(gate_1[0])))
        await pilot.press("enter")  # enter on a row picks that checkpoint
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen.query_one("#recovery-result").has_class("-success"))
        await pilot.press("escape")

        async def demo1_done() -> bool:
            return (await stories(sqlite, sid))["DEMO-1"].status is StoryStatus.COMPLETE

        await until(pilot, demo1_done)

        async def another_running() -> bool:
            return any(
                s.status is StoryStatus.IN_PROGRESS and s.story_id != "DEMO-1"
                for s in (await stories(sqlite, sid)).values()
            )

        await until(pilot, another_running)
        running = [s.story_id for s in (await stories(sqlite, sid)).values()
                   if s.status is StoryStatus.IN_PROGRESS]  # fmt: skip
        # q with a story running asks first; "Hold and quit" stops it at a step boundary.
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitDialog))
        await pilot.click("#quit-hold")
        await until(pilot, lambda: not app.is_running, within=120)

    async with sqlite.session(readonly=True) as db:
        events = await EventRepository(db).tail(sid, limit=5_000)
    (recovered,) = [e.payload for e in events if e.kind == "story_recovered"]
    assert (recovered["story"], recovered["checkpoint"]) == ("DEMO-1", gate_1[0])
    left = await stories(sqlite, sid)
    assert running
    for story in running:  # held with its checkpoints, its lease released for `wave resume`
        assert left[story].status is StoryStatus.BLOCKED
        assert left[story].block_reason == "held: console closed by ops-alice"
        assert left[story].lease_owner is None


async def test_a_readonly_console_turns_every_mutating_key_off(
    sqlite: Database, tmp_path: Path
) -> None:
    settings = _settings()
    runner = await demo_session(sqlite, settings, tmp_path)  # created, not run
    sid = runner.session_id
    app = WaveApp(sqlite, settings, session_id=sid, readonly=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.flushes)
        shown = app.screen.active_bindings.values()
        footer = " ".join(b.binding.description for b in shown if b.binding.show and b.enabled)
        for key in ("p", "r", "K", "X", "R"):
            await pilot.press(key)
            await pilot.pause(0.2)
            assert isinstance(app.screen, DashboardScreen), key  # no dialog opened
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_text = " ".join(str(s.render()) for s in app.screen.query(".help-description"))
    assert "Hold" not in footer
    assert "Kill" not in footer
    assert "Filter" in footer
    assert "Hold (off: read-only)" in help_text
    async with sqlite.session(readonly=True) as db:
        assert await CommandRepository(db).pending(sid, or_after=0) == []
    assert {s.status for s in (await stories(sqlite, sid)).values()} == {StoryStatus.PENDING}
