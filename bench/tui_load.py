"""The busy session the console benchmark watches: 100 stories whose events a writer commits at a
steady rate, in the console's own event loop or as a process of its own."""

from __future__ import annotations

import asyncio
import json
import random
import sys
import threading
import uuid
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import update

from wave_tui.db import Database, SessionRepository, StoryExecutionRepository, WaveEvent
from wave_tui.db.models import WaveStoryExecution
from wave_tui.domain.enums import AutonomyLevel, StoryStatus
from wave_tui.domain.gates import Gate
from wave_tui.domain.redaction import redact
from wave_tui.engine.events import EventBus, Recorder

# The writer commits every TICK_S the events due by then, at most MAX_BATCH in one transaction,
# written CHUNK at a time.
TICK_S, MAX_BATCH, CHUNK = 0.05, 250, 50
STATUS_CHANGES_S = 4.0  # a second; each one makes the dashboard read the story rows again
KINDS, WEIGHTS = ("step", "tool_call", "agent_turn"), (0.4, 0.35, 0.25)
NODES = (("pm", "planning"), ("dev", "development"), ("qa", "testing"), ("cto", "review"))
ROOT = Path(__file__).resolve().parent.parent

Stories = list[tuple[str, uuid.UUID]]  # story id and story execution id, in table order


async def busy_session(database: Database, stories: int) -> tuple[uuid.UUID, Stories]:
    """A running session with every story in progress: rows only, nothing runs them."""
    async with database.session() as db:
        sessions = SessionRepository(db)
        session = await sessions.create(
            "bench-console", budget_usd=Decimal(1_000), token_limit=100_000_000,
            autonomy_level=AutonomyLevel.L3, concurrency=stories, story_count=stories,
        )  # fmt: skip
        await sessions.start_session(session.id)
        repository = StoryExecutionRepository(db)
        executions: Stories = []
        for number in range(1, stories + 1):
            title = f"Story {number} of a busy session"
            execution = await repository.create(session.id, f"S-{number:03d}", title, ac_total=3)
            await repository.start_execution(execution.id)
            executions.append((execution.story_id, execution.id))
    return session.id, executions


