"""Turning checkpoint rows into CheckpointTuples, with blobs and writes loaded in bulk.

Loading is split in two: `fetch` runs the queries (a fixed number, whatever the number of
checkpoints) inside one short read transaction, `build` decodes outside it, so a long listing
never keeps a transaction open while its caller works through the tuples. `fetch` is plain
synchronous code over an `execute` function: the saver runs it in one hop on a thread of its
own for SQLite (reader.py), or under `AsyncSession.run_sync` for PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointMetadata, CheckpointTuple, PendingWrite
from langgraph.checkpoint.serde.base import SerializerProtocol
from sqlalchemy import Select, String, and_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from wave_tui.checkpoint.deltas import MSGPACK, array_header, make_array
from wave_tui.checkpoint.tables import graph_blobs, graph_writes
from wave_tui.errors import DatabaseError

# (thread_id, checkpoint_ns, checkpoint_id)
RowKey = tuple[str, str, str]
# (thread_id, checkpoint_ns, channel, version)
BlobKey = tuple[str, str, str, str]
# Runs a statement with its named parameters, returns its rows (attribute access by column name).
# The statements below are constants: the SQLite reader compiles each once.
Execute = Callable[[Select[Any], Mapping[str, Any]], Sequence[Any]]
# Listings of one thread longer than this read the thread's blobs and writes in one query each
# instead of naming every key.
WHOLE_THREAD_AT = 64


class BrokenChain(DatabaseError):
    """A delta's base version is missing: the stored value cannot be rebuilt. An operational
    failure (the database lost rows), never read as a shorter list."""


@dataclass(frozen=True)
class Scope:
    """The thread (and namespace, when given) every row of a listing belongs to."""

    thread_id: str
    checkpoint_ns: str | None


@dataclass
class Fetched:
    """The raw rows a set of checkpoints needs, not yet decoded."""

    rows: Sequence[Any]
    blobs: dict[BlobKey, Any] = field(default_factory=dict)
    writes: dict[RowKey, list[Any]] = field(default_factory=dict)


class TupleLoader:
    """Loads the blobs and writes of many checkpoints with a fixed number of queries (or one per
    `chunk` keys when they are named one by one), never one per checkpoint."""

    def __init__(self, serde: SerializerProtocol, chunk: int, *, postgres: bool = False) -> None:
        self.serde = serde
        self.chunk = chunk
        self.postgres = postgres

    def fetch(self, execute: Execute, rows: Sequence[Any], scope: Scope | None = None) -> Fetched:
        fetched = Fetched(rows)
        if not rows:
            return fetched
        if scope is not None and len(rows) > WHOLE_THREAD_AT:
            self._whole_thread(execute, fetched, scope)
            return fetched
        keys = sorted(
            {
                (row.thread_id, row.checkpoint_ns, channel, str(version))
                for row in rows
                for channel, version in self._checkpoint(row)["channel_versions"].items()
            }
        )
        self._exact(fetched, execute, keys)
        anchors = sorted(
            {
                (*key[:3], row.anchor_version)
                for key in keys
                if (row := fetched.blobs.get(key)) is not None
                and row.anchor_version is not None
                and not _whole_chain(fetched.blobs, key)
            }
        )
        self._chains(fetched, execute, anchors)
        for (thread_id, checkpoint_ns), ids in _by_thread(
            [(row.thread_id, row.checkpoint_ns, row.checkpoint_id) for row in rows]
        ).items():
            for chunk in self._chunks(sorted({key[0] for key in ids})):
                params = {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns, "ids": chunk}
                self._add_writes(fetched, execute(WRITES_BY_ID, params))
        return fetched

    def _exact(self, fetched: Fetched, execute: Execute, keys: list[BlobKey]) -> None:
        """The blobs of exactly these keys, in one statement that joins the keys, passed as one
        parameter, to the primary key. The whole key travels in the parameter and nothing else
        filters the blobs, so the keys drive the loop on either database whatever its statistics
        (PostgreSQL's generic plan of a prepared statement, or SQLite before ANALYZE, would
        otherwise guess a thread has one row and read all of its blobs for each key).
        `channel IN (...) AND version IN (...)` used to meet rows of other channels at the same
        versions too (a step gives every channel it writes the same version)."""
        for chunk in self._chunks(keys):
            if self.postgres:
                params = {name: [key[n] for key in chunk] for n, name in enumerate(_KEY_COLUMNS)}
                self._add_blobs(fetched, execute(BLOBS_BY_KEY_POSTGRES, params))
            else:
                self._add_blobs(fetched, execute(BLOBS_BY_KEY_SQLITE, {"keys": json.dumps(chunk)}))

    def _chains(self, fetched: Fetched, execute: Execute, keys: list[BlobKey]) -> None:
        """The blobs whose (thread, ns, channel, anchor) are among `keys`: per thread and
        namespace, channels IN (...) and anchors IN (...), which both databases answer from the
        chain index. The cross product may bring a few rows more than asked; they are harmless
        (the version lookup joins its keys instead: SQLite would not use the chain index so)."""
        for (thread_id, checkpoint_ns), rest in _by_thread(keys).items():
            channels = sorted({key[0] for key in rest})
            for chunk in self._chunks(sorted({key[1] for key in rest})):
                params = {
                    "thread_id": thread_id,
                    "checkpoint_ns": checkpoint_ns,
                    "channels": channels,
                    "versions": chunk,
                }
                self._add_blobs(fetched, execute(BLOBS_BY_ANCHOR, params))

    def _whole_thread(self, execute: Execute, fetched: Fetched, scope: Scope) -> None:
        ids = [row.checkpoint_id for row in fetched.rows]
        params = {"thread_id": scope.thread_id, "first": min(ids), "last": max(ids)}
        if scope.checkpoint_ns is None:
            blobs, writes = BLOBS_OF_THREAD, WRITES_OF_THREAD
        else:
            blobs, writes = BLOBS_OF_NAMESPACE, WRITES_OF_NAMESPACE
            params["checkpoint_ns"] = scope.checkpoint_ns
        self._add_blobs(fetched, execute(blobs, params))
        self._add_writes(fetched, execute(writes, params))

    def _add_blobs(self, fetched: Fetched, rows: Sequence[Any]) -> None:
        for row in rows:
            fetched.blobs[(row.thread_id, row.checkpoint_ns, row.channel, row.version)] = row

    def _add_writes(self, fetched: Fetched, rows: Sequence[Any]) -> None:
        for row in rows:
            key = (row.thread_id, row.checkpoint_ns, row.checkpoint_id)
            fetched.writes.setdefault(key, []).append(row)

    def _chunks(self, keys: list[Any]) -> Iterator[list[Any]]:
        for start in range(0, len(keys), self.chunk):
            yield keys[start : start + self.chunk]

    def _checkpoint(self, row: Any) -> dict[str, Any]:
        return cast(dict[str, Any], self.serde.loads_typed((row.type, row.checkpoint)))

    def build(self, fetched: Fetched) -> Iterator[CheckpointTuple]:
        """The tuples, in the order of the rows, decoded one at a time."""
        # One tuple needs only its own versions: each chain is decoded from its joined items.
        values = _Values(self.serde, fetched.blobs, every_link=len(fetched.rows) > 1)
        decoded, decode = values.decoded, values.get
        loads = self.serde.loads_typed
        for row in fetched.rows:
            checkpoint = self._checkpoint(row)
            thread_id, checkpoint_ns = row.thread_id, row.checkpoint_ns
            channel_values = {}
            for channel, version in checkpoint["channel_versions"].items():
                blob_key = (thread_id, checkpoint_ns, channel, str(version))
                # Most checkpoints hold values an earlier one already decoded.
                value = decoded.get(blob_key, _UNSEEN)
                if value is _UNSEEN:
                    value = decode(blob_key)
                if value is not _MISSING:
                    channel_values[channel] = value
            checkpoint["channel_values"] = channel_values
            key = (thread_id, checkpoint_ns, row.checkpoint_id)
            writes: list[PendingWrite] = [
                (write.task_id, write.channel, loads((write.type, write.blob)))
                for write in fetched.writes.get(key, [])
            ]
            yield CheckpointTuple(
                config=_config(thread_id, checkpoint_ns, row.checkpoint_id),
                checkpoint=cast(Any, checkpoint),
                metadata=cast(CheckpointMetadata, row.metadata),
                parent_config=(
                    _config(thread_id, checkpoint_ns, row.parent_checkpoint_id)
                    if row.parent_checkpoint_id
                    else None
                ),
                pending_writes=writes,
            )


_MISSING = object()
_UNSEEN = object()


class _Values:
    """Decodes blob rows on demand, once each. A delta is its base's value plus its own items.

    With `every_link` (a listing, which will ask for the older versions too) every version on a
    chain is decoded, its items once and shared by the lists of every version that holds them.
    Without, a chain's item bytes are joined behind one array header and decoded in one call."""

    def __init__(
        self, serde: SerializerProtocol, rows: dict[BlobKey, Any], *, every_link: bool = True
    ) -> None:
        self.serde = serde
        self.rows = rows
        self.every_link = every_link
        self.decoded: dict[BlobKey, Any] = {}

    def get(self, key: BlobKey) -> Any:
        if key in self.decoded:
            return self.decoded[key]
        row = self.rows.get(key)
        if row is None:
            return _MISSING
        # "empty": the channel has a version but no value (LangGraph's own convention).
        if row.type == "empty":
            self.decoded[key] = _MISSING
            return _MISSING
        # Walk back to the nearest full copy (or decoded version), then forward.
        chain = [key]
        while (base := self.rows[chain[-1]].base_version) is not None:
            base_key = (*key[:3], base)
            if base_key in self.decoded:
                break
            if base_key not in self.rows:
                raise BrokenChain(
                    f"checkpoint blob {key[2]}@{key[3]} of thread {key[0]} extends "
                    f"{base}, which is missing"
                )
            if base_key in chain:
                raise BrokenChain(
                    f"checkpoint blob {key[2]}@{key[3]} of thread {key[0]} extends "
                    f"{base}, which extends it back: the chain loops"
                )
            chain.append(base_key)
        if not self.every_link and (joined := self._joined(chain)) is not None:
            self.decoded[key] = joined
            return joined
        for link in reversed(chain):
            link_row = self.rows[link]
            value = self.serde.loads_typed((link_row.type, link_row.blob))
            if link_row.base_version is not None:
                value = [*self.decoded[(*key[:3], link_row.base_version)], *value]
            self.decoded[link] = value
        return self.decoded[key]

    def _joined(self, chain: list[BlobKey]) -> Any:
        """The newest version of `chain` (newest first, a full copy last) decoded from its links'
        items joined, or None when the chain does not start at a full copy of msgpack lists."""
        rows = [self.rows[link] for link in reversed(chain)]
        if len(rows) < 2 or rows[0].base_version is not None:
            return None
        count, items = 0, []
        for row in rows:
            header = array_header(row.blob) if row.type == MSGPACK else None
            if header is None:
                return None
            count += header[0]
            items.append(memoryview(row.blob)[header[1] :])
        return self.serde.loads_typed((MSGPACK, make_array(count, b"".join(items))))


