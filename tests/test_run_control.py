"""Run control: hold, unhold, kill and the emergency stop, from this process or another one.

Sessions run for real (graph, git, pytest, the replay provider). Commands come from a second
`wave` process or a second Database object, as an operator's other terminal would send them.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from tests.engine_helpers import cto_turn, dev_turns, make_project, pm_turn, write_story
from wave_tui.cli import main
from wave_tui.config import Settings
from wave_tui.db import (
    CommandRepository,
    Database,
    EscalationRepository,
    EventRepository,
    StoryExecutionRepository,
    WaveCommand,
    WaveEvent,
    WaveStoryExecution,
)
from wave_tui.domain.enums import (
    AutonomyLevel,
    EscalationKind,
    EscalationStatus,
    SessionStatus,
    StoryStatus,
)
from wave_tui.domain.story import load_stories
from wave_tui.engine.control import issue_command
from wave_tui.engine.events import EventBus
from wave_tui.engine.runner import SessionRunner
from wave_tui.engine.sessions import create_session
from wave_tui.errors import UserError
from wave_tui.llm import ReplayProvider, ReplayScript

MODULES = {"S-1": "double", "S-2": "twice"}
# Long enough that a command from another process arrives while the first model call sleeps.
SLOW_S = 120.0


@pytest.fixture
async def other_terminal(database_url: str) -> AsyncIterator[EventBus]:
    """A second connection to the same database, as another process on this machine has."""
    database = Database(database_url)
    yield EventBus(database)
    await database.dispose()


def _script(stories: list[str], latency_s: float = 0) -> ReplayScript:
    conversations: dict[str, list[dict[str, Any]]] = {}
    for story in stories:
        conversations[f"{story}/pm/1"] = pm_turn()
        conversations[f"{story}/dev/1"] = dev_turns("x * 2", MODULES[story])
        conversations[f"{story}/cto/1"] = cto_turn()
    return ReplayScript.from_data(
        {"version": 1, "model": "claude-sonnet-4-6", "latency_s": latency_s,
         "conversations": conversations}
    )  # fmt: skip


async def _session(
    bus: EventBus,
    tmp_path: Path,
    stories: list[str],
    autonomy: AutonomyLevel = AutonomyLevel.L3,
    concurrency: int = 1,
) -> uuid.UUID:
    files = [write_story(tmp_path / f"{story}.yaml", story) for story in stories]
    return await create_session(
        bus,
        load_stories(files),
        make_project(tmp_path / "project"),
        budget_usd=Decimal("5"),
        token_limit=100_000,
        story_budget_usd=Decimal("2"),
        autonomy=autonomy,
        concurrency=concurrency,
    )


def _runner(
    bus: EventBus, session_id: uuid.UUID, settings: Settings, script: ReplayScript
) -> tuple[SessionRunner, ReplayProvider]:
    provider = ReplayProvider(script)
    runner = SessionRunner(
        bus, session_id, provider=provider, settings=settings,
        decision_poll_s=0.05, command_poll_s=0.05,
    )  # fmt: skip
    return runner, provider


def _wave(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`wave … --database-url URL` as operator carol would type it in another terminal."""
    return subprocess.run(
        [sys.executable, "-m", "wave_tui", *args, "--database-url", database_url],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "WAVE_OPERATOR": "carol"},
    )  # fmt: skip