class EventWriter:
    """Records a busy session's events at `rate` a second, spread over its stories: steps (each
    also updates its story row, as a real step does), tool calls, agent turns, and a few status
    changes a second through the repository (in progress → blocked → pending → in progress).

    Every TICK_S one transaction writes the events due, a chunk at a time. One at a time
    (`Recorder.record` flushes each event: a round trip to the SQLite thread apiece), a writer
    in the console's event loop waits a loop turn per round trip behind the console's frames:
    it reached about 70 of 250 events/s."""

    def __init__(self, bus: EventBus, session_id: uuid.UUID, stories: Stories, rate: float):
        self.bus, self.session_id, self.stories, self.rate = bus, session_id, stories, rate
        self.rng = random.Random(1)
        self.steps = dict.fromkeys((s for s, _ in stories), 0)
        self.tokens = dict.fromkeys((s for s, _ in stories), 0)
        self.status = dict.fromkeys((s for s, _ in stories), StoryStatus.IN_PROGRESS)
        self.written, self.elapsed = 0, 0.0

    async def run(self, stop: Callable[[], bool]) -> None:
        loop = asyncio.get_running_loop()
        started = next_change = loop.time()
        while not stop():
            now = loop.time()
            if (due := min(MAX_BATCH, int((now - started) * self.rate) - self.written)) > 0:
                async with self.bus.transaction() as recorder:
                    await self._write(recorder, due)
                    if now >= next_change:
                        next_change = now + 1 / STATUS_CHANGES_S
                        await self._status_change(recorder)
            await asyncio.sleep(TICK_S)
        self.elapsed = loop.time() - started

    async def _write(self, recorder: Recorder, count: int) -> None:
        """`count` events in chunks of CHUNK, each chunk's statements run once for all of it; the
        loop gets a turn between chunks, as between a runner's steps."""
        for chunk in range(0, count, CHUNK):
            rows: list[WaveEvent] = []
            story_rows: dict[uuid.UUID, dict[str, Any]] = {}
            for _ in range(min(CHUNK, count - chunk)):
                story, execution = self.rng.choice(self.stories)
                kind = self.rng.choices(KINDS, WEIGHTS)[0]
                node, phase = NODES[(self.steps[story] // 4) % len(NODES)]
                if kind == "step":
                    payload, story_rows[execution] = self._step(story, execution, node, phase)
                else:
                    payload = self._activity(kind, story, node)
                rows.append(WaveEvent(session_id=self.session_id, story_execution_id=execution,
                                      kind=kind, agent=node, payload=redact(payload)))  # fmt: skip
            if story_rows:  # one executemany: the ORM's bulk UPDATE by primary key
                await recorder.db.execute(update(WaveStoryExecution), list(story_rows.values()))
            recorder.db.add_all(rows)
            await recorder.db.flush()
            recorder.pending.extend(rows)  # published when the transaction commits
            self.written += len(rows)

    def _step(
        self, story: str, execution: uuid.UUID, node: str, phase: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A step's event (shaped as engine/steps.py writes it) and its story row's figures."""
        step = self.steps[story] = self.steps[story] + 1
        tokens = self.tokens[story] = self.tokens[story] + self.rng.randrange(200, 2_000)
        cost, passed, iteration = Decimal(tokens) / 100_000, min(step // 4, 7), 1 + step // 16
        row = {"id": execution, "token_count": tokens, "cost_usd": cost, "iteration": iteration,
               "current_gate": list(Gate)[passed], "phase": phase, "agent": node}  # fmt: skip
        return {"story": story, "node": node, "phase": phase, "gate": None, "passed": None,
                "evidence": [], "tokens": tokens, "cost_usd": str(cost), "checkpoint": None,
                "gates": {g.value: True for g in list(Gate)[:passed]},
                "safety": round(self.rng.uniform(0.6, 1.0), 2), "iteration": iteration,
                "recycles": 0, "ac_passed": min(3, step // 10), "ac_total": 3}, row  # fmt: skip

    def _activity(self, kind: str, story: str, node: str) -> dict[str, Any]:
        if kind == "tool_call":
            path = f"src/module_{self.rng.randrange(40)}.py"
            return {"story": story, "tool": "read_file", "arguments": {"path": path},
                    "decision": "allow", "score": round(self.rng.uniform(0.8, 1.0), 2),
                    "layer": "rules", "reasoning": "inside the worktree",
                    "violations": []}  # fmt: skip
        return {"story": story, "conversation": f"{story}/{node}/1", "turn": self.steps[story],
                "journaled": False, "text": "Reading the module before changing it.",
                "tool_calls": ["read_file"], "tokens": 900, "cost_usd": "0.004"}  # fmt: skip

    async def _status_change(self, recorder: Recorder) -> None:
        story, execution = self.rng.choice(self.stories)
        repository = StoryExecutionRepository(recorder.db)
        status = self.status[story]
        if status is StoryStatus.IN_PROGRESS:
            await repository.block(execution, "waiting for a dependency")
            kind, self.status[story] = "story_blocked", StoryStatus.BLOCKED
        elif status is StoryStatus.BLOCKED:
            await repository.requeue(execution)
            kind, self.status[story] = "story_requeued", StoryStatus.PENDING
        else:
            await repository.start_execution(execution)
            kind, self.status[story] = "story_started", StoryStatus.IN_PROGRESS
        await recorder.record(self.session_id, kind, {"story": story}, story_execution_id=execution)
        self.written += 1


async def _write_until(url: str, session_id: uuid.UUID, rate: float, stop: threading.Event) -> str:
    """The writer as a process of its own runs it: until `stop`, then what it wrote, as JSON."""
    database = Database(url)
    try:
        async with database.session(readonly=True) as db:
            rows = await StoryExecutionRepository(db).list_by_session(session_id)
        stories = [(row.story_id, row.id) for row in rows]
        writer = EventWriter(EventBus(database), session_id, stories, rate)
        await writer.run(stop.is_set)
        return json.dumps({"written": writer.written, "seconds": writer.elapsed})
    finally:
        await database.dispose()


@asynccontextmanager
async def writing(
    mode: str, bus: EventBus, url: str, session_id: uuid.UUID, stories: Stories, rate: float
) -> AsyncIterator[list[float]]:
    """The writer for the length of the block; then [events written, its seconds] in the list.
    local: a task in the console's event loop, on its bus (as `wave run` inside the console);
    attached: `python -m bench.tui_load ...`, another process, until its stdin closes."""
    result: list[float] = []
    if mode == "local":
        stop = asyncio.Event()
        writer = EventWriter(bus, session_id, stories, rate)
        task = asyncio.create_task(writer.run(stop.is_set))
        try:
            yield result
        finally:
            stop.set()
            await task
        result += [writer.written, writer.elapsed]
        return
    argv = ["-m", "bench.tui_load", url, str(session_id), str(rate)]
    process = await asyncio.create_subprocess_exec(
        sys.executable, *argv, stdin=PIPE, stdout=PIPE, cwd=ROOT
    )
    try:
        yield result
    finally:
        out, _ = await process.communicate(b"")
    if process.returncode:
        raise RuntimeError(f"the writer process failed (exit code {process.returncode})")
    written = json.loads(out)
    result += [written["written"], written["seconds"]]


def main(argv: list[str]) -> int:
    """`python -m bench.tui_load URL SESSION RATE`: write until stdin closes, then print what
    was written as JSON."""
    url, session, rate = argv
    stop = threading.Event()

    def until_stdin_closes() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=until_stdin_closes, daemon=True).start()
    print(asyncio.run(_write_until(url, uuid.UUID(session), float(rate), stop)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
