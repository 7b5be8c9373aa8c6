"""Two wave processes writing to one SQLite file at once: no "database is locked" escapes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from wave_tui.db import Database, EventRepository, SessionRepository, StoryExecutionRepository

WRITES_PER_PROCESS = 150

# Each unit of work reads, then writes: the pattern that deadlocks SQLite's deferred transactions.
WRITER = """
import asyncio, sys, time, uuid
from decimal import Decimal
from typing import Any
from pathlib import Path
from wave_tui.db import Database, EventRepository, SessionRepository, StoryExecutionRepository

async def main(url, session_id, story_id, go, name, writes):
    db = Database(url)
    try:
        # Connected and warm before saying so: the start line is the same for both writers.
        async with db.session(readonly=True) as s:
            await StoryExecutionRepository(s).require(uuid.UUID(story_id))
        Path(go).with_name("ready-" + name).touch()
        while not Path(go).exists():
            time.sleep(0.005)
        started = time.time()
        for n in range(writes):
            async with db.session() as s:
                story = await StoryExecutionRepository(s).require(uuid.UUID(story_id))
                await StoryExecutionRepository(s).update_metrics(
                    story.id, iteration=story.iteration + 1
                )
                await EventRepository(s).append(uuid.UUID(session_id), "tick", {"by": name, "n": n})
                await SessionRepository(s).charge(
                    uuid.UUID(session_id), tokens=10, cost_usd=Decimal("0.001")
                )
        print(started, time.time())
    finally:
        await db.dispose()

asyncio.run(main(*sys.argv[1:6], int(sys.argv[6])))
"""


async def _prepare(url: str) -> tuple[uuid.UUID, uuid.UUID]:
    database = Database(url)
    await database.upgrade()
    async with database.session() as db:
        session = await SessionRepository(db).create("shop")
        story = await StoryExecutionRepository(db).create(session.id, "S-1", "shared story")
    await database.dispose()
    return session.id, story.id


async def _outcome(url: str, session_id: uuid.UUID, story_id: uuid.UUID) -> tuple[Any, ...]:
    database = Database(url)
    async with database.session(readonly=True) as db:
        events = await EventRepository(db).tail(session_id, limit=10_000)
        charged = await SessionRepository(db).require(session_id)
        shared = await StoryExecutionRepository(db).require(story_id)
    await database.dispose()
    return events, charged, shared


def _wait_until_ready(writers: list[subprocess.Popen[str]], flags: list[Path]) -> None:
    """Both writers imported, connected and waiting: a slow start must not serialise them."""
    deadline = time.monotonic() + 120
    while not all(flag.exists() for flag in flags):
        for writer in writers:
            if writer.poll() is not None:
                raise AssertionError(f"a writer exited before starting: {writer.communicate()[1]}")
        if time.monotonic() > deadline:
            raise AssertionError("the writers did not start within 120 s")
        time.sleep(0.01)


def test_two_processes_write_the_same_sqlite_file_at_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wave.db'}"
    session_id, story_id = asyncio.run(_prepare(url))
    go = tmp_path / "go"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, str(session_id), str(story_id), str(go), name,
             str(WRITES_PER_PROCESS)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name in ("a", "b")
    ]  # fmt: skip
    _wait_until_ready(writers, [tmp_path / f"ready-{name}" for name in ("a", "b")])
    go.touch()
    outputs = [writer.communicate(timeout=300) for writer in writers]
    errors = [error for _, error in outputs]
    assert [writer.returncode for writer in writers] == [0, 0], errors
    assert not any("database is locked" in error for error in errors)

    events, charged, shared = asyncio.run(_outcome(url, session_id, story_id))
    total = 2 * WRITES_PER_PROCESS
    assert len(events) == total
    assert {e.payload["by"] for e in events} == {"a", "b"}
    # Every read-modify-write landed: none of either process's increments was lost.
    assert shared.iteration == total
    assert charged.tokens_used == 10 * total
    assert charged.actual_cost_usd == Decimal("0.001") * total
    # The two processes really contended: each was writing while the other was. (Counting how
    # often the commits alternate would not show it: SQLite's busy handler is not fair, a waiter
    # sleeps while the holder takes the lock again, so one writer may commit all of its work
    # first while the other is blocked the whole time.)
    (a_start, a_end), (b_start, b_end) = (map(float, out.split()) for out, _ in outputs)
    assert max(a_start, b_start) < min(a_end, b_end)
