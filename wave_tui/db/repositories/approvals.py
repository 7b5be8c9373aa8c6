"""Operator approvals of plans, implementations, reviews and merges: who, when, and why not."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select

from wave_tui.db.models import WaveApproval
from wave_tui.db.repositories.base import Repository
from wave_tui.domain.enums import ApprovalDecision, ApprovalSubject
from wave_tui.errors import UserError


class ApprovalRepository(Repository):
    async def record(
        self,
        session_id: uuid.UUID,
        story_execution_id: uuid.UUID,
        subject: ApprovalSubject,
        decision: ApprovalDecision,
        decided_by: str,
        *,
        reason: str | None = None,
        escalation_id: int | None = None,
    ) -> WaveApproval:
        decision = ApprovalDecision(decision)
        if decision is ApprovalDecision.REJECTED and not (reason and reason.strip()):
            raise UserError("a rejection needs a reason")
        approval = WaveApproval(
            session_id=session_id,
            story_execution_id=story_execution_id,
            subject=ApprovalSubject(subject),
            decision=decision,
            decided_by=decided_by,
            reason=reason,
            escalation_id=escalation_id,
        )
        self.db.add(approval)
        await self.db.flush()
        return approval

    async def list_by_story(self, story_execution_id: uuid.UUID) -> Sequence[WaveApproval]:
        query = (
            select(WaveApproval)
            .where(WaveApproval.story_execution_id == story_execution_id)
            .order_by(WaveApproval.id)
        )
        return (await self.db.scalars(query)).all()
