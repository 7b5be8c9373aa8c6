"""Operator run control through the database: hold, unhold, kill and the emergency stop.

Any process (the CLI, a TUI, another machine on PostgreSQL) issues a command as a row. If a
runner holds one of the session's leases it is live: it polls the rows, applies each command to
its stories (a hold drains the graph at the next step boundary, a kill cancels the step in
flight) and marks it handled (inbox.py). With no live runner the issuer changes the story rows
itself. Either way the command is handled once, and its `operator_command` event says who, what
and why.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from wave_tui.db import (
    CommandRepository,
    EscalationRepository,
    SessionRepository,
    StoryExecutionRepository,
    WaveCommand,
    WaveStoryExecution,
)
from wave_tui.db.types import utcnow
from wave_tui.domain.enums import EscalationStatus, StoryStatus
from wave_tui.engine.events import EventBus, Recorder
from wave_tui.errors import NotFoundError, UserError

# What a stopped story's block reason starts with, by the verb that stopped it.
STOP_WORDS: Mapping[str, str] = {"hold": "held", "kill": "killed", "stop": "emergency stop"}
# Only these are requeued by an unhold: an operator's pause, not a gate's verdict.
HELD_PREFIXES = (STOP_WORDS["hold"], STOP_WORDS["stop"])
# A hold or stop pauses stories that may still run; a kill ends any unfinished one.
PAUSABLE = frozenset({StoryStatus.PENDING, StoryStatus.IN_PROGRESS})
KILLABLE = PAUSABLE | {StoryStatus.BLOCKED, StoryStatus.REVIEW}
# What an outcome says was done to a story that was not running.
DONE_WORDS: Mapping[str, str] = {
    "hold": "held",
    "unhold": "requeued",
    "kill": "killed",
    "stop": "stopped",
}
NOTHING_TO_DO = "nothing to do"


def stop_reason(verb: str, reason: str) -> str:
    """The block (or cancel) reason a story gets when `verb` stops it: `held: <reason>`."""
    return f"{STOP_WORDS[verb]}: {reason}"


def is_held(execution: WaveStoryExecution) -> bool:
    return execution.status is StoryStatus.BLOCKED and (execution.block_reason or "").startswith(
        HELD_PREFIXES
    )


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What became of a command: handled by the live runner, applied directly, or still waiting."""

    command_id: int
    verb: str
    story_id: str | None
    issued_by: str
    runner: str | None  # the live runner the command was sent to, if there was one
    handled_by: str | None
    outcome: str | None

    @property
    def handled(self) -> bool:
        return self.handled_by is not None

    @property
    def applied_directly(self) -> bool:
        return self.handled_by == self.issued_by

    def summary(self) -> str:
        """One line for the operator."""
        what = f"{self.verb} {self.story_id or 'all stories'}"
        if not self.handled:
            return (
                f"{what}: not yet handled; command #{self.command_id} waits for {self.runner}, "
                "which runs the session"
            )
        if self.applied_directly:
            return f"{what}: applied directly (no process runs the session): {self.outcome}"
        return f"{what}: applied by the running session ({self.handled_by}): {self.outcome}"

    @classmethod
    def of(cls, command: WaveCommand, runner: str | None) -> CommandResult:
        return cls(
            command.id,
            command.verb,
            command.story_id,
            command.issued_by,
            runner,
            command.handled_by,
            command.outcome,
        )


# -- the issuing side -----------------------------------------------------------------------


