"""Recovering a story that ended puts back in the queue the stories that were blocked because it
ended (and theirs, through them); a skip still blocks them, another block stays. Both databases.

S-2 needs S-1, S-3 needs S-2, S-4 needs S-1. The stories are stopped for real by a SessionRunner
(an operator's kill or hold, a model that has no answer), which blocks the dependents by its rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.engine_helpers import (
    cto_turn,
    dev_turns,
    pm_turn,
    write_script,
    write_story,
)
from tests.recovery_world import World, story_row, world_of
from wave_tui.config import Settings
from wave_tui.db import Database, StoryExecutionRepository, WaveEvent
from wave_tui.domain.enums import SessionStatus, StoryStatus
from wave_tui.engine.events import EventBus
from wave_tui.engine.runner import SessionRunner
from wave_tui.llm import ReplayProvider, ReplayScript

CHAIN = {"S-1": [], "S-2": ["S-1"], "S-3": ["S-2"], "S-4": ["S-1"]}


async def _chain(database: Database, tmp_path: Path, settings: Settings) -> World:
    """The four stories on a fresh project; the script lets each of them pass every gate."""
    paths: list[Path] = []
    conversations: dict[str, Any] = {}
    for story, needs in CHAIN.items():
        n = story[-1]
        paths.append(write_story(tmp_path / f"{story}.yaml", story, depends_on=needs,
                                 prompt=f"Add pkg/double_{n}.py with double(x)."))  # fmt: skip
        conversations[f"{story}/pm/1"] = pm_turn()
        conversations[f"{story}/dev/1"] = dev_turns("x * 2", module=f"double_{n}")
        conversations[f"{story}/cto/1"] = cto_turn()
    bus = EventBus(database)
    return await world_of(bus, tmp_path, settings, paths, conversations, token_limit=200_000)


async def _stop(w: World, *, kill: str | None = None, hold: str | None = None) -> None:
    """One runner pass in which S-1 ends (killed by the operator, or failed: the model has no
    answer) and the runner blocks what depends on it; `hold` is held by the operator first."""
    script = w.script if kill else write_script(w.script.with_name("empty.yaml"), {})
    runner = SessionRunner(
        w.bus, w.sid, provider=ReplayProvider(ReplayScript.load(script)), settings=w.settings
    )
    if kill:
        runner.kill(kill, "not needed")
    if hold:
        runner.hold(hold, "operator")
    assert await runner.start() is SessionStatus.FAILED


async def _statuses(w: World) -> dict[str, tuple[StoryStatus, str | None]]:
    async with w.database.session(readonly=True) as db:
        stories = await StoryExecutionRepository(db).list_by_session(w.sid)
    return {s.story_id: (s.status, s.block_reason) for s in stories}


async def _payloads(w: World, kind: str) -> list[dict[str, Any]]:
    async with w.database.session(readonly=True) as db:
        query = select(WaveEvent.payload).where(WaveEvent.session_id == w.sid,
                                                WaveEvent.kind == kind)  # fmt: skip
        return [dict(p) for p in (await db.scalars(query.order_by(WaveEvent.id))).all()]


async def test_restarting_a_killed_story_requeues_the_chain_it_blocked_but_not_a_held_story(
    database: Database, tmp_path: Path, settings: Settings
) -> None:
    w = await _chain(database, tmp_path, settings)
    await _stop(w, kill="S-1", hold="S-4")
    # The runner leaves S-3 pending (S-2 is blocked, not ended); a block through the chain
    # names the link it waits on, and that is what recovery follows.
    s3 = await story_row(w, "S-3")
    async with w.database.session() as db:
        await StoryExecutionRepository(db).block(s3.id, "depends on S-2, which is blocked")
    assert await _statuses(w) == {
        "S-1": (StoryStatus.CANCELLED, "killed: not needed"),
        "S-2": (StoryStatus.BLOCKED, "depends on S-1, which is cancelled"),
        "S-3": (StoryStatus.BLOCKED, "depends on S-2, which is blocked"),
        "S-4": (StoryStatus.BLOCKED, "held: operator"),
    }
    manager = w.manager()

    result = await manager.recover_story(w.sid, "S-1", "restart")

    assert result["status"] == "restarted"
    assert await _statuses(w) == {
        "S-1": (StoryStatus.PENDING, None),
        "S-2": (StoryStatus.PENDING, None),
        "S-3": (StoryStatus.PENDING, None),
        "S-4": (StoryStatus.BLOCKED, "held: operator"),
    }
    assert await _payloads(w, "story_requeued") == [
        {"story": "S-2", "reason": "S-1 was recovered"},
        {"story": "S-3", "reason": "S-1 was recovered"},
    ]
    # Back in the queue for real: the chain runs to the end; the held story waits on.
    status, calls = await w.run(owner=manager.owner)
    assert status is SessionStatus.FAILED
    assert {call.split("/")[0] for call in calls} == {"S-1", "S-2", "S-3"}
    assert {sid: s for sid, (s, _) in (await _statuses(w)).items()} == {
        "S-1": StoryStatus.COMPLETE, "S-2": StoryStatus.COMPLETE, "S-3": StoryStatus.COMPLETE,
        "S-4": StoryStatus.BLOCKED,
    }  # fmt: skip


async def test_resuming_a_failed_story_requeues_its_blocked_dependents_with_the_recovery(
    database: Database, tmp_path: Path, settings: Settings
) -> None:
    w = await _chain(database, tmp_path, settings)
    await _stop(w)
    before = await _statuses(w)
    assert before["S-1"][0] is StoryStatus.FAILED
    assert before["S-2"] == (StoryStatus.BLOCKED, "depends on S-1, which is failed")
    assert before["S-4"] == (StoryStatus.BLOCKED, "depends on S-1, which is failed")

    await w.manager().recover_story(w.sid, "S-1", "resume_from_last")

    after = await _statuses(w)
    assert {sid: after[sid] for sid in ("S-2", "S-4")} == {
        "S-2": (StoryStatus.PENDING, None), "S-4": (StoryStatus.PENDING, None),
    }  # fmt: skip
    assert after["S-3"] == before["S-3"] == (StoryStatus.PENDING, None)
    requeued = await _payloads(w, "story_requeued")
    assert requeued == [{"story": s, "reason": "S-1 was recovered"} for s in ("S-2", "S-4")]
    # The recovery and the requeues are one record: the recovery's event comes first.
    async with w.database.session(readonly=True) as db:
        query = select(WaveEvent.kind).where(WaveEvent.session_id == w.sid)
        kinds = list((await db.scalars(query.order_by(WaveEvent.id))).all())
    assert kinds[-3:] == ["story_recovered", "story_requeued", "story_requeued"]


async def test_skipping_a_failed_story_still_blocks_its_dependents_and_requeues_none(
    database: Database, tmp_path: Path, settings: Settings
) -> None:
    w = await _chain(database, tmp_path, settings)
    await _stop(w)

    await w.manager().recover_story(w.sid, "S-1", "skip")

    skipped = "depends on S-1, which was skipped"
    assert await _statuses(w) == {
        "S-1": (StoryStatus.CANCELLED, "skipped during recovery by wave"),
        "S-2": (StoryStatus.BLOCKED, skipped),
        "S-3": (StoryStatus.BLOCKED, skipped),
        "S-4": (StoryStatus.BLOCKED, skipped),
    }
    assert await _payloads(w, "story_requeued") == []
