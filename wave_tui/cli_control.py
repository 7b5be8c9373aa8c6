"""`wave hold`, `wave unhold`, `wave kill`: steer a session from any terminal.

The command goes through the database. A process running the session applies it at its
stories' next step boundary (a kill cancels the step in flight) and answers within a second;
with no process running the session the stories' rows change here. Every command is recorded
with who gave it (`WAVE_OPERATOR`, else the OS user) and why.
"""

from __future__ import annotations

import argparse
from typing import Any

from wave_tui.config import Settings
from wave_tui.db import Database
from wave_tui.engine.control import issue_command
from wave_tui.engine.events import EventBus
from wave_tui.recovery.manager import parse_session_id


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    # A malformed session id is refused while parsing, before any database is opened.
    hold = commands.add_parser(
        "hold", parents=[common], help="pause a session's stories at their next step boundary"
    )
    hold.add_argument("session", type=parse_session_id, metavar="SESSION", help="a session id")
    hold.add_argument("--story", metavar="ID", help="only this story (default: every story)")
    hold.add_argument("--reason", metavar="TEXT", help="why (recorded with your name)")
    hold.set_defaults(existing=True, command=cmd_hold)

    unhold = commands.add_parser(
        "unhold", parents=[common], help="let held stories run again from their last checkpoint"
    )
    unhold.add_argument("session", type=parse_session_id, metavar="SESSION", help="a session id")
    unhold.add_argument("--story", metavar="ID", help="only this story (default: every story)")
    unhold.set_defaults(existing=True, command=cmd_unhold)

    kill = commands.add_parser(
        "kill",
        parents=[common],
        help="cancel a story now; without --story, the emergency stop of the whole session",
    )
    kill.add_argument("session", type=parse_session_id, metavar="SESSION", help="a session id")
    kill.add_argument("--story", metavar="ID", help="the story to cancel")
    kill.add_argument(
        "--reason", metavar="TEXT", required=True, help="why (recorded with your name)"
    )
    kill.set_defaults(existing=True, command=cmd_kill)


async def cmd_hold(database: Database, args: argparse.Namespace) -> None:
    await _issue(database, args, "hold", args.reason)


async def cmd_unhold(database: Database, args: argparse.Namespace) -> None:
    await _issue(database, args, "unhold", None)


async def cmd_kill(database: Database, args: argparse.Namespace) -> None:
    await _issue(database, args, "kill" if args.story else "stop", args.reason)


async def _issue(
    database: Database, args: argparse.Namespace, verb: str, reason: str | None
) -> None:
    settings: Settings = args.settings
    result = await issue_command(
        EventBus(database),
        args.session,
        verb,
        issued_by=settings.operator_name,
        story_id=args.story,
        reason=reason,
    )
    print(result.summary())
