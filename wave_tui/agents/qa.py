"""The QA agent (gate-4): runs the story's checks for real in the worktree; no model involved."""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from wave_tui.agents.common import context_of, output
from wave_tui.agents.context import StoryContext
from wave_tui.agents.qa_report import ac_evidence, parse_junit, uncovered
from wave_tui.domain.gates import Gate
from wave_tui.domain.state import Phase, WAVEState, utcnow
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
    update.update(counts, ac_evidence=evidence_by_ac)
    if passed:
        covered = len(evidence_by_ac) - len(uncovered(evidence_by_ac))
        update["agent_outputs"] = output(AGENT, "tests", f"{summary}; {covered} ACs evidenced")
    return update


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
