"""RecoveryManager, the write side: bring one story, or a whole session, back after a crash.

Everything that can be refused (ids, strategy, gate, a finished story, a live holder, a missing
checkpoint) is decided from a read before anything is written, so a refusal changes nothing.
Then the story's lease is taken atomically, so two recoveries racing for one story can never
both proceed, and the change is one transaction with its event. Recovery moves no graph: it
tells the story's row where the runner must continue (see `threads`), and the runner of the
same owner picks it up.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wave_tui.db import (
    Database,
    EscalationRepository,
    EventRepository,
    StoryExecutionRepository,
    WaveCheckpoint,
    WaveSession,
    WaveStoryExecution,
)
from wave_tui.db.repositories.stories import DEFAULT_LEASE_TTL
from wave_tui.db.types import utcnow
from wave_tui.domain import threads
from wave_tui.domain.enums import EscalationKind, StoryStatus
from wave_tui.domain.gates import Gate
from wave_tui.domain.state import WAVEState
from wave_tui.errors import WaveError
from wave_tui.recovery.leases import owner_is_dead
from wave_tui.recovery.planning import RESUMING, Plan
from wave_tui.recovery.strategy import RecoveryStrategy
from wave_tui.workspace import WorkspaceError, Worktree
from wave_tui.workspace.git import run_git
from wave_tui.workspace.worktree import BRANCH_PREFIX

log = logging.getLogger("wave_tui.recovery")

# Recoveries without a recorded step in between; the next one asks a human instead.
MAX_RECOVERY_ATTEMPTS = 3
FAILED_RECOVERY = "failed_recovery"
_MERGE_GATES = frozenset({Gate.GATE_6.value, Gate.GATE_7.value})


class StoryRecovery:
    """The write side, used by RecoveryManager; `owner` is who will run the recovered stories."""

    def __init__(
        self,
        database: Database,
        owner: str,
        *,
        worktrees: Path | None,
        operator: str,
        lease_ttl: timedelta = DEFAULT_LEASE_TTL,
    ) -> None:
        self.database = database
        self.owner = owner
        self.worktrees = worktrees
        self.operator = operator
        self.lease_ttl = lease_ttl

    async def apply(self, db: AsyncSession, plan: Plan, started: float) -> str:
        """Every outcome but a restart, inside the caller's transaction (the one that planned
        it): the lease, the change and its event commit together, or nothing does."""
        story, strategy = plan.story, plan.strategy
        counted = strategy in RESUMING and plan.point is not None
        if counted and story.retry_count >= MAX_RECOVERY_ATTEMPTS:
            return await self._manual_review(db, plan, started)
        if strategy is RecoveryStrategy.SKIP:
            return await self._skip(db, plan, started)
        if (merged := await self._merged_commit(db, plan)) is not None:
            return await self._reconcile(db, plan, merged, started)
        return await self._resume(db, plan, started)

    def finish(self, plan: Plan, status: str, started: float) -> dict[str, Any]:
        """After the commit: the log lines and the result."""
        for level, message in plan.notes:
            log.log(level, message)
        story, strategy = plan.story, plan.strategy
        elapsed = time.perf_counter() - started
        checkpoint = plan.point.checkpoint_id if plan.point else None
        log.info(
            "Recovery complete | session=%s | story=%s | checkpoint=%s | time=%.3fs | status=%s",
            plan.session.id, story.story_id, checkpoint, elapsed, status,
        )  # fmt: skip
        return {
            "strategy": strategy.value,
            "story_id": story.story_id,
            "checkpoint_id": checkpoint,
            "checkpoint_type": plan.point.checkpoint_type.value if plan.point else None,
            "state": plan.point.summary.as_dict() if plan.point and plan.point.summary else None,
            "status": status,
            "recovery_time_seconds": round(elapsed, 6),
            "recovery_timestamp": utcnow().isoformat(),
        }

    # -- one outcome each -------------------------------------------------------------------

    async def _resume(self, db: AsyncSession, plan: Plan, started: float) -> str:
        story = plan.story
        await self._take_lease(db, plan)
        repo = StoryExecutionRepository(db)
        row = await repo.require(story.id)
        meta = dict(row.meta_data or {})
        if plan.new_thread:
            meta[threads.THREAD] = f"{story.id}:{threads.epoch_of(meta) + 1}"
        if plan.new_epoch or plan.new_thread:
            meta[threads.EPOCH] = threads.epoch_of(meta) + 1
        meta.pop(threads.FORK_FROM, None)
        if plan.fork_from:
            meta[threads.FORK_FROM] = plan.fork_from
        row.meta_data = meta
        if plan.point is not None:  # a story that never started has nothing to retry
            row.retry_count += 1
        row.error = None
        if row.status is not StoryStatus.PENDING:
            await _to_pending(repo, row)
        status = "forked" if plan.fork_from else "pending" if plan.point is None else "resumed"
        await self._event(db, plan, status, started)
        await _requeue_dependents(db, plan)
        return status

    async def restart(self, plan: Plan, started: float) -> str:
        """Two transactions: the lease before the worktree is reset, then the story row."""
        story, session = plan.story, plan.session
        async with self.database.session() as db:
            await self._take_lease(db, plan)  # ours before the worktree is touched
        await self._reset_worktree(session, story)
        async with self.database.session() as db:
            repo = StoryExecutionRepository(db)
            row = await repo.require(story.id)
            if row.status is not StoryStatus.PENDING:
                await _to_pending(repo, row)
            epoch = threads.epoch_of(row.meta_data) + 1
            meta = {k: v for k, v in (row.meta_data or {}).items() if k != threads.FORK_FROM}
            row.meta_data = {**meta, threads.EPOCH: epoch, threads.THREAD: f"{story.id}:{epoch}"}
            for name, value in _FRESH.items():
                setattr(row, name, value)
            await self._event(db, plan, "restarted", started)
            await _requeue_dependents(db, plan)
        return "restarted"

    async def _skip(self, db: AsyncSession, plan: Plan, started: float) -> str:
        story = plan.story
        reason = f"skipped during recovery by {self.operator}"
        await self._take_lease(db, plan)
        repo = StoryExecutionRepository(db)
        await repo.cancel_execution(story.id, reason)
        stories = await repo.list_by_session(plan.session.id)
        for dependent in _dependents(stories, story.story_id):
            if dependent.status in (StoryStatus.PENDING, StoryStatus.BLOCKED):
                why = f"depends on {story.story_id}, which was skipped"
                if dependent.status is StoryStatus.PENDING:
                    await repo.block(dependent.id, why)
                else:
                    dependent.block_reason = why
                await EventRepository(db).append(
                    plan.session.id, "story_blocked", {"story": dependent.story_id,
                    "reason": why}, story_execution_id=dependent.id,
                )  # fmt: skip
        await self._event(db, plan, "skipped", started)
        await repo.release_lease(story.id, self.owner)
        return "skipped"

    async def _reconcile(self, db: AsyncSession, plan: Plan, commit: str, started: float) -> str:
        story = plan.story
        await self._take_lease(db, plan)
        repo = StoryExecutionRepository(db)
        row = await repo.require(story.id)
        if row.status not in (StoryStatus.IN_PROGRESS, StoryStatus.REVIEW):
            await repo.start_execution(story.id)
        await repo.complete_execution(
            story.id, tests_passing=True, branch_name=BRANCH_PREFIX + story.story_id,
            commit_sha=commit,
        )  # fmt: skip
        await self._event(db, plan, "reconciled", started)
        await _requeue_dependents(db, plan)
        await repo.release_lease(story.id, self.owner)
        plan.notes.append((
            logging.WARNING,
            f"Reconciled | session={plan.session.id} | story={story.story_id} | its commit "
            f"{commit} is already on the base branch: marked complete, not run again",
        ))  # fmt: skip
        return "reconciled"

    async def _manual_review(self, db: AsyncSession, plan: Plan, started: float) -> str:
        story = plan.story
        attempts = story.retry_count
        reason = f"{FAILED_RECOVERY}: recovered {attempts} times without progress"
        await self._take_lease(db, plan)
        repo = StoryExecutionRepository(db)
        row = await repo.require(story.id)
        if row.status is StoryStatus.FAILED:
            row.error = reason
        else:
            await repo.fail_execution(story.id, reason)
        await EscalationRepository(db).create(
            plan.session.id, EscalationKind.RETRY_EXHAUSTED,
            f"{story.story_id}: recovery failed {attempts} times; review it by hand",
            {"story": story.story_id, "reason": FAILED_RECOVERY, "attempts": attempts},
            story_execution_id=story.id,
        )  # fmt: skip
        await self._event(db, plan, FAILED_RECOVERY, started)
        await repo.release_lease(story.id, self.owner)
        plan.notes.append((
            logging.ERROR,
            f"Recovery gave up | session={plan.session.id} | story={story.story_id} | "
            f"attempts={attempts} | escalated for review",
        ))  # fmt: skip
        return FAILED_RECOVERY

    # -- helpers ----------------------------------------------------------------------------

    async def _merged_commit(self, db: AsyncSession, plan: Plan) -> str | None:
        """The crash came after the merge but before its checkpoint: the story branch's tip is
        the commit its newest state names, and the base branch already carries it."""
        story, session, point = plan.story, plan.session, plan.point
        if story.status is StoryStatus.PENDING or point is None or not session.project_path:
            return None
        if point.summary is None or point.summary.current_gate not in _MERGE_GATES:
            return None  # merge prep had not run: nothing can be merged yet
        state = await db.scalar(
            select(WaveCheckpoint.state).where(WaveCheckpoint.id == point.checkpoint_id)
        )
        commit = WAVEState.model_validate(state).git.commit_hash if state else ""
        base = str(session.meta_data.get("base_branch") or "")
        if not commit or not base:
            return None
        repo = Path(session.project_path)
        branch = f"refs/heads/{BRANCH_PREFIX}{story.story_id}"
        try:
            tip = await run_git("rev-parse", "--verify", "--quiet", branch, cwd=repo)
            if tip.exit_code != 0 or tip.stdout.strip() != commit:
                return None
            merged = await run_git(
                "merge-base", "--is-ancestor", commit, f"refs/heads/{base}", cwd=repo
            )
        except (OSError, WorkspaceError):
            return None
        return commit if merged.exit_code == 0 else None

    async def _reset_worktree(self, session: WaveSession, story: WaveStoryExecution) -> None:
        """A restart starts from the base branch: the story's worktree and branch are reset."""
        if not session.project_path or self.worktrees is None:
            return
        base = str(session.meta_data.get("base_branch") or "") or None
        root = self.worktrees / str(session.id)
        if not (root / story.story_id).exists():
            return  # never checked out: the runner creates it fresh from the base
        try:
            worktree = await Worktree.open(
                Path(session.project_path), story.story_id, root=root, base_branch=base
            )
            await worktree.reset_to_base()
        except WorkspaceError as problem:
            raise WaveError(f"cannot reset the worktree of {story.story_id}: {problem}") from None

    async def _take_lease(self, db: AsyncSession, plan: Plan) -> None:
        """Inside the recovery's own transaction: the lease and the change commit together."""
        story = plan.story
        dead = story.lease_owner if owner_is_dead(story.lease_owner) else None
        await StoryExecutionRepository(db).acquire_lease(
            story.id, self.owner, self.lease_ttl, take_over=dead
        )
        if dead:
            message = f"Lease taken over | story={story.story_id} | from dead process {dead}"
            plan.notes.append((logging.WARNING, message))

    async def _event(self, db: AsyncSession, plan: Plan, status: str, started: float) -> None:
        await EventRepository(db).append(
            plan.session.id,
            "story_recovered",
            {
                "story": plan.story.story_id,
                "strategy": plan.strategy.value,
                "checkpoint": plan.point.checkpoint_id if plan.point else None,
                "graph_checkpoint": plan.fork_from,
                "status": status,
                "by": self.operator,
                "recovery_time_seconds": round(time.perf_counter() - started, 6),
            },
            story_execution_id=plan.story.id,
        )


