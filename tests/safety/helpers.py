"""What the rule tests share: a worktree at /work/tree, the decisions, and a tool call judged the
way an agent's is (through `evaluate_tool_call`)."""

from __future__ import annotations

from pathlib import PurePosixPath

from wave_tui.safety import Decision, SafetyContext, SafetyEvaluation, evaluate_tool_call

WORKTREE, HOME = PurePosixPath("/work/tree"), PurePosixPath("/home/dev")
CTX = SafetyContext(worktree=WORKTREE, home=HOME)
BLOCK, ESCALATE, ALLOW = Decision.BLOCK, Decision.ESCALATE, Decision.ALLOW


def bash(command: str, ctx: SafetyContext = CTX) -> SafetyEvaluation:
    return evaluate_tool_call("bash", {"command": command}, ctx)


def rule_ids(evaluation: SafetyEvaluation) -> list[str]:
    """The ids of the rules that found something, as policies and the audit trail cite them."""
    return [finding.rule.id for finding in evaluation.findings]
