"""Initial schema: sessions, story executions, checkpoints, events, escalations, approvals.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 11:44:21.594836
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wave_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_name", sa.String(length=200), nullable=False),
        sa.Column("project_path", sa.Text(), nullable=True),
        sa.Column("wave_number", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "in_progress",
                "completed",
                "failed",
                "cancelled",
                name="session_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("budget_usd", sa.Numeric(precision=14, scale=6), nullable=False),
        sa.Column("actual_cost_usd", sa.Numeric(precision=14, scale=6), nullable=False),
        sa.Column("token_limit", sa.BigInteger(), nullable=False),
        sa.Column("tokens_used", sa.BigInteger(), nullable=False),
        sa.Column("story_count", sa.Integer(), nullable=False),
        sa.Column("stories_completed", sa.Integer(), nullable=False),
        sa.Column("stories_failed", sa.Integer(), nullable=False),
        sa.Column(
            "autonomy_level",
            sa.Enum(
                "L0",
                "L1",
                "L2",
                "L3",
                name="autonomy_level",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.CheckConstraint("budget_usd >= 0", name=op.f("ck_wave_sessions_budget_not_negative")),
        sa.CheckConstraint("concurrency >= 1", name=op.f("ck_wave_sessions_concurrency_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wave_sessions")),
    )
    with op.batch_alter_table("wave_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wave_sessions_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_wave_sessions_status"), ["status"], unique=False)

    op.create_table(
        "wave_story_executions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("story_id", sa.String(length=100), nullable=False),
        sa.Column("story_title", sa.String(length=500), nullable=False),
        sa.Column("domain", sa.String(length=100), nullable=True),
        sa.Column("agent", sa.String(length=50), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "in_progress",
                "blocked",
                "review",
                "complete",
                "failed",
                "cancelled",
                name="story_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "current_gate",
            sa.Enum(
                "gate-0",
                "gate-1",
                "gate-2",
                "gate-3",
                "gate-4",
                "gate-5",
                "gate-6",
                "gate-7",
                name="story_gate",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column("phase", sa.String(length=30), nullable=True),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("recycle_count", sa.Integer(), nullable=False),
        sa.Column("token_count", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.Numeric(precision=14, scale=6), nullable=False),
        sa.Column("budget_usd", sa.Numeric(precision=14, scale=6), nullable=True),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("ac_passed", sa.Integer(), nullable=False),
        sa.Column("ac_total", sa.Integer(), nullable=False),
        sa.Column("tests_passing", sa.Boolean(), nullable=True),
        sa.Column("coverage_achieved", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column(
            "files_created",
            sa.JSON().with_variant(postgresql.ARRAY(sa.String()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "files_modified",
            sa.JSON().with_variant(postgresql.ARRAY(sa.String()), "postgresql"),
            nullable=False,
        ),
        sa.Column("branch_name", sa.String(length=255), nullable=True),
        sa.Column("commit_sha", sa.String(length=64), nullable=True),
        sa.Column("pr_url", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("block_reason", sa.Text(), nullable=True),
        sa.Column(
            "definition",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_acquired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "ac_passed >= 0 AND ac_passed <= ac_total",
            name=op.f("ck_wave_story_executions_ac_counts"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["wave_sessions.id"],
            name=op.f("fk_wave_story_executions_session_id_wave_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wave_story_executions")),
        sa.UniqueConstraint(
            "session_id", "story_id", name=op.f("uq_wave_story_executions_session_id_story_id")
        ),
    )
    with op.batch_alter_table("wave_story_executions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wave_story_executions_session_id_status"),
            ["session_id", "status"],
            unique=False,
        )

    op.create_table(
        "wave_checkpoints",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("story_execution_id", sa.Uuid(), nullable=True),
        sa.Column("story_id", sa.String(length=100), nullable=True),
        sa.Column(
            "checkpoint_type",
            sa.Enum(
                "gate",
                "story_start",
                "story_complete",
                "agent_handoff",
                "error",
                "manual",
                name="checkpoint_type",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("checkpoint_name", sa.String(length=200), nullable=False),
        sa.Column(
            "gate",
            sa.Enum(
                "gate-0",
                "gate-1",
                "gate-2",
                "gate-3",
                "gate-4",
                "gate-5",
                "gate-6",
                "gate-7",
                name="checkpoint_gate",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=True,
        ),
        sa.Column(
            "state",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "parent_checkpoint_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("graph_thread_id", sa.String(length=100), nullable=True),
        sa.Column("graph_checkpoint_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "checkpoint_type <> 'gate' OR gate IS NOT NULL",
            name=op.f("ck_wave_checkpoints_gate_named"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_checkpoint_id"],
            ["wave_checkpoints.id"],
            name=op.f("fk_wave_checkpoints_parent_checkpoint_id_wave_checkpoints"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["wave_sessions.id"],
            name=op.f("fk_wave_checkpoints_session_id_wave_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["story_execution_id"],
            ["wave_story_executions.id"],
            name=op.f("fk_wave_checkpoints_story_execution_id_wave_story_executions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wave_checkpoints")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("wave_checkpoints", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wave_checkpoints_session_id_id"), ["session_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_wave_checkpoints_session_id_story_id_gate_id"),
            ["session_id", "story_id", "gate", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_wave_checkpoints_session_id_story_id_id"),
            ["session_id", "story_id", "id"],
            unique=False,
        )

    op.create_table(
        "wave_escalations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("story_execution_id", sa.Uuid(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "tool_call",
                "gate_approval",
                "retry_exhausted",
                "budget",
                name="escalation_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column(
            "action",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column(
            "violations",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "approved",
                "rejected",
                "expired",
                name="escalation_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("graph_thread_id", sa.String(length=100), nullable=True),
        sa.Column("interrupt_id", sa.String(length=100), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "score IS NULL OR (score >= 0 AND score <= 1)",
            name=op.f("ck_wave_escalations_score_range"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["wave_sessions.id"],
            name=op.f("fk_wave_escalations_session_id_wave_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["story_execution_id"],
            ["wave_story_executions.id"],
            name=op.f("fk_wave_escalations_story_execution_id_wave_story_executions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wave_escalations")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("wave_escalations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wave_escalations_status_session_id_id"),
            ["status", "session_id", "id"],
            unique=False,
        )

    op.create_table(
        "wave_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("story_execution_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("agent", sa.String(length=50), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["wave_sessions.id"],
            name=op.f("fk_wave_events_session_id_wave_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["story_execution_id"],
            ["wave_story_executions.id"],
            name=op.f("fk_wave_events_story_execution_id_wave_story_executions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wave_events")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("wave_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wave_events_session_id_id"), ["session_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_wave_events_story_execution_id_id"),
            ["story_execution_id", "id"],
            unique=False,
        )

    op.create_table(
        "wave_approvals",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("story_execution_id", sa.Uuid(), nullable=False),
        sa.Column(
            "escalation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "subject",
            sa.Enum(
                "plan",
                "implementation",
                "review",
                "merge",
                name="approval_subject",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "decision",
            sa.Enum(
                "approved",
                "rejected",
                name="approval_decision",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "decision <> 'rejected' OR reason IS NOT NULL",
            name=op.f("ck_wave_approvals_rejection_has_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["wave_escalations.id"],
            name=op.f("fk_wave_approvals_escalation_id_wave_escalations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["wave_sessions.id"],
            name=op.f("fk_wave_approvals_session_id_wave_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["story_execution_id"],
            ["wave_story_executions.id"],
            name=op.f("fk_wave_approvals_story_execution_id_wave_story_executions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wave_approvals")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("wave_approvals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wave_approvals_story_execution_id_id"),
            ["story_execution_id", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("wave_approvals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wave_approvals_story_execution_id_id"))

    op.drop_table("wave_approvals")
    with op.batch_alter_table("wave_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wave_events_story_execution_id_id"))
        batch_op.drop_index(batch_op.f("ix_wave_events_session_id_id"))

    op.drop_table("wave_events")
    with op.batch_alter_table("wave_escalations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wave_escalations_status_session_id_id"))

    op.drop_table("wave_escalations")
    with op.batch_alter_table("wave_checkpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wave_checkpoints_session_id_story_id_id"))
        batch_op.drop_index(batch_op.f("ix_wave_checkpoints_session_id_story_id_gate_id"))
        batch_op.drop_index(batch_op.f("ix_wave_checkpoints_session_id_id"))

    op.drop_table("wave_checkpoints")
    with op.batch_alter_table("wave_story_executions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wave_story_executions_session_id_status"))

    op.drop_table("wave_story_executions")
    with op.batch_alter_table("wave_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wave_sessions_status"))
        batch_op.drop_index(batch_op.f("ix_wave_sessions_created_at"))

    op.drop_table("wave_sessions")
