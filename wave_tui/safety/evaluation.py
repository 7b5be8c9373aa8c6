"""`evaluate_tool_call`: one tool call in, one scored, explained evaluation out.

The rule layer always runs (offline, deterministic, fast); a project policy is laid over it; the
LLM judge, when configured, can only lower the score. The lowest score decides and the
evaluation names the layer and the rule or policy line that decided it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding
from wave_tui.safety.guard import Decision
from wave_tui.safety.judge import JudgeVerdict, LLMJudge
from wave_tui.safety.policy import Policy, PolicyAction, PolicyMatch
from wave_tui.safety.rules import REGISTRY, SCORER_ERROR, check_tool

if TYPE_CHECKING:
    from wave_tui.config import Settings

# Rules no policy can waive: the layer failing is never a matter of taste.
UNWAIVABLE = frozenset({SCORER_ERROR.id})


@dataclass(frozen=True, slots=True)
class Thresholds:
    block: float = 0.7  # below this an action is not run
    escalate: float = 0.85  # below this (and not blocked) the operator decides

    def __post_init__(self) -> None:
        if not 0.0 <= self.block <= self.escalate <= 1.0:
            raise ValueError("thresholds must satisfy 0 <= block <= escalate <= 1")

    @classmethod
    def of(cls, settings: Settings) -> Thresholds:
        return cls(
            settings.constitutional_block_threshold, settings.constitutional_escalate_threshold
        )

    @classmethod
    def from_settings(cls) -> Thresholds:
        return _configured_thresholds()


@functools.cache
def _configured_thresholds() -> Thresholds:
    from wave_tui.config import load_settings  # read once, on first use

    return Thresholds.of(load_settings())


@dataclass(frozen=True, slots=True)
class SafetyEvaluation:
    score: float
    allowed: bool  # score >= block threshold (and no policy denies it)
    requires_review: bool  # score < escalate threshold, or a policy asks
    violations: tuple[str, ...]  # "rule id (principle): risk (what was seen)", worst first
    risks: tuple[str, ...]
    reasoning: str
    layer: str  # which layer decided: rules, policy, judge
    tool: str = ""
    decided_by: str = ""  # the rule id or policy line behind the score; "" when nothing fired
    findings: tuple[Finding, ...] = ()
    waived: tuple[Finding, ...] = ()  # findings a policy `allow` line explicitly loosened
    policy: PolicyMatch | None = None
    judge: JudgeVerdict | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)

    @property
    def decision(self) -> Decision:
        if not self.allowed:
            return Decision.BLOCK
        return Decision.ESCALATE if self.requires_review else Decision.ALLOW

    def as_dict(self) -> dict[str, Any]:
        """The JSON form `wave safety check --json` prints and the audit trail stores."""
        return {
            "score": round(self.score, 4),
            "allowed": self.allowed,
            "requires_review": self.requires_review,
            "decision": str(self.decision),
            "violations": list(self.violations),
            "risks": list(self.risks),
            "reasoning": self.reasoning,
            "layer": self.layer,
            "decided_by": self.decided_by,
            "findings": [finding.as_dict() for finding in self.findings],
            "waived": [finding.rule.id for finding in self.waived],
            "policy": self.policy.cite if self.policy else None,
        }


def evaluate_tool_call(
    tool_name: str,
    tool_args: Mapping[str, Any],
    context: str | SafetyContext = "",
    *,
    policy: Policy | None = None,
    thresholds: Thresholds | None = None,
) -> SafetyEvaluation:
    """Score a tool call with the rule layer (and `policy`), synchronously; never raises."""
    ctx = SafetyContext.coerce(context)
    limits = thresholds or Thresholds.from_settings()
    try:
        findings = check_tool(tool_name, tool_args, ctx)
        match = policy.match(tool_name, tool_args, ctx) if policy is not None else None
    except Exception as error:  # the layer failing blocks; it never lets the action through
        detail = f"{type(error).__name__}: {error}"
        return _combine(tool_name, [SCORER_ERROR.finding(detail)], None, limits)
    return _combine(tool_name, findings, match, limits)


async def aevaluate_tool_call(
    tool_name: str,
    tool_args: Mapping[str, Any],
    context: str | SafetyContext = "",
    *,
    policy: Policy | None = None,
    thresholds: Thresholds | None = None,
    judge: LLMJudge | None = None,
) -> SafetyEvaluation:
    """`evaluate_tool_call`, then the LLM judge when one is given and the rules did not already
    block: the judge can lower the score, never raise it."""
    ruled = evaluate_tool_call(tool_name, tool_args, context, policy=policy, thresholds=thresholds)
    if judge is None or not ruled.allowed:
        return ruled
    ctx = SafetyContext.coerce(context)
    try:
        verdict = await judge.judge(tool_name, tool_args, ctx)
    except Exception as error:  # the judge's own contract is not to raise; fail closed anyway
        verdict = JudgeVerdict(0.0, reasoning=f"Safety check error: {error}", failed=True)
    return _with_judge(ruled, verdict)


def _combine(
    tool: str, findings: Sequence[Finding], match: PolicyMatch | None, limits: Thresholds
) -> SafetyEvaluation:
    waived: list[Finding] = []
    if match is not None and match.action is PolicyAction.ALLOW and match.waives:
        waived = [f for f in findings if f.rule.id in match.waives and f.rule.id not in UNWAIVABLE]
        findings = [f for f in findings if f not in waived]
    ordered = sorted(findings, key=lambda f: (f.score, f.rule.id))
    score = ordered[0].score if ordered else 1.0
    worst = ordered[0] if ordered else None
    allowed, review = score >= limits.block, score < limits.escalate
    layer, decided_by = "rules", worst.rule.id if worst and worst.score < 1.0 else ""
    if match is not None and match.action is PolicyAction.DENY:
        score, allowed, review = 0.0, False, True
        layer, decided_by = "policy", match.cite
    elif match is not None and match.action is PolicyAction.ASK and allowed:
        review, layer, decided_by = True, "policy", match.cite
    elif waived:
        layer, decided_by = "policy", match.cite if match else ""
    evaluation = SafetyEvaluation(
        score=score,
        allowed=allowed,
        requires_review=review,
        violations=tuple(_violation(f) for f in ordered if f.score < 1.0),
        risks=tuple(dict.fromkeys(f.rule.risk for f in ordered if f.score < 1.0)),
        reasoning="",
        layer=layer,
        tool=tool,
        decided_by=decided_by,
        findings=tuple(ordered),
        waived=tuple(waived),
        policy=match,
        thresholds=limits,
    )
    return replace(evaluation, reasoning=_reasoning(evaluation))


def _with_judge(ruled: SafetyEvaluation, verdict: JudgeVerdict) -> SafetyEvaluation:
    limits = ruled.thresholds
    if verdict.score >= ruled.score:
        return replace(ruled, judge=verdict)
    score = verdict.score
    judged = replace(
        ruled,
        score=score,
        allowed=score >= limits.block and ruled.allowed,
        requires_review=score < limits.escalate or ruled.requires_review,
        violations=(*ruled.violations, *(f"judge: {v}" for v in verdict.violations)),
        risks=tuple(dict.fromkeys((*ruled.risks, *verdict.risks))),
        layer="judge",
        decided_by="judge",
        judge=verdict,
    )
    return replace(judged, reasoning=_reasoning(judged))


def _violation(finding: Finding) -> str:
    return f"{finding.rule.id} ({finding.rule.principle}): {finding.rule.risk} [{finding.detail}]"


def _reasoning(evaluation: SafetyEvaluation) -> str:
    verdict = {
        Decision.ALLOW: "allowed",
        Decision.ESCALATE: "escalated to the operator",
        Decision.BLOCK: "blocked",
    }[evaluation.decision]
    head = f"{verdict} (score {evaluation.score:.2f}"
    head += f", block below {evaluation.thresholds.block}"
    head += f", review below {evaluation.thresholds.escalate})"
    parts = [head]
    if evaluation.layer == "judge" and evaluation.judge is not None:
        parts.append(f"the LLM judge decided: {evaluation.judge.reasoning}")
    elif evaluation.layer == "policy" and evaluation.policy is not None:
        parts.append(f"the project policy decided: {evaluation.policy.cite}")
    if evaluation.findings and evaluation.findings[0].score < 1.0:
        worst = evaluation.findings[0]
        parts.append(f"worst finding {worst.rule.id}: {worst.rule.risk} ({worst.detail})")
    elif not evaluation.findings:
        parts.append("no rule fired")
    if evaluation.waived:
        names = ", ".join(sorted({f.rule.id for f in evaluation.waived}))
        parts.append(f"waived by policy: {names}")
    return "; ".join(parts)


def describe_rules() -> list[dict[str, Any]]:
    """Every built-in rule, for `wave safety rules` and the README."""
    return [
        {"id": r.id, "principle": r.principle, "severity": str(r.severity), "risk": r.risk}
        for r in REGISTRY
    ]


def action_text(tool_name: str, tool_args: Mapping[str, Any]) -> str:
    """The action as one line for prompts and logs: `bash {"command": "ls"}`."""
    return f"{tool_name} {json.dumps(dict(tool_args), sort_keys=True, default=str)}"
