"""Crash recovery: which stories can come back after a crash, and from which checkpoints."""

from wave_tui.recovery.manager import RecoveryManager, RecoveryStrategy
from wave_tui.recovery.validation import RecoveryPoint, StateSummary

__all__ = ["RecoveryManager", "RecoveryPoint", "RecoveryStrategy", "StateSummary"]
