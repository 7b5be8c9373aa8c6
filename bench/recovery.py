"""How fast crash recovery answers with a long history: RecoveryManager's calls against a database
that holds 100,000 checkpoints (1,000 stories x 100), on a SQLite file and on PostgreSQL.

The original system reported 0.002-0.009 s per call for up to 50 checkpoints. The same calls are
also timed, in the same run, on a database of 50 checkpoints: the two together say what the data
size costs, apart from what this machine costs per call.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import column, insert, table, text
from sqlalchemy.types import NullType

from tests.postgres import PostgresServer, find_bindir
from wave_tui.checkpoint.tables import graph_checkpoints
from wave_tui.db import Database
from wave_tui.db.models import Base
from wave_tui.domain.enums import CheckpointType, SessionStatus, StoryStatus
from wave_tui.domain.gates import Gate
from wave_tui.domain.state import Phase, WAVEState
from wave_tui.domain.story import AcceptanceCriterion
from wave_tui.recovery import RecoveryManager, RecoveryStrategy

T = TypeVar("T")


@dataclass(frozen=True)
class Layout:
    """Stories per session (the first session is the one the per-story calls use) and
    checkpoints per story."""

    sessions: tuple[int, ...]
    per_story: int

    @property
    def checkpoints(self) -> int:
        return sum(self.sessions) * self.per_story


# 1,000 stories: one huge session (the worst case for a status, which reads every story of its
# session) and one of a typical size, in the same tables.
LARGE = Layout(sessions=(990, 10), per_story=100)
# The original's scale: 50 checkpoints in all.
SMALL = Layout(sessions=(10,), per_story=5)
ORIGINAL_S = (0.002, 0.009)
RECOVERIES = 300
# A status of the 990-story session takes seconds; ten of them say enough.
STATUS_CALLS = {10: 50, 990: 10}
POINTS_CALLS = 50
CAN_RECOVER_CALLS = 100
BATCH = 5_000

SESSIONS_TABLE = Base.metadata.tables["wave_sessions"]
STORIES_TABLE = Base.metadata.tables["wave_story_executions"]
# The checkpoint table with its state column untyped, so that the state goes in as the JSON text
# built below: encoding 100,000 dicts one by one took a third of the build.
CHECKPOINTS_TABLE = table(
    "wave_checkpoints",
    *(column(c.name, NullType() if c.name == "state" else c.type)
      for c in Base.metadata.tables["wave_checkpoints"].c if c.name != "id"),
)  # fmt: skip
CRITERIA = [AcceptanceCriterion(id=f"AC-{n}", description=f"criterion {n}") for n in (1, 2, 3)]
PHASES = [Phase.INITIALIZING, Phase.PLANNING, Phase.DEVELOPMENT, Phase.DEVELOPMENT,
          Phase.TESTING, Phase.REVIEW, Phase.REVIEW, Phase.REVIEW]  # fmt: skip
AGENTS = ["pm", "pm", "dev", "dev", "qa", "cto", "cto", "cto"]
GATES = list(Gate)
PLACEHOLDERS = {"story_id": "@story@", "session_id": "@session@", "thread_id": "@thread@"}


@dataclass(frozen=True)
class Story:
    session_id: uuid.UUID
    story_id: str
    execution_id: uuid.UUID


@dataclass
class Backend:
    name: str
    large: dict[str, list[float]]
    small: dict[str, list[float]]
    size_bytes: int
    build_seconds: float


def progress(message: str) -> None:
    print(f"bench.recovery: {message}", file=sys.stderr, flush=True)


# -- the data -------------------------------------------------------------------------------


def state_at(gate: Gate) -> dict[str, Any]:
    """A story's state once it has passed `gate`, as the engine stores it (JSON of WAVEState)."""
    number = gate.number
    state = WAVEState(
        project_id="shop", domain="api", acceptance_criteria=CRITERIA, phase=PHASES[number],
        prompt="Add rate limiting to the public orders API: 100 requests a minute per key.",
        plan="1. middleware with a token bucket\n2. per-key limits\n3. tests" if number else None,
        iteration=number // 4, current_agent=AGENTS[number],
        files_created=["src/shop/ratelimit.py", "tests/test_ratelimit.py"] if number >= 2 else [],
        files_modified=["src/shop/api.py"] if number >= 2 else [],
        **PLACEHOLDERS,
    )  # fmt: skip
    gates = state.gates
    for passed in GATES[: number + 1]:
        gates = gates.record(passed, True, [f"{passed.value} ok"])
    evidence = {c.id: [f"test_{c.id.lower()}"] for c in CRITERIA} if number >= 4 else {}
    return state.model_copy(update={"gates": gates, "ac_evidence": evidence}).model_dump(
        mode="json"
    )


