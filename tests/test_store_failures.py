"""A checkpoint store that fails in the middle of a run: the story it happened to fails on the
record, the others go on, and the session ends with a status instead of a traceback; once the
store works again the story is recovered from its last checkpoint. The failure is injected at
the saver as the DatabaseError it raises for a lock past the busy timeout or a full disk (the
conversion itself is tested in test_checkpoint_writer.py and below). On SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.base import empty_checkpoint
from sqlalchemy import text

from tests.board_helpers import new_session
from tests.engine_helpers import cto_turn, dev_turns, pm_turn, write_script
from wave_tui.checkpoint import WAVECheckpointSaver
from wave_tui.config import Settings
from wave_tui.db import Database, StoryExecutionRepository, WaveStoryExecution
from wave_tui.domain.enums import SessionStatus, StoryStatus
from wave_tui.engine.events import EventBus
from wave_tui.engine.runner import SessionRunner
from wave_tui.errors import EXIT_OPERATIONAL, DatabaseError
from wave_tui.llm import ReplayProvider, ReplayScript
from wave_tui.recovery import RecoveryManager

FAILURE = "cannot write checkpoints to wave.db: database or disk is full"


async def test_a_failed_checkpoint_write_fails_its_story_on_the_record_and_the_others_go_on(
    database: Database, tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = EventBus(database)
    session_id = await new_session(bus, tmp_path, "S-1", "S-2")
    async with database.session(readonly=True) as db:
        rows = {
            r.story_id: r for r in await StoryExecutionRepository(db).list_by_session(session_id)
        }
    conversations = {
        f"{story}/{agent}/1": turns
        for story, module in (("S-1", "double"), ("S-2", "twice"))
        for agent, turns in (
            ("pm", pm_turn()), ("dev", dev_turns("x * 2", module=module)), ("cto", cto_turn()),
        )
    }  # fmt: skip
    script = write_script(tmp_path / "script.yaml", conversations)
    put = WAVECheckpointSaver.aput
    puts = {"S-1": 0}

    async def failing_for_s1(self: WAVECheckpointSaver, config: Any, *args: Any) -> Any:
        if config["configurable"]["thread_id"] == str(rows["S-1"].id):
            puts["S-1"] += 1
            if puts["S-1"] == 4:  # a few steps in
                raise DatabaseError(FAILURE)
        return await put(self, config, *args)

    monkeypatch.setattr(WAVECheckpointSaver, "aput", failing_for_s1)
    provider = ReplayProvider(ReplayScript.load(script))
    runner = SessionRunner(bus, session_id, provider=provider, settings=settings)

    assert await runner.start() is SessionStatus.FAILED

    async with database.session(readonly=True) as db:
        after = {
            r.story_id: r for r in await StoryExecutionRepository(db).list_by_session(session_id)
        }
    assert after["S-1"].status is StoryStatus.FAILED
    assert after["S-1"].error == FAILURE
    assert after["S-1"].lease_owner is None
    assert after["S-2"].status is StoryStatus.COMPLETE

    # Once the store works again, the story is recovered from its last checkpoint and finishes.
    monkeypatch.undo()
    manager = RecoveryManager(database)
    result = await manager.recover_story(session_id, "S-1")
    assert result["status"] == "resumed"
    provider = ReplayProvider(ReplayScript.load(script))
    runner = SessionRunner(
        bus, session_id, provider=provider, settings=settings, owner=manager.owner
    )
    assert await runner.start() is SessionStatus.COMPLETED
    assert (await _stories(database, session_id))["S-1"].status is StoryStatus.COMPLETE
    # The turns answered before the failure came from the journal, not the model again.
    assert not any(call.startswith("S-1/pm/") for call in provider.calls)


async def _stories(database: Database, session_id: uuid.UUID) -> dict[str, WaveStoryExecution]:
    async with database.session(readonly=True) as db:
        rows = await StoryExecutionRepository(db).list_by_session(session_id)
    return {row.story_id: row for row in rows}


async def test_the_saver_reports_a_store_it_cannot_use_as_an_operational_error(
    database: Database,
) -> None:
    saver = WAVECheckpointSaver(database)
    config: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    stored = await saver.aput(config, empty_checkpoint(), {"source": "input", "step": -1}, {})
    async with database.session() as db:
        await db.execute(text("DROP TABLE wave_graph_writes"))

    with pytest.raises(DatabaseError, match="cannot write checkpoints to ") as written:
        await saver.aput_writes(stored, [("messages", ["hello"])], "task-1")
    async with database.session() as db:
        await db.execute(text("DROP TABLE wave_graph_blobs"))
    with pytest.raises(DatabaseError, match="cannot read checkpoints from ") as read:
        await saver.aget_tuple(config)

    for raised in (written, read):
        message = str(raised.value)
        assert "wave_graph_" in message  # the driver's words: which table is missing
        assert "\n" not in message
        assert raised.value.exit_code == EXIT_OPERATIONAL
