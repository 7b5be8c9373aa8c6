"""What WAVE's child processes share: each runs in a session of its own, so it and everything it
started are one process group, stopped together."""

from __future__ import annotations

import contextlib
import os
import signal


def kill_group(pgid: int) -> None:
    """SIGKILL the process group `pgid` (a child started with start_new_session: its pid)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
