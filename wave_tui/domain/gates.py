"""The eight quality gates a story passes, in order, with what each one checks."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Gate(StrEnum):
    GATE_0 = "gate-0"
    GATE_1 = "gate-1"
    GATE_2 = "gate-2"
    GATE_3 = "gate-3"
    GATE_4 = "gate-4"
    GATE_5 = "gate-5"
    GATE_6 = "gate-6"
    GATE_7 = "gate-7"

    @property
    def number(self) -> int:
        return int(self.value.removeprefix("gate-"))


@dataclass(frozen=True, slots=True)
class GateSpec:
    gate: Gate
    name: str
    passes_when: str


GATES: tuple[GateSpec, ...] = (
    GateSpec(
        Gate.GATE_0,
        "assignment",
        "the story is valid, its dependencies are complete, budget is available, "
        "its git worktree and branch exist",
    ),
    GateSpec(
        Gate.GATE_1,
        "planning",
        "the PM agent produced a plan and the acceptance criteria are fixed",
    ),
    GateSpec(
        Gate.GATE_2,
        "development",
        "the Dev agent's tool calls ran, each scored by the safety layer, "
        "and changed files inside the worktree only",
    ),
    GateSpec(
        Gate.GATE_3,
        "development complete",
        "the change is non-empty, stays inside the story's file constraints, "
        "and the self-review maps every AC to code",
    ),
    GateSpec(
        Gate.GATE_4,
        "QA validation",
        "the story's checks really ran in the worktree and passed",
    ),
    GateSpec(
        Gate.GATE_5,
        "review",
        "the CTO agent says GO and the safety score is above the block threshold "
        "with no open escalation",
    ),
    GateSpec(
        Gate.GATE_6,
        "merge prep",
        "the change is committed on the story branch and merges cleanly onto the base branch",
    ),
    GateSpec(
        Gate.GATE_7,
        "final approval + merge",
        "the branch is merged into the base branch and the commit sha recorded",
    ),
)
