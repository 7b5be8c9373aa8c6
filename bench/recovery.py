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
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bench.recovery_data import Layout, Story, build, progress, size_of, state_at
from tests.postgres import PostgresServer, find_bindir
from wave_tui.db import Database
from wave_tui.domain.gates import Gate
from wave_tui.domain.state import WAVEState
from wave_tui.recovery import RecoveryManager, RecoveryStrategy

T = TypeVar("T")

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


@dataclass
class Backend:
    name: str
    large: dict[str, list[float]]
    small: dict[str, list[float]]
    size_bytes: int
    build_seconds: float


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
