"""The saver's writes on SQLite: one thread, one sqlite3 connection, one call per transaction.

Through SQLAlchemy's async SQLite driver every statement of a transaction is several hops
between the event loop and aiosqlite's thread (BEGIN, cursor, execute, close, COMMIT...), and a
graph step writes twice (its checkpoint, then its writes). Here a transaction is a single hop:
the thread begins, executes every statement and commits, with the same settings as the rest of
wave (WAL, synchronous=FULL, the same busy timeout), so a put still returns only once its rows
are on disk.

Puts that arrive while the thread is busy are committed together (a group commit): one fsync
for many threads' steps, each caller still waiting for its own rows to be durable. If the group
fails, each put is retried alone, so one bad put never fails another.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import queue
import sqlite3
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from wave_tui.db.engine import SQLITE_BUSY_TIMEOUT_S, Database
from wave_tui.errors import DatabaseError

# (SQL, rows for executemany)
Statement = tuple[str, Sequence[Sequence[Any] | Mapping[str, Any]]]
# The most puts committed in one transaction.
GROUP_LIMIT = 64
# An idle writer's thread ends (closing its connection) after this long; the next write starts
# another, so nobody has to remember to close it.
IDLE_S = 10.0

_writers: weakref.WeakKeyDictionary[Database, SqliteWriter] = weakref.WeakKeyDictionary()


def writer_for(database: Database) -> SqliteWriter | None:
    """The writer of `database`'s SQLite file (one per Database), None for PostgreSQL."""
    path = database.sqlite_path
    if path is None:
        return None
    writer = _writers.get(database)
    if writer is None:
        writer = _writers[database] = SqliteWriter(path)
    return writer


@dataclass
class _Job:
    statements: list[Statement]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None] = field(init=False)

    def __post_init__(self) -> None:
        self.future = self.loop.create_future()

    def finish(self, error: BaseException | None) -> None:
        def settle() -> None:
            if self.future.done():
                return  # the caller was cancelled; the rows are committed (or not) anyway
            if error is None:
                self.future.set_result(None)
            else:
                self.future.set_exception(error)

        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(settle)


class SqliteWriter:
    """A writer thread for one SQLite file. Started on the first write, stopped by `close`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pid = os.getpid()

    async def write(self, statements: list[Statement]) -> None:
        """Execute `statements` in one transaction; return once it is committed."""
        job = _Job(statements, asyncio.get_running_loop())
        with self._lock:
            if self._pid != os.getpid():  # a forked child: the parent's thread is not here
                self._pid, self._thread = os.getpid(), None
            self._jobs.put(job)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name=f"wave-checkpoints:{self.path.name}", daemon=True
                )
                self._thread.start()
        # A cancelled caller does not cancel the commit: a put is all or nothing either way.
        try:
            await asyncio.shield(job.future)
        except sqlite3.Error as error:  # locked past the busy timeout, disk full, unwritable
            raise DatabaseError(f"cannot write checkpoints to {self.path}: {error}") from error

    def _serve(self) -> None:
        try:
            connection = _connect(self.path)
        except BaseException as error:
            with self._lock:
                self._thread = None
                while not self._jobs.empty():
                    self._jobs.get_nowait().finish(error)
            return
        try:
            while (job := self._next()) is not None:
                group = [job]
                while len(group) < GROUP_LIMIT:
                    try:
                        group.append(self._jobs.get_nowait())
                    except queue.Empty:
                        break
                self._commit(connection, group)
        finally:
            connection.close()

    def _next(self) -> _Job | None:
        """The next job, or None once idle (the thread then ends; `write` starts another)."""
        while True:
            try:
                return self._jobs.get(timeout=IDLE_S)
            except queue.Empty:
                with self._lock:
                    if self._jobs.empty():
                        self._thread = None
                        return None

    def _commit(self, connection: sqlite3.Connection, group: list[_Job]) -> None:
        try:
            _transaction(connection, [s for job in group for s in job.statements])
        except BaseException as error:
            if len(group) == 1:
                group[0].finish(error)
                return
            for job in group:
                try:
                    _transaction(connection, job.statements)
                except BaseException as alone:
                    job.finish(alone)
                else:
                    job.finish(None)
            return
        for job in group:
            job.finish(None)


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(
        path, timeout=SQLITE_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    # The same settings as every other wave connection (db/engine.py); WAL is in the file.
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    connection.execute("PRAGMA synchronous=FULL")
    return connection


def _transaction(connection: sqlite3.Connection, statements: list[Statement]) -> None:
    connection.execute("BEGIN IMMEDIATE")
    try:
        for sql, rows in statements:
            connection.executemany(sql, rows)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def upsert(table: Table, update: tuple[str, ...], rows: list[dict[str, Any]]) -> Statement:
    """INSERT ... ON CONFLICT DO NOTHING (or DO UPDATE the `update` columns) of `rows` into
    `table`, as this thread executes it: SQLite SQL with named parameters, JSON as text."""
    return _upsert_sql(table, update), _raw(rows)


@functools.cache
def _upsert_sql(table: Table, update: tuple[str, ...]) -> str:
    statement = sqlite_insert(table)
    if update:
        statement = statement.on_conflict_do_update(
            index_elements=list(table.primary_key.columns),
            set_={name: statement.excluded[name] for name in update},
        )
    else:
        statement = statement.on_conflict_do_nothing()
    dialect = sqlite_dialect(paramstyle="named")
    return str(statement.compile(dialect=dialect, column_keys=[c.name for c in table.columns]))


def _raw(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as sqlite3 takes them: JSON columns as text, as SQLAlchemy's JSON type writes them."""
    if rows and "metadata" in rows[0]:
        return [{**row, "metadata": json.dumps(row["metadata"])} for row in rows]
    return rows
