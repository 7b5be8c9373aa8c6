"""`wave run` and `wave demo`: start a session and follow it, one line (or JSON line) per event."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from wave_tui.config import Settings
from wave_tui.db import Database
from wave_tui.db.types import utcnow
from wave_tui.domain.enums import AutonomyLevel, SessionStatus
from wave_tui.engine import launch
from wave_tui.engine.describe import event_line
from wave_tui.engine.events import Event, EventBus, Subscription
from wave_tui.engine.runner import SessionRunner
from wave_tui.errors import UserError
from wave_tui.safety.rule_guard import load_policy

EXIT_ALL_COMPLETE, EXIT_NOT_ALL_COMPLETE = 0, 1


def prepare_run(args: argparse.Namespace, settings: Settings) -> None:
    """Everything that can be refused is checked before the database is opened."""
    args.prepared = launch.prepare_session(
        settings,
        args.stories,
        args.project,
        choice=args.provider,
        script=args.script,
        record=args.record,
    )


async def cmd_run(database: Database, args: argparse.Namespace) -> int:
    return await _run_session(
        database, args, args.settings, args.prepared, args.project, AutonomyLevel(args.autonomy)
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
    prepared = launch.prepare_session(
        settings, [demo_stories_dir()], project, choice="replay", script=demo_script_path()
    )
    return await _run_session(database, args, settings, prepared, project, AutonomyLevel.L3)


async def _run_session(
    database: Database,
    args: argparse.Namespace,
    settings: Settings,
    prepared: launch.Prepared,
    project: Path,
    autonomy: AutonomyLevel,
) -> int:
    bus = EventBus(database)
    for warning in await launch.interrupted_warnings(database, project):
        print(f"warning: {warning}", file=sys.stderr)
    runner = await launch.new_session_runner(
        bus,
        settings,
        prepared,
        project,
        name=args.session_name,
        budget_usd=Decimal(str(args.budget_usd)) if args.budget_usd else None,
        token_limit=args.token_limit,
        autonomy=autonomy,
        concurrency=args.concurrency,
        on_escalation=args.on_escalation,
    )
    print(f"session {runner.session_id}", file=sys.stderr)
    return await follow_or_console(database, args, runner)


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
