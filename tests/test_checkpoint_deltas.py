"""Grown lists stored as deltas: every checkpoint reads back exactly what LangGraph wrote, on
SQLite and PostgreSQL, through forks, restarts, in-place mutation, pruning and a downgrade."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from sqlalchemy import delete, event, func, select, update

from wave_tui.checkpoint import WAVECheckpointSaver, reader
from wave_tui.checkpoint.deltas import FULL_COPY_EVERY
from wave_tui.checkpoint.loading import BrokenChain, TupleLoader
from wave_tui.checkpoint.tables import graph_blobs, graph_checkpoints
from wave_tui.db import Database
from wave_tui.errors import EXIT_OPERATIONAL, WaveError

NODES = 5


class Work(TypedDict):
    code: str
    step: int
    messages: Annotated[list[dict[str, Any]], operator.add]


def _node(index: int) -> Any:
    async def node(state: Work) -> dict[str, Any]:
        update: dict[str, Any] = {
            "step": state["step"] + 1,
            "messages": [{"node": index, "step": state["step"], "text": "x" * 40}],
        }
        if index == 2:
            update["code"] = f"def f():\n    return {state['step']}\n"
        return update

    return node


def mutate_then_add(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> Any:
    if old:
        old[0]["text"] = f"edited {len(old)}"  # a reducer that should not, but does
    return old + new


class Mutating(TypedDict):
    step: int
    messages: Annotated[list[dict[str, Any]], mutate_then_add]


async def grow(state: Mutating) -> dict[str, Any]:
    return {"step": state["step"] + 1, "messages": [{"text": f"m{state['step']}"}]}


def _graph(saver: Any) -> CompiledStateGraph[Any, Any, Any, Any]:
    builder = StateGraph(Work)
    names = [f"n{index}" for index in range(NODES)]
    for index, name in enumerate(names):
        builder.add_node(name, _node(index))
    builder.add_edge(START, names[0])
    for first, second in itertools.pairwise(names):
        builder.add_edge(first, second)
    builder.add_edge(names[-1], END)
    return builder.compile(checkpointer=saver)


def _config(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


async def _run(saver: Any, thread_id: str, passes: int) -> None:
    graph = _graph(saver)
    for _ in range(passes):
        state = await graph.aget_state(_config(thread_id))
        start = None if state.values else {"code": "", "step": 0, "messages": []}
        await graph.ainvoke(start if start else {"messages": []}, _config(thread_id))


async def _history(saver: Any, thread_id: str) -> list[tuple[dict[str, Any], list[Any]]]:
    return [
        # Task ids derive from checkpoint ids, which differ between savers: compare the rest.
        (item.checkpoint["channel_values"], [w[1:] for w in item.pending_writes or []])
        async for item in saver.alist(_config(thread_id))
    ]


async def _blob_rows(database: Database, thread_id: str, channel: str) -> list[Any]:
    table = graph_blobs.c
    async with database.session(readonly=True) as session:
        return list(
            (
                await session.execute(
                    select(table.version, table.base_version, table.anchor_version).where(
                        table.thread_id == thread_id, table.channel == channel
                    )
                )
            ).all()
        )


async def test_a_growing_history_is_stored_as_deltas_and_reads_back_like_the_memory_saver(
    database: Database,
) -> None:
    passes = 30  # 150 node steps: more than two full-copy periods
    memory = InMemorySaver()
    ours = WAVECheckpointSaver(database)
    await _run(memory, "t", passes)
    await _run(ours, "t", passes)

    expected = await _history(memory, "t")
    got = await _history(ours, "t")
    assert len(got) == len(expected) > 2 * FULL_COPY_EVERY
    assert [values for values, _ in got] == [values for values, _ in expected]
    assert [writes for _, writes in got] == [writes for _, writes in expected]

    rows = await _blob_rows(database, "t", "messages")
    full = [row for row in rows if row.base_version is None]
    versions = {
        str(item.checkpoint["channel_versions"]["messages"])
        async for item in ours.alist(_config("t"))
        if "messages" in item.checkpoint["channel_versions"]
    }
    assert {row.version for row in rows} == versions
    # A full copy starts each chain; the rest are deltas on the version before.
    assert 2 <= len(full) <= len(rows) // FULL_COPY_EVERY + 2
    assert all(row.anchor_version is not None for row in rows)
    latest = await ours.aget_tuple(_config("t"))
    assert latest is not None
    assert len(latest.checkpoint["channel_values"]["messages"]) == passes * NODES
    # Read one by one, each checkpoint's chain is decoded from its joined items: same values.
    for item, (values, _) in zip(
        [item async for item in ours.alist(_config("t"))], got, strict=True
    ):
        alone = await ours.aget_tuple(item.config)
        assert alone is not None
        assert alone.checkpoint["channel_values"] == values


async def test_delta_storage_is_a_fraction_of_whole_copies(database: Database) -> None:
    await _run(WAVECheckpointSaver(database), "t", 40)
    table = graph_blobs.c
    async with database.session(readonly=True) as session:
        stored = (
            await session.execute(
                select(func.sum(func.length(table.blob))).where(table.channel == "messages")
            )
        ).scalar_one()
    serde = WAVECheckpointSaver(database).serde
    whole = 0
    async for item in WAVECheckpointSaver(database).alist(_config("t")):
        whole += len(serde.dumps_typed(item.checkpoint["channel_values"].get("messages", []))[1])
    assert stored * 5 < whole


async def test_listing_a_thread_takes_the_same_number_of_queries_whatever_its_length(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    saver = WAVECheckpointSaver(database)
    await _run(saver, "short", 15)
    await _run(saver, "long", 60)

    async def queries(thread_id: str) -> tuple[int, int]:
        with _counting(database, monkeypatch) as count:
            listed = [item async for item in saver.alist(_config(thread_id))]
        return count[0], len(listed)

    short_queries, short_length = await queries("short")
    long_queries, long_length = await queries("long")
    assert long_length > 3 * short_length
    assert 3 <= long_queries == short_queries <= 4

    # The newest checkpoint: itself, its blobs, its chains, its writes.
    with _counting(database, monkeypatch) as count:
        assert await saver.aget_tuple(_config("long")) is not None
    assert count[0] == 4


async def test_one_checkpoint_reads_its_own_blobs_and_their_chains_and_nothing_else(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step gives every channel it writes the same version, so a lookup by channels and
    versions separately also met other channels' rows at those versions. The lookup is by
    whole key: the rows read are the checkpoint's own, plus the links of its delta chains."""
    saver = WAVECheckpointSaver(database)
    await _run(saver, "t", 12)
    await _run(saver, "other", 3)  # the same versions on another thread
    read: list[Any] = []
    add_blobs = TupleLoader._add_blobs

    def spy(loader: TupleLoader, fetched: Any, rows: Any) -> None:
        read.extend(rows)
        add_blobs(loader, fetched, rows)

    monkeypatch.setattr(TupleLoader, "_add_blobs", spy)
    latest = await saver.aget_tuple(_config("t"))

    assert latest is not None
    asked = {(c, str(v)) for c, v in latest.checkpoint["channel_versions"].items()}
    own = {(row.channel, row.version): row for row in read}
    assert asked <= own.keys()
    assert {row.thread_id for row in read} == {"t"}
    chains = {own[key].channel: own[key].anchor_version for key in asked if own[key].base_version}
    assert chains  # the message history is a delta: its chain was read too
    links = [row for key, row in own.items() if key not in asked]
    assert links
    assert [
        (row.channel, row.version)
        for row in links
        if row.channel not in chains or chains[row.channel] not in (row.anchor_version, row.version)
    ] == []


