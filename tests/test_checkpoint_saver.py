"""WAVECheckpointSaver under a real compiled LangGraph graph, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import operator
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from sqlalchemy import Table, func, select
from sqlalchemy.util import await_only

from wave_tui.checkpoint import WAVECheckpointSaver
from wave_tui.checkpoint.loading import TupleLoader
from wave_tui.checkpoint.tables import graph_blobs, graph_checkpoints, graph_writes
from wave_tui.db import Database


class StoryState(TypedDict):
    story: str
    log: Annotated[list[str], operator.add]


def _step(name: str) -> Any:
    async def node(state: StoryState) -> dict[str, list[str]]:
        return {"log": [f"{name}:{state['story']}"]}

    return node


def _graph(saver: WAVECheckpointSaver) -> CompiledStateGraph[Any, Any, Any, Any]:
    builder = StateGraph(StoryState)
    for name in ("pm", "dev", "qa"):
        builder.add_node(name, _step(name))
    builder.add_edge(START, "pm")
    builder.add_edge("pm", "dev")
    builder.add_edge("dev", "qa")
    builder.add_edge("qa", END)
    # Stopping before QA leaves a thread to resume, as an operator approval would.
    return builder.compile(checkpointer=saver, interrupt_before=["qa"])


def _config(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


async def _count(database: Database, table: Table, thread_id: str, **where: str) -> int:
    query = select(func.count()).select_from(table).where(table.c.thread_id == thread_id)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    async with database.session(readonly=True) as session:
        return int((await session.execute(query)).scalar_one())


async def test_a_new_saver_on_the_same_database_resumes_an_interrupted_graph(
    database: Database, database_url: str
) -> None:
    first = await _graph(WAVECheckpointSaver(database)).ainvoke(
        {"story": "S-1", "log": []}, _config("story-1")
    )
    assert first["log"] == ["pm:S-1", "dev:S-1"]

    # Another process's view: a new Database on the same URL, a new saver, the same thread.
    other = Database(database_url)
    try:
        graph = _graph(WAVECheckpointSaver(other))
        assert (await graph.aget_state(_config("story-1"))).next == ("qa",)
        final = await graph.ainvoke(None, _config("story-1"))
    finally:
        await other.dispose()
    assert final["log"] == ["pm:S-1", "dev:S-1", "qa:S-1"]


async def test_a_channel_value_unchanged_between_steps_is_stored_once(database: Database) -> None:
    saver = WAVECheckpointSaver(database)
    await _graph(saver).ainvoke({"story": "S-2", "log": []}, _config("story-2"))

    checkpoints = await _count(database, graph_checkpoints, "story-2")
    assert checkpoints >= 3
    # `story` is written once, by the input; every later checkpoint points at that blob.
    assert await _count(database, graph_blobs, "story-2", channel="story") == 1
    # `log` changes at every node step, so it has a blob per change: input, pm, dev.
    assert await _count(database, graph_blobs, "story-2", channel="log") == 3
    latest = await saver.aget_tuple(_config("story-2"))
    assert latest is not None
    assert latest.checkpoint["channel_values"]["story"] == "S-2"


async def test_alist_is_newest_first_and_honours_limit_and_before(database: Database) -> None:
    saver = WAVECheckpointSaver(database)
    await _graph(saver).ainvoke({"story": "S-3", "log": []}, _config("story-3"))

    everything = [t async for t in saver.alist(_config("story-3"))]
    ids = [t.checkpoint["id"] for t in everything]
    assert len(ids) >= 3
    assert ids == sorted(ids, reverse=True)
    assert [t.metadata["step"] for t in everything] == sorted(
        (t.metadata["step"] for t in everything), reverse=True
    )
    # Each checkpoint's parent is the next older one.
    for newer, older in itertools.pairwise(everything):
        assert newer.parent_config is not None
        assert newer.parent_config["configurable"]["checkpoint_id"] == older.checkpoint["id"]

    first_two = [t.checkpoint["id"] async for t in saver.alist(_config("story-3"), limit=2)]
    assert first_two == ids[:2]
    before = [t.checkpoint["id"] async for t in saver.alist(None, before=everything[1].config)]
    assert before == ids[2:]
    page = [
        t.checkpoint["id"]
        async for t in saver.alist(_config("story-3"), before=everything[0].config, limit=1)
    ]
    assert page == [ids[1]]


async def test_adelete_thread_removes_that_thread_only(database: Database) -> None:
    saver = WAVECheckpointSaver(database)
    graph = _graph(saver)
    await graph.ainvoke({"story": "gone", "log": []}, _config("doomed"))
    await graph.ainvoke({"story": "kept", "log": []}, _config("survivor"))
    tables = (graph_checkpoints, graph_blobs, graph_writes)
    kept_before = [await _count(database, table, "survivor") for table in tables]
    assert all(count > 0 for count in kept_before)

    await saver.adelete_thread("doomed")

    assert [await _count(database, table, "doomed") for table in tables] == [0, 0, 0]
    assert [await _count(database, table, "survivor") for table in tables] == kept_before
    assert await saver.aget_tuple(_config("doomed")) is None
    state = await graph.aget_state(_config("survivor"))
    assert state.values["log"] == ["pm:kept", "dev:kept"]


async def test_sync_calls_work_from_a_worker_thread_and_are_refused_on_the_loop(
    database: Database,
) -> None:
    saver = WAVECheckpointSaver(database)
    await _graph(saver).ainvoke({"story": "S-5", "log": []}, _config("story-5"))

    from_thread = await asyncio.to_thread(saver.get_tuple, _config("story-5"))
    assert from_thread is not None
    assert from_thread.checkpoint["channel_values"]["log"] == ["pm:S-5", "dev:S-5"]
    with pytest.raises(NotImplementedError, match="async methods"):
        saver.get_tuple(_config("story-5"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'new' / 'wave.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


async def test_from_conn_string_migrates_an_empty_database_and_keeps_the_thread(
    empty_url: str,
) -> None:
    async with WAVECheckpointSaver.from_conn_string(empty_url) as saver:
        await _graph(saver).ainvoke({"story": "S-6", "log": []}, _config("story-6"))
    async with WAVECheckpointSaver.from_conn_string(empty_url) as saver:
        final = await _graph(saver).ainvoke(None, _config("story-6"))
    assert final["log"] == ["pm:S-6", "dev:S-6", "qa:S-6"]


async def test_a_read_is_one_snapshot_whatever_commits_between_its_statements(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thread is deleted (another connection, committed) after the read found its newest
    checkpoint and before it read that checkpoint's blobs: the read still returns the whole
    checkpoint, as it was when the read began. (At PostgreSQL's default READ COMMITTED each
    statement saw its own snapshot: the values were gone.)"""
    saver = WAVECheckpointSaver(database)
    graph = _graph(saver)
    await graph.ainvoke({"story": "S-1", "log": []}, _config("t"))
    expected = await saver.aget_tuple(_config("t"))
    assert expected is not None
    fetch = TupleLoader.fetch
    deleted: list[bool] = []

    def delete_then_fetch(loader: TupleLoader, *args: Any, **kwargs: Any) -> Any:
        if not deleted:
            deleted.append(True)
            _delete_elsewhere(database, "t")
        return fetch(loader, *args, **kwargs)

    monkeypatch.setattr(TupleLoader, "fetch", delete_then_fetch)
    during = await saver.aget_tuple(_config("t"))

    assert deleted
    assert during is not None
    assert during.checkpoint["channel_values"] == expected.checkpoint["channel_values"]
    assert during.checkpoint["channel_values"]["log"] == ["pm:S-1", "dev:S-1"]
    assert await saver.aget_tuple(_config("t")) is None  # the delete did commit


def _delete_elsewhere(database: Database, thread_id: str) -> None:
    """Delete a thread through a connection of its own, from inside a read in progress: on
    SQLite the reader's thread, on PostgreSQL the greenlet of the read's `run_sync`."""
    tables = (graph_writes, graph_blobs, graph_checkpoints)
    if database.sqlite_path is not None:
        with closing(sqlite3.connect(database.sqlite_path)) as connection, connection:
            for table in tables:
                connection.execute(f"DELETE FROM {table.name} WHERE thread_id = ?", (thread_id,))
        return

    async def delete() -> None:
        other = Database(database.url)
        try:
            async with other.session() as session:
                for table in tables:
                    await session.execute(table.delete().where(table.c.thread_id == thread_id))
        finally:
            await other.dispose()

    await_only(delete())