async def issue_command(
    bus: EventBus,
    session_id: uuid.UUID,
    verb: str,
    *,
    issued_by: str,
    story_id: str | None = None,
    reason: str | None = None,
    wait_s: float = 5.0,
    poll_s: float = 0.1,
) -> CommandResult:
    """Issue a command; with a live runner, wait up to `wait_s` for it to be handled.

    Bad input (an unknown session or story, a kill without a reason, nothing to act on) raises
    UserError before anything is written. A runner that does not answer in time and has died
    meanwhile (its leases expired) does not keep the command: the issuer applies it itself.
    """
    reason = _checked_reason(verb, story_id, reason, issued_by)
    async with bus.transaction() as recorder:
        stories = await _session_stories(recorder.db, session_id, story_id)
        runner = _live_runner(stories)
        targets = _targets(verb, stories, story_id, live=runner is not None)
        if not targets:
            raise UserError(nothing_to_do(verb, stories, story_id, session_id))
        command = await CommandRepository(recorder.db).issue(
            session_id, verb, issued_by, story_id=story_id, reason=reason
        )
        if runner is None:
            await _apply_directly(recorder, command, stories)
            return CommandResult.of(command, None)
    result = await _await_handled(bus, command.id, runner, wait_s, poll_s)
    if not result.handled:
        result = await _take_over_if_orphaned(bus, command.id, runner)
    if (result.outcome or "").startswith(NOTHING_TO_DO):
        raise UserError(result.outcome or NOTHING_TO_DO)
    return result


def _checked_reason(verb: str, story_id: str | None, reason: str | None, by: str) -> str | None:
    if verb not in STOP_WORDS and verb != "unhold":
        raise UserError(f"unknown command {verb!r}: expected hold, unhold, kill or stop")
    if verb == "kill" and story_id is None:
        raise UserError("kill needs a story; stopping every story is the emergency stop")
    if verb == "stop" and story_id is not None:
        raise UserError("the emergency stop applies to the whole session; kill one story instead")
    reason = (reason or "").strip() or None
    if verb in ("kill", "stop") and reason is None:
        raise UserError(f"{'a kill' if verb == 'kill' else 'an emergency stop'} needs a reason")
    if verb == "hold" and reason is None:
        return f"requested by {by}"
    return reason


async def _session_stories(
    db: AsyncSession, session_id: uuid.UUID, story_id: str | None
) -> Sequence[WaveStoryExecution]:
    await SessionRepository(db).require(session_id)
    stories = await StoryExecutionRepository(db).list_by_session(session_id)
    if story_id is not None and story_id not in {s.story_id for s in stories}:
        raise NotFoundError(f"story {story_id} is not in session {session_id}")
    return stories


def _live_runner(stories: Sequence[WaveStoryExecution]) -> str | None:
    """The owner of an unexpired lease on one of the stories: a runner that polls commands."""
    now = utcnow()
    for story in stories:
        if story.lease_owner and story.lease_expires_at and story.lease_expires_at > now:
            return story.lease_owner
    return None


def _targets(
    verb: str, stories: Sequence[WaveStoryExecution], story_id: str | None, *, live: bool
) -> list[WaveStoryExecution]:
    """The stories the command acts on. A live runner may still be draining a story it was told
    to hold (its row says in progress), so an unhold may name that story too."""
    scope = [s for s in stories if story_id in (None, s.story_id)]
    if verb == "unhold":
        return [s for s in scope if is_held(s) or (live and s.status is StoryStatus.IN_PROGRESS)]
    statuses = KILLABLE if verb == "kill" else PAUSABLE
    return [s for s in scope if s.status in statuses]


def nothing_to_do(
    verb: str, stories: Sequence[WaveStoryExecution], story_id: str | None, session: uuid.UUID
) -> str:
    if story_id is not None:
        (story,) = [s for s in stories if s.story_id == story_id]
        if verb == "unhold":
            return f"{NOTHING_TO_DO}: story {story_id} is not held (it is {story.status})"
        return f"{NOTHING_TO_DO}: story {story_id} is {story.status}"
    if verb == "unhold":
        return f"{NOTHING_TO_DO}: no story of session {session} is held"
    return f"{NOTHING_TO_DO}: no story of session {session} is pending or in progress"


