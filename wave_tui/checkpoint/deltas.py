"""Append-only channels stored as what they gained: a list value is written as the items appended
since the version its parent checkpoint holds, plus a reference to that version.

A message history that grows by one item per step would otherwise be stored whole at every
step (quadratic in the number of steps). The comparison is made on the serialised bytes, not on
the Python objects: msgpack encodes a list as a header followed by each item's encoding, so the
new value extends the old one exactly when its items' bytes start with the old items' bytes.
That also holds when a reducer mutated an item in place, which an object comparison would miss.

A chain never grows past `FULL_COPY_EVERY` deltas: then a full copy starts a new one, so reading
a version reads at most that many rows, found with one query by their anchor (the chain's full
copy). Deltas are only made on top of what this process itself wrote for the parent checkpoint;
anything else (a fork, another process, a restart) gets a full copy.
"""

from __future__ import annotations

import struct
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The serializer type whose bytes this module understands.
MSGPACK = "msgpack"
# The longest chain of deltas after a full copy.
FULL_COPY_EVERY = 64
# Threads whose newest list values are remembered (each holds its lists' bytes).
REMEMBERED_THREADS = 128


def array_header(data: bytes) -> tuple[int, int] | None:
    """(item count, header length) of a msgpack array, or None when `data` is not one."""
    if not data:
        return None
    first = data[0]
    if 0x90 <= first <= 0x9F:
        return first & 0x0F, 1
    if first == 0xDC and len(data) >= 3:
        return struct.unpack_from(">H", data, 1)[0], 3
    if first == 0xDD and len(data) >= 5:
        return struct.unpack_from(">I", data, 1)[0], 5
    return None


def make_array(count: int, items: bytes) -> bytes:
    """A msgpack array of `count` items whose encodings are `items`, concatenated."""
    if count < 16:
        header = bytes([0x90 | count])
    elif count < 1 << 16:
        header = b"\xdc" + struct.pack(">H", count)
    else:
        header = b"\xdd" + struct.pack(">I", count)
    return header + items


@dataclass(frozen=True)
class StoredList:
    """The newest stored version of one list channel, as written."""

    version: str
    count: int
    items: bytes  # the encodings of its items, concatenated
    anchor: str  # the full copy its chain starts from (its own version when it is one)
    depth: int  # deltas since that full copy


@dataclass(frozen=True)
class BlobPlan:
    """How one channel version is written: the row's content columns."""

    type: str
    blob: bytes | None
    base_version: str | None = None
    anchor_version: str | None = None
    stored: StoredList | None = None

    def columns(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "blob": self.blob,
            "base_version": self.base_version,
            "anchor_version": self.anchor_version,
        }


@dataclass
class _Thread:
    checkpoint_id: str
    versions: dict[str, str]
    lists: dict[str, StoredList] = field(default_factory=dict)


class DeltaEncoder:
    """Remembers, per thread and namespace, the newest checkpoint this saver wrote and the bytes
    of its list values, to write the next version of each list as a delta."""

    def __init__(self, *, every: int = FULL_COPY_EVERY, capacity: int = REMEMBERED_THREADS):
        self.every = every
        self.capacity = capacity
        self._threads: OrderedDict[tuple[str, str], _Thread] = OrderedDict()

    def plan(
        self,
        key: tuple[str, str],
        parent_id: str | None,
        channel: str,
        version: str,
        value_type: str,
        data: bytes,
    ) -> BlobPlan:
        """How to write `channel` at `version` whose serialised value is (value_type, data)."""
        header = array_header(data) if value_type == MSGPACK else None
        if header is None:
            return BlobPlan(value_type, data)
        count, start = header
        items = data[start:]
        previous = self._parent_list(key, parent_id, channel)
        if (
            previous is not None
            and previous.depth + 1 < self.every
            and count >= previous.count
            and items.startswith(previous.items)
        ):
            stored = StoredList(version, count, items, previous.anchor, previous.depth + 1)
            gained = make_array(count - previous.count, items[len(previous.items) :])
            return BlobPlan(MSGPACK, gained, previous.version, previous.anchor, stored)
        stored = StoredList(version, count, items, version, 0)
        return BlobPlan(value_type, data, None, version, stored)

    def _parent_list(
        self, key: tuple[str, str], parent_id: str | None, channel: str
    ) -> StoredList | None:
        """The stored list of `channel` in the parent checkpoint, if this saver wrote both."""
        remembered = self._threads.get(key)
        if remembered is None or parent_id is None or remembered.checkpoint_id != parent_id:
            return None
        stored = remembered.lists.get(channel)
        if stored is None or remembered.versions.get(channel) != stored.version:
            return None
        return stored

    def committed(
        self,
        key: tuple[str, str],
        checkpoint_id: str,
        versions: Mapping[str, Any],
        plans: Mapping[str, BlobPlan],
    ) -> None:
        """Record a checkpoint that is now in the database, with the plans its blobs used."""
        previous = self._threads.pop(key, None)
        versions = {channel: str(version) for channel, version in versions.items()}
        lists = {
            channel: stored
            for channel, stored in (previous.lists.items() if previous else ())
            if versions.get(channel) == stored.version and channel not in plans
        }
        lists.update({channel: plan.stored for channel, plan in plans.items() if plan.stored})
        self._threads[key] = _Thread(checkpoint_id, versions, lists)
        while len(self._threads) > self.capacity:
            self._threads.popitem(last=False)

    def forget(self, thread_id: str) -> None:
        """Drop what is remembered of a thread whose rows were deleted or pruned."""
        for key in [key for key in self._threads if key[0] == thread_id]:
            del self._threads[key]
