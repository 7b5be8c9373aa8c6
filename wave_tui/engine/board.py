"""The console's read model of one session: what the dashboard shows, kept current from events
and from the story rows. No Textual here: the same board serves the TUI, its tests and its bench.

Events (from the EventBus, or tailed from the events table) are applied in memory; the rows are
re-read when an event says a status changed, so the board is right even for events it missed.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from wave_tui.db import (
    Database,
    EscalationRepository,
    EventRepository,
    SessionRepository,
    StoryExecutionRepository,
    WaveStoryExecution,
)
from wave_tui.db.types import utcnow
from wave_tui.domain.enums import StoryStatus
from wave_tui.domain.gates import Gate
from wave_tui.engine.events import Event
from wave_tui.engine.feed import SeenIds
from wave_tui.engine.views import (
    EscalationView,
    SessionView,
    StoryView,
    first_not_passed,
    gate_strip,
)

ACTIVE = frozenset({StoryStatus.IN_PROGRESS, StoryStatus.REVIEW})
# Events after which the story rows (status, block reason, lease) are read again.
ROW_EVENTS = frozenset(
    {
        "story_started",
        "story_resumed",
        "story_finished",
        "story_failed",
        "story_stopped",
        "story_requeued",
        "story_blocked",
        "story_recovered",
        "escalation",
        "escalation_decided",
        "operator_command",
        "session_finished",
        "lease_refused",
        "lease_lost",
        "recovery",
    }
)
LOG_SIZE, STORY_LOG_SIZE = 2_000, 200
SPEND_BUCKET = timedelta(seconds=5)


@dataclass
class Changes:
    """What an update touched: the screen redraws only these."""

    stories: set[str] = field(default_factory=set)
    session: bool = False
    escalations: bool = False
    events: list[Event] = field(default_factory=list)
    rows_stale: bool = False

    def merge(self, other: Changes) -> None:
        self.stories |= other.stories
        self.session |= other.session
        self.escalations |= other.escalations
        self.events.extend(other.events)
        self.rows_stale |= other.rows_stale

    def __bool__(self) -> bool:
        return bool(self.stories or self.session or self.escalations or self.events)


class Board:
    """One session as the console shows it. `load` once, then `apply` events as they come and
    `refresh` the rows when `apply` says they are stale (and now and then regardless)."""

    def __init__(self, session: SessionView) -> None:
        self.session = session
        self.stories: dict[str, StoryView] = {}
        self.escalations: list[EscalationView] = []
        self.last_event_id = 0
        self._seen = SeenIds()
        self.log: deque[Event] = deque(maxlen=LOG_SIZE)
        self.story_logs: dict[str, deque[Event]] = {}
        # Per story: the newest verdict of each gate, its safety score, iteration and recycles,
        # as the newest step event said (the rows do not keep per-gate verdicts).
        self._steps: dict[str, Mapping[str, Any]] = {}
        self._tokens: dict[str, int] = {}
        self.spend: deque[tuple[datetime, int]] = deque(maxlen=240)

    # -- loading ----------------------------------------------------------------------------

    @classmethod
    async def load(
        cls, database: Database, session_id: uuid.UUID, *, history: int = 1_000
    ) -> Board:
        """The session as it stands, with its newest `history` events in the log."""
        async with database.session(readonly=True) as db:
            row = await SessionRepository(db).require(session_id)
            events = EventRepository(db)
            steps = await events.latest_per_story(session_id, "step")
            recent = await events.recent(session_id, limit=history)
        board = cls(SessionView.of(row))
        for step in steps:
            board._steps[str(step.payload.get("story"))] = dict(step.payload)
        board.apply([Event.from_row(e) for e in recent])
        await board.refresh(database)
        return board

    async def refresh(self, database: Database) -> Changes:
        """Read the session, its stories and its open escalations again; report what changed."""
        async with database.session(readonly=True) as db:
            row = await SessionRepository(db).require(self.session.id)
            rows = await StoryExecutionRepository(db).list_by_session(self.session.id)
            pending = await EscalationRepository(db).list_pending(self.session.id)
        changes = Changes()
        names: dict[uuid.UUID | None, str] = {r.id: r.story_id for r in rows}
        escalations = [EscalationView.of(e, names.get(e.story_execution_id)) for e in pending]
        if escalations != self.escalations:
            self.escalations, changes.escalations = escalations, True
        for story_row in rows:
            view = self._story_view(story_row)
            if self.stories.get(view.story_id) != view:
                self.stories[view.story_id] = view
                changes.stories.add(view.story_id)
        counts = _counts(self.stories.values())
        session = SessionView.of(row, open_escalations=len(escalations), **counts)
        if session != self.session:
            self.session, changes.session = session, True
        return changes

    # -- events -----------------------------------------------------------------------------

    def apply(self, events: Iterable[Event]) -> Changes:
        """Take new events in (repeated ones are ignored): the log, the gate verdicts and the
        safety of the stories, the spend over time."""
        changes = Changes()
        for event in events:
            if not self._seen.add(event.id):
                continue
            self.last_event_id = max(self.last_event_id, event.id)
            self.log.append(event)
            changes.events.append(event)
            story = str(event.payload.get("story") or "") or None
            if story is not None:
                self.story_logs.setdefault(story, deque(maxlen=STORY_LOG_SIZE)).append(event)
            if event.kind == "step" and story is not None:
                self._steps[story] = dict(event.payload)
                self._count_spend(story, event)
                if (current := self.stories.get(story)) is not None:
                    updated = self._after_step(current, event)
                    if updated != current:
                        self.stories[story] = updated
                        changes.stories.add(story)
            if event.kind in ROW_EVENTS:
                changes.rows_stale = True
        return changes

    def story_log(self, story_id: str) -> Sequence[Event]:
        return tuple(self.story_logs.get(story_id, ()))

    def spend_series(self, buckets: int = 60, now: datetime | None = None) -> list[float]:
        """Tokens spent per bucket of SPEND_BUCKET, oldest first, ending `now` (a sparkline)."""
        if not self.spend:
            return [0.0] * buckets
        end = max(now or utcnow(), self.spend[-1][0])
        series = [0.0] * buckets
        for moment, tokens in self.spend:
            # A moment after `end` (another machine's clock runs ahead) counts as now.
            back = max(0, int((end - moment) / SPEND_BUCKET))
            if back < buckets:
                series[buckets - 1 - back] += tokens
        return series

    def ordered(self) -> list[StoryView]:
        return list(self.stories.values())

    def next_escalation(self) -> EscalationView | None:
        return self.escalations[0] if self.escalations else None

    # -- inside -----------------------------------------------------------------------------

    def _count_spend(self, story: str, event: Event) -> None:
        tokens = int(event.payload.get("tokens") or 0)
        spent = tokens - self._tokens.get(story, 0)
        self._tokens[story] = tokens
        if spent > 0:
            self.spend.append((event.created_at, spent))

    def _story_view(self, row: WaveStoryExecution) -> StoryView:
        view = StoryView(
            execution_id=row.id,
            story_id=row.story_id,
            title=row.story_title,
            status=row.status,
            agent=row.agent,
            phase=row.phase,
            gates=gate_strip(row.status, row.current_gate, {}),
            iteration=row.iteration,
            recycles=row.recycle_count,
            tokens=row.token_count,
            cost_usd=row.cost_usd,
            safety=None,
            ac_passed=row.ac_passed,
            ac_total=row.ac_total,
            block_reason=row.block_reason,
            error=row.error,
            files_created=tuple(row.files_created or ()),
            files_modified=tuple(row.files_modified or ()),
            depends_on=tuple(str(d) for d in row.definition.get("depends_on", [])),
            lease_owner=row.lease_owner,
        )
        step = self._steps.get(row.story_id)
        return self._with_step(view, step, current=row.current_gate) if step else view

    def _with_step(
        self, view: StoryView, step: Mapping[str, Any], *, current: Gate | None = None
    ) -> StoryView:
        """The row's view with what only steps say: each gate's verdict and the safety score."""
        verdicts = {str(k): bool(v) for k, v in (step.get("gates") or {}).items()}
        if current is None:
            current = first_not_passed(verdicts) if verdicts else None
        safety = step.get("safety")
        return replace(
            view,
            gates=gate_strip(view.status, current, verdicts) if current or verdicts else view.gates,
            safety=float(safety) if safety is not None else view.safety,
            tokens=max(view.tokens, int(step.get("tokens") or 0)),
        )

    def _after_step(self, view: StoryView, event: Event) -> StoryView:
        """A step newer than the row last read: everything it carries, without reading the row
        (the status only changes with the events that mark rows stale)."""
        step = event.payload
        view = self._with_step(view, step)
        ac_total = step.get("ac_total")
        return replace(
            view,
            phase=str(step.get("phase") or view.phase or "") or None,
            agent=event.agent or view.agent,
            iteration=int(step.get("iteration", view.iteration)),
            recycles=int(step.get("recycles", view.recycles)),
            cost_usd=Decimal(str(step.get("cost_usd", view.cost_usd))),
            ac_passed=int(step.get("ac_passed", view.ac_passed)),
            ac_total=int(ac_total) if ac_total is not None else view.ac_total,
        )


def _counts(stories: Iterable[StoryView]) -> dict[str, int]:
    views = list(stories)
    return {
        "completed": sum(1 for s in views if s.status is StoryStatus.COMPLETE),
        "failed": sum(1 for s in views if s.status in (StoryStatus.FAILED, StoryStatus.CANCELLED)),
        "running": sum(1 for s in views if s.status in ACTIVE),
    }


__all__ = ["Board", "Changes"]