# A restarted story begins again: no progress, no error, no recoveries counted.
_FRESH: dict[str, Any] = {
    "retry_count": 0,
    "error": None,
    "block_reason": None,
    "completed_at": None,
    "commit_sha": None,
    "iteration": 0,
    "recycle_count": 0,
    "ac_passed": 0,
    "current_gate": None,
    "phase": None,
    "agent": None,
    "tests_passing": None,
}


async def _to_pending(repo: StoryExecutionRepository, row: WaveStoryExecution) -> None:
    """Back in the queue, from wherever the crash or the operator left it."""
    if row.status is StoryStatus.REVIEW:
        await repo.start_execution(row.id)
    await repo.requeue(row.id)


async def _requeue_dependents(db: AsyncSession, plan: Plan) -> None:
    """The story goes on, so the stories blocked because it ended (and, through them, theirs)
    wait for it in the queue again. A story blocked for another reason stays blocked."""
    story_id = plan.story.story_id
    repo = StoryExecutionRepository(db)
    # Only blocked stories are read (usually none): the reason names the dependency it waits
    # for, so a large session's other stories cost nothing here.
    blocked = await repo.list_by_session(plan.session.id, status=StoryStatus.BLOCKED)
    dependents = [s for s in blocked if (s.block_reason or "").startswith("depends on ")]
    freed = {story_id}
    changed = True
    while changed:  # to a fixed point: a story may name a dependency found after it
        changed = False
        for dependent in dependents:
            if dependent.story_id in freed or dependent.status is not StoryStatus.BLOCKED:
                continue
            reason = dependent.block_reason or ""
            if not any(reason.startswith(f"depends on {freer},") for freer in freed):
                continue
            await repo.requeue(dependent.id)
            await EventRepository(db).append(
                plan.session.id, "story_requeued", {"story": dependent.story_id,
                "reason": f"{story_id} was recovered"}, story_execution_id=dependent.id,
            )  # fmt: skip
            freed.add(dependent.story_id)
            changed = True


def _dependents(stories: Any, story_id: str) -> list[WaveStoryExecution]:
    """Every story that needs `story_id`, directly or through another story."""
    needed, found = {story_id}, []
    changed = True
    while changed:
        changed = False
        for story in stories:
            deps = {str(d) for d in story.definition.get("depends_on", [])}
            if story.story_id not in needed and deps & needed:
                needed.add(story.story_id)
                found.append(story)
                changed = True
    return found
