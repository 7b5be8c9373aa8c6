"""Watching a child process from a test: is it still running, and waiting for it to be gone."""

from __future__ import annotations

import asyncio


def alive(pid: int) -> bool:
    """True while `pid` runs; a zombie waiting for its reaper counts as dead."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def wait_until_gone(pid: int) -> bool:
    """True as soon as the process is gone; the generous limit (30 s) only stops a hung test."""
    for _ in range(600):
        if not alive(pid):
            return True
        await asyncio.sleep(0.05)
    return False
