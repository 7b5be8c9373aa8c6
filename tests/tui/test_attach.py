"""The console attached to a session another process runs: `wave demo --headless` in its own
process, the app here tails the database, and its keys reach the running process."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.tui.console_helpers import SIZE, cell, stories, until
from wave_tui.config import Settings
from wave_tui.db import CommandRepository, Database, EscalationRepository, SessionRepository
from wave_tui.domain.enums import EscalationStatus, StoryStatus
from wave_tui.tui.app import WaveApp
from wave_tui.tui.screens.dashboard import DashboardScreen
from wave_tui.tui.screens.escalation import EscalationDialog

pytestmark = pytest.mark.timeout(480)


async def test_an_attached_console_shows_the_run_of_another_process_and_steers_it(
    sqlite: Database, tmp_path: Path
) -> None:
    db_path = tmp_path / "wave.db"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "wave_tui", "--db", str(db_path), "demo",
        "--project", str(tmp_path / "demo"), "--headless", "--on-escalation", "wait",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        while True:
            async with sqlite.session(readonly=True) as db:
                found = await SessionRepository(db).list()
            if found:
                break
            await asyncio.sleep(0.1)
        sid = found[0].id
        app = WaveApp(sqlite, Settings(operator="ops-bob"), session_id=sid)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
            await until(pilot, lambda: cell(app, "DEMO-1", "status") == "in progress")

            await pilot.press("g", "p")  # p reaches the process that runs the story

            async def held_there() -> bool:
                async with sqlite.session(readonly=True) as db:
                    commands = await CommandRepository(db).pending(sid, or_after=0)
                row = (await stories(sqlite, sid))["DEMO-1"]
                return bool(
                    commands
                    and commands[0].handled_by
                    and (row.block_reason or "").startswith("held")
                )

            await until(pilot, held_there)
            async with sqlite.session(readonly=True) as db:
                (hold,) = await CommandRepository(db).pending(sid, or_after=0)
            assert hold.issued_by == "ops-bob"
            assert f":{process.pid}:" in (hold.handled_by or "")  # applied by the other process
            await until(pilot, lambda: cell(app, "DEMO-1", "status") == "held")

            await pilot.press("r")
            await until(pilot, lambda: cell(app, "DEMO-1", "status") != "held")

            # DEMO-3's escalation, decided here, resumes the story there.
            def escalated() -> bool:
                screen = app.screen
                return isinstance(screen, DashboardScreen) and bool(
                    screen.board and screen.board.escalations
                )

            await until(pilot, escalated, within=240)
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, EscalationDialog))
            await pilot.press("y")
            assert await asyncio.wait_for(process.wait(), 240) == 0
            await until(pilot, lambda: cell(app, "DEMO-4", "status") == "complete")
            shown = {f"DEMO-{n}": cell(app, f"DEMO-{n}", "status") for n in range(1, 5)}
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    rows = await stories(sqlite, sid)
    assert {k: v.status for k, v in rows.items()} == {
        f"DEMO-{n}": StoryStatus.COMPLETE for n in range(1, 5)
    }
    assert shown == {f"DEMO-{n}": "complete" for n in range(1, 5)}
    async with sqlite.session(readonly=True) as db:
        (escalation,) = await EscalationRepository(db).list_all(sid)
    assert (escalation.status, escalation.decided_by) == (EscalationStatus.APPROVED, "ops-bob")
