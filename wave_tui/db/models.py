"""The tables: sessions, story executions, checkpoints, events, escalations and approvals."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from wave_tui.db.types import JSONDocument, Money, StringList, UTCDateTime, utcnow
from wave_tui.domain.enums import (
    ApprovalDecision,
    ApprovalSubject,
    AutonomyLevel,
    CheckpointType,
    EscalationKind,
    EscalationStatus,
    SessionStatus,
    StoryStatus,
)
from wave_tui.domain.gates import Gate

# An integer key that is SQLite's rowid there and a 64-bit identity on PostgreSQL.
SerialId = BigInteger().with_variant(Integer(), "sqlite")


def _enum(enum: type[StrEnum], name: str) -> Enum:
    """A VARCHAR with a CHECK of the enum values (no native PG enum to migrate)."""
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class WaveSession(Base):
    """One run of a set of stories against one project, with its budget and progress."""

    __tablename__ = "wave_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    project_name: Mapped[str] = mapped_column(String(200))
    project_path: Mapped[str | None] = mapped_column(Text)
    wave_number: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[SessionStatus] = mapped_column(
        _enum(SessionStatus, "session_status"), default=SessionStatus.PENDING, index=True
    )
    budget_usd: Mapped[Decimal] = mapped_column(Money)
    actual_cost_usd: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    token_limit: Mapped[int] = mapped_column(BigInteger)
    tokens_used: Mapped[int] = mapped_column(BigInteger, default=0)
    story_count: Mapped[int] = mapped_column(Integer, default=0)
    stories_completed: Mapped[int] = mapped_column(Integer, default=0)
    stories_failed: Mapped[int] = mapped_column(Integer, default=0)
    autonomy_level: Mapped[AutonomyLevel] = mapped_column(
        _enum(AutonomyLevel, "autonomy_level"), default=AutonomyLevel.L2
    )
    concurrency: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the session reached its final status, whichever it is.
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    meta_data: Mapped[dict[str, Any]] = mapped_column("metadata", JSONDocument, default=dict)

    stories: Mapped[list[WaveStoryExecution]] = relationship(
        back_populates="session", lazy="raise", passive_deletes=True
    )

    __table_args__ = (
        CheckConstraint("concurrency >= 1", name="concurrency_positive"),
        CheckConstraint("budget_usd >= 0", name="budget_not_negative"),
    )

    def __repr__(self) -> str:
        return f"<WaveSession {self.id} {self.project_name} wave {self.wave_number} {self.status}>"


class WaveStoryExecution(Base):
    """One story inside one session: where it is, what it cost, who runs it now."""

    __tablename__ = "wave_story_executions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("wave_sessions.id", ondelete="CASCADE")
    )
    story_id: Mapped[str] = mapped_column(String(100))
    story_title: Mapped[str] = mapped_column(String(500))
    domain: Mapped[str | None] = mapped_column(String(100))
    agent: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[StoryStatus] = mapped_column(
        _enum(StoryStatus, "story_status"), default=StoryStatus.PENDING
    )
    current_gate: Mapped[Gate | None] = mapped_column(_enum(Gate, "story_gate"))
    phase: Mapped[str | None] = mapped_column(String(30))
    iteration: Mapped[int] = mapped_column(Integer, default=0)
    recycle_count: Mapped[int] = mapped_column(Integer, default=0)
    token_count: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_usd: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    budget_usd: Mapped[Decimal | None] = mapped_column(Money)
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    ac_passed: Mapped[int] = mapped_column(Integer, default=0)
    ac_total: Mapped[int] = mapped_column(Integer, default=0)
    tests_passing: Mapped[bool | None] = mapped_column(Boolean)
    coverage_achieved: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    files_created: Mapped[list[str]] = mapped_column(StringList, default=list)
    files_modified: Mapped[list[str]] = mapped_column(StringList, default=list)
    branch_name: Mapped[str | None] = mapped_column(String(255))
    commit_sha: Mapped[str | None] = mapped_column(String(64))
    pr_url: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    block_reason: Mapped[str | None] = mapped_column(Text)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    meta_data: Mapped[dict[str, Any]] = mapped_column("metadata", JSONDocument, default=dict)

    session: Mapped[WaveSession] = relationship(back_populates="stories", lazy="raise")

    __table_args__ = (
        UniqueConstraint("session_id", "story_id"),
        Index(None, "session_id", "status"),
        CheckConstraint("ac_passed >= 0 AND ac_passed <= ac_total", name="ac_counts"),
    )

    @property
    def label(self) -> str:
        return f"story {self.story_id}"

    def __repr__(self) -> str:
        return f"<WaveStoryExecution {self.story_id} {self.status}>"


class WaveCheckpoint(Base):
    """A saved point of a story's graph state, tied to the LangGraph checkpoint it mirrors."""

    __tablename__ = "wave_checkpoints"

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("wave_sessions.id", ondelete="CASCADE")
    )
    story_execution_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("wave_story_executions.id", ondelete="CASCADE")
    )
    story_id: Mapped[str | None] = mapped_column(String(100))
    checkpoint_type: Mapped[CheckpointType] = mapped_column(
        _enum(CheckpointType, "checkpoint_type")
    )
    checkpoint_name: Mapped[str] = mapped_column(String(200))
    gate: Mapped[Gate | None] = mapped_column(_enum(Gate, "checkpoint_gate"))
    state: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    parent_checkpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("wave_checkpoints.id", ondelete="SET NULL")
    )
    graph_thread_id: Mapped[str | None] = mapped_column(String(100))
    graph_checkpoint_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        # "latest checkpoint of a story" and "of a session": a backwards index scan, one row.
        Index(None, "session_id", "story_id", "id"),
        Index(None, "session_id", "id"),
        # "checkpoints of a story at gate X"
        Index(None, "session_id", "story_id", "gate", "id"),
        CheckConstraint("checkpoint_type <> 'gate' OR gate IS NOT NULL", name="gate_named"),
        {"sqlite_autoincrement": True},
    )

    def __repr__(self) -> str:
        return f"<WaveCheckpoint {self.id} {self.checkpoint_type} {self.gate or ''}>"


