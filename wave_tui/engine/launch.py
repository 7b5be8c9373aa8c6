"""How a session's runner is built: the model behind the agents, the safety guard and the
SessionRunner, the same for `wave run`, `wave resume` and the console."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wave_tui.config import Settings
from wave_tui.db import Database, SessionRepository
from wave_tui.engine.events import EventBus
from wave_tui.engine.outcomes import OnEscalation
from wave_tui.engine.runner import SessionRunner
from wave_tui.errors import UserError
from wave_tui.llm import LLMProvider, RecordingProvider, ReplayProvider, ReplayScript
from wave_tui.safety import Thresholds
from wave_tui.safety.judge import LLMJudge
from wave_tui.safety.rule_guard import RuleGuard, load_policy


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
