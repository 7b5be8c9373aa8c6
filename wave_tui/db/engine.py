"""Engines and units of work on SQLite or PostgreSQL; the schema comes from Alembic migrations."""

from __future__ import annotations

import asyncio
import fcntl
import sqlite3
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from wave_tui.config import display_url, normalize_database_url
from wave_tui.errors import DatabaseError

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30
# Any constant works: every wave process that migrates the same PostgreSQL database takes it.
_MIGRATION_LOCK_KEY = zlib.crc32(b"wave_tui.migrations")
_READONLY = "wave_readonly"


class Database:
    """One database: an async engine, its units of work, and its migrations."""

    def __init__(self, url: URL | str, *, echo: bool = False) -> None:
        self.url = normalize_database_url(url) if isinstance(url, str) else url
        self.engine: AsyncEngine = create_async_engine(self.url, echo=echo, **self._engine_args())
        if self.is_sqlite:
            _install_sqlite_hooks(self.engine)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # A read-only unit of work is one snapshot on both databases: SQLite's read transaction
        # is; on PostgreSQL REPEATABLE READ, READ ONLY (never blocks a writer, never fails to
        # serialise) instead of a snapshot per statement.
        readonly: dict[str, Any] = (
            {_READONLY: True}
            if self.is_sqlite
            else {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        )
        self.readonly_engine = self.engine.execution_options(**readonly)
        self._readonly_sessions = async_sessionmaker(self.readonly_engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        return Path(self.url.database) if self.is_sqlite and self.url.database else None

    @property
    def display_url(self) -> str:
        return display_url(self.url)

    def _engine_args(self) -> dict[str, Any]:
        if self.is_sqlite:
            return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
        return {"pool_pre_ping": True}

    @asynccontextmanager
    async def session(self, *, readonly: bool = False) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits when the block ends, rolls back if it raises.

        On SQLite a writing unit of work takes the write lock when it begins (BEGIN IMMEDIATE), so
        a read that later writes never dies of "database is locked"; `readonly=True` takes no lock
        and never blocks writers.
        """
        factory = self._readonly_sessions if readonly else self._sessions
        async with factory() as session:
            try:
                yield session
                # A read-only unit of work just closes: its rows stay readable after the block.
                if not readonly:
                    await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def upgrade(self, revision: str = "head") -> str | None:
        """Migrate to `revision` (default: the newest); a no-op when already there."""
        head = _script().get_current_head()
        try:
            if self.sqlite_path is not None:
                await asyncio.to_thread(_prepare_sqlite_file, self.sqlite_path)
            current = await self.current_revision()
            if revision == "head" and current == head:
                return current
            if current is not None and not _known_revision(current):
                raise DatabaseError(
                    f"the database {self.display_url} is at schema revision {current}, which this "
                    "version of wave does not know; upgrade wave_tui"
                )
            async with self.engine.begin() as connection:
                await self._lock_for_migration(connection)
                await connection.run_sync(_run_alembic, "upgrade", revision)
            return await self.current_revision()
        except SQLAlchemyError as exc:
            raise self._unusable(exc) from exc
        except (OSError, sqlite3.Error) as exc:
            raise DatabaseError(f"cannot open the database {self.display_url}: {exc}") from exc

    async def downgrade(self, revision: str) -> str | None:
        async with self.engine.begin() as connection:
            await self._lock_for_migration(connection)
            await connection.run_sync(_run_alembic, "downgrade", revision)
        return await self.current_revision()

    async def current_revision(self) -> str | None:
        if self.sqlite_path is not None and not self.sqlite_path.exists():
            return None  # asking must not create the file
        async with self.engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )

    async def size_bytes(self) -> int:
        """What the database takes on disk: the SQLite file and its WAL, or PostgreSQL's
        `pg_database_size` of the current database."""
        if (path := self.sqlite_path) is not None:
            files = (path, path.with_name(path.name + "-wal"))
            return sum(file.stat().st_size for file in files if file.exists())
        async with self.session(readonly=True) as db:
            size = await db.scalar(text("SELECT pg_database_size(current_database())"))
        return int(size or 0)

    async def dispose(self) -> None:
        await self.engine.dispose()

    async def _lock_for_migration(self, connection: AsyncConnection) -> None:
        # SQLite: BEGIN IMMEDIATE already serialises migrators. PostgreSQL needs a lock of its own.
        if not self.is_sqlite:
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )

    def _unusable(self, exc: SQLAlchemyError) -> DatabaseError:
        cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        first_line = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        return DatabaseError(f"cannot use the database {self.display_url}: {first_line}")


def head_revision() -> str | None:
    return _script().get_current_head()


def _known_revision(revision: str) -> bool:
    try:
        return _script().get_revision(revision) is not None
    except CommandError:
        return False


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_alembic_config())


def _alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _run_alembic(connection: Connection, verb: str, revision: str) -> None:
    getattr(command, verb)(_alembic_config(connection), revision)


def _prepare_sqlite_file(path: Path) -> None:
    """Create the file in WAL mode, one process at a time.

    WAL is stored in the file header, which a new database only gets with its first write; until
    then every connection that asks for WAL tries to switch the file itself, and two such
    switches deadlock each other. So the switch happens here, once, under a lock file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with closing(sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # journal_mode=WAL is not set here: it is persistent, see _prepare_sqlite_file.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        # FULL: a committed transaction survives power loss, not just a process crash.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        readonly = connection.get_execution_options().get(_READONLY, False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


_default: Database | None = None


async def init_db(url: URL | str | None = None) -> Database:
    """Open (and migrate) the process's database once; later calls return the same one."""
    global _default
    if _default is not None:
        return _default
    if url is None:
        from wave_tui.config import load_settings

        url = load_settings().resolve_database_url()
    database = Database(url)
    try:
        await database.upgrade()
    except BaseException:
        await database.dispose()
        raise
    _default = database
    return database


async def close_db() -> None:
    global _default
    if _default is not None:
        database, _default = _default, None
        await database.dispose()


@asynccontextmanager
async def get_db(*, readonly: bool = False) -> AsyncIterator[AsyncSession]:
    """A unit of work on the database `init_db()` opened."""
    if _default is None:
        raise DatabaseError("the database is not open: call init_db() first")
    async with _default.session(readonly=readonly) as session:
        yield session
