"""The saver's reads on SQLite: every query of a read in one hop to a thread, on one snapshot.

Through SQLAlchemy's async SQLite driver each statement costs about a millisecond of hops
between the event loop and the driver's thread, so `aget_tuple` (four queries) took ~15 ms where
LangGraph's own saver takes ~2. Here the whole read runs on a worker thread with a plain sqlite3
connection of its own (kept per thread), inside one read transaction: WAL gives it a snapshot and
never blocks a writer. The statements are still built with SQLAlchemy, compiled for SQLite once
each: the hot ones are module constants with named parameters (building and compiling them took
about half of an `aget_tuple`).
"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
import threading
import weakref
from collections import namedtuple
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.sql.compiler import SQLCompiler

from wave_tui.checkpoint.loading import Execute
from wave_tui.db.engine import SQLITE_BUSY_TIMEOUT_S, Database
from wave_tui.errors import DatabaseError

T = TypeVar("T")

# Columns stored as JSON text that the rows must carry decoded, as SQLAlchemy's JSON type does.
JSON_COLUMNS = frozenset({"metadata"})
_DIALECT = sqlite_dialect(paramstyle="named")

_readers: weakref.WeakKeyDictionary[Database, SqliteReader] = weakref.WeakKeyDictionary()


def reader_for(database: Database) -> SqliteReader | None:
    """The reader of `database`'s SQLite file (one per Database), None for PostgreSQL."""
    path = database.sqlite_path
    if path is None:
        return None
    reader = _readers.get(database)
    if reader is None:
        reader = _readers[database] = SqliteReader(path)
    return reader


class SqliteReader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    async def read(self, work: Callable[[Execute], T]) -> T:
        """Run `work(execute)` on a worker thread inside one read transaction."""
        try:
            return await asyncio.to_thread(self._read, work)
        except sqlite3.Error as error:  # as SQLAlchemy's would be: an operational failure
            raise DatabaseError(f"cannot read checkpoints from {self.path}: {error}") from error

    def _read(self, work: Callable[[Execute], T]) -> T:
        connection = self._connection()
        connection.execute("BEGIN")
        try:
            return work(lambda query, params: _execute(connection, query, params))
        finally:
            connection.execute("ROLLBACK")

    def _connection(self) -> sqlite3.Connection:
        """This worker thread's connection to the file (sqlite3 connections stay in a thread)."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.path, timeout=SQLITE_BUSY_TIMEOUT_S, isolation_level=None
            )
            connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
            self._local.connection = connection
        return connection


def _execute(
    connection: sqlite3.Connection, query: Select[Any], params: Mapping[str, Any]
) -> list[Any]:
    """The rows of `query`, with attribute access and JSON columns decoded, like SQLAlchemy's."""
    # IN lists (expanding parameters) get their placeholders here, from the cached compilation.
    state = _compiled(query).construct_expanded_state(dict(params) if params else None)
    cursor = connection.execute(state.statement, state.parameters)
    names = tuple(column[0] for column in cursor.description)
    row_type = _row_type(names)
    decode = [index for index, name in enumerate(names) if name in JSON_COLUMNS]
    rows = cursor.fetchall()
    if not decode:
        return [row_type._make(row) for row in rows]
    result = []
    for row in rows:
        values = list(row)
        for index in decode:
            if values[index] is not None:
                values[index] = json.loads(values[index])
        result.append(row_type._make(values))
    return result


@functools.lru_cache(maxsize=256)
def _compiled(query: Select[Any]) -> SQLCompiler:
    """`query` compiled for SQLite. Statements hash by identity: the constants compile once; a
    statement built for one call (a listing's search) takes a slot until newer ones push it out."""
    compiled = query.compile(dialect=_DIALECT)
    assert isinstance(compiled, SQLCompiler)
    return compiled


_row_types: dict[tuple[str, ...], Any] = {}


def _row_type(names: tuple[str, ...]) -> Any:
    row_type = _row_types.get(names)
    if row_type is None:
        row_type = _row_types[names] = namedtuple("Row", names)
    return row_type
