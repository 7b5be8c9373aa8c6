"""Checkpoint retention: what a session keeps of its stories' graph histories.

Every thread of a story (its execution id, and `<id>:<epoch>` after a restart) keeps the newest
`keep_latest` checkpoints and every checkpoint a WaveCheckpoint row points to (gates, handoffs,
story start and end, errors: the points recovery offers). A thread whose graph waits for a
decision (a pending escalation) is left whole, and so is every story another live process holds
the lease of. The rest goes, with the writes and blobs nothing kept needs.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from wave_tui.checkpoint.pruning import PruneReport
from wave_tui.checkpoint.saver import WAVECheckpointSaver
from wave_tui.checkpoint.tables import graph_checkpoints
from wave_tui.db.engine import Database
from wave_tui.db.models import WaveCheckpoint, WaveEscalation, WaveSession, WaveStoryExecution
from wave_tui.domain.enums import EscalationStatus
from wave_tui.errors import NotFoundError, UserError
from wave_tui.recovery.leases import live_holder

# Stories whose threads are looked up per query.
CHUNK = 200


@dataclass
class SessionPrune:
    """What pruning one session removed (or would), and the stories it left alone, and why."""

    session_id: uuid.UUID
    report: PruneReport = field(default_factory=PruneReport)
    stories: int = 0
    skipped: dict[str, str] = field(default_factory=dict)


async def prune_sessions(
    database: Database,
    *,
    session_id: uuid.UUID | None,
    keep_latest: int,
    dry_run: bool = False,
) -> list[SessionPrune]:
    """Apply the policy to one session, or to every session; `dry_run` only counts."""
    if keep_latest < 1:
        raise UserError("--keep-latest must be at least 1: the newest checkpoint always stays")
    async with database.session(readonly=True) as db:
        query = select(WaveSession.id).order_by(WaveSession.created_at, WaveSession.id)
        if session_id is not None:
            query = query.where(WaveSession.id == session_id)
        sessions = list((await db.execute(query)).scalars())
    if session_id is not None and not sessions:
        raise NotFoundError(f"no session {session_id} in this database")
    saver = WAVECheckpointSaver(database)
    return [
        await _prune_session(saver, session, keep_latest=keep_latest, dry_run=dry_run)
        for session in sessions
    ]


async def prune_story(
    database: Database, session_id: uuid.UUID, story_id: str, *, keep_latest: int
) -> PruneReport:
    """The policy for one story that has just completed, applied by the process that ran it."""
    result = await _prune_session(
        WAVECheckpointSaver(database),
        session_id,
        keep_latest=keep_latest,
        dry_run=False,
        only=story_id,
    )
    return result.report


async def _prune_session(
    saver: WAVECheckpointSaver,
    session_id: uuid.UUID,
    *,
    keep_latest: int,
    dry_run: bool,
    only: str | None = None,
) -> SessionPrune:
    result = SessionPrune(session_id)
    async with saver.database.session(readonly=True) as db:
        query = select(
            WaveStoryExecution.id,
            WaveStoryExecution.story_id,
            WaveStoryExecution.lease_owner,
            WaveStoryExecution.lease_expires_at,
        ).where(WaveStoryExecution.session_id == session_id)
        if only is not None:
            query = query.where(WaveStoryExecution.story_id == only)
        stories = (await db.execute(query)).all()
        threads = await _threads(db, [str(story.id) for story in stories])
        protected: set[str] = {
            checkpoint_id
            for checkpoint_id in (
                await db.execute(
                    select(WaveCheckpoint.graph_checkpoint_id).where(
                        WaveCheckpoint.session_id == session_id,
                        WaveCheckpoint.graph_checkpoint_id.is_not(None),
                    )
                )
            ).scalars()
            if checkpoint_id is not None
        }
        waiting = set(
            (
                await db.execute(
                    select(WaveEscalation.graph_thread_id).where(
                        WaveEscalation.session_id == session_id,
                        WaveEscalation.status == EscalationStatus.PENDING,
                        WaveEscalation.graph_thread_id.is_not(None),
                    )
                )
            ).scalars()
        )
    for story in stories:
        # The completing runner holds its own story's lease; anyone else's live lease means
        # the story is running in another process.
        if only is None and live_holder(story.lease_owner, story.lease_expires_at, me=""):
            result.skipped[story.story_id] = "running"
            continue
        pruned = False
        for thread_id in threads.get(str(story.id), []):
            if thread_id in waiting:
                result.skipped[story.story_id] = "waits for a decision"
                continue
            result.report += await saver.aprune_thread(
                thread_id, keep_latest=keep_latest, protected=protected, dry_run=dry_run
            )
            pruned = True
        result.stories += pruned
    return result


async def _threads(db: AsyncSession, story_ids: list[str]) -> dict[str, list[str]]:
    """Each story's graph threads: its execution id and its `<id>:<epoch>` restarts."""
    thread = graph_checkpoints.c.thread_id
    found: defaultdict[str, list[str]] = defaultdict(list)
    for start in range(0, len(story_ids), CHUNK):
        chunk = story_ids[start : start + CHUNK]
        # "<id>:" < "<id>:<epoch>" < "<id>;" as ';' follows ':'.
        restarts = [and_(thread > f"{story}:", thread < f"{story};") for story in chunk]
        query = select(thread).distinct().where(or_(thread.in_(chunk), *restarts))
        for (thread_id,) in await db.execute(query):
            found[str(thread_id).partition(":")[0]].append(str(thread_id))
    return {story: sorted(ids) for story, ids in found.items()}
