"""One repository per aggregate; each works inside the unit of work (AsyncSession) it is given."""

from wave_tui.db.repositories.approvals import ApprovalRepository
from wave_tui.db.repositories.checkpoints import CheckpointRepository
from wave_tui.db.repositories.commands import CommandRepository
from wave_tui.db.repositories.escalations import EscalationRepository
from wave_tui.db.repositories.events import EventRepository
from wave_tui.db.repositories.sessions import SessionRepository, Statistics
from wave_tui.db.repositories.stories import Lease, StoryExecutionRepository

__all__ = [
    "ApprovalRepository",
    "CheckpointRepository",
    "CommandRepository",
    "EscalationRepository",
    "EventRepository",
    "Lease",
    "SessionRepository",
    "Statistics",
    "StoryExecutionRepository",
]
