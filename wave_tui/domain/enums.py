"""The statuses and kinds that sessions, stories, checkpoints and escalations move through."""

from __future__ import annotations

from enum import StrEnum


class SessionStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StoryStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    REVIEW = "review"
    COMPLETE = "complete"
    FAILED = "failed"
    CANCELLED = "cancelled"


class CheckpointType(StrEnum):
    GATE = "gate"
    STORY_START = "story_start"
    STORY_COMPLETE = "story_complete"
    AGENT_HANDOFF = "agent_handoff"
    ERROR = "error"
    MANUAL = "manual"


class AutonomyLevel(StrEnum):
    L0 = "L0"
    L1 = "L1"
    L2 = "L2"
    L3 = "L3"


class EscalationKind(StrEnum):
    TOOL_CALL = "tool_call"
    GATE_APPROVAL = "gate_approval"
    RETRY_EXHAUSTED = "retry_exhausted"
    BUDGET = "budget"


class EscalationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


class ApprovalSubject(StrEnum):
    """What an operator approved or rejected."""

    PLAN = "plan"
    IMPLEMENTATION = "implementation"
    REVIEW = "review"
    MERGE = "merge"


class ApprovalDecision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
