"""Constitutional safety: every agent action is scored before it runs."""

from wave_tui.safety.guard import AllowAllGuard, Decision, SafetyGuard, ToolAction, Verdict
from wave_tui.safety.principles import PRINCIPLES, Category, Principle, Severity, principle
from wave_tui.safety.shell import ParsedCommand, SimpleCommand, parse_command

__all__ = [
    "PRINCIPLES",
    "AllowAllGuard",
    "Category",
    "Decision",
    "ParsedCommand",
    "Principle",
    "SafetyGuard",
    "Severity",
    "SimpleCommand",
    "ToolAction",
    "Verdict",
    "parse_command",
    "principle",
]
