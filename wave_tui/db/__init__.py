"""Persistence: async SQLAlchemy on SQLite or PostgreSQL, one repository per aggregate."""

from wave_tui.db.engine import Database, close_db, get_db, head_revision, init_db
from wave_tui.db.models import (
    Base,
    WaveApproval,
    WaveCheckpoint,
    WaveCommand,
    WaveEscalation,
    WaveEvent,
    WaveLLMTurn,
    WaveSession,
    WaveStoryExecution,
)
from wave_tui.db.repositories import (
    ApprovalRepository,
    CheckpointRepository,
    CommandRepository,
    EscalationRepository,
    EventRepository,
    Lease,
    SessionRepository,
    Statistics,
    StoryExecutionRepository,
)

__all__ = [
    "ApprovalRepository",
    "Base",
    "CheckpointRepository",
    "CommandRepository",
    "Database",
    "EscalationRepository",
    "EventRepository",
    "Lease",
    "SessionRepository",
    "Statistics",
    "StoryExecutionRepository",
    "WaveApproval",
    "WaveCheckpoint",
    "WaveCommand",
    "WaveEscalation",
    "WaveEvent",
    "WaveLLMTurn",
    "WaveSession",
    "WaveStoryExecution",
    "close_db",
    "get_db",
    "head_revision",
    "init_db",
]
