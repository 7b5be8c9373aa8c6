"""Creating a session: one session row and one story-execution row per story, in one transaction."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from wave_tui.db import SessionRepository, StoryExecutionRepository
from wave_tui.domain.enums import AutonomyLevel
from wave_tui.domain.story import Story, dependency_order
from wave_tui.engine.events import EventBus
from wave_tui.errors import UserError
from wave_tui.workspace import WorkspaceError, git


async def create_session(
    bus: EventBus,
    stories: Sequence[Story],
    project: Path,
    *,
    name: str | None = None,
    budget_usd: Decimal,
    token_limit: int,
    story_budget_usd: Decimal,
    autonomy: AutonomyLevel = AutonomyLevel.L2,
    concurrency: int = 1,
    run_meta: Mapping[str, str] | None = None,
) -> uuid.UUID:
    """Validate the inputs, then record the session and its stories; nothing is written on error.

    `run_meta` records how the session was run (the provider, a replay script's path; never a
    key) so that `wave resume` can carry on the same way."""
    if concurrency < 1:
        raise UserError(f"--concurrency must be at least 1, got {concurrency}")
    if budget_usd <= 0 or token_limit <= 0:
        raise UserError("the session budget and token limit must be positive")
    project = await asyncio.to_thread(lambda: project.expanduser().resolve())
    try:
        base_branch = (await git("rev-parse", "--abbrev-ref", "HEAD", cwd=project)).strip()
    except WorkspaceError:
        raise UserError(f"{project} is not a git repository with a commit") from None
    ordered = dependency_order(list(stories))
    async with bus.transaction() as recorder:
        sessions = SessionRepository(recorder.db)
        session = await sessions.create(
            name or project.name,
            project_path=str(project),
            budget_usd=budget_usd,
            token_limit=token_limit,
            autonomy_level=autonomy,
            concurrency=concurrency,
            story_count=len(ordered),
            metadata={"base_branch": base_branch, **(run_meta or {})},
        )
        repo = StoryExecutionRepository(recorder.db)
        for story in ordered:
            await repo.create(
                session.id,
                story.id,
                story.title,
                domain=story.domain or None,
                agent=story.agent or None,
                definition=story.model_dump(mode="json"),
                ac_total=len(story.acceptance_criteria),
                budget_usd=story.budget_usd or story_budget_usd,
            )
        await recorder.record(
            session.id,
            "session_created",
            {"project": str(project), "stories": [s.id for s in ordered], "base": base_branch},
        )
    return session.id
