"""A session this process runs for a console: its SessionRunner as a task in the console's event
loop, started again when a recovery brings a story back after the runner had finished."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from wave_tui.db import StoryExecutionRepository
from wave_tui.domain.enums import SessionStatus, StoryStatus
from wave_tui.engine.events import EventBus

if TYPE_CHECKING:  # the runner pulls LangGraph in: a console that only watches never pays for it
    from wave_tui.engine.runner import SessionRunner

RunnerFactory = Callable[[], Awaitable["SessionRunner"]]
RUNNABLE = frozenset({StoryStatus.PENDING, StoryStatus.IN_PROGRESS})


class LiveSession:
    """Owns the runner of one session. Recovery in this process uses `owner`, so the runner
    (built with the same owner) picks the recovered stories up."""

    def __init__(self, bus: EventBus, session_id: uuid.UUID, owner: str, factory: RunnerFactory):
        self.bus = bus
        self.session_id = session_id
        self.owner = owner
        self._factory = factory
        self.runner: SessionRunner | None = None
        self._task: asyncio.Task[SessionStatus | None] | None = None
        self.status: SessionStatus | None = None  # how the last run ended
        self.error: BaseException | None = None
        self._readmitted: set[str] = set()

    @classmethod
    def of(cls, runner: SessionRunner) -> LiveSession:
        """A live session around a runner already built (by `wave run`, `wave demo`)."""
        from wave_tui.engine.runner import SessionRunner

        built: list[SessionRunner] = [runner]

        async def factory() -> SessionRunner:
            # The first run uses the runner given; later runs a fresh one with the same parts.
            if built:
                return built.pop()
            return SessionRunner(
                runner.bus,
                runner.session_id,
                provider=runner.provider,
                settings=runner.settings,
                guard=runner.guard,
                on_escalation=runner.outcomes.on_escalation,
                owner=runner.owner,
                lease_ttl=runner.lease_ttl,
                decision_poll_s=runner.outcomes.decision_poll_s,
                command_poll_s=runner.command_poll_s,
            )

        return cls(runner.bus, runner.session_id, runner.owner, factory)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def active_stories(self) -> frozenset[str]:
        return self.runner.running if self.runner is not None and self.running else frozenset()

    async def start(self) -> None:
        """Run the session (again) unless it runs already."""
        if self.running:
            return
        self.runner = await self._factory()
        self._task = asyncio.create_task(self._run(self.runner), name=f"wave-{self.session_id}")

    async def readmit(self, story_id: str) -> None:
        """A story was recovered for this process: the running runner takes it back (an earlier
        kill or hold of it here is forgotten), or the session runs again."""
        if self.running and self.runner is not None:
            self._readmitted.add(story_id)  # if the run is ending already, _run goes again
            await self.runner.resume(story_id)
        else:
            await self.start()

    async def hold_all(self, reason: str) -> None:
        """Stop every story at its next step boundary and wait for the runner to finish: the
        stories keep their checkpoints and `wave resume` continues them."""
        if self.running and self.runner is not None:
            self.runner.hold(None, reason)
        await self.wait()

    async def wait(self) -> SessionStatus | None:
        """Until the current run ends (never raises: a failure is kept in `error`)."""
        if self._task is not None:
            await asyncio.wait([self._task])
        return self.status

    async def stop(self) -> None:
        """Cancel the run outright (the console is closing with no time to hold)."""
        if self._task is not None and not self._task.done():
            self._task.cancel("console closed")
            await asyncio.wait([self._task])

    async def _run(self, runner: SessionRunner) -> SessionStatus | None:
        self.error, self.status = None, None  # a run stopped outright ends with neither
        try:
            while True:
                self.status = await runner.start()
                # A story readmitted while the run was ending was not picked up: go again.
                if not await self._left_behind():
                    break
                self.runner = runner = await self._factory()
        except Exception as problem:  # shown by the console, which stays open
            self.error = problem
            self.status = None
        return self.status

    async def _left_behind(self) -> bool:
        readmitted, self._readmitted = self._readmitted, set()
        if not readmitted:
            return False
        async with self.bus.database.session(readonly=True) as db:
            rows = await StoryExecutionRepository(db).list_by_session(self.session_id)
        return any(r.story_id in readmitted and r.status in RUNNABLE for r in rows)
