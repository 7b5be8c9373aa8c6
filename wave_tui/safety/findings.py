"""Rules and their findings: what the deterministic layer says about an action, citable by id.

A rule's id is stable (`exec.destroy.rm_rf`): evaluations, the audit trail and project policies
cite it, so never rename one. Each rule has one principle and one severity; a rule that needs two
severities is two rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from wave_tui.safety.principles import Severity, principle


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    principle: str  # a principle id from principles.PRINCIPLES
    severity: Severity
    risk: str  # what could go wrong, in a few words: shown to the operator

    def __post_init__(self) -> None:
        principle(self.principle)  # an unknown principle is a bug in the rule module

    @property
    def score(self) -> float:
        return self.severity.score

    def finding(self, detail: str) -> Finding:
        return Finding(self, detail)


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule that fired on one action; `detail` says what it saw (an argv, a path, a URL)."""

    rule: Rule
    detail: str

    @property
    def score(self) -> float:
        return self.rule.score

    @property
    def message(self) -> str:
        return f"{self.rule.id}: {self.rule.risk} ({self.detail})"

    def as_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule.id,
            "principle": self.rule.principle,
            "severity": str(self.rule.severity),
            "score": self.rule.score,
            "risk": self.rule.risk,
            "detail": self.detail,
        }


def unique(found: Iterable[Finding]) -> list[Finding]:
    """The findings without repeats, in the order they were made."""
    return list(dict.fromkeys(found))


class RuleRegistry:
    """Every rule of the layer by id, so policies and tests can name them."""

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}

    def add(self, rules: Iterable[Rule]) -> None:
        for rule in rules:
            existing = self._rules.get(rule.id)
            if existing is not None and existing != rule:
                raise ValueError(f"two different rules share the id {rule.id!r}")
            self._rules[rule.id] = rule

    def get(self, rule_id: str) -> Rule | None:
        return self._rules.get(rule_id)

    def __iter__(self) -> Iterator[Rule]:
        return iter(sorted(self._rules.values(), key=lambda rule: rule.id))

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def __len__(self) -> int:
        return len(self._rules)
