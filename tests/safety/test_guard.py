"""RuleGuard, the guard runs use: verdicts from the rules, the policy and the thresholds."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from wave_tui.domain.story import Story
from wave_tui.safety import Decision, SafetyContext, Thresholds, ToolAction
from wave_tui.safety.policy import Policy
from wave_tui.safety.rule_guard import RuleGuard

# Where `wave` keeps worktrees by default: under the user's home, inside the data directory.
HOMES = ["/home/dev", "/root"]
DATA = ".local/share/wave_tui/worktrees/proj/S-1"


def _action(tool: str, home: str = "/home/dev", **arguments: object) -> ToolAction:
    story = Story(id="S-1", title="t", prompt="Use requests to fetch rates.")
    worktree = PurePosixPath(home) / DATA
    context = SafetyContext.for_story(story, worktree, home=PurePosixPath(home))
    return ToolAction("S-1", "dev", tool, arguments, str(worktree), context=context)


@pytest.mark.parametrize("home", HOMES)
@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("list_files", {}),
        ("list_files", {"path": "src"}),
        ("read_file", {"path": "src/app.py"}),
        ("write_file", {"path": "src/app.py", "content": "x = 1\n"}),
        ("run_command", {"argv": ["python", "-m", "pytest", "-q"]}),
        ("run_command", {"argv": ["pip", "install", "requests"]}),
    ],
)
async def test_everyday_work_in_a_worktree_under_the_data_directory_is_allowed(
    tool: str, arguments: dict[str, object], home: str
) -> None:
    action = _action(tool, home, **arguments)
    verdict = await RuleGuard(thresholds=Thresholds()).evaluate(action)
    assert verdict.decision is Decision.ALLOW, verdict.reason
    assert verdict.score == 1.0
    assert verdict.layer == "rules"


async def test_a_verdict_carries_the_evaluation_the_audit_trail_records() -> None:
    verdict = await RuleGuard(thresholds=Thresholds()).evaluate(
        _action("run_command", command="rm -rf ~")
    )
    assert verdict.decision is Decision.BLOCK
    assert verdict.evaluation is not None
    record = verdict.record()
    assert record["decision"] == "block"
    assert record["decided_by"] == "exec.destroy.rm_rf"
    assert record["findings"][0]["principle"] == "security.destructive_commands"
    assert verdict.violations[0]["rule"] == "exec.destroy.rm_rf"


async def test_the_policy_and_the_thresholds_of_the_guard_apply() -> None:
    policy = Policy.parse('ask = ["run_command(python -m pytest*)"]\n', "team.toml")
    guard = RuleGuard(thresholds=Thresholds(), policy=policy)
    asked = await guard.evaluate(_action("run_command", argv=["python", "-m", "pytest", "-q"]))
    assert asked.decision is Decision.ESCALATE
    assert asked.layer == "policy"
    assert asked.evaluation is not None
    assert asked.evaluation.decided_by == "team.toml:1 ask run_command(python -m pytest*)"
    strict = RuleGuard(thresholds=Thresholds(block=0.8, escalate=0.95))
    unknown = await strict.evaluate(_action("teleport"))
    assert unknown.decision is Decision.BLOCK  # 0.75 is below a block threshold of 0.8


async def test_without_a_context_the_guard_still_confines_paths_to_the_worktree() -> None:
    action = ToolAction("S-1", "dev", "write_file", {"path": "../x.py", "content": ""}, "/w/t")
    verdict = await RuleGuard(thresholds=Thresholds()).evaluate(action)
    assert verdict.decision is not Decision.ALLOW
