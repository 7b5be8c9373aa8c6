"""WAVECheckpointSaver: LangGraph checkpoints in wave_tui's own database (SQLite or PostgreSQL).

The layout follows langgraph-checkpoint-postgres: checkpoints without their channel values, each
channel value stored once per version, and the pending writes of the step after a checkpoint.
On top of it, a list that grew is stored as the items it gained (deltas.py), so a thread's size
grows with what changed, not with the number of steps times the length of its history.

Reads take no lock: SQLite runs in WAL mode and readers use plain BEGIN, PostgreSQL is MVCC; no
in-process lock serialises callers either. Writes of one thread come one after another, as
LangGraph makes them.
"""

from __future__ import annotations

import functools
import random
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from sqlalchemy import Select, Table, bindparam, delete, literal, select, tuple_, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from wave_tui.checkpoint.deltas import BlobPlan, DeltaEncoder
from wave_tui.checkpoint.loading import (
    Execute,
    Fetched,
    Scope,
    TupleLoader,
    metadata_matches,
    needs_python_filter,
)
from wave_tui.checkpoint.pruning import PruneReport, prune_thread
from wave_tui.checkpoint.reader import reader_for
from wave_tui.checkpoint.sync import SyncBridge
from wave_tui.checkpoint.tables import graph_blobs, graph_checkpoints, graph_writes
from wave_tui.checkpoint.writer import upsert, writer_for
from wave_tui.db.engine import Database
from wave_tui.errors import DatabaseError, UserError, first_line

T = TypeVar("T")
# Row-value IN lists are split so no statement nears the drivers' bind-parameter limits.
KEY_CHUNK = 500
PRUNE_STRATEGIES = ("keep_latest", "delete")
# (table, the columns an existing row takes from the new one, rows)
Upsert = tuple[Table, Sequence[str], list[dict[str, Any]]]