async def test_an_item_mutated_in_place_is_stored_whole_not_as_a_stale_prefix(
    database: Database,
) -> None:
    builder: StateGraph[Any] = StateGraph(Mutating)
    builder.add_node("grow", grow)
    builder.add_edge(START, "grow")
    builder.add_edge("grow", END)
    results = []
    for saver in (InMemorySaver(), WAVECheckpointSaver(database)):
        graph = builder.compile(checkpointer=saver)
        await graph.ainvoke({"step": 0, "messages": []}, _config("m"))
        for _ in range(4):
            await graph.ainvoke({"messages": []}, _config("m"))
        results.append([item.checkpoint["channel_values"] async for item in saver.alist(None)])
    assert results[1] == results[0]
    assert results[1][0]["messages"][0]["text"].startswith("edited")


async def test_a_fork_and_a_restarted_saver_continue_with_exact_values(
    database: Database,
) -> None:
    memory = InMemorySaver()
    savers = (memory, WAVECheckpointSaver(database))
    for saver in savers:
        await _run(saver, "f", 6)
    forks = []
    for saver in savers:
        graph = _graph(saver)
        old = [item async for item in saver.alist(_config("f"))][12]
        forked = await graph.aupdate_state(old.config, {"messages": [{"fork": True}]})
        await graph.ainvoke(None, forked)
        forks.append(await _history(saver, "f"))
    assert forks[1] == forks[0]

    # A new saver (another process) continues the thread: its first write is a full copy.
    restarted = WAVECheckpointSaver(database)
    await _run(restarted, "f", 2)
    await _run(memory, "f", 2)
    assert await _history(restarted, "f") == await _history(memory, "f")


async def test_pruning_keeps_the_delta_chain_the_kept_checkpoint_reads_through(
    database: Database,
) -> None:
    saver = WAVECheckpointSaver(database)
    await _run(saver, "p", 20)
    before = await saver.aget_tuple(_config("p"))
    assert before is not None

    report = await saver.aprune_thread("p", keep_latest=3)

    after = [item async for item in saver.alist(_config("p"))]
    assert len(after) == 3 == report.kept
    assert after[0].checkpoint == before.checkpoint
    assert report.checkpoints > 90
    assert report.blobs > 0
    assert report.blob_bytes > 0
    rows = await _blob_rows(database, "p", "messages")
    # The newest three versions and the chain back to their full copy, nothing older.
    assert 3 <= len(rows) <= FULL_COPY_EVERY + 1
    # The thread goes on after the prune, still exact.
    await _run(saver, "p", 1)
    latest = await saver.aget_tuple(_config("p"))
    assert latest is not None
    assert len(latest.checkpoint["channel_values"]["messages"]) == 21 * NODES


