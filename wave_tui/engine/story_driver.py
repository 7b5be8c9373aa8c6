"""One story's run: its lease, worktree and context, the graph streamed step by step with every
step recorded, escalations decided, and the outcome put on the record. It obeys the operator's
stops, which the SessionRunner sets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from langgraph.errors import GraphDrained
from langgraph.runtime import RunControl
from langgraph.types import Command

from wave_tui.agents.context import SessionLedger, StoryContext
from wave_tui.config import Settings
from wave_tui.db import (
    CheckpointRepository,
    SessionRepository,
    StoryExecutionRepository,
    WaveStoryExecution,
)
from wave_tui.domain import threads
from wave_tui.domain.enums import AutonomyLevel, CheckpointType, StoryStatus
from wave_tui.domain.gates import Gate
from wave_tui.domain.state import BudgetState, Phase, SafetyState, WAVEState
from wave_tui.domain.story import Story
from wave_tui.engine.events import EventBus
from wave_tui.engine.journal import JournaledProvider
from wave_tui.engine.outcomes import StoryOutcomes
from wave_tui.engine.steps import StepRecorder
from wave_tui.errors import LeaseHeldError, LeaseLostError, WaveError
from wave_tui.llm import LLMProvider
from wave_tui.recovery.retention import prune_story
from wave_tui.safety import SafetyGuard
from wave_tui.workspace import WorkspaceTools, Worktree

log = logging.getLogger(__name__)


@dataclass
class Stops:
    """What stops stories in this process: the runner writes it, the drivers obey it."""

    # Stories the operator stopped, each with the reason it is stopped for.
    held: dict[str, str] = field(default_factory=dict)
    # Stories another process owns (lease refused or lost): never run here again this time.
    lost: set[str] = field(default_factory=set)
    # Each story's current graph run: a hold drains it at the next step boundary.
    controls: dict[str, RunControl] = field(default_factory=dict)


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


@dataclass
class StoryDriver:
    """Runs the stories of one session's `start()`; everything here is shared by its stories."""

    bus: EventBus
    session_id: uuid.UUID
    provider: LLMProvider
    settings: Settings
    guard: SafetyGuard
    outcomes: StoryOutcomes
    graph: Any
    owner: str
    lease_ttl: timedelta
    stops: Stops
    ledger: SessionLedger
    project: Path
    root: Path  # where the stories' worktrees go
    base: str | None  # the branch they start from; None: the project's current one

    async def run(self, execution: WaveStoryExecution) -> None:
        """The story under its lease, until it ends, stops, or its lease goes to another process."""
        repo = StoryExecutionRepository
        try:
            async with self.bus.database.session() as db:
                await repo(db).acquire_lease(execution.id, self.owner, self.lease_ttl)
        except LeaseHeldError as held:
            self.stops.lost.add(execution.story_id)  # another live process runs it: not ours
            await self.bus.emit(
                self.session_id, "lease_refused", {"story": execution.story_id, "reason": str(held)}
            )
            return
        renewal = asyncio.create_task(self._renew_lease(execution, asyncio.current_task()))
        try:
            await self._drive(execution)
        except asyncio.CancelledError:
            if execution.story_id in self.stops.lost:
                # Another process owns the story now: leave its row alone.
                await self.bus.emit(self.session_id, "lease_lost", {"story": execution.story_id})
                return
            reason = self.stops.held.get(execution.story_id, "cancelled")
            await self.outcomes.stopped(execution, reason)
        except WaveError as problem:
            # An operational failure of this story (the model API, git, a replay script without
            # the turn asked for) fails the story, on the record; the other stories go on.
            await self.outcomes.failed(execution, str(problem))
        finally:
            renewal.cancel()
            with contextlib.suppress(Exception):
                async with self.bus.database.session() as db:
                    await repo(db).release_lease(execution.id, self.owner)

    async def _renew_lease(
        self, execution: WaveStoryExecution, story_task: asyncio.Task[Any] | None
    ) -> None:
        """Keep the lease alive; if it was lost, stop the story here so it never runs twice."""
        while True:
            await asyncio.sleep(self.lease_ttl.total_seconds() / 3)
            try:
                async with self.bus.database.session() as db:
                    await StoryExecutionRepository(db).renew_lease(
                        execution.id, self.owner, self.lease_ttl
                    )
            except LeaseLostError:
                self.stops.lost.add(execution.story_id)
                if story_task is not None:
                    story_task.cancel("lease lost")
                return

    async def _drive(self, execution: WaveStoryExecution) -> None:
        story = Story.model_validate(execution.definition)
        worktree = await Worktree.open(
            self.project, story.id, root=self.root, base_branch=self.base
        )
        # Every model answer of the story, the safety judge's included, goes into its journal.
        provider = JournaledProvider(
            self.provider, self.bus.database, execution.id, threads.epoch_of(execution.meta_data)
        )
        ctx = StoryContext(
            story=story,
            session_id=self.session_id,
            story_execution_id=execution.id,
            provider=provider,
            tools=WorkspaceTools(worktree.path, forbidden=story.files.forbidden),
            worktree=worktree,
            guard=self.guard.for_story(provider),
            ledger=self.ledger,
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
        held = self.stops.held
        while True:
            interrupts = await self._stream(graph_input, first, ctx, steps)
            first = config  # after the fork, the thread's newest checkpoint is where it stands
            if execution.story_id in held:
                await self.outcomes.stopped(execution, held[execution.story_id])
                return
            if not interrupts:
                break
            decision = await self.outcomes.decide(
                execution, interrupts[0], lambda: execution.story_id in held
            )
            if decision is None:  # held while it waited: the question stays open for later
                await self.outcomes.stopped(execution, held[execution.story_id])
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
                self.bus.database,
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
        story_id = ctx.story.id
        while True:
            # A fresh control per run: a drained one stays drained.
            control = self.stops.controls[story_id] = RunControl()
            if (reason := self.stops.held.get(story_id)) is not None:
                control.request_drain(reason)
            try:
                await self._stream_run(graph_input, config, ctx, steps, control, interrupts)
                return interrupts
            except GraphDrained:
                if story_id in self.stops.held:
                    return interrupts
                # Carry on from the checkpoint it drained at: the newest of the thread, which
                # holds the input (or the resume) already.
                graph_input = None
                config = {**config, "configurable": {**config["configurable"]}}
                config["configurable"].pop("checkpoint_id", None)
            finally:
                self.stops.controls.pop(story_id, None)

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
        evidence = [
            "story valid; dependencies complete: " + (", ".join(story.depends_on) or "none"),
            f"budget available: ${self.ledger.cost_limit_usd - self.ledger.cost_usd:.4f}",
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
        async with self.bus.database.session(readonly=True) as db:
            return (await SessionRepository(db).require(self.session_id)).autonomy_level

    async def _latest_checkpoint(self, story_id: str) -> int | None:
        async with self.bus.database.session(readonly=True) as db:
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