def _whole_chain(rows: dict[BlobKey, Any], key: BlobKey) -> bool:
    """Whether `rows` hold `key`'s row and every link back to its full copy (a damaged chain
    that loops never reaches one: it is fetched whole, and decoding says what is wrong)."""
    for _ in range(len(rows)):
        row = rows.get(key)
        if row is None:
            return False
        if row.base_version is None:
            return True
        key = (*key[:3], row.base_version)
    return False


def _blobs_query(*where: ColumnElement[bool]) -> Select[Any]:
    table = graph_blobs.c
    return select(
        table.thread_id,
        table.checkpoint_ns,
        table.channel,
        table.version,
        table.type,
        table.blob,
        table.base_version,
        table.anchor_version,
    ).where(*where)


def _writes_query(*where: ColumnElement[bool]) -> Select[Any]:
    table = graph_writes.c
    # writes_sort_key order: the order live execution applied them in.
    return (
        select(
            table.thread_id,
            table.checkpoint_ns,
            table.checkpoint_id,
            table.task_id,
            table.channel,
            table.type,
            table.blob,
        )
        .where(*where)
        .order_by(table.task_path, table.task_id, table.idx)
    )


def _each(name: str) -> Any:
    """A parameter that takes a list: the values of an IN."""
    return bindparam(name, expanding=True)


