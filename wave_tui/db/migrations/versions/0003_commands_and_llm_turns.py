"""Operator commands (hold, unhold, kill, stop) and the journal of completed LLM turns.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:22:17.327062
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wave_commands",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("story_id", sa.String(length=100), nullable=True),
        sa.Column("verb", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("issued_by", sa.String(length=200), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_by", sa.String(length=200), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "verb IN ('hold', 'unhold', 'kill', 'stop')", name=op.f("ck_wave_commands_known_verb")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["wave_sessions.id"],
            name=op.f("fk_wave_commands_session_id_wave_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wave_commands")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("wave_commands", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wave_commands_session_id_handled_at_id"),
            ["session_id", "handled_at", "id"],
            unique=False,
        )

    op.create_table(
        "wave_llm_turns",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("story_execution_id", sa.Uuid(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("conversation", sa.String(length=200), nullable=False),
        sa.Column("turn", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column(
            "response",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_execution_id"],
            ["wave_story_executions.id"],
            name=op.f("fk_wave_llm_turns_story_execution_id_wave_story_executions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wave_llm_turns")),
        sa.UniqueConstraint(
            "story_execution_id",
            "epoch",
            "conversation",
            "turn",
            name=op.f("uq_wave_llm_turns_story_execution_id_epoch_conversation_turn"),
        ),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("wave_llm_turns")
    with op.batch_alter_table("wave_commands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wave_commands_session_id_handled_at_id"))

    op.drop_table("wave_commands")
