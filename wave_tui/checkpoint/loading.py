"""Turning checkpoint rows into CheckpointTuples, with blobs and writes loaded in bulk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointMetadata, CheckpointTuple, PendingWrite
from langgraph.checkpoint.serde.base import SerializerProtocol
from sqlalchemy import Row, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from wave_tui.checkpoint.tables import graph_blobs, graph_writes

# (thread_id, checkpoint_ns, checkpoint_id)
RowKey = tuple[str, str, str]
# (thread_id, checkpoint_ns, channel, version)
BlobKey = tuple[str, str, str, str]


class TupleLoader:
    """Builds the tuples of a page of checkpoint rows with one query for blobs and one for writes
    (per `chunk` keys), never one per checkpoint."""

    def __init__(self, serde: SerializerProtocol, chunk: int) -> None:
        self.serde = serde
        self.chunk = chunk

    async def load(self, session: AsyncSession, rows: Sequence[Row[Any]]) -> list[CheckpointTuple]:
        checkpoints = [self.serde.loads_typed((row.type, row.checkpoint)) for row in rows]
        blob_keys = sorted(
            {
                (row.thread_id, row.checkpoint_ns, channel, str(version))
                for row, checkpoint in zip(rows, checkpoints, strict=True)
                for channel, version in checkpoint["channel_versions"].items()
            }
        )
        values = await self._blobs(session, blob_keys)
        writes = await self._writes(
            session, [(row.thread_id, row.checkpoint_ns, row.checkpoint_id) for row in rows]
        )
        tuples = []
        for row, checkpoint in zip(rows, checkpoints, strict=True):
            checkpoint["channel_values"] = {
                channel: values[key]
                for channel, version in checkpoint["channel_versions"].items()
                if (key := (row.thread_id, row.checkpoint_ns, channel, str(version))) in values
            }
            tuples.append(
                CheckpointTuple(
                    config=_config(row.thread_id, row.checkpoint_ns, row.checkpoint_id),
                    checkpoint=checkpoint,
                    metadata=cast(CheckpointMetadata, row.metadata),
                    parent_config=(
                        _config(row.thread_id, row.checkpoint_ns, row.parent_checkpoint_id)
                        if row.parent_checkpoint_id
                        else None
                    ),
                    pending_writes=writes.get(
                        (row.thread_id, row.checkpoint_ns, row.checkpoint_id), []
                    ),
                )
            )
        return tuples

    async def _blobs(self, session: AsyncSession, keys: list[BlobKey]) -> dict[BlobKey, Any]:
        table = graph_blobs.c
        columns = tuple_(table.thread_id, table.checkpoint_ns, table.channel, table.version)
        values: dict[BlobKey, Any] = {}
        for start in range(0, len(keys), self.chunk):
            query = select(
                table.thread_id,
                table.checkpoint_ns,
                table.channel,
                table.version,
                table.type,
                table.blob,
            ).where(columns.in_(keys[start : start + self.chunk]))
            for row in await session.execute(query):
                # "empty": the channel has a version but no value (LangGraph's own convention).
                if row.type != "empty":
                    key = (row.thread_id, row.checkpoint_ns, row.channel, row.version)
                    values[key] = self.serde.loads_typed((row.type, row.blob))
        return values

    async def _writes(
        self, session: AsyncSession, keys: list[RowKey]
    ) -> dict[RowKey, list[PendingWrite]]:
        table = graph_writes.c
        columns = tuple_(table.thread_id, table.checkpoint_ns, table.checkpoint_id)
        writes: dict[RowKey, list[PendingWrite]] = {}
        for start in range(0, len(keys), self.chunk):
            # writes_sort_key order: the order live execution applied them in.
            query = (
                select(
                    table.thread_id,
                    table.checkpoint_ns,
                    table.checkpoint_id,
                    table.task_id,
                    table.channel,
                    table.type,
                    table.blob,
                )
                .where(columns.in_(keys[start : start + self.chunk]))
                .order_by(table.task_path, table.task_id, table.idx)
            )
            for row in await session.execute(query):
                writes.setdefault((row.thread_id, row.checkpoint_ns, row.checkpoint_id), []).append(
                    (row.task_id, row.channel, self.serde.loads_typed((row.type, row.blob)))
                )
        return writes


def _config(thread_id: str, checkpoint_ns: str, checkpoint_id: str) -> RunnableConfig:
    return {
        "configurable": {
            "thread_id": thread_id,
            "checkpoint_ns": checkpoint_ns,
            "checkpoint_id": checkpoint_id,
        }
    }


def needs_python_filter(filter: dict[str, Any]) -> bool:
    """Whether JSONB containment could match more than JSON equality (nested values do)."""
    return any(isinstance(value, dict | list | tuple) for value in filter.values())


def metadata_matches(metadata: dict[str, Any], filter: dict[str, Any]) -> bool:
    return all(
        key in metadata and _json_equal(metadata[key], value) for key, value in filter.items()
    )


def _json_equal(stored: Any, wanted: Any) -> bool:
    """Equality as JSON sees it: true is not 1, but 1 is 1.0."""
    if isinstance(stored, bool) or isinstance(wanted, bool):
        return type(stored) is type(wanted) and stored == wanted
    if isinstance(stored, dict) and isinstance(wanted, dict):
        return stored.keys() == wanted.keys() and all(
            _json_equal(stored[key], wanted[key]) for key in stored
        )
    if isinstance(stored, list) and isinstance(wanted, list | tuple):
        return len(stored) == len(wanted) and all(
            _json_equal(a, b) for a, b in zip(stored, wanted, strict=True)
        )
    return bool(stored == wanted)