class WaveEvent(Base):
    """One append-only line of the black-box recorder."""

    __tablename__ = "wave_events"

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("wave_sessions.id", ondelete="CASCADE")
    )
    story_execution_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("wave_story_executions.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(50))
    agent: Mapped[str | None] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index(None, "session_id", "id"),
        Index(None, "story_execution_id", "id"),
        {"sqlite_autoincrement": True},
    )


class WaveEscalation(Base):
    """An action or gate waiting for a human, and the decision once made."""

    __tablename__ = "wave_escalations"

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("wave_sessions.id", ondelete="CASCADE")
    )
    story_execution_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("wave_story_executions.id", ondelete="CASCADE")
    )
    kind: Mapped[EscalationKind] = mapped_column(_enum(EscalationKind, "escalation_kind"))
    summary: Mapped[str] = mapped_column(String(500))
    action: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    score: Mapped[float | None] = mapped_column(Float)
    violations: Mapped[list[Any]] = mapped_column(JSONDocument, default=list)
    status: Mapped[EscalationStatus] = mapped_column(
        _enum(EscalationStatus, "escalation_status"), default=EscalationStatus.PENDING
    )
    # Where the graph waits: the thread and the interrupt a decision resumes.
    graph_thread_id: Mapped[str | None] = mapped_column(String(100))
    interrupt_id: Mapped[str | None] = mapped_column(String(100))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index(None, "status", "session_id", "id"),
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= 1)", name="score_range"),
        {"sqlite_autoincrement": True},
    )


class WaveApproval(Base):
    """A recorded operator decision on a plan, an implementation, a review or a merge."""

    __tablename__ = "wave_approvals"

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("wave_sessions.id", ondelete="CASCADE")
    )
    story_execution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("wave_story_executions.id", ondelete="CASCADE")
    )
    escalation_id: Mapped[int | None] = mapped_column(
        ForeignKey("wave_escalations.id", ondelete="SET NULL")
    )
    subject: Mapped[ApprovalSubject] = mapped_column(_enum(ApprovalSubject, "approval_subject"))
    decision: Mapped[ApprovalDecision] = mapped_column(_enum(ApprovalDecision, "approval_decision"))
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index(None, "story_execution_id", "id"),
        CheckConstraint(
            "decision <> 'rejected' OR reason IS NOT NULL", name="rejection_has_reason"
        ),
        {"sqlite_autoincrement": True},
    )


class WaveCommand(Base):
    """An operator's order to a running session (hold, unhold, kill, stop), from any process.

    The runner that holds the session's leases polls for unhandled commands and marks each one
    handled; with no live runner the command is applied to the rows directly.
    """

    __tablename__ = "wave_commands"

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("wave_sessions.id", ondelete="CASCADE")
    )
    story_id: Mapped[str | None] = mapped_column(String(100))
    verb: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    issued_by: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_by: Mapped[str | None] = mapped_column(String(200))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index(None, "session_id", "handled_at", "id"),
        CheckConstraint("verb IN ('hold', 'unhold', 'kill', 'stop')", name="known_verb"),
        {"sqlite_autoincrement": True},
    )


class WaveLLMTurn(Base):
    """One completed model answer, committed before the agent acts on it.

    A node re-run after a crash asks its turns again; the journal answers the ones that already
    completed, so no paid turn is ever asked twice. `epoch` changes when recovery forks or
    restarts the story, so a deliberate re-run asks the model afresh.
    """

    __tablename__ = "wave_llm_turns"

    id: Mapped[int] = mapped_column(SerialId, primary_key=True, autoincrement=True)
    story_execution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("wave_story_executions.id", ondelete="CASCADE")
    )
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    conversation: Mapped[str] = mapped_column(String(200))
    turn: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("story_execution_id", "epoch", "conversation", "turn"),
        {"sqlite_autoincrement": True},
    )


# Registers the LangGraph checkpoint tables on Base.metadata, for Alembic (import at the end:
# that module imports Base from here).
from wave_tui.checkpoint import tables as _graph_tables  # noqa: E402, F401
