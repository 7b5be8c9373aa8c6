"""How fast a running session answers an operator's hold: from the command row being written to
the runner having handled it, and what the operator waits in all, on a SQLite file.

A real session runs (graph, git, pytest, the replay provider): S-1 waits for its merge approval,
so the runner stays live, and S-2 (which depends on S-1) is held and let go in turn. Commands come
from a second Database object (another terminal's connection, in this process) and from `wave
hold` / `wave unhold` started as a second process.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

from tests.engine_helpers import cto_turn, dev_turns, make_project, pm_turn, write_story
from wave_tui.config import load_settings
from wave_tui.db import CommandRepository, Database, EscalationRepository
from wave_tui.domain.enums import AutonomyLevel
from wave_tui.domain.story import load_stories
from wave_tui.engine.control import issue_command
from wave_tui.engine.events import EventBus
from wave_tui.engine.runner import SessionRunner
from wave_tui.engine.sessions import create_session
from wave_tui.llm import ReplayProvider, ReplayScript

COMMANDS = 20
PROCESS_COMMANDS = 10
RUNNER_POLL_S = 0.2  # SessionRunner's default
ISSUER_POLL_S = 0.1  # issue_command's default
VERBS = ("hold", "unhold")  # S-2 held, then let go: the runner has something to do each time


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _waiting_session(directory: Path, database: Database) -> tuple[uuid.UUID, SessionRunner]:
    """S-1 has run to its merge approval and waits there, lease held; S-2 waits for S-1."""
    bus = EventBus(database)
    project = make_project(directory / "project")
    stories = load_stories(
        [write_story(directory / "S-1.yaml"), write_story(directory / "S-2.yaml", "S-2",
                                                          depends_on=["S-1"])]
    )  # fmt: skip
    session_id = await create_session(
        bus, stories, project, budget_usd=Decimal("5"), token_limit=100_000,
        story_budget_usd=Decimal("2"), autonomy=AutonomyLevel.L2,
    )  # fmt: skip
    turns = {"S-1/pm/1": pm_turn(), "S-1/dev/1": dev_turns("x * 2"), "S-1/cto/1": cto_turn()}
    script = ReplayScript.from_data({"version": 1, "conversations": turns})
    runner = SessionRunner(
        bus, session_id, provider=ReplayProvider(script),
        settings=load_settings(data_dir=directory / "data"), command_poll_s=RUNNER_POLL_S,
    )  # fmt: skip
    return session_id, runner


async def _until_waiting(database: Database, session_id: uuid.UUID) -> None:
    while True:
        async with database.session(readonly=True) as db:
            if await EscalationRepository(db).list_pending(session_id):
                return
        await asyncio.sleep(0.05)


async def _newest_latency_ms(database: Database, session_id: uuid.UUID) -> float:
    async with database.session(readonly=True) as db:
        (command,) = await CommandRepository(db).list_recent(session_id, limit=1)
    assert command.handled_at is not None, f"the runner did not handle the {command.verb}"
    return (command.handled_at - command.issued_at).total_seconds() * 1000


def _wave_command(path: Path, session_id: uuid.UUID, verb: str) -> float:
    command = [sys.executable, "-m", "wave_tui", "--db", str(path), verb, str(session_id),
               "--story", "S-2"]  # fmt: skip
    started = time.perf_counter()
    environment = {**os.environ, "WAVE_OPERATOR": "bench"}
    subprocess.run(command, check=True, capture_output=True, env=environment)
    return (time.perf_counter() - started) * 1000


async def _measure(directory: Path) -> dict[str, tuple[list[float], list[float]]]:
    path = directory / "wave.db"
    database = Database(f"sqlite+aiosqlite:///{path}")
    await database.upgrade()
    other = Database(f"sqlite+aiosqlite:///{path}")
    try:
        session_id, runner = await _waiting_session(directory, database)
        run = asyncio.create_task(runner.start())
        await _until_waiting(database, session_id)
        terminal = EventBus(other)
        results: dict[str, tuple[list[float], list[float]]] = {
            "connection": ([], []),
            "process": ([], []),
        }
        for n in range(COMMANDS):
            started = time.perf_counter()
            verb = VERBS[n % 2]
            await issue_command(terminal, session_id, verb, issued_by="bench", story_id="S-2")
            results["connection"][1].append((time.perf_counter() - started) * 1000)
            results["connection"][0].append(await _newest_latency_ms(database, session_id))
        for n in range(PROCESS_COMMANDS):
            took = await asyncio.to_thread(_wave_command, path, session_id, VERBS[n % 2])
            results["process"][1].append(took)
            results["process"][0].append(await _newest_latency_ms(database, session_id))
        await issue_command(
            terminal, session_id, "kill", issued_by="bench", story_id="S-1", reason="done"
        )
        await run
        return results
    finally:
        await other.dispose()
        await database.dispose()


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="wave-bench-control-") as directory:
        results = asyncio.run(_measure(Path(directory)))
    rows = []
    names = {
        "connection": f"a second Database object ({COMMANDS} holds and unholds)",
        "process": f"`wave hold` / `unhold` as a second process ({PROCESS_COMMANDS} of them)",
    }
    for key, (handled, wall) in results.items():
        rows.append(
            f"| {names[key]} | {statistics.median(handled):.0f} ms | "
            f"{_percentile(handled, 0.99):.0f} ms | {statistics.median(wall):.0f} ms | "
            f"{_percentile(wall, 0.99):.0f} ms |"
        )
    return "\n".join([
        "## Run control",
        "",
        "A hold sent to a running session on a SQLite file: *handled* is the runner's handled_at",
        "minus the command's issued_at; *wall* is what the operator waits for the answer. The",
        f"runner polls every {RUNNER_POLL_S:g} s, the issuer every {ISSUER_POLL_S:g} s.",
        "",
        "| issued from | handled, median | handled, p99 | wall, median | wall, p99 |",
        "| --- | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        "The handled time is about half the runner's poll interval plus one transaction; a",
        "second process adds starting Python and loading the CLI to the wall time.",
    ])  # fmt: skip


if __name__ == "__main__":
    print(run())
