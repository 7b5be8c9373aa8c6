"""The saver's SQLite threads: group commits that isolate a bad put, cancellation, idling, a
connection that cannot open, and sqlite3's failures turned into wave's operational errors."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from wave_tui.checkpoint import WAVECheckpointSaver
from wave_tui.checkpoint import writer as writer_module
from wave_tui.checkpoint.writer import SqliteWriter
from wave_tui.config import sqlite_url
from wave_tui.db import Database
from wave_tui.errors import EXIT_OPERATIONAL, DatabaseError

INSERT = "INSERT INTO notes (id, body) VALUES (:id, :body)"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    file = tmp_path / "w.db"
    with sqlite3.connect(file) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    return file


def _ids(path: Path) -> list[int]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute("SELECT id FROM notes ORDER BY id")]


async def test_puts_committed_together_fail_alone(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    transaction = writer_module._transaction

    def counting(connection: sqlite3.Connection, statements: list[writer_module.Statement]) -> None:
        sizes.append(len(statements))
        transaction(connection, statements)

    monkeypatch.setattr(writer_module, "_transaction", counting)
    writer = SqliteWriter(path)
    # Another connection holds the write lock, so the puts queue up behind the first one.
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    rows = [{"id": n, "body": None if n == 7 else f"note {n}"} for n in range(20)]
    puts = asyncio.gather(
        *(writer.write([(INSERT, [row])]) for row in rows), return_exceptions=True
    )
    for _ in range(5):
        await asyncio.sleep(0)
    blocker.execute("COMMIT")
    blocker.close()
    results = await puts

    failures = [n for n, result in enumerate(results) if isinstance(result, BaseException)]
    assert failures == [7]
    assert isinstance(results[7], DatabaseError)
    assert isinstance(results[7].__cause__, sqlite3.IntegrityError)
    assert _ids(path) == [n for n in range(20) if n != 7]
    # One group of the queued puts failed as a whole, then each was retried alone.
    assert max(sizes) > 1
    assert sizes.count(1) >= 19


async def test_a_put_is_all_or_nothing(path: Path) -> None:
    writer = SqliteWriter(path)
    with pytest.raises(DatabaseError, match="NOT NULL constraint failed"):
        await writer.write(
            [(INSERT, [{"id": 1, "body": "a"}]), (INSERT, [{"id": 2, "body": None}])]
        )
    assert _ids(path) == []


async def test_a_cancelled_caller_does_not_cancel_the_commit(path: Path) -> None:
    writer = SqliteWriter(path)
    task = asyncio.create_task(writer.write([(INSERT, [{"id": 1, "body": "kept"}])]))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # Writes are committed in order: once a later one is in, the cancelled one is too.
    await writer.write([(INSERT, [{"id": 2, "body": "after"}])])
    assert _ids(path) == [1, 2]


async def test_an_idle_writer_stops_its_thread_and_the_next_write_starts_another(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "IDLE_S", 0.05)
    writer = SqliteWriter(path)
    await writer.write([(INSERT, [{"id": 1, "body": "one"}])])
    first = writer._thread
    assert first is not None
    await asyncio.to_thread(first.join, 10)
    assert not first.is_alive()
    assert writer._thread is None
    await writer.write([(INSERT, [{"id": 2, "body": "two"}])])
    assert _ids(path) == [1, 2]


async def test_a_file_that_cannot_be_opened_fails_the_write_instead_of_hanging(
    tmp_path: Path,
) -> None:
    writer = SqliteWriter(tmp_path / "missing" / "dir" / "w.db")
    with pytest.raises(DatabaseError, match=r"cannot write checkpoints to .*unable to open"):
        await writer.write([(INSERT, [{"id": 1, "body": "x"}])])
    assert writer._thread is None


async def test_a_write_locked_past_the_busy_timeout_is_an_operational_error(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "SQLITE_BUSY_TIMEOUT_S", 0.1)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseError, match="database is locked") as raised:
            await SqliteWriter(path).write([(INSERT, [{"id": 1, "body": "x"}])])
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert raised.value.exit_code == EXIT_OPERATIONAL
    assert _ids(path) == []


async def test_a_read_the_file_cannot_answer_is_an_operational_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()  # a SQLite file without wave's tables
    database = Database(sqlite_url(empty))
    try:
        with pytest.raises(DatabaseError, match=r"cannot read checkpoints from .*no such table"):
            await WAVECheckpointSaver(database).aget_tuple(
                {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
            )
    finally:
        await database.dispose()