_b, _w = graph_blobs.c, graph_writes.c
_IN_THREAD = (
    _b.thread_id == bindparam("thread_id"),
    _b.checkpoint_ns == bindparam("checkpoint_ns"),
)
# The asked keys as a table, joined to the primary key: a JSON array of [thread_id,
# checkpoint_ns, channel, version] on SQLite, an array per column on PostgreSQL.
_KEY_COLUMNS = ("thread_id", "checkpoint_ns", "channel", "version")
_KEYS_SQLITE = func.json_each(bindparam("keys")).table_valued("value").alias("k")
BLOBS_BY_KEY_SQLITE = _blobs_query().select_from(
    _KEYS_SQLITE.join(
        graph_blobs,
        and_(
            *(
                getattr(_b, name) == func.json_extract(_KEYS_SQLITE.c.value, f"$[{n}]")
                for n, name in enumerate(_KEY_COLUMNS)
            )
        ),
    )
)
_KEYS_POSTGRES = (
    func.unnest(*(bindparam(name, type_=ARRAY(String)) for name in _KEY_COLUMNS))
    .table_valued(*_KEY_COLUMNS)
    .render_derived(name="k")
)
BLOBS_BY_KEY_POSTGRES = _blobs_query().select_from(
    _KEYS_POSTGRES.join(
        graph_blobs,
        and_(*(getattr(_b, name) == _KEYS_POSTGRES.c[name] for name in _KEY_COLUMNS)),
    )
)
BLOBS_BY_ANCHOR = _blobs_query(
    *_IN_THREAD, _b.channel.in_(_each("channels")), _b.anchor_version.in_(_each("versions"))
)
BLOBS_OF_THREAD = _blobs_query(_b.thread_id == bindparam("thread_id"))
BLOBS_OF_NAMESPACE = _blobs_query(*_IN_THREAD)
WRITES_BY_ID = _writes_query(
    _w.thread_id == bindparam("thread_id"),
    _w.checkpoint_ns == bindparam("checkpoint_ns"),
    _w.checkpoint_id.in_(_each("ids")),
)
_W_RANGE = (
    _w.thread_id == bindparam("thread_id"),
    _w.checkpoint_id >= bindparam("first"),
    _w.checkpoint_id <= bindparam("last"),
)
WRITES_OF_THREAD = _writes_query(*_W_RANGE)
WRITES_OF_NAMESPACE = _writes_query(*_W_RANGE, _w.checkpoint_ns == bindparam("checkpoint_ns"))


def _by_thread(keys: Sequence[tuple[str, ...]]) -> dict[tuple[str, str], list[tuple[str, ...]]]:
    """Keys grouped by their (thread_id, checkpoint_ns), the rest of each key in the group."""
    groups: dict[tuple[str, str], list[tuple[str, ...]]] = {}
    for key in keys:
        groups.setdefault((key[0], key[1]), []).append(tuple(key[2:]))
    return groups


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
