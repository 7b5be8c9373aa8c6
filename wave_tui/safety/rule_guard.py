"""The guard the engine runs every agent action through: rules, the project policy, the judge."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.evaluation import Thresholds, aevaluate_tool_call
from wave_tui.safety.guard import ToolAction, Verdict
from wave_tui.safety.judge import LLMJudge
from wave_tui.safety.policy import Policy

if TYPE_CHECKING:
    from wave_tui.llm import LLMProvider


class RuleGuard:
    """Scores each action with the rule layer, then `policy`, then `judge` when configured."""

    def __init__(
        self,
        *,
        thresholds: Thresholds | None = None,
        policy: Policy | None = None,
        judge: LLMJudge | None = None,
    ) -> None:
        self.thresholds = thresholds or Thresholds.from_settings()
        self.policy = policy
        self.judge = judge

    def for_story(self, provider: LLMProvider) -> RuleGuard:
        if self.judge is None:
            return self
        judge = self.judge.asking(provider)
        return RuleGuard(thresholds=self.thresholds, policy=self.policy, judge=judge)

    async def evaluate(self, action: ToolAction) -> Verdict:
        context = action.context or SafetyContext(
            worktree=PurePosixPath(action.worktree) if action.worktree else None,
            story_id=action.story_id,
            forbidden=tuple(action.forbidden),
        )
        evaluation = await aevaluate_tool_call(
            action.tool,
            action.arguments,
            context,
            policy=self.policy,
            thresholds=self.thresholds,
            judge=self.judge,
        )
        return Verdict(evaluation)


def load_policy(path: Path | None) -> Policy | None:
    """The project policy at `path`, or None when no policy is configured or the default file
    does not exist. A policy that exists but does not parse is an error, never ignored."""
    if path is None or not path.exists():
        return None
    return Policy.load(path)
