"""The SessionRunner: runs a session's stories, respecting dependencies and the concurrency
limit, and takes the operator's hold, resume and kill. Each story runs in a StoryDriver
(story_driver.py) under its own lease, every step recorded."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType

from wave_tui.agents.context import SessionLedger
from wave_tui.checkpoint import WAVECheckpointSaver
from wave_tui.config import Settings
from wave_tui.db import (
    CheckpointRepository,
    SessionRepository,
    StoryExecutionRepository,
    WaveStoryExecution,
)
from wave_tui.domain import threads
from wave_tui.domain.enums import CheckpointType, SessionStatus, StoryStatus
from wave_tui.domain.state import WAVEState
from wave_tui.engine.control import (
    KILLABLE,
    PAUSABLE,
    STOP_WORDS,
    is_held,
    lease_free,
    stop_reason,
)
from wave_tui.engine.events import EventBus
from wave_tui.engine.graph import build_graph, checkpoint_serializer
from wave_tui.engine.inbox import CommandInbox
from wave_tui.engine.outcomes import OnEscalation, StoryOutcomes
from wave_tui.engine.story_driver import Stops, StoryDriver
from wave_tui.errors import InvalidTransitionError, NotFoundError
from wave_tui.llm import LLMProvider
from wave_tui.recovery.leases import new_owner
from wave_tui.safety import SafetyGuard, Thresholds
from wave_tui.safety.rule_guard import RuleGuard

_DONE = {StoryStatus.COMPLETE, StoryStatus.FAILED, StoryStatus.CANCELLED}


class SessionRunner:
    def __init__(
        self,
        bus: EventBus,
        session_id: uuid.UUID,
        *,
        provider: LLMProvider,
        settings: Settings,
        guard: SafetyGuard | None = None,
        on_escalation: OnEscalation = "wait",
        owner: str | None = None,
        lease_ttl: timedelta = timedelta(seconds=60),
        decision_poll_s: float = 0.5,
        command_poll_s: float = 0.2,
    ) -> None:
        self.bus = bus
        self.database = bus.database
        self.session_id = session_id
        self.provider = provider
        self.settings = settings
        self.guard = guard or RuleGuard(thresholds=Thresholds.of(settings))
        self.owner = owner or new_owner()
        self.lease_ttl = lease_ttl
        self.outcomes = StoryOutcomes(bus, session_id, on_escalation, decision_poll_s)
        self.saver = WAVECheckpointSaver(self.database, serde=checkpoint_serializer())
        self.graph = build_graph(self.saver)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.stops = Stops()
        self.command_poll_s = command_poll_s
        self.commands = CommandInbox(self)
        # Set when the operator changed what may run (hold, unhold, kill): start() looks again.
        self._wake = asyncio.Event()
        self._story_ids: list[str] = []
        # A hold or stop of every story, kept for stories this runner has not read yet.
        self._hold_all: str | None = None

    # -- operator commands ------------------------------------------------------------------

    def hold(self, story_id: str | None, reason: str) -> None:
        """Pause at the next step boundary: the node in flight finishes and its checkpoint is
        saved, then the graph run drains. The story keeps its state and resumes later."""
        if story_id is None:
            self._hold_all = stop_reason("hold", reason)  # also the stories not read yet
        for sid in self._targets(story_id):
            self.stops.held[sid] = stop_reason("hold", reason)
            if (control := self.stops.controls.get(sid)) is not None:
                control.request_drain(self.stops.held[sid])
        self._wake.set()

    async def resume(self, story_id: str | None) -> list[str]:
        """Let held stories run again (from their last checkpoint) at the next `start()`."""
        resumed = []
        if story_id is None:
            self._hold_all = None
        elif self._hold_all is not None and self._story_ids:
            # One story let go after a stop of all: the others stay stopped, one by one.
            for sid in self._story_ids:
                self.stops.held.setdefault(sid, self._hold_all)
            self._hold_all = None
        for execution in await self._stories():
            if story_id not in (None, execution.story_id):
                continue
            self.stops.held.pop(execution.story_id, None)
            if is_held(execution):
                async with self.bus.transaction() as recorder:
                    await StoryExecutionRepository(recorder.db).requeue(execution.id)
                    await recorder.record(
                        self.session_id, "story_requeued", {"story": execution.story_id},
                        story_execution_id=execution.id,
                    )  # fmt: skip
                resumed.append(execution.story_id)
        self._wake.set()  # a running start() picks the requeued stories up
        return resumed

    def kill(self, story_id: str | None, reason: str) -> None:
        """Stop now. One story ends cancelled; all stories (the emergency stop) are held."""
        if story_id is None:
            self._hold_all = stop_reason("stop", reason)
        for sid in self._targets(story_id):
            self.stops.held[sid] = stop_reason("kill" if story_id else "stop", reason)
            if (task := self._tasks.get(sid)) is not None:
                task.cancel(self.stops.held[sid])
        self._wake.set()

    async def manual_checkpoint(self, story_id: str, name: str) -> int:
        """Mark the story's latest graph checkpoint as a named point the operator can return to."""
        async with self.database.session(readonly=True) as db:
            execution = await StoryExecutionRepository(db).get_by_story(self.session_id, story_id)
        if execution is None:
            raise NotFoundError(f"story {story_id} is not in session {self.session_id}")
        thread = threads.thread_of(execution.id, execution.meta_data)
        snapshot = await self.graph.aget_state({"configurable": {"thread_id": thread}})
        if not snapshot.values:
            raise InvalidTransitionError(f"story {story_id} has not started: nothing to checkpoint")
        state = WAVEState.model_validate(snapshot.values)
        async with self.bus.transaction() as recorder:
            latest = await CheckpointRepository(recorder.db).get_latest_by_story(
                self.session_id, story_id
            )
            checkpoint = await CheckpointRepository(recorder.db).create(
                self.session_id,
                CheckpointType.MANUAL,
                name,
                state.model_dump(mode="json"),
                story_execution_id=execution.id,
                story_id=story_id,
                parent_checkpoint_id=latest.id if latest else None,
                graph_thread_id=threads.thread_of(execution.id, execution.meta_data),
                graph_checkpoint_id=snapshot.config["configurable"]["checkpoint_id"],
            )
            await recorder.record(
                self.session_id, "manual_checkpoint", {"story": story_id, "name": name,
                "checkpoint": checkpoint.id}, story_execution_id=execution.id,
            )  # fmt: skip
        return checkpoint.id

    def _targets(self, story_id: str | None) -> list[str]:
        """One story, or every story: those running and those that have not started yet."""
        if story_id:
            return [story_id]
        return [*self._tasks, *(s for s in self._story_ids if s not in self._tasks)]

    @property
    def running(self) -> frozenset[str]:
        """The stories whose task runs in this process right now."""
        return frozenset(sid for sid, task in self._tasks.items() if not task.done())

    @property
    def held(self) -> Mapping[str, str]:
        """Stories the operator stopped in this runner, each with the reason it is stopped for."""
        return MappingProxyType(self.stops.held)

    # -- the session ------------------------------------------------------------------------

    async def start(self) -> SessionStatus:
        """Run until every story has finished or cannot go on; returns the session's status."""
        async with self.database.session() as db:
            session = await SessionRepository(db).require(self.session_id)
            if session.status in (SessionStatus.PENDING, SessionStatus.FAILED):
                await SessionRepository(db).start_session(self.session_id)
            driver = StoryDriver(
                self.bus, self.session_id, self.provider, self.settings, self.guard,
                self.outcomes, self.graph, self.owner, self.lease_ttl, self.stops,
                ledger=SessionLedger(
                    session.token_limit, session.budget_usd, session.tokens_used,
                    session.actual_cost_usd,
                ),
                project=Path(session.project_path or "."),
                root=self.settings.data_dir / "worktrees" / str(self.session_id),
                base=str(session.meta_data.get("base_branch") or "") or None,
            )  # fmt: skip
            concurrency = session.concurrency
        self._story_ids = [s.story_id for s in await self._stories()]
        await self.commands.poll()  # commands that waited for a runner apply before anything runs
        stop = asyncio.Event()
        poller = asyncio.create_task(
            self.commands.run(self.command_poll_s, stop), name=f"wave-commands-{self.session_id}"
        )
        try:
            await self._schedule(driver, concurrency)
        finally:
            stop.set()  # not cancelled: a command in hand is finished and marked handled
            await poller
        await self._park_held(await self._stories())  # what the last command stopped
        return await self._finish_session()

    async def _schedule(self, driver: StoryDriver, concurrency: int) -> None:
        """Start ready stories up to the concurrency limit until none runs and none can start;
        an operator's command wakes it to look again."""
        while True:
            self._wake.clear()
            stories = await self._stories()
            self._story_ids = [s.story_id for s in stories]
            if self._hold_all is not None:
                for sid in self._story_ids:
                    self.stops.held.setdefault(sid, self._hold_all)
            if await self._park_held(stories):
                stories = await self._stories()
            await self._block_orphans(stories)
            ready = [
                s for s in stories if self._ready(s, stories) and s.story_id not in self._tasks
            ]
            for execution in ready[: max(0, concurrency - len(self._tasks))]:
                task = asyncio.create_task(
                    driver.run(execution),
                    name=f"wave-story-{execution.story_id}",
                )
                self._tasks[execution.story_id] = task
            if not self._tasks:
                break
            woken = asyncio.create_task(self._wake.wait())
            try:
                done, _ = await asyncio.wait(
                    [*self._tasks.values(), woken], return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                woken.cancel()
            for sid, task in list(self._tasks.items()):
                if task in done:
                    del self._tasks[sid]
                    if not task.cancelled() and (problem := task.exception()) is not None:
                        raise problem

    async def _park_held(self, stories: Sequence[WaveStoryExecution]) -> bool:
        """Stories the operator stopped before they started here go on the record as stopped
        (blocked, or cancelled when killed); one another live process runs is left to it."""
        parked = False
        for execution in stories:
            reason = self.stops.held.get(execution.story_id)
            if reason is None or execution.story_id in self._tasks:
                continue
            statuses = KILLABLE if reason.startswith(STOP_WORDS["kill"]) else PAUSABLE
            if execution.status in statuses and lease_free(execution, self.owner):
                # A story that finished elsewhere since it was read is not stopped after all.
                with contextlib.suppress(InvalidTransitionError):
                    await self.outcomes.stopped(execution, reason)
                    parked = True
        return parked

    async def _stories(self) -> Sequence[WaveStoryExecution]:
        async with self.database.session(readonly=True) as db:
            return await StoryExecutionRepository(db).list_by_session(self.session_id)

    def _ready(self, execution: WaveStoryExecution, stories: Sequence[WaveStoryExecution]) -> bool:
        if execution.status not in (StoryStatus.PENDING, StoryStatus.IN_PROGRESS):
            return False
        if execution.story_id in self.stops.held or execution.story_id in self.stops.lost:
            return False
        status = {s.story_id: s.status for s in stories}
        return all(status.get(dep) is StoryStatus.COMPLETE for dep in _depends_on(execution))

    async def _block_orphans(self, stories: Sequence[WaveStoryExecution]) -> None:
        """A pending story whose dependency ended without completing can never run."""
        status = {s.story_id: s for s in stories}
        for execution in stories:
            if execution.status is not StoryStatus.PENDING:
                continue
            for dep in _depends_on(execution):
                dependency = status.get(dep)
                if dependency is not None and dependency.status in _DONE - {StoryStatus.COMPLETE}:
                    reason = f"depends on {dep}, which is {dependency.status}"
                    async with self.bus.transaction() as recorder:
                        await StoryExecutionRepository(recorder.db).block(execution.id, reason)
                        await recorder.record(
                            self.session_id, "story_blocked", {"story": execution.story_id,
                            "reason": reason}, story_execution_id=execution.id,
                        )  # fmt: skip
                    break

    async def _finish_session(self) -> SessionStatus:
        stories = await self._stories()
        done = sum(1 for s in stories if s.status is StoryStatus.COMPLETE)
        failed = sum(1 for s in stories if s.status in (StoryStatus.FAILED, StoryStatus.CANCELLED))
        async with self.bus.transaction() as recorder:
            sessions = SessionRepository(recorder.db)
            await sessions.update_progress(
                self.session_id, stories_completed=done, stories_failed=failed
            )
            if done == len(stories):
                session = await sessions.complete_session(self.session_id)
            else:
                unfinished = len(stories) - done
                session = await sessions.fail_session(
                    self.session_id, f"{unfinished} of {len(stories)} stories did not complete"
                )
            await recorder.record(
                self.session_id,
                "session_finished",
                {"status": str(session.status), "completed": done, "failed": failed,
                 "tokens": session.tokens_used, "cost_usd": str(session.actual_cost_usd)},
            )  # fmt: skip
        return session.status


def _depends_on(execution: WaveStoryExecution) -> list[str]:
    return [str(dep) for dep in execution.definition.get("depends_on", [])]