def step_kind(step: int, index: int, per_story: int) -> tuple[CheckpointType, Gate]:
    """What a story's `step`-th checkpoint is and the gate it has reached; varied per story, so
    that the newest checkpoints of different stories are of different types."""
    reached = GATES[min(7, step * len(GATES) // per_story)]
    if step == 0:
        return CheckpointType.STORY_START, reached
    turn = (step + index) % 12
    if turn in (0, 4, 8):
        return CheckpointType.GATE, reached
    if turn == 6:
        return CheckpointType.ERROR, reached
    if turn == 11:
        return CheckpointType.MANUAL, reached
    return CheckpointType.AGENT_HANDOFF, reached


def story_status(index: int) -> StoryStatus:
    """Mostly in progress (the crash stopped them mid-run), some blocked, some pending."""
    if index % 10 == 7:
        return StoryStatus.BLOCKED
    if index % 10 == 9:
        return StoryStatus.PENDING
    return StoryStatus.IN_PROGRESS


def graph_id(step: int, index: int) -> str:
    """A LangGraph-like checkpoint id that sorts by step within a thread."""
    return f"{step:08x}-0000-6000-8000-{index:012x}"


def checkpoint_batches(
    stories: Sequence[Story], per_story: int, start: datetime
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Domain checkpoint rows and their LangGraph checkpoint rows, BATCH at a time.

    Stories interleave step by step, as concurrent runs write them: a story's rows are scattered
    over the whole table, so only an index finds them cheaply.
    """
    templates = {gate: json.dumps(state_at(gate)) for gate in Gate}
    phases = {gate: PHASES[gate.number].value for gate in Gate}
    domain: list[dict[str, Any]] = []
    graph: list[dict[str, Any]] = []
    for step in range(per_story):
        for index, story in enumerate(stories):
            kind, reached = step_kind(step, index, per_story)
            thread = str(story.execution_id)
            values = {"story_id": story.story_id, "session_id": str(story.session_id),
                      "thread_id": thread}  # fmt: skip
            state = templates[reached]
            for key, marker in PLACEHOLDERS.items():
                state = state.replace(f'"{marker}"', json.dumps(values[key]))
            domain.append({
                "session_id": story.session_id, "story_execution_id": story.execution_id,
                "story_id": story.story_id, "checkpoint_type": kind,
                "checkpoint_name": f"step {step}: {phases[reached]}",
                "gate": reached if kind is CheckpointType.GATE else None, "state": state,
                "parent_checkpoint_id": None, "graph_thread_id": thread,
                "graph_checkpoint_id": graph_id(step, index),
                "created_at": start + timedelta(minutes=step, microseconds=index),
            })  # fmt: skip
            graph.append({
                "thread_id": thread, "checkpoint_ns": "", "checkpoint_id": graph_id(step, index),
                "parent_checkpoint_id": graph_id(step - 1, index) if step else None,
                "type": "msgpack", "checkpoint": b"\x85\xa1v\x04\xa2ts\xa0" + bytes(48),
                "metadata": {},
            })  # fmt: skip
            if len(domain) == BATCH:
                yield domain, graph
                domain, graph = [], []
    if domain:
        yield domain, graph


async def build(database: Database, layout: Layout) -> list[list[Story]]:
    """Migrate, then bulk-insert the sessions, their stories and their checkpoints."""
    await database.upgrade()
    start = datetime.now(UTC) - timedelta(days=1)
    sessions: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    stories: list[list[Story]] = []
    for count in layout.sessions:
        sid = uuid.uuid4()
        sessions.append({
            "id": sid, "project_name": f"shop-{count}", "project_path": None,
            "status": SessionStatus.IN_PROGRESS, "budget_usd": Decimal("500"),
            "token_limit": 50_000_000, "story_count": count, "concurrency": 4,
            "created_at": start, "started_at": start, "metadata": {"base_branch": "main"},
        })  # fmt: skip
        stories.append([])
        for _ in range(count):
            story = Story(sid, f"STORY-{len(rows) + 1:04d}", uuid.uuid4())
            status = story_status(len(rows))
            stories[-1].append(story)
            rows.append({
                "id": story.execution_id, "session_id": sid, "story_id": story.story_id,
                "story_title": f"story {story.story_id}", "status": status, "agent": "dev",
                "ac_total": len(CRITERIA), "ac_passed": 0, "started_at": start,
                "block_reason": "waiting for review" if status is StoryStatus.BLOCKED else None,
                "lease_owner": None, "definition": {}, "metadata": {}, "created_at": start,
            })  # fmt: skip
    async with database.engine.begin() as connection:
        await connection.execute(insert(SESSIONS_TABLE), sessions)
        await connection.execute(insert(STORIES_TABLE), rows)
    everyone = [story for group in stories for story in group]
    written = 0
    for domain, graph in checkpoint_batches(everyone, layout.per_story, start):
        async with database.engine.begin() as connection:
            await connection.execute(insert(CHECKPOINTS_TABLE), domain)
            await connection.execute(insert(graph_checkpoints), graph)
        written += len(domain)
        if written % 25_000 == 0:
            progress(f"  {written:,} checkpoints written")
    if not database.is_sqlite:
        # Autovacuum analyzes new rows soon after a load; measure that steady state.
        async with database.engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    return stories


async def size_of(database: Database) -> int:
    path = database.sqlite_path
    if path is not None:
        files = [path, path.with_name(path.name + "-wal")]
        return sum(f.stat().st_size for f in files if f.exists())
    async with database.engine.connect() as connection:
        size = await connection.scalar(text("SELECT pg_database_size(current_database())"))
    return int(size or 0)


# -- the measurements -----------------------------------------------------------------------


async def timed(
    call: Callable[[T], Awaitable[Any]], args: Sequence[T], expect: Callable[[Any], bool]
) -> list[float]:
    """Seconds per awaited call, one call per argument; a wrong answer stops the benchmark."""
    seconds: list[float] = []
    for arg in args:
        started = time.perf_counter()
        result = await call(arg)
        seconds.append(time.perf_counter() - started)
        if not expect(result):
            raise SystemExit(f"bench.recovery: unexpected answer for {arg!r}: {result!r:.300}")
    return seconds


def lists_all(stories: int) -> Callable[[dict[str, Any]], bool]:
    """A status is right when it lists every story as recoverable (all are unfinished)."""
    return lambda status: len(status["recoverable_stories"]) == stories


def spread(pool: Sequence[T], n: int) -> list[T]:
    """`n` items spread over `pool`, repeating only when the pool is smaller than `n`."""
    chosen = pool[:: max(1, len(pool) // n)]
    return [chosen[i % len(chosen)] for i in range(n)]


async def measure(
    database: Database, stories: list[list[Story]], per_story: int
) -> dict[str, list[float]]:
    """Each call timed on its own, after one warm-up call; one manager, as the app has."""
    manager = RecoveryManager(database)
    pool = stories[0]
    await manager.get_recovery_status(stories[-1][0].session_id)
    await manager.find_recovery_points(pool[-1].session_id, pool[-1].story_id)
    timings: dict[str, list[float]] = {}
    for group in stories:
        timings[f"status_{len(group)}"] = await timed(
            manager.get_recovery_status, [group[0].session_id] * STATUS_CALLS[len(group)],
            lists_all(len(group)),
        )  # fmt: skip
    timings["points"] = await timed(
        lambda s: manager.find_recovery_points(s.session_id, s.story_id),
        spread(pool, POINTS_CALLS),
        lambda points: len(points) == per_story and all(p.valid for p in points),
    )  # fmt: skip
    timings["can_recover"] = await timed(
        lambda s: manager.can_recover(s.session_id, s.story_id),
        spread(pool, CAN_RECOVER_CALLS), lambda answer: answer is True,
    )  # fmt: skip
    # A recovery takes the story's lease and requeues it: every call is a different story.
    timings["recover"] = await timed(
        lambda s: manager.recover_story(s.session_id, s.story_id,
                                        RecoveryStrategy.RESUME_FROM_LAST),
        spread(pool, min(RECOVERIES, len(pool))), lambda result: result["status"] == "resumed",
    )  # fmt: skip
    return timings


async def on_database(
    name: str, url: str, layout: Layout
) -> tuple[dict[str, list[float]], int, float]:
    database = Database(url)
    try:
        progress(f"{name}: building {sum(layout.sessions):,} stories, "
                 f"{layout.checkpoints:,} checkpoints")  # fmt: skip
        started = time.perf_counter()
        stories = await build(database, layout)
        built = time.perf_counter() - started
        progress(f"{name}: built in {built:.0f} s; measuring")
        timings = await measure(database, stories, layout.per_story)
        return timings, await size_of(database), built
    finally:
        await database.dispose()


def on_backend(name: str, url: Callable[[str], str]) -> Backend:
    large, size, built = asyncio.run(on_database(name, url("large"), LARGE))
    small, _, _ = asyncio.run(on_database(name, url("small"), SMALL))
    return Backend(name, large, small, size, built)


def measure_all() -> tuple[list[Backend], str | None]:
    """SQLite always; PostgreSQL when its binaries are here (else why it was left out)."""
    backends: list[Backend] = []
    with tempfile.TemporaryDirectory(prefix="wave-bench-") as folder:
        backends.append(on_backend("SQLite", lambda n: f"sqlite+aiosqlite:///{folder}/{n}.db"))
    bindir = find_bindir()
    if bindir is None:
        missing = "PostgreSQL binaries (initdb, pg_ctl) not found: PostgreSQL not measured"
        progress(missing)
        return backends, missing
    server = PostgresServer(bindir)
    try:
        server.start()
        for name in ("large", "small"):
            server.sql(f"CREATE DATABASE wave_bench_{name}")
        backends.append(on_backend("PostgreSQL", lambda n: server.url(f"wave_bench_{n}")))
    finally:
        server.stop()
    return backends, None


def state_kb() -> float:
    return statistics.mean(len(json.dumps(state_at(gate))) for gate in Gate) / 1000


def parse_seconds() -> float:
    """One stored state, JSON text to WAVEState: the work a status repeats for every row."""
    stored = json.dumps(state_at(Gate.GATE_7))
    runs = []
    for _ in range(200):
        started = time.perf_counter()
        WAVEState.model_validate(json.loads(stored))
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


# -- the report -----------------------------------------------------------------------------

ROWS = {  # key: what is timed; the first three are the calls compared with the original's
    "recover": "`recover_story`, resume_from_last, a different story each call",
    "status_990": "`get_recovery_status`, the 990-story session",
    "status_10": "`get_recovery_status`, a 10-story session",
    "points": f"`find_recovery_points`, one story ({LARGE.per_story} points; {SMALL.per_story} "
    "at 50)",
    "can_recover": "`can_recover`, one story",
}
COMPARED = {
    "recover": "`recover_story`",
    "status_990": "the status of the 990-story session",
    "status_10": "the status of a 10-story session",
}


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def ms(seconds: float) -> str:
    digits = 0 if seconds >= 0.1 else 1 if seconds >= 0.001 else 2
    return f"{seconds * 1000:.{digits}f} ms"


def median_ms(timings: dict[str, list[float]], key: str) -> str:
    return ms(statistics.median(timings[key])) if key in timings else "-"


def report(backends: list[Backend], missing: str | None, load: float) -> str:
    low, high = (f"{s * 1000:.0f}" for s in ORIGINAL_S)
    lines = [
        f"## Crash recovery with {LARGE.checkpoints:,} checkpoints",
        "",
        f"`RecoveryManager` on a database of {LARGE.checkpoints:,} checkpoints: "
        f"{sum(LARGE.sessions):,} stories x {LARGE.per_story}, in two sessions of "
        f"{LARGE.sessions[0]} stories (the worst case for a status, which reads every story of "
        f"its session) and {LARGE.sessions[1]}; every checkpoint holds a valid WAVEState "
        f"({state_kb():.1f} KB of JSON on average) and has its LangGraph checkpoint row; the "
        "stories' rows interleave as concurrent runs write them. Each call is timed on its own "
        '(`perf_counter` around the awaited call) after one warm-up call. "at 50": the same '
        f"calls in the same run on {SMALL.checkpoints} checkpoints ({SMALL.sessions[0]} stories x "
        f"{SMALL.per_story}), the scale of the original system's figures ({low}-{high} ms).",
        "",
        "| call | n |" + "".join(f" {b.name} median | p99 | at 50 |" for b in backends),
        "| --- | ---: |" + " ---: | ---: | ---: |" * len(backends),
    ]
    for key, label in ROWS.items():
        cells = "".join(
            f" {median_ms(b.large, key)} | {ms(p99(b.large[key]))} | {median_ms(b.small, key)} |"
            for b in backends
        )
        lines.append(f"| {label} | {len(backends[0].large[key])} |{cells}")
    lines += [
        f"| original system, up to 50 checkpoints | | {low}-{high} ms |" + " |" * (
            3 * len(backends) - 1),
        "",
        "| for scale | |",
        "| --- | ---: |",
        f"| one stored state parsed into WAVEState (JSON text to model) | {ms(parse_seconds())} |",
        f"| load average when the run started, on {os.cpu_count()} CPUs | {load:.1f} |",
        *[f"| {b.name}, {LARGE.checkpoints:,} checkpoints: database size, build time | "
          f"{b.size_bytes / 2**20:.0f} MiB, {b.build_seconds:.0f} s |" for b in backends],
        "",
    ]  # fmt: skip
    if missing:
        lines += [f"{missing}.", ""]
    return "\n".join([*lines, summary(backends)])


def summary(backends: list[Backend]) -> str:
    """The plain answer, from the figures: in the original's range at 2,000x its data or not."""
    top = ORIGINAL_S[1]
    inside: list[str] = []
    median_only: list[str] = []
    outside: list[str] = []
    for key, name in COMPARED.items():
        for b in backends:
            values = b.large[key]
            said = f"{name} on {b.name} ({ms(statistics.median(values))} median)"
            if p99(values) <= top:
                inside.append(said)
            else:
                (median_only if statistics.median(values) <= top else outside).append(said)
    parts = [
        f"At 2,000 times the original's data, within its {top * 1000:.0f} ms, p99 included: "
        f"{'; '.join(inside) or 'none'}."
    ]
    if median_only:
        parts.append(f"Median within, p99 not: {'; '.join(median_only)}.")
    if outside:
        parts.append(f"Not within: {'; '.join(outside)}.")
    for b in backends:
        growth = [
            statistics.median(b.large[k]) / statistics.median(b.small[k])
            for k in ("recover", "status_10", "can_recover")
        ]
        parts.append(
            f"On {b.name}, `recover_story`, `can_recover` and the 10-story status took "
            f"{min(growth):.1f}-{max(growth):.1f} times their median on {SMALL.checkpoints} "
            "checkpoints."
        )
    return " ".join(parts)


def run() -> str:
    load = os.getloadavg()[0]
    backends, missing = measure_all()
    return report(backends, missing, load)


if __name__ == "__main__":
    print(run())
