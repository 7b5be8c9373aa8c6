"""The runner's end of run control: it polls its session's operator commands, applies each to
its stories through the runner, and marks it handled (control.py is the issuer's end)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from wave_tui.db import CommandRepository, StoryExecutionRepository, WaveCommand, WaveStoryExecution
from wave_tui.engine.control import (
    DONE_WORDS,
    KILLABLE,
    PAUSABLE,
    AlreadyHandled,
    expire_escalations,
    lease_free,
    nothing_to_do,
    record_command,
)
from wave_tui.engine.events import EventBus
from wave_tui.errors import WaveError

log = logging.getLogger(__name__)


class Steerable(Protocol):
    """What the command channel needs of a SessionRunner."""

    session_id: uuid.UUID
    owner: str
    bus: EventBus

    @property
    def running(self) -> frozenset[str]: ...

    @property
    def held(self) -> Mapping[str, str]: ...

    def hold(self, story_id: str | None, reason: str) -> None: ...

    async def resume(self, story_id: str | None) -> list[str]: ...

    def kill(self, story_id: str | None, reason: str) -> None: ...


class CommandInbox:
    """The runner's end: polls its session's commands and applies them through the runner.

    Commands left unhandled (issued while no runner answered) are applied on the first poll.
    Commands another process handled after this runner started (a second runner of the same
    session, or an issuer that saw no lease a moment before this runner took one) are applied
    to this runner's stories too, without being marked again: every runner ends up in line.
    """

    def __init__(self, runner: Steerable) -> None:
        self.runner = runner
        self._seen: int | None = None

    async def run(self, interval_s: float, stop: asyncio.Event) -> None:
        """Poll every `interval_s` until `stop` is set. Stopping never cuts a command in half
        (applied but not marked); a database hiccup costs one poll, not the session."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
            if stop.is_set():
                return
            try:
                await self.poll()
            except (SQLAlchemyError, WaveError) as problem:
                log.warning("polling operator commands failed: %s", problem)

    async def poll(self) -> int:
        """Apply what arrived since the last poll; returns how many commands were seen."""
        session_id = self.runner.session_id
        async with self.runner.bus.database.session(readonly=True) as db:
            repo = CommandRepository(db)
            if self._seen is None:
                self._seen = await repo.last_id(session_id)
            commands = await repo.pending(session_id, or_after=self._seen)
        for command in commands:
            self._seen = max(self._seen, command.id)
            await self._handle(command)
        return len(commands)

    async def _handle(self, command: WaveCommand) -> None:
        runner = self.runner
        if command.handled_at is not None:
            # Handled by another process: bring this runner's own stories in line with it.
            with contextlib.suppress(WaveError):
                await self._steer(command, runner.running)
            return
        # The rows as they were before the runner acts: what it parks is judged on these.
        stories = await self._stories()
        running = runner.running
        try:
            steered = await self._steer(command, running)
            outcome = _runner_outcome(command, stories, running, steered)
        except WaveError as problem:  # the story moved on between the issue and now
            outcome = f"failed: {problem}"
        # Stories another live runner owns are its to settle when it catches up.
        ours = [s for s in stories if s.story_id in running or lease_free(s, runner.owner)]
        try:
            async with runner.bus.transaction() as recorder:
                await expire_escalations(recorder, command, ours, runner.owner)
                repo = CommandRepository(recorder.db)
                if not await repo.mark_handled(command.id, runner.owner, outcome):
                    raise AlreadyHandled
                await record_command(recorder, command, runner.owner, outcome)
        except AlreadyHandled:
            pass  # the issuer applied it directly meanwhile; the steering above matched it

    async def _stories(self) -> Sequence[WaveStoryExecution]:
        async with self.runner.bus.database.session(readonly=True) as db:
            return await StoryExecutionRepository(db).list_by_session(self.runner.session_id)

    async def _steer(self, command: WaveCommand, running: frozenset[str]) -> list[str]:
        """Apply the command to the runner; returns what it did to stories running here."""
        runner, story_id, reason = self.runner, command.story_id, command.reason or ""
        if command.verb == "unhold":
            withdrawn = [s for s in running if s in runner.held and story_id in (None, s)]
            requeued = await runner.resume(story_id)
            return [f"{s} requeued" for s in requeued] + [
                f"{s}: hold withdrawn before it took effect" for s in withdrawn if s not in requeued
            ]
        in_scope = sorted(s for s in running if story_id in (None, s))
        if command.verb == "hold":
            runner.hold(story_id, reason)
            return [f"{s} holds at its next step boundary" for s in in_scope]
        runner.kill(story_id, reason)
        word = DONE_WORDS[command.verb]
        return [f"{s} {word}: its step in flight was cancelled" for s in in_scope]


def _runner_outcome(
    command: WaveCommand,
    stories: Sequence[WaveStoryExecution],
    running: frozenset[str],
    steered: list[str],
) -> str:
    """What the runner did: to its running stories (steered) and to the others (parked)."""
    if command.verb == "unhold":
        parked: list[str] = []
    else:
        statuses = KILLABLE if command.verb == "kill" else PAUSABLE
        parked = [
            f"{s.story_id} {DONE_WORDS[command.verb]}"
            for s in stories
            if command.story_id in (None, s.story_id)
            and s.story_id not in running
            and s.status in statuses
        ]
    done = steered + parked
    if not done:
        return nothing_to_do(command.verb, stories, command.story_id, command.session_id)
    return "; ".join(done)
