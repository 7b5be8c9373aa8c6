"""`wave run` and `wave demo`: start a session and follow it, one line (or JSON line) per event."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from wave_tui.config import Settings
from wave_tui.db import Database
from wave_tui.db.types import utcnow
from wave_tui.domain.enums import AutonomyLevel, SessionStatus
from wave_tui.domain.story import Story, load_stories
from wave_tui.engine import launch
from wave_tui.engine.describe import event_line
from wave_tui.engine.events import Event, EventBus, Subscription
from wave_tui.engine.runner import SessionRunner
from wave_tui.engine.sessions import create_session
from wave_tui.errors import UserError
from wave_tui.llm import LLMProvider, ReplayProvider, ReplayScript
from wave_tui.safety.rule_guard import RuleGuard, load_policy

EXIT_ALL_COMPLETE, EXIT_NOT_ALL_COMPLETE = 0, 1


def prepare_run(args: argparse.Namespace, settings: Settings) -> None:
    """Everything that can be refused is checked before the database is opened."""
    args.loaded_stories = load_stories(args.stories)
    args.llm = launch.provider_for(
        settings, choice=args.provider, script=args.script, record=args.record
    )
    if not (args.project / ".git").exists():
        raise UserError(f"--project {args.project} is not a git repository")
    args.guard = launch.guard_for(settings, args.project, args.llm)


async def cmd_run(database: Database, args: argparse.Namespace) -> int:
    return await _run_session(
        database,
        args,
        args.settings,
        args.loaded_stories,
        args.project,
        args.llm,
        AutonomyLevel(args.autonomy),
        args.guard,
        run_meta=launch.run_meta(args.llm, args.script),
    )


def prepare_demo(args: argparse.Namespace, settings: Settings) -> None:
    if args.project is not None and args.project.exists() and any(args.project.iterdir()):
        raise UserError(f"--project {args.project} exists and is not empty; name a new directory")
    if settings.policy_file is not None:
        load_policy(settings.policy_file)  # refuse a broken policy before anything starts


async def cmd_demo(database: Database, args: argparse.Namespace) -> int:
    from wave_tui.demo.project import create_demo_project, demo_script_path, demo_stories_dir

    settings: Settings = args.settings
    target = args.project or settings.data_dir / "demo" / _stamp()
    project = await create_demo_project(target)
    print(f"demo project: {project}", file=sys.stderr)
    stories = load_stories([demo_stories_dir()])
    provider = ReplayProvider(ReplayScript.load(demo_script_path()), model=settings.model)
    guard = launch.guard_for(settings, project, provider)
    return await _run_session(
        database, args, settings, stories, project, provider, AutonomyLevel.L3, guard,
        run_meta=launch.run_meta(provider, demo_script_path()),
    )  # fmt: skip


async def _run_session(
    database: Database,
    args: argparse.Namespace,
    settings: Settings,
    stories: Sequence[Story],
    project: Path,
    provider: LLMProvider,
    autonomy: AutonomyLevel,
    guard: RuleGuard,
    *,
    run_meta: dict[str, str],
) -> int:
    bus = EventBus(database)
    await _warn_if_interrupted(database, project)
    session_id = await create_session(
        bus,
        stories,
        project,
        name=args.session_name,
        budget_usd=Decimal(str(args.budget_usd))
        if args.budget_usd
        else settings.default_cost_limit_usd,
        token_limit=args.token_limit or settings.default_token_limit,
        story_budget_usd=settings.default_story_budget_usd,
        autonomy=autonomy,
        concurrency=args.concurrency,
        run_meta=run_meta,
    )
    print(f"session {session_id}", file=sys.stderr)
    runner = SessionRunner(
        bus,
        session_id,
        provider=provider,
        settings=settings,
        guard=guard,
        on_escalation=args.on_escalation,
    )
    return await follow_or_console(database, args, runner)


async def _warn_if_interrupted(database: Database, project: Path) -> None:
    """A fresh session for a project that has an interrupted one: say so before starting."""
    from wave_tui.recovery import RecoveryManager

    path = str(await asyncio.to_thread(lambda: project.expanduser().resolve()))
    for session, status in await RecoveryManager(database).interrupted_sessions(path, limit=3):
        stories = ", ".join(s["story_id"] for s in status["recoverable_stories"]) or "none yet"
        print(
            f"warning: {path} has an interrupted session {session.id} (recoverable: {stories}); "
            f"`wave resume {session.id}` continues it. Starting a new session anyway.",
            file=sys.stderr,
        )


async def follow_or_console(
    database: Database, args: argparse.Namespace, runner: SessionRunner
) -> int:
    """The session's dashboard in a terminal; one line per event with --headless, --json or
    when the output is not a terminal."""
    from wave_tui.cli_console import open_console, wants_console

    if not wants_console(args):
        return await follow(runner.bus, runner, as_json=args.json)
    from wave_tui.engine.live import LiveSession

    return await open_console(database, args.settings, live=LiveSession.of(runner))


async def follow(bus: EventBus, runner: SessionRunner, *, as_json: bool) -> int:
    """Run the session, printing its events as they happen; the exit code says how it ended."""
    subscription = bus.subscribe()
    printer = asyncio.create_task(_print_events(subscription, as_json=as_json))
    try:
        status = await runner.start()
    finally:
        subscription.close()
        await printer
    return EXIT_ALL_COMPLETE if status is SessionStatus.COMPLETED else EXIT_NOT_ALL_COMPLETE


async def _print_events(subscription: Subscription, *, as_json: bool) -> None:
    async for event in subscription:
        line = json.dumps(_event_json(event), default=str) if as_json else event_line(event)
        print(line, flush=True)


def _event_json(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": event.created_at.isoformat(),
        "session_id": str(event.session_id),
        "story_execution_id": str(event.story_execution_id) if event.story_execution_id else None,
        "kind": event.kind,
        "agent": event.agent,
        "payload": dict(event.payload),
    }


def _stamp() -> str:
    return utcnow().strftime("%Y%m%d-%H%M%S")
