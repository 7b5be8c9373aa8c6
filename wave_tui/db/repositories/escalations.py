"""The human review queue: escalations wait as pending until an operator decides them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from wave_tui.db.models import WaveEscalation
from wave_tui.db.repositories.base import Repository
from wave_tui.db.types import utcnow
from wave_tui.domain.enums import EscalationKind, EscalationStatus
from wave_tui.domain.redaction import redact, redact_text
from wave_tui.errors import InvalidTransitionError, UserError


class EscalationRepository(Repository):
    async def create(
        self,
        session_id: uuid.UUID,
        kind: EscalationKind,
        summary: str,
        action: dict[str, Any] | None = None,
        *,
        story_execution_id: uuid.UUID | None = None,
        score: float | None = None,
        violations: list[Any] | None = None,
        graph_thread_id: str | None = None,
        interrupt_id: str | None = None,
    ) -> WaveEscalation:
        escalation = WaveEscalation(
            session_id=session_id,
            story_execution_id=story_execution_id,
            kind=EscalationKind(kind),
            summary=redact_text(summary)[:500],
            action=redact(action or {}),
            score=score,
            violations=redact(violations or []),
            status=EscalationStatus.PENDING,
            graph_thread_id=graph_thread_id,
            interrupt_id=interrupt_id,
        )
        self.db.add(escalation)
        await self.db.flush()
        return escalation

    async def get(self, escalation_id: int) -> WaveEscalation | None:
        return await self.db.get(WaveEscalation, escalation_id)

    async def find_for_interrupt(
        self, story_execution_id: uuid.UUID, graph_thread_id: str, interrupt_id: str
    ) -> WaveEscalation | None:
        """The escalation already raised for this graph interrupt (in any status): a story that
        was held or crashed while it waited asks the same question, not a second one."""
        return await self.db.scalar(
            select(WaveEscalation)
            .where(
                WaveEscalation.story_execution_id == story_execution_id,
                WaveEscalation.graph_thread_id == graph_thread_id,
                WaveEscalation.interrupt_id == interrupt_id,
            )
            .order_by(WaveEscalation.id.desc())
            .limit(1)
        )

    async def list_pending(self, session_id: uuid.UUID | None = None) -> Sequence[WaveEscalation]:
        """Pending escalations, oldest first: the order an operator should answer them."""
        query = (
            select(WaveEscalation)
            .where(WaveEscalation.status == EscalationStatus.PENDING)
            .order_by(WaveEscalation.id)
        )
        if session_id is not None:
            query = query.where(WaveEscalation.session_id == session_id)
        return (await self.db.scalars(query)).all()

    async def list_all(
        self, session_id: uuid.UUID | None = None, limit: int = 200
    ) -> Sequence[WaveEscalation]:
        """Escalations in any status, newest first."""
        query = select(WaveEscalation).order_by(WaveEscalation.id.desc()).limit(limit)
        if session_id is not None:
            query = query.where(WaveEscalation.session_id == session_id)
        return (await self.db.scalars(query)).all()

    async def decide(
        self,
        escalation_id: int,
        status: EscalationStatus,
        decided_by: str,
        reason: str | None = None,
    ) -> WaveEscalation:
        """Record the decision once; deciding an already decided escalation is refused."""
        status = EscalationStatus(status)
        if status is EscalationStatus.PENDING:
            raise UserError("a decision must approve, reject or expire the escalation")
        if status is EscalationStatus.REJECTED and not (reason and reason.strip()):
            raise UserError("rejecting an escalation needs a reason")
        if not decided_by.strip():
            raise UserError("a decision must say who made it")
        escalation = await self._require(WaveEscalation, escalation_id, "escalation", refresh=True)
        if escalation.status is not EscalationStatus.PENDING:
            raise InvalidTransitionError(
                f"escalation {escalation_id} was already {escalation.status} by "
                f"{escalation.decided_by or 'the system'}"
            )
        escalation.status = status
        escalation.decided_by = decided_by
        escalation.decided_at = utcnow()
        escalation.reason = redact_text(reason) if reason else None
        await self.db.flush()
        return escalation