async def _wave_async(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    # In a thread: the runner in this process keeps its event loop, as it would on its own.
    return await asyncio.to_thread(_wave, database_url, *args)


Cli = Callable[..., Awaitable[tuple[int, str, str]]]


@pytest.fixture
def cli(
    database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Cli:
    """The same `wave` command in this process (a new process costs seconds): exit code, stdout,
    stderr. Where the second process matters, the tests start one."""
    monkeypatch.setenv("WAVE_OPERATOR", "carol")

    async def run(*args: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(main, [*args, "--database-url", database_url])
        out, err = capsys.readouterr()
        return code, out, err

    return run


async def _until(condition: Callable[[], Awaitable[bool]]) -> None:
    """Wait for a condition the run under test must reach (the guard only stops a hung test)."""
    async with asyncio.timeout(120):
        while True:
            if await condition():
                return
            await asyncio.sleep(0.02)


async def _stories(bus: EventBus, session_id: uuid.UUID) -> dict[str, WaveStoryExecution]:
    async with bus.database.session(readonly=True) as db:
        rows = await StoryExecutionRepository(db).list_by_session(session_id)
    return {row.story_id: row for row in rows}


async def _commands(bus: EventBus, session_id: uuid.UUID) -> list[WaveCommand]:
    async with bus.database.session(readonly=True) as db:
        return list(reversed(await CommandRepository(db).list_recent(session_id)))


async def _events(bus: EventBus, session_id: uuid.UUID, kind: str) -> list[WaveEvent]:
    async with bus.database.session(readonly=True) as db:
        events = await EventRepository(db).tail(session_id, limit=10_000)
    return [event for event in events if event.kind == kind]


async def _pending_escalations(bus: EventBus, session_id: uuid.UUID) -> list[int]:
    async with bus.database.session(readonly=True) as db:
        return [e.id for e in await EscalationRepository(db).list_pending(session_id)]


async def _approve(bus: EventBus, escalation_id: int) -> None:
    async with bus.database.session() as db:
        await EscalationRepository(db).decide(
            escalation_id, EscalationStatus.APPROVED, "alice", "merge it"
        )


async def test_a_hold_from_another_process_stops_at_the_next_step_and_unhold_finishes_it(
    bus: EventBus, tmp_path: Path, settings: Settings, database_url: str, cli: Cli
) -> None:
    # At L2 the story waits for the merge approval: a running session, deterministically.
    session_id = await _session(bus, tmp_path, ["S-1"], AutonomyLevel.L2)
    runner, provider = _runner(bus, session_id, settings, _script(["S-1"]))
    run = asyncio.create_task(runner.start())
    await _until(lambda: _has_pending(bus, session_id))

    held = await _wave_async(
        database_url, "hold", str(session_id), "--story", "S-1", "--reason", "look at the diff"
    )
    assert held.returncode == 0, held.stderr
    assert "applied by the running session" in held.stdout
    assert "S-1 holds at its next step boundary" in held.stdout
    (escalation,) = await _pending_escalations(bus, session_id)
    await _approve(bus, escalation)
    assert await run is SessionStatus.FAILED  # not complete: the story is held

    story = (await _stories(bus, session_id))["S-1"]
    assert (story.status, story.block_reason) == (StoryStatus.BLOCKED, "held: look at the diff")
    assert story.lease_owner is None
    snapshot = await runner.graph.aget_state({"configurable": {"thread_id": str(story.id)}})
    assert snapshot.next == ("approval",)  # drained before the approval step took its answer
    (command,) = await _commands(bus, session_id)
    assert (command.verb, command.story_id, command.issued_by) == ("hold", "S-1", "carol")
    assert command.handled_by == runner.owner
    assert command.handled_at is not None
    (event,) = await _events(bus, session_id, "operator_command")
    assert event.payload["by"] == "carol"
    assert event.payload["reason"] == "look at the diff"
    assert event.payload["outcome"] == "S-1 holds at its next step boundary"

    # Nobody runs the session now: the unhold changes the row itself.
    code, out, err = await cli("unhold", str(session_id), "--story", "S-1")
    assert code == 0, err
    assert "applied directly" in out
    assert (await _stories(bus, session_id))["S-1"].status is StoryStatus.PENDING

    second, second_provider = _runner(bus, session_id, settings, _script(["S-1"]))
    assert await second.start() is SessionStatus.COMPLETED
    assert provider.calls == ["S-1/pm/1#0", "S-1/dev/1#0", "S-1/dev/1#1", "S-1/cto/1#0"]
    assert second_provider.calls == []  # no finished node ran again
    assert await _pending_escalations(bus, session_id) == []  # the approval was not asked again
    assert (await _stories(bus, session_id))["S-1"].status is StoryStatus.COMPLETE


async def _has_pending(bus: EventBus, session_id: uuid.UUID) -> bool:
    return bool(await _pending_escalations(bus, session_id))


async def _running(
    bus: EventBus, tmp_path: Path, settings: Settings, stories: list[str], latency_s: float
) -> tuple[uuid.UUID, SessionRunner, ReplayProvider, asyncio.Task[SessionStatus]]:
    """A session started in this process whose first planning call is in flight."""
    session_id = await _session(bus, tmp_path, stories)
    runner, provider = _runner(bus, session_id, settings, _script(stories, latency_s))
    run = asyncio.create_task(runner.start())
    await _until(lambda: _asked(provider, f"{stories[0]}/pm/1#0"))
    return session_id, runner, provider, run


async def _asked(provider: ReplayProvider, call: str) -> bool:
    return call in provider.calls


async def test_a_hold_lets_the_node_in_flight_finish_and_drains_before_the_next(
    bus: EventBus, other_terminal: EventBus, tmp_path: Path, settings: Settings
) -> None:
    session_id, runner, provider, run = await _running(bus, tmp_path, settings, ["S-1"], 2)

    result = await issue_command(
        other_terminal, session_id, "hold", issued_by="alice", story_id="S-1"
    )
    assert result.handled_by == runner.owner
    assert await run is SessionStatus.FAILED

    story = (await _stories(bus, session_id))["S-1"]
    assert (story.status, story.block_reason) == (StoryStatus.BLOCKED, "held: requested by alice")
    assert provider.calls == ["S-1/pm/1#0"]  # planning finished; development never started
    snapshot = await runner.graph.aget_state({"configurable": {"thread_id": str(story.id)}})
    assert snapshot.next == ("dev",)
    assert snapshot.values["plan"]


async def test_an_unhold_before_the_hold_took_effect_lets_the_story_run_on(
    bus: EventBus, other_terminal: EventBus, tmp_path: Path, settings: Settings
) -> None:
    session_id, _, provider, run = await _running(bus, tmp_path, settings, ["S-1"], 1)

    await issue_command(other_terminal, session_id, "hold", issued_by="alice", story_id="S-1")
    unhold = await issue_command(
        other_terminal, session_id, "unhold", issued_by="alice", story_id="S-1"
    )
    assert unhold.outcome == "S-1: hold withdrawn before it took effect"
    assert await run is SessionStatus.COMPLETED
    assert provider.calls == ["S-1/pm/1#0", "S-1/dev/1#0", "S-1/dev/1#1", "S-1/cto/1#0"]
    assert await _events(bus, session_id, "story_stopped") == []


async def test_a_kill_from_another_process_cancels_the_model_call_in_flight(
    bus: EventBus, tmp_path: Path, settings: Settings, database_url: str
) -> None:
    session_id, _, provider, run = await _running(bus, tmp_path, settings, ["S-1"], SLOW_S)

    killed = await _wave_async(
        database_url, "kill", str(session_id), "--story", "S-1", "--reason", "wrong approach"
    )
    assert killed.returncode == 0, killed.stderr
    assert "S-1 killed: its step in flight was cancelled" in killed.stdout
    assert await run is SessionStatus.FAILED

    story = (await _stories(bus, session_id))["S-1"]
    assert (story.status, story.block_reason) == (StoryStatus.CANCELLED, "killed: wrong approach")
    assert story.lease_owner is None
    assert provider.calls == ["S-1/pm/1#0"]
    (stopped,) = await _events(bus, session_id, "story_stopped")
    assert stopped.payload["reason"] == "killed: wrong approach"
    (event,) = await _events(bus, session_id, "operator_command")
    assert (event.payload["verb"], event.payload["by"]) == ("kill", "carol")
    assert await _events(bus, session_id, "story_finished") == []


async def test_an_emergency_stop_from_another_process_stops_every_story(
    bus: EventBus, tmp_path: Path, settings: Settings, database_url: str
) -> None:
    # One story at a time: S-2 waits while S-1's planning call is in flight.
    both = ["S-1", "S-2"]
    session_id, _, provider, run = await _running(bus, tmp_path, settings, both, SLOW_S)

    stopped = await _wave_async(database_url, "kill", str(session_id), "--reason", "power cut")
    assert stopped.returncode == 0, stopped.stderr
    assert "stop all stories: applied by the running session" in stopped.stdout
    assert await run is SessionStatus.FAILED

    stories = await _stories(bus, session_id)
    for story in stories.values():
        assert (story.status, story.block_reason) == (
            StoryStatus.BLOCKED,
            "emergency stop: power cut",
        )
    assert provider.calls == ["S-1/pm/1#0"]  # S-2 never started
    (command,) = await _commands(bus, session_id)
    assert (command.verb, command.story_id, command.reason) == ("stop", None, "power cut")

    # Both go back to the queue; the engine tests prove a stopped story resumes where it was.
    unheld = await issue_command(bus, session_id, "unhold", issued_by="alice")
    assert unheld.outcome == "S-1, S-2 requeued"
    stories = await _stories(bus, session_id)
    assert [s.status for s in stories.values()] == [StoryStatus.PENDING] * 2


async def test_unhold_in_a_running_session_lets_it_pick_the_story_up_again(
    bus: EventBus, other_terminal: EventBus, tmp_path: Path, settings: Settings
) -> None:
    # Both stories wait for their merge approval; S-2's keeps the session running throughout.
    session_id = await _session(bus, tmp_path, ["S-1", "S-2"], AutonomyLevel.L2, concurrency=2)
    runner, provider = _runner(bus, session_id, settings, _script(["S-1", "S-2"]))
    run = asyncio.create_task(runner.start())
    await _until(lambda: _escalations_waiting(bus, session_id, 2))
    s1 = (await _stories(bus, session_id))["S-1"]
    async with bus.database.session(readonly=True) as db:
        pending = await EscalationRepository(db).list_pending(session_id)
    (first_merge,) = [e.id for e in pending if e.story_execution_id == s1.id]

    hold = await issue_command(other_terminal, session_id, "hold", issued_by="alice",
                               story_id="S-1", reason="one more look")  # fmt: skip
    assert hold.outcome == "S-1 holds at its next step boundary"
    await _approve(bus, first_merge)
    await _until(lambda: _status_is(bus, session_id, "S-1", StoryStatus.BLOCKED))

    unhold = await issue_command(other_terminal, session_id, "unhold", issued_by="alice",
                                 story_id="S-1")  # fmt: skip
    assert unhold.outcome == "S-1 requeued"
    assert unhold.handled_by == runner.owner
    await _until(lambda: _status_is(bus, session_id, "S-1", StoryStatus.COMPLETE))
    (second_merge,) = await _pending_escalations(bus, session_id)
    await _approve(bus, second_merge)

    assert await run is SessionStatus.COMPLETED
    assert len(provider.calls) == len(set(provider.calls)) == 8  # every turn asked exactly once


async def _escalations_waiting(bus: EventBus, session_id: uuid.UUID, count: int) -> bool:
    return len(await _pending_escalations(bus, session_id)) == count


async def _status_is(
    bus: EventBus, session_id: uuid.UUID, story_id: str, status: StoryStatus
) -> bool:
    return (await _stories(bus, session_id))[story_id].status is status


async def test_with_no_runner_commands_change_the_rows_directly(
    bus: EventBus, tmp_path: Path, cli: Cli
) -> None:
    session_id = await _session(bus, tmp_path, ["S-1", "S-2"])
    sid = str(session_id)
    async with bus.database.session() as db:
        s1 = await StoryExecutionRepository(db).get_by_story(session_id, "S-1")
        assert s1 is not None
        question = await EscalationRepository(db).create(
            session_id, EscalationKind.GATE_APPROVAL, "merge?", story_execution_id=s1.id
        )

    code, out, err = await cli("hold", sid, "--story", "S-1", "--reason", "wait")
    assert code == 0, err
    assert out == "hold S-1: applied directly (no process runs the session): S-1 held\n"
    assert (await _stories(bus, session_id))["S-1"].block_reason == "held: wait"

    code, out, err = await cli("unhold", sid)
    assert (code, out) == (0, "unhold all stories: applied directly (no process runs the "
                              "session): S-1 requeued\n")  # fmt: skip
    assert (await _stories(bus, session_id))["S-1"].status is StoryStatus.PENDING

    assert (await cli("kill", sid, "--story", "S-1", "--reason", "dup"))[0] == 0
    code, out, err = await cli("kill", sid, "--reason", "freeze")
    assert out.startswith("stop all stories: applied directly")
    assert out.endswith(": S-2 stopped\n")  # S-1 was already cancelled

    stories = await _stories(bus, session_id)
    assert (stories["S-1"].status, stories["S-1"].block_reason) == (
        StoryStatus.CANCELLED,
        "killed: dup",
    )
    assert (stories["S-2"].status, stories["S-2"].block_reason) == (
        StoryStatus.BLOCKED,
        "emergency stop: freeze",
    )
    async with bus.database.session(readonly=True) as db:
        expired = await EscalationRepository(db).get(question.id)
    assert expired is not None
    assert (expired.status, expired.reason) == (EscalationStatus.EXPIRED, "killed: dup")
    commands = await _commands(bus, session_id)
    assert [(c.verb, c.handled_by) for c in commands] == [
        ("hold", "carol"), ("unhold", "carol"), ("kill", "carol"), ("stop", "carol"),
    ]  # fmt: skip
    events = await _events(bus, session_id, "operator_command")
    assert [e.payload["outcome"] for e in events] == [c.outcome for c in commands]
    assert [e.payload["by"] for e in events] == ["carol"] * 4


async def test_bad_input_exits_2_and_changes_nothing(
    bus: EventBus, tmp_path: Path, cli: Cli
) -> None:
    session_id = await _session(bus, tmp_path, ["S-1"])
    sid = str(session_id)
    before = await _stories(bus, session_id)
    attempts = {
        ("hold", sid, "--story", "S-9"): "story S-9 is not in session",
        ("hold", "not-a-session"): "is not a session id",
        ("kill", sid, "--story", "S-1"): "required: --reason",
        ("kill", sid, "--reason", "  "): "an emergency stop needs a reason",
        ("unhold", sid, "--story", "S-1"): "story S-1 is not held (it is pending)",
        ("hold", str(uuid.uuid4())): "not found",
    }
    for args, message in attempts.items():
        code, out, err = await cli(*args)
        assert (code, out) == (2, ""), (args, err)
        assert err.startswith("wave: error: ")
        assert err.count("\n") == 1
        assert message in err
    assert await _commands(bus, session_id) == []
    after = await _stories(bus, session_id)
    assert [(s.status, s.block_reason) for s in after.values()] == [
        (s.status, s.block_reason) for s in before.values()
    ]
    await issue_command(bus, session_id, "kill", issued_by="a", story_id="S-1", reason="x")
    with pytest.raises(UserError, match="nothing to do: story S-1 is cancelled"):
        await issue_command(bus, session_id, "hold", issued_by="a", story_id="S-1")


async def test_a_command_the_runner_never_answered_is_applied_by_the_next_one_first(
    bus: EventBus, tmp_path: Path, settings: Settings
) -> None:
    session_id = await _session(bus, tmp_path, ["S-1"])
    # A runner on another machine holds the lease, then dies without reading its commands.
    await _lease(bus, "gone-host:1", datetime.now(UTC) + timedelta(hours=1))
    waiting = await issue_command(bus, session_id, "hold", issued_by="alice", wait_s=0)
    assert (waiting.handled, waiting.runner) == (False, "gone-host:1")
    assert "not yet handled" in waiting.summary()
    await _lease(bus, "gone-host:1", datetime.now(UTC) - timedelta(seconds=1))  # it expired

    runner, provider = _runner(bus, session_id, settings, _script(["S-1"]))
    assert await runner.start() is SessionStatus.FAILED
    assert provider.calls == []  # held before anything ran
    story = (await _stories(bus, session_id))["S-1"]
    assert (story.status, story.block_reason) == (StoryStatus.BLOCKED, "held: requested by alice")
    (command,) = await _commands(bus, session_id)
    assert command.handled_by == runner.owner


async def test_the_issuer_applies_a_command_itself_when_the_runner_died_meanwhile(
    bus: EventBus, tmp_path: Path
) -> None:
    session_id = await _session(bus, tmp_path, ["S-1"])
    await _lease(bus, "dying-host:1", datetime.now(UTC) + timedelta(seconds=0.3))
    result = await issue_command(
        bus, session_id, "kill", issued_by="alice", story_id="S-1", reason="stuck", wait_s=1
    )
    assert result.runner == "dying-host:1"
    assert result.applied_directly
    assert (await _stories(bus, session_id))["S-1"].status is StoryStatus.CANCELLED


async def _lease(bus: EventBus, owner: str, expires: datetime) -> None:
    async with bus.database.session() as db:
        await db.execute(
            update(WaveStoryExecution).values(
                lease_owner=owner, lease_acquired_at=datetime.now(UTC), lease_expires_at=expires
            )
        )
