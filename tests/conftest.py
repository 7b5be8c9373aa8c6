"""Fixtures: a real SQLite file and a real PostgreSQL server, each migrated to head."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.postgres import PostgresServer, find_bindir
from wave_tui.config import Settings, load_settings
from wave_tui.db import Database
from wave_tui.engine.events import EventBus

TEMPLATE = "wave_template"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's configuration or writes to their data directory."""
    for name in list(os.environ):
        upper = name.upper()
        if upper.startswith(("WAVE_", "POSTGRES_", "CONSTITUTIONAL_", "DEFAULT_")) or upper in {
            "DATABASE_URL",
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_BASE_URL",
            "ANTHROPIC_MODEL",
        }:
            monkeypatch.delenv(name)
    monkeypatch.setenv("WAVE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = find_bindir()
    if bindir is None:
        message = (
            "PostgreSQL binaries (initdb, pg_ctl) not found: install PostgreSQL or set "
            "WAVE_PG_BINDIR to run the PostgreSQL tests"
        )
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"{message}; in CI they must run", pytrace=False)
        pytest.skip(message)
    server = PostgresServer(bindir)
    try:
        server.start()
        server.sql(f"CREATE DATABASE {TEMPLATE}")
        asyncio.run(_migrate(server.url(TEMPLATE)))
        yield server
    finally:
        server.stop()


async def _migrate(url: str) -> None:
    database = Database(url)
    try:
        await database.upgrade()
    finally:
        await database.dispose()


@contextmanager
def _own_database(server: PostgresServer, template: str | None = None) -> Iterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    server.sql(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    try:
        yield server.url(name)
    finally:
        server.sql(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty PostgreSQL database of the test's own (no schema yet)."""
    with _own_database(request.getfixturevalue("postgres_server")) as url:
        yield url


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of the test's own, on the backend the test is parametrised with."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'wave.db'}"
        asyncio.run(_migrate(url))
        yield url
        return
    with _own_database(request.getfixturevalue("postgres_server"), TEMPLATE) as url:
        yield url


@pytest.fixture
def bus(database: Database) -> EventBus:
    """The EventBus on the test's database (SQLite and PostgreSQL)."""
    return EventBus(database)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """wave's settings with its data directory (worktrees, logs) in the test's own folder."""
    return load_settings(data_dir=tmp_path / "data")


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses a database runs on SQLite and on PostgreSQL."""
    if "database_url" in metafunc.fixturenames and "backend" not in metafunc.fixturenames:
        metafunc.parametrize("database_url", BACKENDS, indirect=True, ids=["sqlite", "postgresql"])