class WAVECheckpointSaver(SyncBridge):
    """A LangGraph checkpointer on a `wave_tui.db.Database`: the engine the rest of wave uses."""

    def __init__(self, database: Database, *, serde: SerializerProtocol | None = None) -> None:
        super().__init__(serde=serde)
        self.database = database
        self.deltas = DeltaEncoder()
        # SQLite: threads of the saver's own. PostgreSQL: Core connections of the engine's pool,
        # a read one snapshot (the database's read-only engine), as a read on SQLite is.
        self._writer = writer_for(database)
        self._reader = reader_for(database)

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls, url: URL | str, *, serde: SerializerProtocol | None = None
    ) -> AsyncIterator[WAVECheckpointSaver]:
        """A saver on its own Database for `url`, migrated to head, disposed on exit."""
        database = Database(url)
        try:
            await database.upgrade()
            yield cls(database, serde=serde)
        finally:
            await database.dispose()

    # --- reading -----------------------------------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        thread_id, checkpoint_ns = _thread(config)
        params = {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns}
        if checkpoint_id := get_checkpoint_id(config):
            query, params["checkpoint_id"] = _CHECKPOINT, checkpoint_id
        else:
            query = _LATEST
        loader = self._loader()

        def read(execute: Execute) -> Fetched | None:
            rows = execute(query, params)
            return loader.fetch(execute, rows[:1]) if rows else None

        fetched = await self._read(read)
        return None if fetched is None else next(loader.build(fetched))

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Newest first. `filter` matches metadata keys by JSON equality.

        Everything is read in one short read transaction (a fixed number of queries), then
        decoded tuple by tuple as the caller iterates.
        """
        query, exact = self._search(config, filter, before)
        if limit is not None and exact:
            query = query.limit(limit)
        loader = self._loader()

        def read(execute: Execute) -> Fetched:
            rows = execute(query, {})
            if filter and not exact:
                rows = [row for row in rows if metadata_matches(row.metadata, filter)]
            if limit is not None:
                rows = rows[:limit]
            return loader.fetch(execute, rows, _scope(config))

        for checkpoint_tuple in loader.build(await self._read(read)):
            yield checkpoint_tuple

    def _search(
        self,
        config: RunnableConfig | None,
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
    ) -> tuple[Select[Any], bool]:
        """The listing query, and whether it applies `filter` exactly (else Python must)."""
        table = graph_checkpoints
        query = select(table).order_by(table.c.checkpoint_id.desc())
        if config is not None:
            configurable = config["configurable"]
            query = query.where(table.c.thread_id == str(configurable["thread_id"]))
            if (checkpoint_ns := configurable.get("checkpoint_ns")) is not None:
                query = query.where(table.c.checkpoint_ns == checkpoint_ns)
            if checkpoint_id := get_checkpoint_id(config):
                query = query.where(table.c.checkpoint_id == checkpoint_id)
        if before is not None and (before_id := get_checkpoint_id(before)):
            query = query.where(table.c.checkpoint_id < before_id)
        if not filter:
            return query, True
        if self.database.is_sqlite:
            return query, False
        # JSONB containment narrows in the index-friendly way; it equals JSON equality for
        # scalars, and Python re-checks nested values, where containment is looser.
        query = query.where(type_coerce(table.c.metadata, JSONB).contains(filter))
        return query, not needs_python_filter(filter)

    async def _read(self, work: Callable[[Execute], T]) -> T:
        """`work(execute)` inside one read transaction: a single hop to a thread on SQLite."""
        if self._reader is not None:
            return await self._reader.read(work)
        try:
            async with self.database.readonly_engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: work(lambda query, params: sync.execute(query, params).all())
                )
        except SQLAlchemyError as error:  # as on SQLite: the story fails, the CLI says one line
            raise DatabaseError(
                f"cannot read checkpoints from {self.database.display_url}: {first_line(error)}"
            ) from error

    def _loader(self) -> TupleLoader:
        return TupleLoader(self.serde, KEY_CHUNK, postgres=not self.database.is_sqlite)

    # --- writing -----------------------------------------------------------------------------

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        thread_id, checkpoint_ns = _thread(config)
        parent_id = get_checkpoint_id(config)
        stored = checkpoint.copy()
        values: dict[str, Any] = stored.pop("channel_values")  # type: ignore[misc]
        # Only the channels that changed get a blob; the others keep pointing at older ones.
        key = (thread_id, checkpoint_ns)
        plans = {
            channel: self._plan(key, parent_id, values, channel, str(version))
            for channel, version in new_versions.items()
        }
        blobs = [
            {
                "thread_id": thread_id,
                "checkpoint_ns": checkpoint_ns,
                "channel": channel,
                "version": str(new_versions[channel]),
                **plan.columns(),
            }
            for channel, plan in plans.items()
        ]
        checkpoint_type, checkpoint_data = self.serde.dumps_typed(stored)
        row = {
            "thread_id": thread_id,
            "checkpoint_ns": checkpoint_ns,
            "checkpoint_id": checkpoint["id"],
            "parent_checkpoint_id": parent_id,
            "type": checkpoint_type,
            "checkpoint": checkpoint_data,
            "metadata": get_serializable_checkpoint_metadata(config, metadata),
        }
        # One transaction: a checkpoint is never visible without its blobs.
        await self._write(
            [
                (graph_blobs, (), blobs),
                (graph_checkpoints, ("type", "checkpoint", "metadata"), [row]),
            ]
        )
        # Only what is committed may be the base of the next delta.
        self.deltas.committed(key, checkpoint["id"], checkpoint["channel_versions"], plans)
        return {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": checkpoint_ns,
                "checkpoint_id": checkpoint["id"],
            }
        }

    def _plan(
        self,
        key: tuple[str, str],
        parent_id: str | None,
        values: dict[str, Any],
        channel: str,
        version: str,
    ) -> BlobPlan:
        if channel not in values:
            return BlobPlan("empty", None)
        value_type, data = self.serde.dumps_typed(values[channel])
        return self.deltas.plan(key, parent_id, channel, version, value_type, data)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        if not writes:
            return
        thread_id, checkpoint_ns = _thread(config)
        checkpoint_id = config["configurable"]["checkpoint_id"]
        rows = []
        for idx, (channel, value) in enumerate(writes):
            value_type, data = self.serde.dumps_typed(value)
            rows.append(
                {
                    "thread_id": thread_id,
                    "checkpoint_ns": checkpoint_ns,
                    "checkpoint_id": checkpoint_id,
                    "task_id": task_id,
                    "task_path": task_path,
                    # Special writes (errors, interrupts...) take fixed negative slots.
                    "idx": WRITES_IDX_MAP.get(channel, idx),
                    "channel": channel,
                    "type": value_type,
                    "blob": data,
                }
            )
        # Special writes replace the previous one; ordinary writes of a task are written once.
        special = all(channel in WRITES_IDX_MAP for channel, _ in writes)
        update = ("channel", "type", "blob") if special else ()
        await self._write([(graph_writes, update, rows)])

    async def _write(self, upserts: list[Upsert]) -> None:
        """The upserts (table, columns to update on conflict, rows) in one transaction."""
        upserts = [each for each in upserts if each[2]]  # tables with rows to write
        if self._writer is not None:
            await self._writer.write(
                [upsert(table, tuple(update), rows) for table, update, rows in upserts]
            )
            return
        try:
            async with self.database.engine.begin() as connection:
                for table, update, rows in upserts:
                    await connection.execute(self._upsert(table, update), rows)
        except SQLAlchemyError as error:
            raise DatabaseError(
                f"cannot write checkpoints to {self.database.display_url}: {first_line(error)}"
            ) from error

    def _upsert(self, table: Table, update: Sequence[str]) -> Any:
        return _upsert(table, tuple(update), sqlite=self.database.is_sqlite)

    # --- deleting and copying ------------------------------------------------------------------

    async def adelete_thread(self, thread_id: str) -> None:
        self.deltas.forget(str(thread_id))
        async with self.database.session() as session:
            for table in (graph_writes, graph_checkpoints, graph_blobs):
                await session.execute(delete(table).where(table.c.thread_id == str(thread_id)))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints whose metadata names one of `run_ids`, and their writes.

        Blobs stay: other checkpoints of the thread may share them.
        """
        if not run_ids:
            return
        self.deltas = DeltaEncoder()  # the newest checkpoint it remembers may be among them
        table = graph_checkpoints
        run_id = table.c.metadata["run_id"].as_string()
        async with self.database.session() as session:
            keys = [
                (row.thread_id, row.checkpoint_ns, row.checkpoint_id)
                for row in await session.execute(
                    select(table.c.thread_id, table.c.checkpoint_ns, table.c.checkpoint_id).where(
                        run_id.in_([str(run) for run in run_ids])
                    )
                )
            ]
            for start in range(0, len(keys), KEY_CHUNK):
                chunk = keys[start : start + KEY_CHUNK]
                for target in (graph_writes, graph_checkpoints):
                    columns = tuple_(
                        target.c.thread_id, target.c.checkpoint_ns, target.c.checkpoint_id
                    )
                    await session.execute(delete(target).where(columns.in_(chunk)))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint, blob and write of a thread, whole chains included."""
        async with self.database.session() as session:
            for table in (graph_blobs, graph_checkpoints, graph_writes):
                columns = [
                    literal(str(target_thread_id), table.c.thread_id.type).label("thread_id")
                    if column.name == "thread_id"
                    else column
                    for column in table.columns
                ]
                rows = select(*columns).where(table.c.thread_id == str(source_thread_id))
                statement = self._upsert(table, ()).from_select(
                    [column.name for column in table.columns], rows
                )
                await session.execute(statement)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """`keep_latest`: only the newest checkpoint per namespace stays, with its writes and
        the blobs it uses. `delete`: the threads go entirely.
        """
        if strategy not in PRUNE_STRATEGIES:
            raise UserError(f"unknown prune strategy {strategy!r}: use one of {PRUNE_STRATEGIES}")
        for thread_id in thread_ids:
            if strategy == "delete":
                await self.adelete_thread(thread_id)
            else:
                await self.aprune_thread(str(thread_id), keep_latest=1)

    async def aprune_thread(
        self,
        thread_id: str,
        *,
        keep_latest: int,
        protected: Collection[str] = (),
        dry_run: bool = False,
    ) -> PruneReport:
        """Keep the newest `keep_latest` checkpoints per namespace and the `protected` ones;
        remove the others with their writes and every blob no kept checkpoint needs. One
        transaction; `dry_run` only counts."""
        async with self.database.session(readonly=dry_run) as session:
            return await prune_thread(
                session,
                self.serde,
                thread_id,
                keep_latest=keep_latest,
                protected=protected,
                dry_run=dry_run,
            )

    # --- versions ----------------------------------------------------------------------------

    def get_next_version(self, current: str | None, channel: None) -> str:
        """A zero-padded counter plus a random fraction, as the PostgreSQL saver makes them."""
        if current is None:
            current_v = 0
        elif isinstance(current, int):
            current_v = current
        else:
            current_v = int(current.split(".")[0])
        return f"{current_v + 1:032}.{random.random():016}"


_IN_THREAD = (
    graph_checkpoints.c.thread_id == bindparam("thread_id"),
    graph_checkpoints.c.checkpoint_ns == bindparam("checkpoint_ns"),
)
# The reads of aget_tuple, built and compiled once (see reader.py).
_LATEST = (
    select(graph_checkpoints)
    .where(*_IN_THREAD)
    .order_by(graph_checkpoints.c.checkpoint_id.desc())
    .limit(1)
)
_CHECKPOINT = select(graph_checkpoints).where(
    *_IN_THREAD, graph_checkpoints.c.checkpoint_id == bindparam("checkpoint_id")
)


@functools.cache
def _upsert(table: Table, update: tuple[str, ...], *, sqlite: bool) -> Any:
    """INSERT ... ON CONFLICT (primary key) DO NOTHING, or DO UPDATE the `update` columns. Built
    once: building it was a tenth of a step's time on PostgreSQL."""
    statement = sqlite_insert(table) if sqlite else pg_insert(table)
    if not update:
        return statement.on_conflict_do_nothing()
    return statement.on_conflict_do_update(
        index_elements=list(table.primary_key.columns),
        set_={name: statement.excluded[name] for name in update},
    )


def _scope(config: RunnableConfig | None) -> Scope | None:
    """The one thread a listing reads, if it is limited to one."""
    if config is None:
        return None
    configurable = config["configurable"]
    return Scope(str(configurable["thread_id"]), configurable.get("checkpoint_ns"))


def _thread(config: RunnableConfig) -> tuple[str, str]:
    configurable = config["configurable"]
    return str(configurable["thread_id"]), cast(str, configurable.get("checkpoint_ns") or "")
