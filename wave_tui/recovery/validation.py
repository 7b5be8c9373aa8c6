"""Judging one checkpoint row: does its state parse, does its LangGraph checkpoint still exist?"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, Row, Select, and_, select

from wave_tui.checkpoint.tables import graph_checkpoints
from wave_tui.db.models import WaveCheckpoint
from wave_tui.domain.enums import CheckpointType
from wave_tui.domain.gates import Gate
from wave_tui.domain.state import WAVEState


@dataclass(frozen=True, slots=True)
class StateSummary:
    """What an operator needs to pick a point: where the story stood when it was saved."""

    phase: str
    current_gate: str
    ac_passed: int
    ac_total: int
    iteration: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "current_gate": self.current_gate,
            "ac_passed": self.ac_passed,
            "ac_total": self.ac_total,
            "iteration": self.iteration,
        }


@dataclass(frozen=True, slots=True)
class RecoveryPoint:
    """One domain checkpoint of a story, judged.

    `valid`: the state parses into WAVEState and the LangGraph checkpoint it names exists. A row
    that names no LangGraph checkpoint (the story-start row) is valid but not `resumable`: there
    is no graph step to resume, only the story's start to run again.
    """

    checkpoint_id: int
    story_id: str
    story_execution_id: uuid.UUID | None
    checkpoint_type: CheckpointType
    name: str
    gate: Gate | None
    created_at: datetime
    graph_thread_id: str | None
    graph_checkpoint_id: str | None
    valid: bool
    problem: str | None
    summary: StateSummary | None

    @property
    def resumable(self) -> bool:
        return self.valid and self.graph_checkpoint_id is not None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly, for `wave checkpoints --json` and the TUI."""
        return {
            "checkpoint_id": self.checkpoint_id,
            "story_id": self.story_id,
            "type": self.checkpoint_type.value,
            "name": self.name,
            "gate": self.gate.value if self.gate else None,
            "created_at": self.created_at.isoformat(),
            "graph_checkpoint_id": self.graph_checkpoint_id,
            "valid": self.valid,
            "resumable": self.resumable,
            "problem": self.problem,
            "summary": self.summary.as_dict() if self.summary else None,
        }


def judge(row: Row[Any]) -> RecoveryPoint:
    """Turn a row of `points_query` (checkpoint columns plus `graph_found`) into a point."""
    pointer = row.graph_checkpoint_id or None
    summary: StateSummary | None = None
    problem: str | None = None
    try:
        summary = summarize(WAVEState.model_validate(row.state))
    except ValidationError as exc:
        problem = f"state does not parse as WAVEState: {_first_error(exc)}"
    if pointer is not None and (row.graph_thread_id is None or not row.graph_found):
        missing = f"LangGraph checkpoint {pointer} is missing"
        problem = f"{problem}; {missing}" if problem else missing
    return RecoveryPoint(
        checkpoint_id=row.id,
        story_id=row.story_id,
        story_execution_id=row.story_execution_id,
        checkpoint_type=CheckpointType(row.checkpoint_type),
        name=row.checkpoint_name,
        gate=Gate(row.gate) if row.gate is not None else None,
        created_at=row.created_at,
        graph_thread_id=row.graph_thread_id,
        graph_checkpoint_id=pointer,
        valid=problem is None,
        problem=problem,
        summary=summary,
    )


def summarize(state: WAVEState) -> StateSummary:
    return StateSummary(
        phase=state.phase.value,
        current_gate=state.gates.current_gate.value,
        ac_passed=state.ac_passed,
        ac_total=len(state.acceptance_criteria),
        iteration=state.iteration,
    )


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "state"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {error['msg']}{more}"


def points_query(where: ColumnElement[bool]) -> Select[Any]:
    """Checkpoint rows with `graph_found`: whether the LangGraph checkpoint they name exists."""
    graph = graph_checkpoints.c
    return (
        select(
            WaveCheckpoint.id,
            WaveCheckpoint.session_id,
            WaveCheckpoint.story_id,
            WaveCheckpoint.story_execution_id,
            WaveCheckpoint.checkpoint_type,
            WaveCheckpoint.checkpoint_name,
            WaveCheckpoint.gate,
            WaveCheckpoint.state,
            WaveCheckpoint.created_at,
            WaveCheckpoint.graph_thread_id,
            WaveCheckpoint.graph_checkpoint_id,
            graph.checkpoint_id.is_not(None).label("graph_found"),
        )
        .outerjoin(
            graph_checkpoints,
            and_(
                graph.thread_id == WaveCheckpoint.graph_thread_id,
                graph.checkpoint_ns == "",
                graph.checkpoint_id == WaveCheckpoint.graph_checkpoint_id,
            ),
        )
        .where(where)
    )
