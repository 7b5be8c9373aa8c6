"""Story executions: lifecycle, metrics, and the lease that keeps a story from running twice."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select, update

from wave_tui.db.models import WaveStoryExecution
from wave_tui.db.repositories.base import Repository, assign_given
from wave_tui.db.types import utcnow
from wave_tui.domain import threads
from wave_tui.domain.enums import StoryStatus
from wave_tui.domain.gates import Gate
from wave_tui.domain.lifecycle import check_story_transition
from wave_tui.domain.redaction import redact
from wave_tui.errors import LeaseHeldError, LeaseLostError, NotFoundError

DEFAULT_LEASE_TTL = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Lease:
    """Proof that `owner` may run the story until `expires_at` (renew before then)."""

    story_execution_id: uuid.UUID
    owner: str
    acquired_at: datetime
    expires_at: datetime


class StoryExecutionRepository(Repository):
    async def create(
        self,
        session_id: uuid.UUID,
        story_id: str,
        story_title: str,
        *,
        domain: str | None = None,
        agent: str | None = None,
        definition: dict[str, Any] | None = None,
        ac_total: int = 0,
        budget_usd: Decimal | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WaveStoryExecution:
        execution = WaveStoryExecution(
            session_id=session_id,
            story_id=story_id,
            story_title=story_title,
            domain=domain,
            agent=agent,
            status=StoryStatus.PENDING,
            definition=redact(definition or {}),
            ac_passed=0,
            ac_total=ac_total,
            budget_usd=budget_usd,
            iteration=0,
            recycle_count=0,
            retry_count=0,
            token_count=0,
            cost_usd=Decimal(0),
            files_created=[],
            files_modified=[],
            meta_data=metadata or {},
        )
        self.db.add(execution)
        await self.db.flush()
        return execution

    async def get(self, execution_id: uuid.UUID) -> WaveStoryExecution | None:
        return await self.db.get(WaveStoryExecution, execution_id)

    async def require(self, execution_id: uuid.UUID) -> WaveStoryExecution:
        return await self._require(WaveStoryExecution, execution_id, "story execution")

    async def get_by_story(self, session_id: uuid.UUID, story_id: str) -> WaveStoryExecution | None:
        return await self.db.scalar(
            select(WaveStoryExecution).where(
                WaveStoryExecution.session_id == session_id,
                WaveStoryExecution.story_id == story_id,
            )
        )

    async def list_by_session(
        self, session_id: uuid.UUID, *, status: StoryStatus | None = None
    ) -> Sequence[WaveStoryExecution]:
        """The session's stories in the order they were created (the order of the story file)."""
        query = (
            select(WaveStoryExecution)
            .where(WaveStoryExecution.session_id == session_id)
            .order_by(WaveStoryExecution.created_at, WaveStoryExecution.story_id)
        )
        if status is not None:
            query = query.where(WaveStoryExecution.status == status)
        return (await self.db.scalars(query)).all()

    async def start_execution(self, execution_id: uuid.UUID) -> WaveStoryExecution:
        execution = await self._transition(execution_id, StoryStatus.IN_PROGRESS)
        execution.started_at = execution.started_at or utcnow()
        execution.block_reason = None
        await self.db.flush()
        return execution

    async def update_metrics(
        self,
        execution_id: uuid.UUID,
        *,
        token_count: int | None = None,
        cost_usd: Decimal | None = None,
        retry_count: int | None = None,
        iteration: int | None = None,
        recycle_count: int | None = None,
        ac_passed: int | None = None,
        ac_total: int | None = None,
        tests_passing: bool | None = None,
        coverage_achieved: Decimal | None = None,
        current_gate: Gate | None = None,
        phase: str | None = None,
        agent: str | None = None,
    ) -> WaveStoryExecution:
        execution = await self.require(execution_id)
        assign_given(
            execution,
            token_count=token_count,
            cost_usd=cost_usd,
            retry_count=retry_count,
            iteration=iteration,
            recycle_count=recycle_count,
            ac_passed=ac_passed,
            ac_total=ac_total,
            tests_passing=tests_passing,
            coverage_achieved=coverage_achieved,
            current_gate=current_gate,
            phase=phase,
            agent=agent,
        )
        await self.db.flush()
        return execution

    async def complete_execution(
        self,
        execution_id: uuid.UUID,
        *,
        tests_passing: bool | None = None,
        coverage_achieved: Decimal | None = None,
        files_created: list[str] | None = None,
        files_modified: list[str] | None = None,
        branch_name: str | None = None,
        commit_sha: str | None = None,
        pr_url: str | None = None,
    ) -> WaveStoryExecution:
        execution = await self._transition(execution_id, StoryStatus.COMPLETE)
        execution.completed_at = utcnow()
        assign_given(
            execution,
            tests_passing=tests_passing,
            coverage_achieved=coverage_achieved,
            files_created=files_created,
            files_modified=files_modified,
            branch_name=branch_name,
            commit_sha=commit_sha,
            pr_url=pr_url,
        )
        await self.db.flush()
        return execution

    async def fail_execution(self, execution_id: uuid.UUID, error: str) -> WaveStoryExecution:
        execution = await self._transition(execution_id, StoryStatus.FAILED)
        execution.error = error
        execution.completed_at = utcnow()
        await self.db.flush()
        return execution

    async def block(self, execution_id: uuid.UUID, reason: str) -> WaveStoryExecution:
        execution = await self._transition(execution_id, StoryStatus.BLOCKED)
        execution.block_reason = reason
        await self.db.flush()
        return execution

    async def cancel_execution(self, execution_id: uuid.UUID, reason: str) -> WaveStoryExecution:
        execution = await self._transition(execution_id, StoryStatus.CANCELLED)
        execution.block_reason = reason
        execution.completed_at = utcnow()
        await self.db.flush()
        return execution

    async def requeue(self, execution_id: uuid.UUID) -> WaveStoryExecution:
        """Back to pending, keeping its progress: it continues from its last checkpoint."""
        execution = await self._transition(execution_id, StoryStatus.PENDING)
        execution.block_reason = None
        await self.db.flush()
        return execution

    async def forget_fork(self, execution_id: uuid.UUID) -> None:
        """The forked run has recorded its first step: it continues from its own history now."""
        execution = await self.require(execution_id)
        execution.meta_data = {
            k: v for k, v in execution.meta_data.items() if k != threads.FORK_FROM
        }
        await self.db.flush()

    async def acquire_lease(
        self,
        execution_id: uuid.UUID,
        owner: str,
        ttl: timedelta = DEFAULT_LEASE_TTL,
        *,
        take_over: str | None = None,
    ) -> Lease:
        """Take the story for `owner`, atomically: free, expired or already ours, else refused.

        A single conditional UPDATE decides, so two processes racing for one story can never both
        win, on SQLite (one writer at a time) or PostgreSQL (row lock, then the WHERE re-checked).
        `take_over` names a holder known to be dead (its process is gone): its lease is taken
        before it expires, and only if that holder still has it.
        """
        now = utcnow()
        expires = now + ttl
        taken = await self.db.execute(
            update(WaveStoryExecution)
            .where(
                WaveStoryExecution.id == execution_id,
                or_(
                    WaveStoryExecution.lease_owner.is_(None),
                    WaveStoryExecution.lease_owner.in_([owner, take_over or owner]),
                    WaveStoryExecution.lease_expires_at <= now,
                ),
            )
            .values(lease_owner=owner, lease_acquired_at=now, lease_expires_at=expires)
            .returning(WaveStoryExecution.id)
            .execution_options(synchronize_session=False)
        )
        if taken.scalar_one_or_none() is None:
            execution = await self._require(
                WaveStoryExecution, execution_id, "story execution", refresh=True
            )
            raise LeaseHeldError(held_message(execution))
        await self._require(WaveStoryExecution, execution_id, "story execution", refresh=True)
        return Lease(execution_id, owner, now, expires)

    async def renew_lease(
        self, execution_id: uuid.UUID, owner: str, ttl: timedelta = DEFAULT_LEASE_TTL
    ) -> Lease:
        """Extend our lease; refused if it expired and someone else took the story meanwhile."""
        now = utcnow()
        renewed = await self.db.execute(
            update(WaveStoryExecution)
            .where(WaveStoryExecution.id == execution_id, WaveStoryExecution.lease_owner == owner)
            .values(lease_expires_at=now + ttl)
            .returning(WaveStoryExecution.lease_acquired_at)
            .execution_options(synchronize_session=False)
        )
        acquired_at = renewed.scalar_one_or_none()
        if acquired_at is None:
            await self._lease_lost(execution_id, owner)
        await self._require(WaveStoryExecution, execution_id, "story execution", refresh=True)
        return Lease(execution_id, owner, acquired_at or now, now + ttl)

    async def release_lease(self, execution_id: uuid.UUID, owner: str) -> None:
        released = await self.db.execute(
            update(WaveStoryExecution)
            .where(WaveStoryExecution.id == execution_id, WaveStoryExecution.lease_owner == owner)
            .values(lease_owner=None, lease_acquired_at=None, lease_expires_at=None)
            .returning(WaveStoryExecution.id)
            .execution_options(synchronize_session=False)
        )
        if released.scalar_one_or_none() is None:
            await self._lease_lost(execution_id, owner)
        await self._require(WaveStoryExecution, execution_id, "story execution", refresh=True)

    async def _lease_lost(self, execution_id: uuid.UUID, owner: str) -> None:
        execution = await self.get(execution_id)
        if execution is None:
            raise NotFoundError(f"story execution {execution_id} not found")
        holder = execution.lease_owner or "nobody"
        raise LeaseLostError(
            f"{owner} no longer holds the lease on story {execution.story_id} (held by {holder})"
        )

    async def _transition(self, execution_id: uuid.UUID, target: StoryStatus) -> WaveStoryExecution:
        execution = await self.require(execution_id)
        check_story_transition(execution.label, execution.status, target)
        execution.status = target
        return execution


def held_message(execution: WaveStoryExecution) -> str:
    """The refusal when another process holds the story's lease: who, since when, until when."""
    return (
        f"story {execution.story_id} is being run by {execution.lease_owner} since "
        f"{_when(execution.lease_acquired_at)} (lease until {_when(execution.lease_expires_at)})"
    )


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "an unknown time"
