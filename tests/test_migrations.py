"""Alembic migrations: empty to head, round trips, models in step, safe to run at once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from wave_tui.db import Base, Database, close_db, get_db, head_revision, init_db
from wave_tui.db.repositories import SessionRepository
from wave_tui.errors import DatabaseError

TABLES = {
    "wave_sessions",
    "wave_story_executions",
    "wave_checkpoints",
    "wave_events",
    "wave_escalations",
    "wave_approvals",
    "wave_graph_checkpoints",
    "wave_graph_blobs",
    "wave_graph_writes",
    "wave_commands",
    "wave_llm_turns",
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'wave.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


async def _tables(database: Database) -> set[str]:
    async with database.engine.connect() as connection:
        names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    return set(names) - {"alembic_version"}


async def test_an_empty_database_upgrades_to_head(empty_url: str) -> None:
    database = Database(empty_url)
    try:
        assert await database.current_revision() is None
        assert await database.upgrade() == head_revision()
        assert await _tables(database) == TABLES
        # A second upgrade is a no-op.
        assert await database.upgrade() == head_revision()
    finally:
        await database.dispose()


async def test_downgrade_and_upgrade_round_trip(empty_url: str) -> None:
    database = Database(empty_url)
    try:
        await database.upgrade()
        assert await database.downgrade("base") is None
        assert await _tables(database) == set()
        assert await database.upgrade() == head_revision()
        assert await _tables(database) == TABLES
    finally:
        await database.dispose()


async def test_migrations_create_exactly_what_the_models_describe(empty_url: str) -> None:
    database = Database(empty_url)
    try:
        await database.upgrade()
        async with database.engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
        assert differences == []
    finally:
        await database.dispose()


async def test_a_database_from_a_newer_wave_is_refused_untouched(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'wave.db'}")
    try:
        await database.upgrade()
        async with database.session() as db:
            await db.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
        with pytest.raises(DatabaseError, match="9999_future, which this version of wave"):
            await database.upgrade()
        assert await database.current_revision() == "9999_future"
    finally:
        await database.dispose()


async def test_init_db_is_idempotent_and_close_db_too(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wave.db'}"
    first = await init_db(url)
    try:
        assert await init_db(url) is first
        async with get_db() as db:
            await SessionRepository(db).create("shop")
        async with get_db(readonly=True) as db:
            assert len(await SessionRepository(db).list()) == 1
    finally:
        await close_db()
        await close_db()
    with pytest.raises(DatabaseError, match="init_db"):
        async with get_db():
            pass


async def test_get_db_rolls_back_when_the_block_raises(tmp_path: Path) -> None:
    await init_db(f"sqlite+aiosqlite:///{tmp_path / 'wave.db'}")
    try:
        with pytest.raises(RuntimeError, match="halfway"):
            async with get_db() as db:
                await SessionRepository(db).create("never saved")
                raise RuntimeError("halfway")
        async with get_db(readonly=True) as db:
            assert await SessionRepository(db).list() == []
    finally:
        await close_db()


def test_two_processes_migrating_a_new_sqlite_file_at_once_both_succeed(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'wave.db'}"
    script = (
        "import asyncio, sys\n"
        "from wave_tui.db import Database\n"
        "async def main():\n"
        "    db = Database(sys.argv[1])\n"
        "    print(await db.upgrade())\n"
        "    await db.dispose()\n"
        "asyncio.run(main())\n"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script, url], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120)[0].strip() for process in processes]
    assert [process.returncode for process in processes] == [0, 0]
    assert outputs == [head_revision(), head_revision()]


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'wave.db'}")
    try:
        await database.upgrade()
        async with database.engine.connect() as connection:
            journal = await connection.scalar(text("PRAGMA journal_mode"))
            foreign_keys = await connection.scalar(text("PRAGMA foreign_keys"))
            busy = await connection.scalar(text("PRAGMA busy_timeout"))
        assert (journal, foreign_keys) == ("wal", 1)
        assert busy >= 10_000
    finally:
        await database.dispose()


def test_upgrade_survives_concurrent_tasks(tmp_path: Path) -> None:
    async def run() -> None:
        databases = [Database(f"sqlite+aiosqlite:///{tmp_path / 'wave.db'}") for _ in range(3)]
        try:
            revisions = await asyncio.gather(*(db.upgrade() for db in databases))
            assert revisions == [head_revision()] * 3
        finally:
            for db in databases:
                await db.dispose()

    asyncio.run(run())
