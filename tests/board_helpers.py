"""Building a session for the board tests: a real project and stories, and a story recorded by
hand the way the SessionRunner records it."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.engine_helpers import (
    make_project,
    write_story,
)
from wave_tui.db import (
    StoryExecutionRepository,
    WaveStoryExecution,
)
from wave_tui.db.types import utcnow
from wave_tui.domain.enums import (
    AutonomyLevel,
    CheckpointType,
    SessionStatus,
    StoryStatus,
)
from wave_tui.domain.gates import Gate
from wave_tui.domain.state import WAVEState
from wave_tui.domain.story import AcceptanceCriterion, load_stories
from wave_tui.engine.board import Board
from wave_tui.engine.events import Event, EventBus, Subscription
from wave_tui.engine.sessions import create_session
from wave_tui.engine.steps import StepRecorder
from wave_tui.engine.views import (
    SessionView,
)

TOKEN_PRICE = Decimal("0.000006")


async def new_session(bus: EventBus, tmp_path: Path, *story_ids: str) -> uuid.UUID:
    """A session on a real git project with one story per id (default: S-1), as `wave run`
    creates it."""
    project = make_project(tmp_path / "project")
    paths = [write_story(tmp_path / f"{sid}.yaml", sid) for sid in story_ids or ("S-1",)]
    return await create_session(
        bus,
        load_stories(paths),
        project,
        budget_usd=Decimal("5"),
        token_limit=100_000,
        story_budget_usd=Decimal("2"),
        autonomy=AutonomyLevel.L3,
    )


class HandRun:
    """One story recorded by hand the way SessionRunner records it: status changes with their
    events in one transaction, each step through the real StepRecorder (row, spend, checkpoint
    and `step` event)."""

    def __init__(self, bus: EventBus, session_id: uuid.UUID, row: WaveStoryExecution) -> None:
        self.bus, self.session_id, self.row = bus, session_id, row
        self.steps = StepRecorder(bus, session_id, row.id, row.story_id, str(row.id))
        self.state = WAVEState(
            session_id=str(session_id),
            story_id=row.story_id,
            thread_id=str(row.id),
            acceptance_criteria=[AcceptanceCriterion(id="AC-1", description="double(3) == 6")],
        )
        self.graph_steps = 0

    @classmethod
    async def of(cls, bus: EventBus, session_id: uuid.UUID, story_id: str) -> HandRun:
        async with bus.database.session(readonly=True) as db:
            row = await StoryExecutionRepository(db).get_by_story(session_id, story_id)
        assert row is not None
        return cls(bus, session_id, row)

    async def start(self) -> None:
        gates = self.state.gates.record(Gate.GATE_0, True, ["worktree wave/S-1 ready"])
        self.state = self.state.model_copy(update={"gates": gates})
        async with self.bus.transaction() as recorder:
            await StoryExecutionRepository(recorder.db).start_execution(self.row.id)
            await recorder.record(
                self.session_id, "story_started", {"story": self.row.story_id},
                story_execution_id=self.row.id,
            )  # fmt: skip
            await self.steps.write(recorder, "start", self.state, "", CheckpointType.STORY_START)

    async def step(
        self,
        node: str,
        *verdicts: tuple[Gate, bool, str],
        tokens: int = 0,
        safety: float | None = None,
        **update: Any,
    ) -> None:
        gates = self.state.gates
        for gate, passed, evidence in verdicts:
            gates = gates.record(gate, passed, [evidence])
        score = self.state.safety.score if safety is None else safety
        self.state = self.state.model_copy(
            update={
                "gates": gates,
                "budget": self.state.budget.charge(tokens, tokens * TOKEN_PRICE),
                "safety": self.state.safety.model_copy(update={"score": score}),
                "current_agent": node,
                **update,
            }
        )
        self.graph_steps += 1
        await self.steps.record(node, self.state, f"graph-{self.graph_steps}", None)

    async def end(self, status: StoryStatus, reason: str = "") -> None:
        async with self.bus.transaction() as recorder:
            stories = StoryExecutionRepository(recorder.db)
            if status is StoryStatus.COMPLETE:
                await stories.complete_execution(self.row.id)
            elif status is StoryStatus.FAILED:
                await stories.fail_execution(self.row.id, reason)
            else:
                await stories.cancel_execution(self.row.id, reason)
            await recorder.record(
                self.session_id, "story_finished", {"story": self.row.story_id,
                "status": str(status)}, story_execution_id=self.row.id,
            )  # fmt: skip


async def published(subscription: Subscription) -> list[Event]:
    """What the bus has published so far (it publishes when the transaction commits, so
    everything the awaited writes recorded is queued already)."""
    return await subscription.batch(5.0)


def the_board() -> Board:
    """An empty board of a session nobody has stored (for the in-memory parts)."""
    now = utcnow()
    view = SessionView(
        id=uuid.uuid4(), name="shop", project_path=None,
        status=SessionStatus.IN_PROGRESS, autonomy=AutonomyLevel.L2, created_at=now,
        started_at=now, completed_at=None, budget_usd=Decimal("5"), cost_usd=Decimal(0),
        token_limit=100_000, tokens_used=0, story_count=2,
    )  # fmt: skip
    return Board(view)


def step_event(event_id: int, story: str, tokens: int, moment: datetime) -> Event:
    payload = {"story": story, "node": "dev", "phase": "development", "tokens": tokens}
    return Event(event_id, uuid.uuid4(), None, "step", "dev", payload, moment)
