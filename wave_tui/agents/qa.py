"""The QA agent (gate-4): runs the story's checks for real in the worktree; no model involved."""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from wave_tui.agents.common import context_of, escalation_request, held, output
from wave_tui.agents.context import StoryContext
from wave_tui.agents.qa_report import ac_evidence, parse_junit, uncovered
from wave_tui.domain.gates import Gate
from wave_tui.domain.state import Phase, WAVEState, utcnow
from wave_tui.safety import Decision, SafetyContext, ToolAction
from wave_tui.workspace import run_command

AGENT = "qa"


def test_command(argv: list[str] | None) -> list[str]:
    """The story's command, or pytest with the interpreter wave itself runs on."""
    return list(argv) if argv else [sys.executable, "-m", "pytest", "-q"]


async def qa_node(state: WAVEState, runtime: Runtime[StoryContext]) -> dict[str, Any]:
    ctx = context_of(runtime)
    if not state.gates.has_passed(Gate.GATE_3):
        reason = "development incomplete: gate-3 did not pass"
        return _verdict(state, False, [reason], reason, reason)

    argv = test_command(ctx.story.test_command)
    refused, scored = await _refused_by_safety(state, ctx, argv)
    if refused is not None:
        return refused
    uses_pytest = any("pytest" in part for part in argv)
    with tempfile.TemporaryDirectory(prefix="wave-qa-") as scratch:
        report_path = Path(scratch) / "report.xml"
        if uses_pytest:
            argv = [*argv, f"--junitxml={report_path}", "-p", "no:cacheprovider"]
        result = await run_command(argv, cwd=ctx.worktree.path, timeout=ctx.test_timeout)
        report = parse_junit(report_path, result.exit_code) if uses_pytest else None
    if report is not None:
        passed = report.succeeded and not result.timed_out
        summary = report.summary()
        evidence_by_ac = ac_evidence(report, [ac.id for ac in state.acceptance_criteria])
        counts = {"tests_passed": report.passed, "tests_failed": report.failed}
    else:
        passed = result.exit_code == 0 and not result.timed_out
        summary = f"{' '.join(argv)} exited {result.exit_code}"
        evidence_by_ac = {ac.id: [] for ac in state.acceptance_criteria}
        counts = {"tests_passed": int(passed), "tests_failed": int(not passed)}
    if result.timed_out:
        summary = f"tests timed out after {ctx.test_timeout:.0f}s"
    evidence = [summary] + [
        f"{ac}: {', '.join(tests) or 'no passing test names it'}"
        for ac, tests in evidence_by_ac.items()
    ]
    await ctx.sink.emit(
        "test_run",
        AGENT,
        {"command": argv, "exit_code": result.exit_code, "summary": summary,
         "output": result.output[-4000:]},
    )  # fmt: skip
    update = _verdict(state, passed, evidence, summary, result.output)
    update.update(scored, **counts, ac_evidence=evidence_by_ac)
    if passed:
        covered = len(evidence_by_ac) - len(uncovered(evidence_by_ac))
        update["agent_outputs"] = output(AGENT, "tests", f"{summary}; {covered} ACs evidenced")
    return update


async def _refused_by_safety(
    state: WAVEState, ctx: StoryContext, argv: list[str]
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Score the test command like any agent action: the update that stops QA (None to run
    it), and the update that records the score and charges the judge either way. The command
    comes from the story file, so an operator's approval of it is remembered in the state."""
    pending = state.pending_action or {}
    decision = pending.get("decision") or {}
    if pending.get("agent") == AGENT and pending.get("arguments", {}).get("argv") == argv:
        if decision.get("approved") is True:
            return None, {}
        if decision:
            reason = f"test command rejected by {decision.get('by')}: {decision.get('reason')}"
            return held(state, AGENT, reason) | {"pending_action": None}, {}
    verdict = await ctx.guard.evaluate(
        ToolAction(
            story_id=ctx.story.id,
            agent=AGENT,
            tool="run_command",
            arguments={"argv": argv},
            worktree=str(ctx.worktree.path),
            forbidden=tuple(ctx.story.files.forbidden),
            context=SafetyContext.for_story(ctx.story, ctx.worktree.path),
        )
    )
    await ctx.sink.emit("tool_call", AGENT, {"tool": "run_command", "arguments": {"argv": argv},
                                             **verdict.record()})  # fmt: skip
    ctx.ledger.charge(verdict.tokens, verdict.cost_usd)
    budget = state.budget.charge(verdict.tokens, verdict.cost_usd)
    safety = state.safety.model_copy(update={"score": min(state.safety.score, verdict.score)})
    if verdict.decision is Decision.BLOCK:
        reason = f"safety: the test command is blocked: {verdict.reason}"
        blocked = safety.model_copy(
            update={"blocked_actions": [*safety.blocked_actions, " ".join(argv)]}
        )
        return held(state, AGENT, reason) | {"safety": blocked, "budget": budget}, {}
    if verdict.decision is Decision.ESCALATE:
        request = escalation_request(ctx.story.id, AGENT, "run_command", {"argv": argv}, verdict)
        return {
            "current_agent": AGENT,
            "safety": safety,
            "budget": budget,
            "pending_action": request,
            "pending_approval": {**request, "kind": "safety", "next": "qa"},
            "updated_at": utcnow(),
        }, {}
    return None, {"safety": safety, "budget": budget}


def _verdict(
    state: WAVEState, passed: bool, evidence: list[str], summary: str, test_output: str
) -> dict[str, Any]:
    update: dict[str, Any] = {
        "phase": Phase.REVIEW if passed else Phase.TESTING,
        "current_agent": AGENT,
        "test_output": test_output[-20_000:],
        "gates": state.gates.record(Gate.GATE_4, passed, evidence),
        "agent_outputs": output(AGENT, "tests", summary),
        "updated_at": utcnow(),
    }
    if not passed:
        signature = hashlib.sha256(_failure_lines(test_output).encode()).hexdigest()[:16]
        update["failure_signatures"] = [*state.failure_signatures, signature]
    return update


def _failure_lines(test_output: str) -> str:
    """The lines that identify a failure, without timings that change from run to run."""
    lines = [
        line for line in test_output.splitlines() if line.startswith(("FAILED", "ERROR", "E "))
    ]
    return "\n".join(lines) or test_output.strip()[-2000:]
