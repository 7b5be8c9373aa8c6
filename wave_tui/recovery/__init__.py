"""Crash recovery: which stories can come back after a crash, from which checkpoints, and the
recovery itself (resume, fork from a gate or a checkpoint, restart, skip)."""

from wave_tui.recovery.manager import RecoveryManager
from wave_tui.recovery.planning import UnrecoverableError
from wave_tui.recovery.recover import FAILED_RECOVERY, MAX_RECOVERY_ATTEMPTS
from wave_tui.recovery.strategy import RecoveryStrategy
from wave_tui.recovery.validation import RecoveryPoint, StateSummary

__all__ = [
    "FAILED_RECOVERY",
    "MAX_RECOVERY_ATTEMPTS",
    "RecoveryManager",
    "RecoveryPoint",
    "RecoveryStrategy",
    "StateSummary",
    "UnrecoverableError",
]
