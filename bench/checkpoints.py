"""The checkpoint store against LangGraph's own AsyncSqliteSaver on the standard workload, side
by side in one run: per-step time, size on disk, aget_tuple, alist, aput_writes."""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from sqlalchemy import text

from bench.checkpoint_workload import config, invoke_many
from tests.postgres import PostgresServer, find_bindir
from wave_tui.checkpoint import WAVECheckpointSaver
from wave_tui.config import sqlite_url

# The workload: 100 passes of 10 nodes on one thread; the same on 50 threads at once
# (fewer passes each there: 50 x 100 passes would have AsyncSqliteSaver write ~6 GB).
SCALE = float(os.environ.get("WAVE_BENCH_SCALE", "1"))
PASSES = max(2, round(100 * SCALE))
THREADS = max(2, round(50 * SCALE))
CONCURRENT_PASSES = max(2, round(20 * SCALE))
GET_CALLS, LIST_RUNS, PUT_WRITES_CALLS = 200, 5, 500


@dataclass
class Figures:
    name: str
    checkpoints: int = 0
    step_median: float = 0.0
    step_p99: float = 0.0
    size: int = 0
    concurrent_median: float = 0.0
    concurrent_p99: float = 0.0
    concurrent_size: int = 0
    concurrent_wall: float = 0.0
    get_latest: float = 0.0
    list_all: float = 0.0
    put_writes: float = 0.0
    final: dict[str, Any] = field(default_factory=dict)


Opener = Callable[[str], Any]  # name -> async context manager yielding (saver, size())


def progress(message: str) -> None:
    print(f"[checkpoints] {message}", flush=True)


@asynccontextmanager
async def ours_sqlite(folder: Path, name: str) -> AsyncIterator[tuple[Any, Callable[[], Any]]]:
    path = folder / f"{name}.db"
    async with WAVECheckpointSaver.from_conn_string(sqlite_url(path)) as saver:

        async def size() -> int:
            return _file_size(path)

        yield saver, size


@asynccontextmanager
async def theirs(folder: Path, name: str) -> AsyncIterator[tuple[Any, Callable[[], Any]]]:
    path = folder / f"{name}.db"
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:

        async def size() -> int:
            return _file_size(path)

        yield saver, size


def ours_postgres(server: PostgresServer) -> Callable[[Path, str], Any]:
    @asynccontextmanager
    async def opener(_folder: Path, name: str) -> AsyncIterator[tuple[Any, Callable[[], Any]]]:
        server.sql(f"CREATE DATABASE bench_{name}")
        async with WAVECheckpointSaver.from_conn_string(server.url(f"bench_{name}")) as saver:

            async def size() -> int:
                async with saver.database.engine.connect() as connection:
                    value = await connection.scalar(
                        text("SELECT pg_database_size(current_database())")
                    )
                return int(value or 0)

            yield saver, size

    return opener


def _file_size(path: Path) -> int:
    files = [path, path.with_name(path.name + "-wal")]
    return sum(file.stat().st_size for file in files if file.exists())


async def measure(
    name: str, opener: Callable[[Path, str], Any], folder: Path, durability: str | None
) -> Figures:
    figures = Figures(name)
    tag = name.split()[0].lower() + ("_default" if durability is None else "")
    progress(f"{name}: {PASSES} passes on one thread")
    async with opener(folder, f"{tag}_one") as (saver, size):
        run = await invoke_many(saver, ["solo"], PASSES, durability)
        figures.final = run.final
        figures.step_median, figures.step_p99 = _median_p99(run.steps)
        figures.size = await size()
        figures.checkpoints = len([item async for item in saver.alist(config("solo"))])
        progress(f"{name}: reads")
        figures.get_latest = await _median(GET_CALLS, lambda: saver.aget_tuple(config("solo")))
        figures.list_all = await _median(LIST_RUNS, lambda: _consume(saver))
        latest = await saver.aget_tuple(config("solo"))
        counter = iter(range(10**9))
        figures.put_writes = await _median(
            PUT_WRITES_CALLS,
            lambda: saver.aput_writes(
                latest.config,
                [("messages", [{"note": "x" * 120}]), ("step", 1)],
                f"task-{next(counter)}",
            ),
        )
    progress(f"{name}: {THREADS} threads x {CONCURRENT_PASSES} passes at once")
    async with opener(folder, f"{tag}_many") as (saver, size):
        threads = [f"thread-{n}" for n in range(THREADS)]
        run = await invoke_many(saver, threads, CONCURRENT_PASSES, durability)
        figures.concurrent_median, figures.concurrent_p99 = _median_p99(run.steps)
        figures.concurrent_size = await size()
        figures.concurrent_wall = run.wall_s
    return figures


async def _consume(saver: BaseCheckpointSaver[Any]) -> None:
    async for _ in saver.alist(config("solo")):
        pass


