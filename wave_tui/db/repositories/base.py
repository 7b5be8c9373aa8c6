"""What every repository shares: its unit of work and a lookup that names what is missing."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from wave_tui.db.models import Base
from wave_tui.errors import NotFoundError

M = TypeVar("M", bound=Base)


class Repository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def _require(self, model: type[M], key: Any, what: str, *, refresh: bool = False) -> M:
        row = await self.db.get(model, key, populate_existing=refresh)
        if row is None:
            raise NotFoundError(f"{what} {key} not found")
        return row


def assign_given(row: Base, **changes: Any) -> None:
    """Set the attributes that were given; None means "leave as is"."""
    for name, value in changes.items():
        if value is not None:
            setattr(row, name, value)
