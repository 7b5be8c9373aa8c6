"""Removing a thread's old checkpoints: which rows go, decided from a read, deleted in chunks.

A thread keeps, per namespace, its newest `keep_latest` checkpoints and every checkpoint named in
`protected` (those a WaveCheckpoint row points to, or an open escalation waits on). The writes of
removed checkpoints go with them; a blob goes when no kept checkpoint uses it, directly or as a
link in the delta chain of a value it uses.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol
from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from wave_tui.checkpoint.tables import graph_blobs, graph_checkpoints, graph_writes

# Keys per DELETE ... IN statement, far below every driver's bind-parameter limit.
CHUNK = 500


@dataclass(frozen=True)
class PruneReport:
    """What a prune removed (or, dry, would remove)."""

    threads: int = 0
    checkpoints: int = 0
    kept: int = 0
    writes: int = 0
    blobs: int = 0
    blob_bytes: int = 0

    def __add__(self, other: PruneReport) -> PruneReport:
        return PruneReport(
            self.threads + other.threads,
            self.checkpoints + other.checkpoints,
            self.kept + other.kept,
            self.writes + other.writes,
            self.blobs + other.blobs,
            self.blob_bytes + other.blob_bytes,
        )


async def prune_thread(
    session: AsyncSession,
    serde: SerializerProtocol,
    thread_id: str,
    *,
    keep_latest: int,
    protected: Collection[str] = (),
    dry_run: bool = False,
) -> PruneReport:
    """Remove what `thread_id` does not keep, in `session`'s transaction."""
    if keep_latest < 1:
        raise ValueError("a prune keeps at least the newest checkpoint of each namespace")
    table = graph_checkpoints.c
    rows = (
        await session.execute(
            select(table.checkpoint_ns, table.checkpoint_id)
            .where(table.thread_id == thread_id)
            .order_by(table.checkpoint_ns, table.checkpoint_id.desc())
        )
    ).all()
    if not rows:
        return PruneReport()
    kept: list[tuple[str, str]] = []
    removed: list[tuple[str, str]] = []
    newest: dict[str, int] = {}
    for row in rows:
        rank = newest[row.checkpoint_ns] = newest.get(row.checkpoint_ns, 0) + 1
        key = (row.checkpoint_ns, row.checkpoint_id)
        (kept if rank <= keep_latest or row.checkpoint_id in protected else removed).append(key)
    if not removed:
        return PruneReport(threads=1, kept=len(kept))
    used = await _blobs_used(session, serde, thread_id, kept)
    stale, stale_bytes = await _stale_blobs(session, thread_id, used)
    writes = graph_writes.c
    removed_writes = 0
    for chunk in _chunks(removed):
        removed_writes += (
            await session.execute(
                select(func.count())
                .select_from(graph_writes)
                .where(
                    writes.thread_id == thread_id,
                    tuple_(writes.checkpoint_ns, writes.checkpoint_id).in_(chunk),
                )
            )
        ).scalar_one()
    report = PruneReport(1, len(removed), len(kept), removed_writes, len(stale), stale_bytes)
    if dry_run:
        return report
    for chunk in _chunks(removed):
        for target in (graph_writes, graph_checkpoints):
            await session.execute(
                delete(target).where(
                    target.c.thread_id == thread_id,
                    tuple_(target.c.checkpoint_ns, target.c.checkpoint_id).in_(chunk),
                )
            )
    blobs = graph_blobs.c
    for blob_chunk in _chunks(stale):
        await session.execute(
            delete(graph_blobs).where(
                blobs.thread_id == thread_id,
                tuple_(blobs.checkpoint_ns, blobs.channel, blobs.version).in_(blob_chunk),
            )
        )
    return report


async def _blobs_used(
    session: AsyncSession, serde: SerializerProtocol, thread_id: str, kept: list[tuple[str, str]]
) -> set[tuple[str, str, str]]:
    """(namespace, channel, version) of every value the kept checkpoints hold."""
    table = graph_checkpoints.c
    used: set[tuple[str, str, str]] = set()
    for chunk in _chunks(kept):
        query = select(table.checkpoint_ns, table.type, table.checkpoint).where(
            table.thread_id == thread_id,
            tuple_(table.checkpoint_ns, table.checkpoint_id).in_(chunk),
        )
        for row in await session.execute(query):
            versions = serde.loads_typed((row.type, row.checkpoint))["channel_versions"]
            used.update((row.checkpoint_ns, channel, str(v)) for channel, v in versions.items())
    return used


async def _stale_blobs(
    session: AsyncSession, thread_id: str, used: set[tuple[str, str, str]]
) -> tuple[list[tuple[str, str, str]], int]:
    """The thread's blobs that neither hold a used value nor lie on a used value's delta chain,
    and their size in bytes."""
    blobs = graph_blobs.c
    query = select(
        blobs.checkpoint_ns,
        blobs.channel,
        blobs.version,
        blobs.base_version,
        func.coalesce(func.length(blobs.blob), 0).label("size"),
    ).where(blobs.thread_id == thread_id)
    rows: dict[tuple[str, str, str], Any] = {
        (row.checkpoint_ns, row.channel, row.version): row for row in await session.execute(query)
    }
    needed: set[tuple[str, str, str]] = set()
    for key in used:
        while key in rows and key not in needed:
            needed.add(key)
            base = rows[key].base_version
            if base is None:
                break
            key = (key[0], key[1], base)
    stale = sorted(key for key in rows if key not in needed)
    return stale, sum(int(rows[key].size) for key in stale)


def _chunks(keys: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(keys), CHUNK):
        yield keys[start : start + CHUNK]
