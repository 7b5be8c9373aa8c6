"""A session the console runs in its own event loop: run to the end, held for quitting, run
again when a recovered story comes back, and a runner that fails without taking the console."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.board_helpers import new_session
from tests.engine_helpers import first_time_right
from wave_tui.config import Settings
from wave_tui.db import Database, EventRepository, StoryExecutionRepository
from wave_tui.domain.enums import SessionStatus, StoryStatus
from wave_tui.engine.events import EventBus
from wave_tui.engine.live import LiveSession
from wave_tui.engine.runner import SessionRunner
from wave_tui.errors import NotFoundError
from wave_tui.llm import LLMResponse, ReplayProvider, ReplayScript
from wave_tui.recovery import RecoveryManager

PLANNED_AND_DEVELOPED = ["S-1/pm/1#0", "S-1/dev/1#0", "S-1/dev/1#1"]


class GatedProvider:
    """The replay provider, except that the first Dev turn waits until the test lets it answer:
    the story is known to be inside the Dev node while the test acts."""

    def __init__(self, script: Path) -> None:
        self.replay = ReplayProvider(ReplayScript.load(script))
        self.asked = asyncio.Event()
        self.answer = asyncio.Event()

    @property
    def calls(self) -> list[str]:
        return list(self.replay.calls)

    async def complete(
        self,
        system: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] = (),
        *,
        conversation: str,
    ) -> LLMResponse:
        if conversation == "S-1/dev/1":
            self.asked.set()
            await self.answer.wait()
        return await self.replay.complete(system, messages, tools, conversation=conversation)


async def until(condition: Any, rounds: int = 1_200) -> None:
    """Poll `condition()` until it holds (a bounded number of rounds)."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")


async def story_row(database: Database, session_id: uuid.UUID) -> Any:
    async with database.session(readonly=True) as db:
        (row,) = await StoryExecutionRepository(db).list_by_session(session_id)
    return row


async def held_while_developing(
    database: Database, tmp_path: Path, settings: Settings
) -> tuple[LiveSession, GatedProvider, uuid.UUID]:
    """A live session whose story the console held (as when quitting) while Dev was working."""
    bus = EventBus(database)
    session_id = await new_session(bus, tmp_path)
    provider = GatedProvider(first_time_right(tmp_path))
    runner = SessionRunner(
        bus, session_id, provider=provider, settings=settings,
        lease_ttl=timedelta(seconds=45), decision_poll_s=0.1, command_poll_s=0.1,
    )  # fmt: skip
    live = LiveSession.of(runner)
    await live.start()
    await until(lambda: provider.asked.is_set() or not live.running)
    assert provider.asked.is_set(), live.error
    assert live.active_stories == {"S-1"}

    holding = asyncio.create_task(live.hold_all("console closed by alice"))
    await until(lambda: "S-1" in runner.held)
    provider.answer.set()  # the Dev node in flight finishes; the run drains after it
    await holding  # hold_all returns once the run has ended
    return live, provider, session_id


async def test_a_live_session_runs_its_runner_to_completion(
    database: Database, tmp_path: Path, settings: Settings
) -> None:
    bus = EventBus(database)
    session_id = await new_session(bus, tmp_path)
    provider = ReplayProvider(ReplayScript.load(first_time_right(tmp_path)))
    runner = SessionRunner(bus, session_id, provider=provider, settings=settings)
    live = LiveSession.of(runner)

    await live.start()
    await live.start()  # already running: not started twice

    assert await live.wait() is SessionStatus.COMPLETED
    assert (live.running, live.error, live.runner) == (False, None, runner)
    assert live.active_stories == frozenset()
    assert (await story_row(database, session_id)).status is StoryStatus.COMPLETE
    assert provider.calls.count("S-1/pm/1#0") == 1


async def test_hold_all_holds_the_running_story_at_its_next_step_boundary_and_returns(
    database: Database, tmp_path: Path, settings: Settings
) -> None:
    live, provider, session_id = await held_while_developing(database, tmp_path, settings)

    assert not live.running
    assert await live.wait() is SessionStatus.FAILED  # not complete: its story is held
    row = await story_row(database, session_id)
    assert (row.status, row.block_reason) == (StoryStatus.BLOCKED, "held: console closed by alice")
    assert row.lease_owner is None
    assert provider.calls == PLANNED_AND_DEVELOPED  # Dev finished its node; QA never ran
    async with database.session(readonly=True) as db:
        events = await EventRepository(db).tail(session_id, limit=1_000)
    steps = [e.payload["node"] for e in events if e.kind == "step"]
    assert steps[-1] == "dev"  # its last checkpoint is the step the hold waited for
    assert events[-2].kind == "story_stopped"
    assert events[-1].kind == "session_finished"


async def test_readmit_after_the_run_ended_runs_a_fresh_runner_with_the_same_owner(
    database: Database, tmp_path: Path, settings: Settings
) -> None:
    live, provider, session_id = await held_while_developing(database, tmp_path, settings)
    first = live.runner
    assert first is not None
    manager = RecoveryManager(database, owner=live.owner, worktrees=settings.data_dir / "worktrees")
    await manager.recover_story(session_id, "S-1")

    await live.readmit("S-1")

    assert await live.wait() is SessionStatus.COMPLETED
    assert live.runner is not None
    assert live.runner is not first
    assert live.runner.owner == first.owner == live.owner
    assert live.runner.provider is provider
    fresh = live.runner
    assert (fresh.lease_ttl, fresh.command_poll_s, fresh.outcomes.decision_poll_s) == (
        timedelta(seconds=45), 0.1, 0.1,
    )  # fmt: skip
    row = await story_row(database, session_id)
    assert (row.status, row.lease_owner) == (StoryStatus.COMPLETE, None)
    assert provider.calls == [*PLANNED_AND_DEVELOPED, "S-1/cto/1#0"]  # from the held checkpoint


async def test_a_runner_that_raises_keeps_its_error_and_waiting_does_not_raise(
    database: Database, tmp_path: Path, settings: Settings
) -> None:
    provider = ReplayProvider(ReplayScript.load(first_time_right(tmp_path)))
    missing = uuid.uuid4()  # a session that is not in the database
    runner = SessionRunner(EventBus(database), missing, provider=provider, settings=settings)
    live = LiveSession.of(runner)

    await live.start()

    assert await live.wait() is None
    assert isinstance(live.error, NotFoundError)
    assert str(missing) in str(live.error)
    assert not live.running
    assert provider.calls == []
