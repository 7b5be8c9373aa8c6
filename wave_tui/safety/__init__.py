"""Constitutional safety: every agent action is scored before it runs."""

from wave_tui.safety.guard import AllowAllGuard, Decision, SafetyGuard, ToolAction, Verdict

__all__ = ["AllowAllGuard", "Decision", "SafetyGuard", "ToolAction", "Verdict"]
