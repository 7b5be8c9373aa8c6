"""The SessionRunner: runs a session's stories through the graph, respecting dependencies and
the concurrency limit, one lease per story, every step recorded; hold, resume and kill on demand."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from langgraph.errors import GraphDrained
from langgraph.runtime import RunControl
from langgraph.types import Command

from wave_tui.agents.context import SessionLedger, StoryContext
from wave_tui.checkpoint import WAVECheckpointSaver
from wave_tui.config import Settings
from wave_tui.db import (
    CheckpointRepository,
    SessionRepository,
    StoryExecutionRepository,
    WaveStoryExecution,
)
from wave_tui.domain.enums import (
    AutonomyLevel,
    CheckpointType,
    SessionStatus,
    StoryStatus,
)
from wave_tui.domain.gates import Gate
from wave_tui.domain.state import BudgetState, Phase, SafetyState, WAVEState
from wave_tui.domain.story import Story
from wave_tui.engine.control import (
    KILLABLE,
    PAUSABLE,
    STOP_WORDS,
    CommandInbox,
    is_held,
    lease_free,
    stop_reason,
)
from wave_tui.engine.events import EventBus
from wave_tui.engine.graph import build_graph, checkpoint_serializer
from wave_tui.engine.journal import JournaledProvider
from wave_tui.engine.outcomes import OnEscalation, StoryOutcomes
from wave_tui.engine.steps import StepRecorder
from wave_tui.errors import (
    InvalidTransitionError,
    LeaseHeldError,
    LeaseLostError,
    NotFoundError,
    WaveError,
)
from wave_tui.llm import LLMProvider
from wave_tui.recovery import threads
from wave_tui.recovery.leases import new_owner
from wave_tui.recovery.retention import prune_story
from wave_tui.safety import SafetyGuard, Thresholds
from wave_tui.safety.rule_guard import RuleGuard
from wave_tui.workspace import WorkspaceTools, Worktree

log = logging.getLogger(__name__)
_DONE = {StoryStatus.COMPLETE, StoryStatus.FAILED, StoryStatus.CANCELLED}


@dataclass
class BusSink:
    bus: EventBus
    session_id: uuid.UUID
    execution_id: uuid.UUID
    story_id: str

    async def emit(self, kind: str, agent: str, payload: dict[str, Any]) -> None:
        await self.bus.emit(
            self.session_id,
            kind,
            {"story": self.story_id, **payload},
            story_execution_id=self.execution_id,
            agent=agent,
        )


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
        self._held: dict[str, str] = {}
        # Stories another process owns (lease refused or lost): never run here again this time.
        self._lost: set[str] = set()
        self._ledger: SessionLedger | None = None
        self.command_poll_s = command_poll_s
        self.commands = CommandInbox(self)
        # Each story's current graph run: a hold drains it at the next step boundary.
        self._controls: dict[str, RunControl] = {}
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
            self._held[sid] = stop_reason("hold", reason)
            if (control := self._controls.get(sid)) is not None:
                control.request_drain(self._held[sid])
        self._wake.set()

    async def resume(self, story_id: str | None) -> list[str]:
        """Let held stories run again (from their last checkpoint) at the next `start()`."""
        resumed = []
        if story_id is None:
            self._hold_all = None
        elif self._hold_all is not None and self._story_ids:
            # One story let go after a stop of all: the others stay stopped, one by one.
            for sid in self._story_ids:
                self._held.setdefault(sid, self._hold_all)
            self._hold_all = None
        for execution in await self._stories():
            if story_id not in (None, execution.story_id):
                continue
            self._held.pop(execution.story_id, None)
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
            self._held[sid] = stop_reason("kill" if story_id else "stop", reason)
            if (task := self._tasks.get(sid)) is not None:
                task.cancel(self._held[sid])
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
        return MappingProxyType(self._held)

    # -- the session ------------------------------------------------------------------------

    async def start(self) -> SessionStatus:
        """Run until every story has finished or cannot go on; returns the session's status."""
        async with self.database.session() as db:
            session = await SessionRepository(db).require(self.session_id)
            if session.status in (SessionStatus.PENDING, SessionStatus.FAILED):
                await SessionRepository(db).start_session(self.session_id)
            self._ledger = SessionLedger(
                session.token_limit, session.budget_usd, session.tokens_used,
                session.actual_cost_usd,
            )  # fmt: skip
            concurrency, project = session.concurrency, Path(session.project_path or ".")
            base = str(session.meta_data.get("base_branch") or "") or None
        root = self.settings.data_dir / "worktrees" / str(self.session_id)
        self._story_ids = [s.story_id for s in await self._stories()]
        await self.commands.poll()  # commands that waited for a runner apply before anything runs
        stop = asyncio.Event()
        poller = asyncio.create_task(
            self.commands.run(self.command_poll_s, stop), name=f"wave-commands-{self.session_id}"
        )
        try:
            await self._schedule(project, root, base, concurrency)
        finally:
            stop.set()  # not cancelled: a command in hand is finished and marked handled
            await poller
        await self._park_held(await self._stories())  # what the last command stopped
        return await self._finish_session()

    async def _schedule(
        self, project: Path, root: Path, base: str | None, concurrency: int
    ) -> None:
        """Start ready stories up to the concurrency limit until none runs and none can start;
        an operator's command wakes it to look again."""
        while True:
            self._wake.clear()
            stories = await self._stories()
            self._story_ids = [s.story_id for s in stories]
            if self._hold_all is not None:
                for sid in self._story_ids:
                    self._held.setdefault(sid, self._hold_all)
            if await self._park_held(stories):
                stories = await self._stories()
            await self._block_orphans(stories)
            ready = [
                s for s in stories if self._ready(s, stories) and s.story_id not in self._tasks
            ]
            for execution in ready[: max(0, concurrency - len(self._tasks))]:
                task = asyncio.create_task(
                    self._run_story(execution, project, root, base),
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
            reason = self._held.get(execution.story_id)
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
        if execution.story_id in self._held or execution.story_id in self._lost:
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

    # -- one story --------------------------------------------------------------------------

    async def _run_story(
        self, execution: WaveStoryExecution, project: Path, root: Path, base: str | None
    ) -> None:
        repo = StoryExecutionRepository
        try:
            async with self.database.session() as db:
                await repo(db).acquire_lease(execution.id, self.owner, self.lease_ttl)
        except LeaseHeldError as held:
            self._lost.add(execution.story_id)  # another live process runs it: not ours to retry
            await self.bus.emit(
                self.session_id, "lease_refused", {"story": execution.story_id, "reason": str(held)}
            )
            return
        renewal = asyncio.create_task(self._renew_lease(execution, asyncio.current_task()))
        try:
            await self._drive(execution, project, root, base)
        except asyncio.CancelledError:
            if execution.story_id in self._lost:
                # Another process owns the story now: leave its row alone.
                await self.bus.emit(self.session_id, "lease_lost", {"story": execution.story_id})
                return
            await self.outcomes.stopped(execution, self._held.get(execution.story_id, "cancelled"))
        except WaveError as problem:
            # An operational failure of this story (the model API, git, a replay script without
            # the turn asked for) fails the story, on the record; the other stories go on.
            await self.outcomes.failed(execution, str(problem))
        finally:
            renewal.cancel()
            with contextlib.suppress(Exception):
                async with self.database.session() as db:
                    await repo(db).release_lease(execution.id, self.owner)

    async def _renew_lease(
        self, execution: WaveStoryExecution, story_task: asyncio.Task[Any] | None
    ) -> None:
        """Keep the lease alive; if it was lost, stop the story here so it never runs twice."""
        while True:
            await asyncio.sleep(self.lease_ttl.total_seconds() / 3)
            try:
                async with self.database.session() as db:
                    await StoryExecutionRepository(db).renew_lease(
                        execution.id, self.owner, self.lease_ttl
                    )
            except LeaseLostError:
                self._lost.add(execution.story_id)
                if story_task is not None:
                    story_task.cancel("lease lost")
                return

    async def _drive(
        self, execution: WaveStoryExecution, project: Path, root: Path, base: str | None
    ) -> None:
        story = Story.model_validate(execution.definition)
        worktree = await Worktree.open(project, story.id, root=root, base_branch=base)
        assert self._ledger is not None
        ctx = StoryContext(
            story=story,
            session_id=self.session_id,
            story_execution_id=execution.id,
            provider=JournaledProvider(
                self.provider, self.database, execution.id, threads.epoch_of(execution.meta_data)
            ),
            tools=WorkspaceTools(worktree.path, forbidden=story.files.forbidden),
            worktree=worktree,
            guard=self.guard,
            ledger=self._ledger,
            sink=BusSink(self.bus, self.session_id, execution.id, story.id),
            autonomy=await self._autonomy(),
        )
        thread = threads.thread_of(execution.id, execution.meta_data)
        config: dict[str, Any] = {"configurable": {"thread_id": thread}}
        steps = StepRecorder(self.bus, self.session_id, execution.id, story.id, thread)
        # Recovery may ask to continue from an older checkpoint: the run forks from it, and
        # the first step recorded after it clears the request (a crash before that forks again).
        fork = threads.fork_of(execution.meta_data)
        first = {"configurable": {"thread_id": thread, "checkpoint_id": fork}} if fork else config
        steps.clears_fork = fork is not None
        snapshot = await self.graph.aget_state(first)
        graph_input: Any
        if snapshot.values:
            graph_input = None  # a thread exists: continue where it stopped
            steps.last_checkpoint = await self._latest_checkpoint(story.id)
            # What the state already spent was charged when its step was recorded.
            spent = WAVEState.model_validate(snapshot.values).budget
            steps.charged_tokens, steps.charged_cost = spent.tokens_used, spent.cost_usd
            await self._mark_resumed(execution)
        else:
            graph_input = self._initial_state(story, execution, worktree)
            async with self.bus.transaction() as recorder:
                await StoryExecutionRepository(recorder.db).start_execution(execution.id)
                await recorder.record(
                    self.session_id, "story_started", {"story": story.id},
                    story_execution_id=execution.id,
                )  # fmt: skip
                await steps.write(recorder, "start", graph_input, "", CheckpointType.STORY_START)
        while True:
            interrupts = await self._stream(graph_input, first, ctx, steps)
            first = config  # after the fork, the thread's newest checkpoint is where it stands
            if execution.story_id in self._held:
                await self.outcomes.stopped(execution, self._held[execution.story_id])
                return
            if not interrupts:
                break
            decision = await self.outcomes.decide(
                execution, interrupts[0], lambda: execution.story_id in self._held
            )
            if decision is None:  # held while it waited: the question stays open for later
                await self.outcomes.stopped(execution, self._held[execution.story_id])
                return
            graph_input = Command(resume=decision)
        snapshot = await self.graph.aget_state(config)
        final = WAVEState.model_validate(snapshot.values)
        await self.outcomes.conclude(
            execution, final, worktree, steps, snapshot.config["configurable"]["checkpoint_id"]
        )
        if final.phase is Phase.COMPLETE and self.settings.checkpoint_prune_on_complete:
            await self._prune(execution)

    async def _prune(self, execution: WaveStoryExecution) -> None:
        """The retention policy for a story just completed; it never fails the story."""
        try:
            report = await prune_story(
                self.database,
                self.session_id,
                execution.story_id,
                keep_latest=self.settings.checkpoint_keep_latest,
            )
        except Exception as problem:  # the story is complete whatever happens here
            log.warning("Checkpoint prune failed | story=%s | %s", execution.story_id, problem)
            return
        log.info(
            "Checkpoints pruned | story=%s | removed=%d | kept=%d",
            execution.story_id,
            report.checkpoints,
            report.kept,
        )

    async def _stream(
        self, graph_input: Any, config: dict[str, Any], ctx: StoryContext, steps: StepRecorder
    ) -> list[Any]:
        """Run the graph until it ends, interrupts, or drains for a hold. A hold withdrawn before
        the drain took effect lets the run carry on from the checkpoint it drained at."""
        interrupts: list[Any] = []
        while True:
            # A fresh control per run: a drained one stays drained.
            control = self._controls[ctx.story.id] = RunControl()
            if (reason := self._held.get(ctx.story.id)) is not None:
                control.request_drain(reason)
            try:
                await self._stream_run(graph_input, config, ctx, steps, control, interrupts)
                return interrupts
            except GraphDrained:
                if ctx.story.id in self._held:
                    return interrupts
                # Carry on from the checkpoint it drained at: the newest of the thread, which
                # holds the input (or the resume) already.
                graph_input = None
                config = {**config, "configurable": {**config["configurable"]}}
                config["configurable"].pop("checkpoint_id", None)
            finally:
                self._controls.pop(ctx.story.id, None)

    async def _stream_run(
        self,
        graph_input: Any,
        config: dict[str, Any],
        ctx: StoryContext,
        steps: StepRecorder,
        control: RunControl,
        interrupts: list[Any],
    ) -> None:
        node: str | None = None
        stream = self.graph.astream(
            graph_input,
            config,
            context=ctx,
            stream_mode=["updates", "checkpoints"],
            durability=self.settings.checkpoint_durability,
            control=control,
        )
        # Closed explicitly: a cancelled story must not leave the run open.
        async with contextlib.aclosing(stream):
            async for mode, chunk in stream:
                if mode == "updates":
                    if "__interrupt__" in chunk:
                        interrupts.extend(chunk["__interrupt__"])
                    else:
                        node = next(iter(chunk), None)
                elif mode == "checkpoints" and node is not None:
                    state = WAVEState.model_validate(chunk["values"])
                    await steps.record(
                        node, state, chunk["config"]["configurable"]["checkpoint_id"], None
                    )
                    node = None

    def _initial_state(
        self, story: Story, execution: WaveStoryExecution, worktree: Worktree
    ) -> WAVEState:
        assert self._ledger is not None
        evidence = [
            "story valid; dependencies complete: " + (", ".join(story.depends_on) or "none"),
            f"budget available: ${self._ledger.cost_limit_usd - self._ledger.cost_usd:.4f}",
            f"worktree {worktree.path} on {worktree.branch}",
        ]
        state = WAVEState(
            project_id=str(worktree.repo),
            session_id=str(self.session_id),
            story_id=story.id,
            thread_id=threads.thread_of(execution.id, execution.meta_data),
            domain=story.domain,
            prompt=story.prompt,
            acceptance_criteria=story.acceptance_criteria,
            budget=BudgetState(
                token_limit=self.settings.default_token_limit,
                cost_limit_usd=execution.budget_usd or self.settings.default_story_budget_usd,
            ),
            safety=SafetyState(
                block_threshold=self.settings.constitutional_block_threshold,
                escalate_threshold=self.settings.constitutional_escalate_threshold,
            ),
        )
        return state.model_copy(update={"gates": state.gates.record(Gate.GATE_0, True, evidence)})

    async def _autonomy(self) -> AutonomyLevel:
        async with self.database.session(readonly=True) as db:
            return (await SessionRepository(db).require(self.session_id)).autonomy_level

    async def _latest_checkpoint(self, story_id: str) -> int | None:
        async with self.database.session(readonly=True) as db:
            latest = await CheckpointRepository(db).get_latest_by_story(self.session_id, story_id)
            return latest.id if latest else None

    async def _mark_resumed(self, execution: WaveStoryExecution) -> None:
        async with self.bus.transaction() as recorder:
            repo = StoryExecutionRepository(recorder.db)
            if (await repo.require(execution.id)).status is not StoryStatus.IN_PROGRESS:
                await repo.start_execution(execution.id)
            await recorder.record(
                self.session_id, "story_resumed", {"story": execution.story_id},
                story_execution_id=execution.id,
            )  # fmt: skip


def _depends_on(execution: WaveStoryExecution) -> list[str]:
    return [str(dep) for dep in execution.definition.get("depends_on", [])]
