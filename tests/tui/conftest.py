"""The console's tests run on a real SQLite file (the attach test shares it with a `wave`
process; PostgreSQL is exercised by the layers the console calls)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from wave_tui.db import Database


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'wave.db'}")
    await database.upgrade()
    yield database
    await database.dispose()
