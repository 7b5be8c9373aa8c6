"""How a session's runner is built: the model behind the agents, the safety guard and the
SessionRunner, the same for `wave run`, `wave demo`, `wave resume` and the console (its new
session dialog and its recoveries)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from wave_tui.config import Settings
from wave_tui.db import Database, SessionRepository
from wave_tui.domain.enums import AutonomyLevel
from wave_tui.domain.story import Story, load_stories
from wave_tui.engine.events import EventBus
from wave_tui.engine.outcomes import OnEscalation
from wave_tui.engine.runner import SessionRunner
from wave_tui.engine.sessions import create_session
from wave_tui.errors import UserError
from wave_tui.llm import LLMProvider, RecordingProvider, ReplayProvider, ReplayScript
from wave_tui.recovery import RecoveryManager
from wave_tui.safety import Thresholds
from wave_tui.safety.judge import LLMJudge
from wave_tui.safety.rule_guard import RuleGuard, load_policy


@dataclass(frozen=True)
class Prepared:
    """What a new session runs with, every part of it checked before anything is written."""

    stories: list[Story]
    provider: LLMProvider
    guard: RuleGuard
    run_meta: dict[str, str]


def prepare_session(
    settings: Settings,
    stories: Sequence[Path],
    project: Path,
    *,
    choice: str | None = None,
    script: Path | None = None,
    record: Path | None = None,
) -> Prepared:
    """The checks `wave run` and the console's new session dialog make before the database is
    touched: the stories load and validate, the provider can be built, the project is a git
    repository, its policy file parses. Reads files: call it off the event loop."""
    loaded = load_stories(list(stories))
    provider = provider_for(settings, choice=choice, script=script, record=record)
    if not (project / ".git").exists():
        raise UserError(f"--project {project} is not a git repository")
    return Prepared(
        loaded, provider, guard_for(settings, project, provider), run_meta(provider, script)
    )


async def new_session_runner(
    bus: EventBus,
    settings: Settings,
    prepared: Prepared,
    project: Path,
    *,
    name: str | None = None,
    budget_usd: Decimal | None = None,
    token_limit: int | None = None,
    autonomy: AutonomyLevel = AutonomyLevel.L2,
    concurrency: int = 1,
    on_escalation: OnEscalation = "wait",
    owner: str | None = None,
) -> SessionRunner:
    """The session recorded (its row and its stories', in one transaction; refused with one line
    and nothing written for a bad budget or concurrency) and its runner, not yet started."""
    session_id = await create_session(
        bus,
        prepared.stories,
        project,
        name=name,
        budget_usd=budget_usd if budget_usd is not None else settings.default_cost_limit_usd,
        token_limit=token_limit if token_limit is not None else settings.default_token_limit,
        story_budget_usd=settings.default_story_budget_usd,
        autonomy=autonomy,
        concurrency=concurrency,
        run_meta=prepared.run_meta,
    )
    return SessionRunner(
        bus,
        session_id,
        provider=prepared.provider,
        settings=settings,
        guard=prepared.guard,
        on_escalation=on_escalation,
        owner=owner,
    )


async def interrupted_warnings(database: Database, project: Path) -> list[str]:
    """A new session for a project that has an interrupted one: what to tell the operator."""
    path = str(await asyncio.to_thread(lambda: project.expanduser().resolve()))
    return [
        f"{path} has an interrupted session {session.id} (recoverable: "
        f"{', '.join(s['story_id'] for s in status['recoverable_stories']) or 'none yet'}); "
        f"`wave resume {session.id}` continues it. Starting a new session anyway."
        for session, status in await RecoveryManager(database).interrupted_sessions(path, limit=3)
    ]


def provider_for(
    settings: Settings, *, choice: str | None, script: Path | None, record: Path | None
) -> LLMProvider:
    """The model behind the agents: a replay script offline, the Anthropic API when configured."""
    choice = choice or ("anthropic" if settings.anthropic_api_key else "replay")
    if choice == "replay":
        if script is None:
            raise UserError(
                "the replay provider needs --script FILE (or set ANTHROPIC_API_KEY and use "
                "--provider anthropic)"
            )
        if record is not None:
            raise UserError("--record records a real run: use it with --provider anthropic")
        return ReplayProvider(ReplayScript.load(script), model=settings.model)
    if settings.anthropic_api_key is None:
        raise UserError("--provider anthropic needs ANTHROPIC_API_KEY")
    from wave_tui.llm.anthropic_provider import AnthropicProvider

    provider: LLMProvider = AnthropicProvider(
        settings.anthropic_api_key.get_secret_value(),
        settings.model,
        base_url=settings.anthropic_base_url,
    )
    if record is not None:
        provider = RecordingProvider(provider, record, settings.model)
    return provider


def guard_for(settings: Settings, project: Path | None, provider: LLMProvider) -> RuleGuard:
    """The safety guard of a run: the rules, the project's policy file, the judge if enabled.
    A policy file that does not parse is refused here, before anything runs."""
    return RuleGuard(
        thresholds=Thresholds.of(settings),
        policy=load_policy(settings.policy_path(project)),
        judge=LLMJudge(provider) if settings.safety_judge else None,
    )


def run_meta(provider: LLMProvider, script: Path | None) -> dict[str, str]:
    """How the session runs, for `wave resume`: the provider, and a replay script's path."""
    if isinstance(provider, ReplayProvider) and script is not None:
        return {"provider": "replay", "script": str(script.expanduser().resolve())}
    return {"provider": "anthropic"}


def session_provider(
    settings: Settings,
    meta: Mapping[str, Any],
    *,
    choice: str | None = None,
    script: Path | None = None,
) -> LLMProvider:
    """The session's own provider unless told otherwise: its replay script, or the API."""
    if choice is None and script is None and meta.get("provider") == "replay":
        script = Path(str(meta.get("script", "")))
        if not script.is_file():
            raise UserError(f"the session's replay script {script} is gone; pass --script FILE")
        choice = "replay"
    return provider_for(settings, choice=choice, script=script, record=None)


async def runner_for_session(
    database: Database,
    session_id: uuid.UUID,
    settings: Settings,
    *,
    owner: str,
    on_escalation: OnEscalation = "wait",
    choice: str | None = None,
    script: Path | None = None,
    bus: EventBus | None = None,
) -> SessionRunner:
    """A runner for an existing session, with the session's own model and its project's policy;
    `owner` is the lease owner it runs stories as (the recovery's, when one came first)."""
    async with database.session(readonly=True) as db:
        session = await SessionRepository(db).require(session_id)
    project = Path(session.project_path) if session.project_path else None
    meta = dict(session.meta_data or {})

    def build() -> tuple[LLMProvider, RuleGuard]:
        provider = session_provider(settings, meta, choice=choice, script=script)
        return provider, guard_for(settings, project, provider)

    # Reading the script and the policy file is file I/O: kept off the console's event loop.
    provider, guard = await asyncio.to_thread(build)
    return SessionRunner(
        bus or EventBus(database),
        session_id,
        provider=provider,
        settings=settings,
        guard=guard,
        on_escalation=on_escalation,
        owner=owner,
    )
