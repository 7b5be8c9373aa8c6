"""Checkpoint blobs that store a grown list as a delta on an earlier version.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 18:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows are full copies: both columns NULL, which is what a full copy says.
    with op.batch_alter_table("wave_graph_blobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("base_version", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("anchor_version", sa.Text(), nullable=True))
        batch_op.create_index(
            "ix_wave_graph_blobs_chain",
            ["thread_id", "checkpoint_ns", "channel", "anchor_version"],
            unique=False,
        )


def downgrade() -> None:
    # Revision 0003 cannot read a delta, so every delta first becomes the full copy it stands for.
    # Both are msgpack arrays: the full value is the chain's items concatenated under one header.
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT thread_id, checkpoint_ns, channel, version, blob, base_version "
            "FROM wave_graph_blobs WHERE anchor_version IS NOT NULL"
        )
    ).all()
    by_key = {(r.thread_id, r.checkpoint_ns, r.channel, r.version): r for r in rows}
    full: dict[tuple[str, str, str, str], tuple[int, bytes]] = {}

    def items_of(key: tuple[str, str, str, str]) -> tuple[int, bytes]:
        chain = [key]
        while (base := by_key[chain[-1]].base_version) is not None and (
            (*key[:3], base) not in full
        ):
            chain.append((*key[:3], base))
        for link in reversed(chain):
            count, items = _split(by_key[link].blob)
            base = by_key[link].base_version
            if base is not None:
                base_count, base_items = full[(*key[:3], base)]
                count, items = base_count + count, base_items + items
            full[link] = (count, items)
        return full[key]

    update = sa.text(
        "UPDATE wave_graph_blobs SET blob = :blob, base_version = NULL, anchor_version = NULL "
        "WHERE thread_id = :thread_id AND checkpoint_ns = :checkpoint_ns "
        "AND channel = :channel AND version = :version"
    )
    for key, row in by_key.items():
        if row.base_version is not None:
            count, items = items_of(key)
            thread_id, checkpoint_ns, channel, version = key
            connection.execute(
                update,
                {
                    "blob": _array(count, items),
                    "thread_id": thread_id,
                    "checkpoint_ns": checkpoint_ns,
                    "channel": channel,
                    "version": version,
                },
            )
    with op.batch_alter_table("wave_graph_blobs", schema=None) as batch_op:
        batch_op.drop_index("ix_wave_graph_blobs_chain")
        batch_op.drop_column("anchor_version")
        batch_op.drop_column("base_version")


def _split(data: bytes) -> tuple[int, bytes]:
    """(item count, items) of a msgpack array."""
    if data[0] == 0xDC:
        return int.from_bytes(data[1:3], "big"), data[3:]
    if data[0] == 0xDD:
        return int.from_bytes(data[1:5], "big"), data[5:]
    return data[0] & 0x0F, data[1:]


def _array(count: int, items: bytes) -> bytes:
    if count < 16:
        return bytes([0x90 | count]) + items
    if count < 1 << 16:
        return b"\xdc" + count.to_bytes(2, "big") + items
    return b"\xdd" + count.to_bytes(4, "big") + items
