"""Who holds a story: lease owners are "<host>:<pid>:<tag>", so a holder on this machine whose
process is gone is known dead at once, without waiting for its lease to expire."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime
from pathlib import Path

from wave_tui.db.types import utcnow


def new_owner() -> str:
    """A lease owner name for this process: host, pid and a tag unique to the caller."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def owner_is_dead(owner: str | None) -> bool:
    """True only when `owner` is a process of this host that no longer runs (or is a zombie)."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # someone else's live process
    return _zombie(pid)


def live_holder(
    owner: str | None, expires_at: datetime | None, me: str, now: datetime | None = None
) -> bool:
    """Whether a story's lease belongs to another process that may still be running it."""
    if owner is None or owner == me:
        return False
    if expires_at is None or expires_at <= (now or utcnow()):
        return False
    return not owner_is_dead(owner)


def _zombie(pid: int) -> bool:
    """A killed child its parent has not reaped yet still answers kill(0): it runs nothing."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state letter follows the parenthesised command name, which may contain spaces.
    return stat.rpartition(")")[2].split()[:1] == ["Z"]
