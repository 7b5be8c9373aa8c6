"""Constitutional safety: every agent action is scored before it runs."""

from wave_tui.safety.context import ResolvedPath, SafetyContext
from wave_tui.safety.evaluation import (
    SafetyEvaluation,
    Thresholds,
    aevaluate_tool_call,
    evaluate_tool_call,
)
from wave_tui.safety.findings import Finding, Rule
from wave_tui.safety.guard import Decision, SafetyGuard, ToolAction, Verdict
from wave_tui.safety.principles import PRINCIPLES, Category, Principle, Severity, principle
from wave_tui.safety.shell import ParsedCommand, SimpleCommand, parse_command

__all__ = [
    "PRINCIPLES",
    "Category",
    "Decision",
    "Finding",
    "ParsedCommand",
    "Principle",
    "ResolvedPath",
    "Rule",
    "SafetyContext",
    "SafetyEvaluation",
    "SafetyGuard",
    "Severity",
    "SimpleCommand",
    "Thresholds",
    "ToolAction",
    "Verdict",
    "aevaluate_tool_call",
    "evaluate_tool_call",
    "parse_command",
    "principle",
]
