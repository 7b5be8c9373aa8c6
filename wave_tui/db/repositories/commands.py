"""Operator commands to a session (hold, unhold, kill, stop): issued by any process, handled once.

A command is handled exactly once: `mark_handled` is one conditional UPDATE, so when the runner
and the issuer (who applies a command itself if no runner answers) race, one of them wins.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import or_, select, update

from wave_tui.db.models import WaveCommand
from wave_tui.db.repositories.base import Repository
from wave_tui.db.types import utcnow
from wave_tui.domain.redaction import redact_text
from wave_tui.errors import UserError

COMMAND_VERBS = ("hold", "unhold", "kill", "stop")


class CommandRepository(Repository):
    async def issue(
        self,
        session_id: uuid.UUID,
        verb: str,
        issued_by: str,
        *,
        story_id: str | None = None,
        reason: str | None = None,
    ) -> WaveCommand:
        if verb not in COMMAND_VERBS:
            raise UserError(f"unknown command {verb!r}: expected one of {', '.join(COMMAND_VERBS)}")
        command = WaveCommand(
            session_id=session_id,
            story_id=story_id,
            verb=verb,
            reason=redact_text(reason) if reason else None,
            issued_by=issued_by,
            issued_at=utcnow(),
        )
        self.db.add(command)
        await self.db.flush()
        return command

    async def get(self, command_id: int) -> WaveCommand | None:
        return await self.db.get(WaveCommand, command_id, populate_existing=True)

    async def pending(
        self, session_id: uuid.UUID, *, or_after: int | None = None
    ) -> Sequence[WaveCommand]:
        """Unhandled commands of the session, oldest first; with `or_after`, also every command
        issued after that id whether handled or not (a runner catching up with what others did)."""
        unhandled = WaveCommand.handled_at.is_(None)
        where = unhandled if or_after is None else or_(unhandled, WaveCommand.id > or_after)
        query = (
            select(WaveCommand)
            .where(WaveCommand.session_id == session_id, where)
            .order_by(WaveCommand.id)
        )
        return (await self.db.scalars(query)).all()

    async def last_id(self, session_id: uuid.UUID) -> int:
        """The newest command id of the session, 0 when it has none."""
        newest = await self.db.scalar(
            select(WaveCommand.id)
            .where(WaveCommand.session_id == session_id)
            .order_by(WaveCommand.id.desc())
            .limit(1)
        )
        return newest or 0

    async def mark_handled(self, command_id: int, handled_by: str, outcome: str) -> bool:
        """Record who handled the command and how; False if someone else already had."""
        marked = await self.db.execute(
            update(WaveCommand)
            .where(WaveCommand.id == command_id, WaveCommand.handled_at.is_(None))
            .values(handled_by=handled_by, handled_at=utcnow(), outcome=redact_text(outcome))
            .returning(WaveCommand.id)
            .execution_options(synchronize_session=False)
        )
        return marked.scalar_one_or_none() is not None

    async def list_recent(self, session_id: uuid.UUID, limit: int = 50) -> Sequence[WaveCommand]:
        """The session's commands, newest first."""
        query = (
            select(WaveCommand)
            .where(WaveCommand.session_id == session_id)
            .order_by(WaveCommand.id.desc())
            .limit(limit)
        )
        return (await self.db.scalars(query)).all()
