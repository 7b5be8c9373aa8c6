"""The LangGraph checkpoint tables: checkpoints, channel-value blobs and pending writes.

They live on `wave_tui.db.models.Base.metadata`, so Alembic migrates them with the rest.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, LargeBinary, Table, Text

from wave_tui.db.models import Base
from wave_tui.db.types import JSONDocument

# One row per checkpoint, without its channel values (those are in graph_blobs). The primary
# key makes "newest checkpoint of a thread and namespace" a backward scan of one index range:
# checkpoint ids are uuid6, so they sort by creation time.
graph_checkpoints = Table(
    "wave_graph_checkpoints",
    Base.metadata,
    Column("thread_id", Text, primary_key=True),
    Column("checkpoint_ns", Text, primary_key=True, server_default=""),
    Column("checkpoint_id", Text, primary_key=True),
    Column("parent_checkpoint_id", Text, nullable=True),
    # The checkpoint dict minus channel_values, as the saver's serializer wrote it.
    Column("type", Text, nullable=False),
    Column("checkpoint", LargeBinary, nullable=False),
    # JSON so that alist can filter on it (JSONB containment on PostgreSQL).
    Column("metadata", JSONDocument, nullable=False),
)

# Each channel value is stored once per version: a checkpoint that did not change a channel
# points at the blob an earlier checkpoint wrote. A list that grew is stored as a delta (see
# deltas.py): the items it gained, the version it extends, and the full copy its chain starts at.
graph_blobs = Table(
    "wave_graph_blobs",
    Base.metadata,
    Column("thread_id", Text, primary_key=True),
    Column("checkpoint_ns", Text, primary_key=True, server_default=""),
    Column("channel", Text, primary_key=True),
    Column("version", Text, primary_key=True),
    # "empty" (and no blob) marks a channel that has a version but no value.
    Column("type", Text, nullable=False),
    Column("blob", LargeBinary, nullable=True),
    # A delta's base: the version whose value this one's items extend. NULL for a full copy.
    Column("base_version", Text, nullable=True),
    # The full copy a list's chain starts at (a full list copy names itself); NULL otherwise.
    Column("anchor_version", Text, nullable=True),
    # Reading a delta fetches its whole chain in one query by this index.
    Index("ix_wave_graph_blobs_chain", "thread_id", "checkpoint_ns", "channel", "anchor_version"),
)

# The writes of tasks of the step after a checkpoint: what resuming from it must replay.
graph_writes = Table(
    "wave_graph_writes",
    Base.metadata,
    Column("thread_id", Text, primary_key=True),
    Column("checkpoint_ns", Text, primary_key=True, server_default=""),
    Column("checkpoint_id", Text, primary_key=True),
    Column("task_id", Text, primary_key=True),
    Column("idx", Integer, primary_key=True, autoincrement=False),
    Column("task_path", Text, nullable=False, server_default=""),
    Column("channel", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("blob", LargeBinary, nullable=False),
)