async def test_a_dry_prune_counts_and_changes_nothing(database: Database) -> None:
    saver = WAVECheckpointSaver(database)
    await _run(saver, "d", 5)
    everything = await _history(saver, "d")
    report = await saver.aprune_thread("d", keep_latest=2, dry_run=True)
    assert report.checkpoints == len(everything) - 2
    assert await _history(saver, "d") == everything


async def test_a_missing_link_in_a_chain_is_reported_not_read_as_a_shorter_list(
    database: Database,
) -> None:
    saver = WAVECheckpointSaver(database)
    await _run(saver, "b", 3)
    rows = await _blob_rows(database, "b", "messages")
    middle = sorted(row.version for row in rows if row.base_version is not None)[3]
    async with database.session() as session:
        await session.execute(delete(graph_blobs).where(graph_blobs.c.version == middle))
    with pytest.raises(BrokenChain, match="missing") as raised:
        await saver.aget_tuple(_config("b"))
    # An operational failure: a story that meets it fails on the record, the CLI exits 1.
    assert isinstance(raised.value, WaveError)
    assert raised.value.exit_code == EXIT_OPERATIONAL


async def test_a_chain_that_loops_is_reported_not_followed_forever(database: Database) -> None:
    saver = WAVECheckpointSaver(database)
    await _run(saver, "loop", 3)
    rows = await _blob_rows(database, "loop", "messages")
    first, second = sorted(row.version for row in rows if row.base_version is not None)[:2]
    async with database.session() as session:
        # The older delta now extends the newer one, which extends it: a cycle.
        await session.execute(
            update(graph_blobs)
            .where(
                graph_blobs.c.thread_id == "loop",
                graph_blobs.c.channel == "messages",
                graph_blobs.c.version == first,
            )
            .values(base_version=second)
        )
    with pytest.raises(BrokenChain, match="the chain loops"):
        async for _ in WAVECheckpointSaver(database).alist(_config("loop")):
            pass


async def test_a_full_value_damaged_into_a_delta_without_its_chain_is_reported(
    database: Database,
) -> None:
    saver = WAVECheckpointSaver(database)
    await _run(saver, "odd", 2)
    async with database.session() as session:
        # "code" is stored whole; this row now claims to extend a version nobody wrote.
        await session.execute(
            update(graph_blobs)
            .where(graph_blobs.c.thread_id == "odd", graph_blobs.c.channel == "code")
            .values(base_version="0000-nowhere")
        )
    with pytest.raises(BrokenChain, match="0000-nowhere, which is missing"):
        await WAVECheckpointSaver(database).aget_tuple(_config("odd"))


async def test_downgrading_rewrites_deltas_as_full_copies(database: Database) -> None:
    saver = WAVECheckpointSaver(database)
    await _run(saver, "g", 4)
    latest = await saver.aget_tuple(_config("g"))
    assert latest is not None
    version = str(latest.checkpoint["channel_versions"]["messages"])

    await database.downgrade("0003")
    async with database.session(readonly=True) as session:
        row = (
            await session.execute(
                select(graph_blobs.c.type, graph_blobs.c.blob).where(
                    graph_blobs.c.thread_id == "g",
                    graph_blobs.c.channel == "messages",
                    graph_blobs.c.version == version,
                )
            )
        ).one()
    assert (
        saver.serde.loads_typed((row.type, row.blob))
        == (latest.checkpoint["channel_values"]["messages"])
    )
    await database.upgrade()
    again = await WAVECheckpointSaver(database).aget_tuple(_config("g"))
    assert again is not None
    assert again.checkpoint == latest.checkpoint


async def test_a_reader_in_an_open_transaction_does_not_block_a_write(
    database: Database,
) -> None:
    saver = WAVECheckpointSaver(database)
    await _run(saver, "r", 1)
    count = select(func.count()).select_from(graph_checkpoints)
    async with database.session(readonly=True) as reader:
        seen = (await reader.execute(count)).scalar_one()
        # The read transaction stays open while the graph writes and commits more steps.
        await _run(saver, "r", 1)
        inside = (await reader.execute(count)).scalar_one()
    async with database.session(readonly=True) as after:
        final = (await after.execute(count)).scalar_one()
    assert final > seen
    # SQLite's reader keeps its snapshot; PostgreSQL's (read committed) sees the new rows.
    assert inside in (seen, final)


@contextmanager
def _counting(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts the statements the saver runs: through SQLAlchemy's engine, and on SQLite through
    the reader's own connections."""
    count = [0]

    def on_execute(*_args: Any) -> None:
        count[0] += 1

    run = reader._execute

    def counted(*args: Any) -> Any:
        on_execute()
        return run(*args)

    engine = database.engine.sync_engine
    with monkeypatch.context() as patch:
        patch.setattr(reader, "_execute", counted)
        event.listen(engine, "before_cursor_execute", on_execute)
        try:
            yield count
        finally:
            event.remove(engine, "before_cursor_execute", on_execute)
