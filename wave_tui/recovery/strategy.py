"""How an operator brings a story back after a crash."""

from __future__ import annotations

from enum import StrEnum


class RecoveryStrategy(StrEnum):
    """`resume_from_last`: the newest valid checkpoint, all progress kept (the default).
    `resume_from_gate`: the newest valid checkpoint at a gate (or a picked checkpoint), forked.
    `restart`: from the base branch on a new thread, history kept. `skip`: cancelled."""

    RESUME_FROM_LAST = "resume_from_last"
    RESUME_FROM_GATE = "resume_from_gate"
    RESTART = "restart"
    SKIP = "skip"