async def _median(times: int, call: Callable[[], Awaitable[Any]]) -> float:
    samples = []
    for _ in range(times):
        gc.collect(0)
        began = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def _median_p99(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def measure_all(folder: Path, server: PostgresServer | None) -> list[Figures]:
    results = [
        await measure("AsyncSqliteSaver (default durability)", theirs, folder, None),
        await measure("AsyncSqliteSaver sync", theirs, folder, "sync"),
        await measure("ours SQLite sync", ours_sqlite, folder, "sync"),
        await measure("ours SQLite (default durability)", ours_sqlite, folder, None),
    ]
    if server is not None:
        postgres = await measure("ours PostgreSQL sync", ours_postgres(server), folder, "sync")
        results.insert(3, postgres)
    finals = {(f["step"], len(f["messages"]), f["code"]) for f in (r.final for r in results)}
    if len(finals) != 1 or len({r.checkpoints for r in results}) != 1:
        raise RuntimeError("the savers did not end with the same state and checkpoint count")
    return results


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def table(results: list[Figures]) -> str:
    default, sync, ours = results[0], results[1], results[2]
    rows: list[tuple[str, Callable[[Figures], str], str, str, bool | None]] = [
        (
            f"per step, 1 thread, median ({PASSES} passes)",
            lambda f: ms(f.step_median),
            _x(sync.step_median, ours.step_median) + " (both sync)",
            "no worse (both sync)",
            ours.step_median <= sync.step_median,
        ),
        ("per step, 1 thread, p99", lambda f: ms(f.step_p99), "", "", None),
        (
            f"size after the {ours.checkpoints:,}-checkpoint run",
            lambda f: mb(f.size),
            f"1/{sync.size / ours.size:.0f} of sync, 1/{default.size / ours.size:.0f} of default",
            "<= 1/5",
            ours.size * 5 <= min(sync.size, default.size),
        ),
        (
            f"alist of those {ours.checkpoints:,} checkpoints",
            lambda f: ms(f.list_all),
            f"{min(sync.list_all, default.list_all) / ours.list_all:.1f}x faster",
            ">= 5x faster",
            ours.list_all * 5 <= min(sync.list_all, default.list_all),
        ),
        (
            "aget_tuple, latest",
            lambda f: ms(f.get_latest),
            _x(sync.get_latest, ours.get_latest),
            "",
            None,
        ),
        (
            "aput_writes, 2 writes",
            lambda f: ms(f.put_writes),
            _x(sync.put_writes, ours.put_writes),
            "",
            None,
        ),
        (
            f"per step, {THREADS} threads at once, median",
            lambda f: ms(f.concurrent_median),
            _x(sync.concurrent_median, ours.concurrent_median),
            "",
            None,
        ),
        (f"per step, {THREADS} threads, p99", lambda f: ms(f.concurrent_p99), "", "", None),
        (f"{THREADS} threads: wall time", lambda f: ms(f.concurrent_wall), "", "", None),
        (f"{THREADS} threads: size", lambda f: mb(f.concurrent_size), "", "", None),
    ]
    names = [r.name for r in results]
    lines = [
        "| measure | " + " | ".join(names) + " | ours SQLite sync vs theirs | target | met |",
        "|---" * (len(names) + 4) + "|",
    ]
    for label, cell, ratio, target, met in rows:
        verdict = "" if met is None else ("yes" if met else "**no**")
        cells = " | ".join(cell(r) for r in results)
        lines.append(f"| {label} | {cells} | {ratio} | {target} | {verdict} |")
    return "\n".join(lines)


def _x(theirs_s: float, ours_s: float) -> str:
    return (
        f"{theirs_s / ours_s:.1f}x faster"
        if ours_s <= theirs_s
        else f"{ours_s / theirs_s:.1f}x slower"
    )


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="wave-bench-checkpoints-") as name:
        folder = Path(name)
        bindir = find_bindir()
        server = PostgresServer(bindir) if bindir is not None else None
        missing = "" if server else " PostgreSQL binaries not found: PostgreSQL not measured."
        try:
            if server is not None:
                server.start()
            results = asyncio.run(measure_all(folder, server))
        finally:
            if server is not None:
                server.stop()
    return "\n".join(
        [
            "## Checkpoint store",
            "",
            "The standard workload: a LangGraph chain of 10 nodes over a state of `plan` (3 KB,",
            "set once), `code` (5 KB, rewritten by one node per pass), `test_output` (2 KB,",
            "rewritten by another), `messages` (an `operator.add` list; every node appends a",
            "~170-byte item) and",
            f"a step counter; {PASSES} passes on one thread, then {THREADS} threads with "
            f"{CONCURRENT_PASSES} passes each at once (50 x 100 would have AsyncSqliteSaver",
            "write ~6 GB). Each saver starts on a fresh database; sizes are the file plus its WAL",
            "(PostgreSQL: `pg_database_size`, schema included). A step is one node's start to the",
            "next's, checkpoint write included. `alist` consumes every tuple; medians of "
            f"{GET_CALLS} `aget_tuple`, {LIST_RUNS} `alist`, {PUT_WRITES_CALLS} `aput_writes`.",
            "The workload runs with durability `sync` (a step waits for its checkpoint to be",
            "committed); the `default durability` columns run LangGraph's default, `async`, where",
            "the write overlaps the next step, so their step times leave the write out. Targets",
            "and ratios compare sync with sync: AsyncSqliteSaver as it comes (its own connection",
            "settings), ours with `synchronous=FULL` as wave always runs.",
            f"Every saver ended with the same state and {results[0].checkpoints:,} checkpoints."
            + missing,
            "",
            table(results),
            "",
            "Command: `make bench`.",
        ]
    )


if __name__ == "__main__":
    print(run())
