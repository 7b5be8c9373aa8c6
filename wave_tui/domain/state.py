"""The LangGraph state of one story run: WAVEState and its sub-states (git, budget, safety, gates).

Every type here lives at module level so the checkpoint serializer can rebuild it by name.
"""

from __future__ import annotations

import operator
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import BaseModel, Field, field_validator, model_validator

from wave_tui.domain.gates import Gate
from wave_tui.domain.story import AcceptanceCriterion


class Phase(StrEnum):
    INITIALIZING = "initializing"
    PLANNING = "planning"
    DEVELOPMENT = "development"
    TESTING = "testing"
    REVIEW = "review"
    COMPLETE = "complete"
    FAILED = "failed"
    HELD = "held"
    KILLED = "killed"


class GateStatus(StrEnum):
    PENDING = "pending"
    GO = "go"
    HOLD = "hold"
    KILL = "kill"
    RECYCLE = "recycle"


STOPPED_PHASES: frozenset[Phase] = frozenset(
    {Phase.COMPLETE, Phase.FAILED, Phase.HELD, Phase.KILLED}
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class GitState(BaseModel):
    branch: str = ""
    commit_hash: str | None = None
    worktree_path: Path | None = None
    files_changed: list[str] = Field(default_factory=list)
    has_uncommitted: bool = False


class BudgetState(BaseModel):
    """Tokens and money one story may spend. Money is Decimal: the checkpointer keeps it exact."""

    tokens_used: int = Field(default=0, ge=0)
    token_limit: int = Field(default=100_000, gt=0)
    cost_usd: Decimal = Field(default=Decimal("0"), ge=0)
    cost_limit_usd: Decimal = Field(default=Decimal("10.0"), gt=0)

    @property
    def is_exceeded(self) -> bool:
        """True once either limit is reached: no further model call fits."""
        return self.tokens_used >= self.token_limit or self.cost_usd >= self.cost_limit_usd

    @property
    def utilization_percent(self) -> float:
        tokens = self.tokens_used / self.token_limit
        cost = float(self.cost_usd / self.cost_limit_usd)
        return max(tokens, cost) * 100.0

    def would_exceed(self, tokens: int, cost: Decimal) -> bool:
        return (
            self.tokens_used + tokens > self.token_limit
            or self.cost_usd + cost > self.cost_limit_usd
        )

    def charge(self, tokens: int, cost: Decimal) -> BudgetState:
        return self.model_copy(
            update={"tokens_used": self.tokens_used + tokens, "cost_usd": self.cost_usd + cost}
        )


class SafetyState(BaseModel):
    """The running safety score and the thresholds it is judged by (filled from config)."""

    score: float = Field(default=1.0, ge=0.0, le=1.0)
    violations: list[str] = Field(default_factory=list)
    blocked_actions: list[str] = Field(default_factory=list)
    block_threshold: float = Field(default=0.7, ge=0.0, le=1.0)
    escalate_threshold: float = Field(default=0.85, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> Self:
        if self.block_threshold > self.escalate_threshold:
            raise ValueError("block_threshold must not be above escalate_threshold")
        return self

    @property
    def requires_human_review(self) -> bool:
        return self.score < self.escalate_threshold

    @property
    def should_block(self) -> bool:
        return self.score < self.block_threshold


class GateResult(BaseModel):
    gate: Gate
    passed: bool
    evidence: list[str] = Field(default_factory=list)
    at: datetime = Field(default_factory=utcnow)


class GateState(BaseModel):
    current_gate: Gate = Gate.GATE_0
    gate_status: GateStatus = GateStatus.PENDING
    hold_reason: str | None = None
    kill_reason: str | None = None
    recycle_count: int = Field(default=0, ge=0)
    max_recycles: int = Field(default=3, ge=0)
    results: dict[str, GateResult] = Field(default_factory=dict)

    @field_validator("results", mode="before")
    @classmethod
    def _keys_are_gate_values(cls, value: Any) -> Any:
        # Callers may key by Gate; the checkpoint must hold plain strings, and a typo must fail.
        if isinstance(value, dict):
            return {Gate(key).value: result for key, result in value.items()}
        return value

    @property
    def can_recycle(self) -> bool:
        return self.recycle_count < self.max_recycles

    def record(
        self, gate: Gate, passed: bool, evidence: list[str], at: datetime | None = None
    ) -> GateState:
        result = GateResult(gate=gate, passed=passed, evidence=evidence, at=at or utcnow())
        return self.model_copy(
            update={"current_gate": gate, "results": {**self.results, gate.value: result}}
        )

    def has_passed(self, gate: Gate) -> bool:
        result = self.results.get(gate.value)
        return result is not None and result.passed


class AgentOutput(BaseModel):
    agent: str
    action: str
    result: str = ""
    timestamp: datetime = Field(default_factory=utcnow)
    tokens_used: int = Field(default=0, ge=0)
    cost_usd: Decimal = Field(default=Decimal("0"), ge=0)
    safety_score: float = Field(default=1.0, ge=0.0, le=1.0)
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)


class WAVEState(BaseModel):
    """Everything the agent nodes of one story share. `messages` and `agent_outputs` only grow:
    a node returns the new items and LangGraph's add reducer appends them."""

    project_id: str = ""
    session_id: str = ""
    story_id: str = ""
    thread_id: str = ""

    domain: str = ""
    prompt: str = ""
    plan: str | None = None
    acceptance_criteria: list[AcceptanceCriterion] = Field(default_factory=list)

    phase: Phase = Phase.INITIALIZING
    current_agent: str | None = None
    iteration: int = Field(default=0, ge=0)
    max_iterations: int = Field(default=10, gt=0)

    messages: Annotated[list[dict[str, Any]], operator.add] = Field(default_factory=list)
    agent_outputs: Annotated[list[AgentOutput], operator.add] = Field(default_factory=list)

    files_created: list[str] = Field(default_factory=list)
    files_modified: list[str] = Field(default_factory=list)
    tests_passed: int = Field(default=0, ge=0)
    # Per acceptance criterion, the passing tests that name it (QA's last run).
    ac_evidence: dict[str, list[str]] = Field(default_factory=dict)
    tests_failed: int = Field(default=0, ge=0)
    test_output: str = ""

    # A decision the graph waits for: {"subject": plan|review|merge, "next": node, "summary": …}.
    pending_approval: dict[str, Any] | None = None
    # An agent action waiting for the operator (a safety escalation): the call, its evaluation,
    # the agent's conversation so far, and once decided the decision. The agent resumes from it.
    pending_action: dict[str, Any] | None = None
    # One short signature per failed QA run, to notice the same failure coming back.
    failure_signatures: list[str] = Field(default_factory=list)
    review_reason: str | None = None

    error: str | None = None
    error_count: int = Field(default=0, ge=0)
    max_errors: int = Field(default=3, gt=0)

    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    git: GitState = Field(default_factory=GitState)
    budget: BudgetState = Field(default_factory=BudgetState)
    safety: SafetyState = Field(default_factory=SafetyState)
    gates: GateState = Field(default_factory=GateState)

    @property
    def ac_passed(self) -> int:
        """Criteria with passing tests naming them, counted once QA (gate-4) has passed."""
        if not self.gates.has_passed(Gate.GATE_4):
            return 0
        return sum(1 for tests in self.ac_evidence.values() if tests)

    def stop_reason(self) -> str | None:
        """Why the story must not take another step, in the operator's words; None to go on."""
        if self.phase in STOPPED_PHASES:
            return f"phase is {self.phase.value}"
        if self.error_count >= self.max_errors:
            return f"{self.error_count} errors (limit {self.max_errors})"
        if self.budget.is_exceeded:
            return f"budget used up ({self.budget.utilization_percent:.0f}%)"
        if self.safety.should_block:
            return (
                f"safety score {self.safety.score:.2f} below block threshold "
                f"{self.safety.block_threshold:.2f}"
            )
        if self.iteration > self.max_iterations:
            return f"iteration {self.iteration} over the limit of {self.max_iterations}"
        return None

    def should_stop(self) -> bool:
        return self.stop_reason() is not None


# The classes a checkpoint of WAVEState may contain; give them to the checkpoint serializer as
# `allowed_msgpack_modules` so it rebuilds them without "unregistered type" warnings.
CHECKPOINT_TYPES: tuple[type, ...] = (
    WAVEState,
    GitState,
    BudgetState,
    SafetyState,
    GateResult,
    GateState,
    AgentOutput,
    AcceptanceCriterion,
    Phase,
    GateStatus,
    Gate,
)
