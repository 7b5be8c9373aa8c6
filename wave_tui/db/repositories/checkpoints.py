"""Domain checkpoints: the saved points an operator recovers from, newest first."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select

from wave_tui.db.models import WaveCheckpoint
from wave_tui.db.repositories.base import Repository
from wave_tui.domain.enums import CheckpointType
from wave_tui.domain.gates import Gate
from wave_tui.domain.redaction import redact
from wave_tui.errors import UserError


class CheckpointRepository(Repository):
    async def create(
        self,
        session_id: uuid.UUID,
        checkpoint_type: CheckpointType,
        checkpoint_name: str,
        state: dict[str, Any],
        *,
        story_execution_id: uuid.UUID | None = None,
        story_id: str | None = None,
        gate: Gate | None = None,
        parent_checkpoint_id: int | None = None,
        graph_thread_id: str | None = None,
        graph_checkpoint_id: str | None = None,
    ) -> WaveCheckpoint:
        checkpoint_type = CheckpointType(checkpoint_type)
        gate = Gate(gate) if gate is not None else None
        if checkpoint_type is CheckpointType.GATE and gate is None:
            raise UserError("a gate checkpoint must name its gate (gate-0 … gate-7)")
        checkpoint = WaveCheckpoint(
            session_id=session_id,
            story_execution_id=story_execution_id,
            story_id=story_id,
            checkpoint_type=checkpoint_type,
            checkpoint_name=checkpoint_name,
            gate=gate,
            state=redact(state),
            parent_checkpoint_id=parent_checkpoint_id,
            graph_thread_id=graph_thread_id,
            graph_checkpoint_id=graph_checkpoint_id,
        )
        self.db.add(checkpoint)
        await self.db.flush()
        return checkpoint

    async def get(self, checkpoint_id: int) -> WaveCheckpoint | None:
        return await self.db.get(WaveCheckpoint, checkpoint_id)

    async def get_latest_by_story(
        self, session_id: uuid.UUID, story_id: str
    ) -> WaveCheckpoint | None:
        return await self.db.scalar(
            _of_story(session_id, story_id).order_by(WaveCheckpoint.id.desc()).limit(1)
        )

    async def get_latest_by_session(self, session_id: uuid.UUID) -> WaveCheckpoint | None:
        return await self.db.scalar(
            select(WaveCheckpoint)
            .where(WaveCheckpoint.session_id == session_id)
            .order_by(WaveCheckpoint.id.desc())
            .limit(1)
        )

    async def list_by_story(
        self, session_id: uuid.UUID, story_id: str, *, limit: int = 100
    ) -> Sequence[WaveCheckpoint]:
        """A story's checkpoints, newest first."""
        query = _of_story(session_id, story_id).order_by(WaveCheckpoint.id.desc()).limit(limit)
        return (await self.db.scalars(query)).all()

    async def list_by_gate(
        self, session_id: uuid.UUID, story_id: str, gate: Gate, *, limit: int = 100
    ) -> Sequence[WaveCheckpoint]:
        """A story's checkpoints at one gate, newest first."""
        query = (
            _of_story(session_id, story_id)
            .where(WaveCheckpoint.gate == Gate(gate))
            .order_by(WaveCheckpoint.id.desc())
            .limit(limit)
        )
        return (await self.db.scalars(query)).all()


def _of_story(session_id: uuid.UUID, story_id: str) -> Select[WaveCheckpoint]:
    return select(WaveCheckpoint).where(
        WaveCheckpoint.session_id == session_id, WaveCheckpoint.story_id == story_id
    )
