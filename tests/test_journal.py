"""The turn journal: a completed model answer is committed, and a re-run gets it back instead of
asking the model (and paying) again."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text

from wave_tui.db import Database, SessionRepository, StoryExecutionRepository, WaveLLMTurn
from wave_tui.engine.journal import JournaledProvider
from wave_tui.llm import ReplayProvider, ReplayScript

SECRET = "sk-ant-api03-" + "Q" * 40
TOOLS = [{"name": "write_file"}, {"name": "finish"}]


def _provider() -> ReplayProvider:
    write = {"path": "app.py", "content": f"KEY = '{SECRET}'\n"}
    script = {
        "conversations": {
            "S-1/dev/1": [
                {"text": "writing", "tool_calls": [{"name": "write_file", "input": write}],
                 "usage": {"input_tokens": 100, "output_tokens": 20}},
                {"tool_calls": [{"name": "finish", "input": {"summary": "done"}}]},
            ]
        }
    }  # fmt: skip
    return ReplayProvider(ReplayScript.from_data(script))


async def _execution(database: Database) -> uuid.UUID:
    async with database.session() as db:
        session = await SessionRepository(db).create(
            "journal", budget_usd=Decimal(1), token_limit=10_000
        )
        story = await StoryExecutionRepository(db).create(session.id, "S-1", "a story")
        return story.id


async def _ask(provider: JournaledProvider, opening: str = "add app.py", turns: int = 1) -> Any:
    messages: list[dict[str, Any]] = [{"role": "user", "content": opening}]
    for _ in range(turns - 1):
        messages += [{"role": "assistant", "content": "…"}, {"role": "user", "content": "ok"}]
    return await provider.complete("you are dev", messages, TOOLS, conversation="S-1/dev/1")


async def test_a_completed_turn_is_answered_from_the_journal_without_asking_the_model(
    database: Database,
) -> None:
    execution = await _execution(database)
    first_model, again_model = _provider(), _provider()
    first = await _ask(JournaledProvider(first_model, database, execution))
    # A new process (fresh provider, fresh journal object) re-runs the node after a crash.
    again = await _ask(JournaledProvider(again_model, database, execution))
    assert first_model.calls == ["S-1/dev/1#0"]
    assert again_model.calls == []
    assert (first.journaled, again.journaled) == (False, True)
    assert again.tool_calls[0].name == "write_file"
    assert again.text == "writing"
    assert (again.usage, again.cost_usd, again.model) == (first.usage, first.cost_usd, first.model)
    # The next turn was never completed: it is asked.
    second = await _ask(JournaledProvider(again_model, database, execution), turns=2)
    assert again_model.calls == ["S-1/dev/1#1"]
    assert not second.journaled


async def test_a_different_request_or_a_new_epoch_asks_the_model_afresh(
    database: Database,
) -> None:
    execution = await _execution(database)
    model = _provider()
    await _ask(JournaledProvider(model, database, execution))
    changed = await _ask(JournaledProvider(model, database, execution), opening="add other.py")
    forked = await _ask(JournaledProvider(model, database, execution, epoch=1))
    assert not changed.journaled
    assert not forked.journaled
    assert model.calls == ["S-1/dev/1#0"] * 3
    async with database.session(readonly=True) as db:
        rows = (await db.execute(select(WaveLLMTurn.epoch, WaveLLMTurn.turn))).all()
    # The changed request replaced the stale answer of epoch 0; epoch 1 has its own.
    assert sorted(map(tuple, rows)) == [(0, 0), (1, 0)]


async def test_a_secret_in_an_answer_is_redacted_before_it_is_stored(database: Database) -> None:
    execution = await _execution(database)
    answer = await _ask(JournaledProvider(_provider(), database, execution))
    assert SECRET in answer.tool_calls[0].input["content"]  # the agent acts on the real answer
    async with database.session(readonly=True) as db:
        stored = (await db.execute(text("SELECT response FROM wave_llm_turns"))).scalar_one()
    assert "write_file" in str(stored)
    assert SECRET not in str(stored)