async def _apply_directly(
    recorder: Recorder, command: WaveCommand, stories: Sequence[WaveStoryExecution]
) -> None:
    """No runner: change the rows, mark the command handled by its issuer, one transaction."""
    repo = StoryExecutionRepository(recorder.db)
    reason = command.reason or ""
    targets = _targets(command.verb, stories, command.story_id, live=False)
    for story in targets:
        if command.verb == "unhold":
            await repo.requeue(story.id)
            kind, payload = "story_requeued", {"story": story.story_id}
        else:
            stopped = stop_reason(command.verb, reason)
            if command.verb == "kill":
                await repo.cancel_execution(story.id, stopped)
            else:
                await repo.block(story.id, stopped)
            kind, payload = "story_stopped", {"story": story.story_id, "reason": stopped}
        await recorder.record(command.session_id, kind, payload, story_execution_id=story.id)
    outcome = (
        f"{', '.join(s.story_id for s in targets)} {DONE_WORDS[command.verb]}"
        if targets
        else nothing_to_do(command.verb, stories, command.story_id, command.session_id)
    )
    await expire_escalations(recorder, command, targets, command.issued_by)
    if not await CommandRepository(recorder.db).mark_handled(
        command.id, command.issued_by, outcome
    ):
        raise AlreadyHandled
    await record_command(recorder, command, command.issued_by, outcome)
    command.handled_by, command.outcome = command.issued_by, outcome


async def _await_handled(
    bus: EventBus, command_id: int, runner: str, wait_s: float, poll_s: float
) -> CommandResult:
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        async with bus.database.session(readonly=True) as db:
            command = await CommandRepository(db).get(command_id)
        assert command is not None
        if command.handled_at is not None or asyncio.get_running_loop().time() >= deadline:
            return CommandResult.of(command, runner)
        await asyncio.sleep(poll_s)


async def _take_over_if_orphaned(bus: EventBus, command_id: int, runner: str) -> CommandResult:
    """The runner did not answer: if its leases have expired since, it is gone; apply the command
    here rather than leave it for a runner that may never come."""
    try:
        async with bus.transaction() as recorder:
            command = await CommandRepository(recorder.db).get(command_id)
            assert command is not None
            stories = await _session_stories(recorder.db, command.session_id, None)
            live = _live_runner(stories)
            if command.handled_at is not None or live is not None:
                return CommandResult.of(command, live or runner)
            await _apply_directly(recorder, command, stories)
            return CommandResult.of(command, runner)
    except AlreadyHandled:
        async with bus.database.session(readonly=True) as db:
            handled = await CommandRepository(db).get(command_id)
        assert handled is not None
        return CommandResult.of(handled, runner)


class AlreadyHandled(Exception):
    """Someone else handled the command first: roll our changes back and report theirs."""


async def expire_escalations(
    recorder: Recorder, command: WaveCommand, stories: Sequence[WaveStoryExecution], by: str
) -> None:
    """A killed or stopped story no longer waits for a decision: its open questions expire."""
    if command.verb not in ("kill", "stop"):
        return
    ids = {s.id for s in stories if command.story_id in (None, s.story_id)}
    repo = EscalationRepository(recorder.db)
    for escalation in await repo.list_pending(command.session_id):
        if escalation.story_execution_id in ids:
            reason = stop_reason(command.verb, command.reason or "")
            await repo.decide(escalation.id, EscalationStatus.EXPIRED, by, reason)


def lease_free(story: WaveStoryExecution, owner: str) -> bool:
    """No other live process holds the story's lease."""
    expires = story.lease_expires_at
    return story.lease_owner in (None, owner) or (expires is not None and expires <= utcnow())


async def record_command(
    recorder: Recorder, command: WaveCommand, handled_by: str, outcome: str
) -> None:
    """The command's `operator_command` event: who issued it, who handled it, what it did."""
    await recorder.record(
        command.session_id,
        "operator_command",
        {
            "command": command.id,
            "verb": command.verb,
            "story": command.story_id,
            "reason": command.reason,
            "by": command.issued_by,
            "handled_by": handled_by,
            "outcome": outcome,
        },
    )
