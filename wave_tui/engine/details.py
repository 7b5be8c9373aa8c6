"""One story in depth, for the console's detail pane: each gate's verdict with its evidence, and
the story's checkpoints judged for recovery."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from wave_tui.db import CheckpointRepository, Database
from wave_tui.domain.gates import GATES, Gate
from wave_tui.domain.state import GateState
from wave_tui.recovery import RecoveryManager
from wave_tui.recovery.validation import RecoveryPoint


@dataclass(frozen=True, slots=True)
class GateLine:
    gate: Gate
    name: str
    passed: bool | None  # None: no verdict yet
    evidence: tuple[str, ...]
    at: datetime | None


@dataclass(frozen=True, slots=True)
class StoryDetails:
    story_id: str
    gates: tuple[GateLine, ...]
    checkpoints: tuple[RecoveryPoint, ...]
    plan: str | None
    test_output: str


async def story_details(
    database: Database, session_id: uuid.UUID, story_id: str, *, checkpoints: int = 200
) -> StoryDetails:
    """The gate timeline from the story's newest checkpoint, and its newest checkpoints."""
    async with database.session(readonly=True) as db:
        latest = await CheckpointRepository(db).get_latest_by_story(session_id, story_id)
    # A damaged checkpoint may hold anything (a list, a number): the recovery list says which.
    state = dict(latest.state) if latest is not None and isinstance(latest.state, Mapping) else {}
    try:
        gates = GateState.model_validate(state.get("gates") or {})
    except ValidationError:
        gates = GateState()
    lines = []
    for spec in GATES:
        result = gates.results.get(spec.gate.value)
        lines.append(
            GateLine(
                gate=spec.gate,
                name=spec.name,
                passed=result.passed if result else None,
                evidence=tuple(result.evidence) if result else (),
                at=result.at if result else None,
            )
        )
    points = await RecoveryManager(database).find_recovery_points(session_id, story_id)
    return StoryDetails(
        story_id=story_id,
        gates=tuple(lines),
        checkpoints=tuple(points[:checkpoints]),
        plan=str(plan) if (plan := state.get("plan")) is not None else None,
        test_output=str(state.get("test_output") or ""),
    )
