"""`wave status SESSION` and `wave checkpoints SESSION`: what a crash left, before recovering it.

Both only read. `status` prints the recovery status (the issue's shape with `--json`);
`checkpoints` lists each story's checkpoints newest first with whether each can be resumed from.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from wave_tui.db import Database
from wave_tui.recovery import RecoveryManager


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    status = commands.add_parser(
        "status", parents=[common], help="a session's stories and what can be recovered"
    )
    status.add_argument("session", metavar="SESSION", help="a session id")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(existing=True, command=cmd_status)

    checkpoints = commands.add_parser(
        "checkpoints", parents=[common], help="a session's checkpoints, newest first"
    )
    checkpoints.add_argument("session", metavar="SESSION", help="a session id")
    checkpoints.add_argument("--story", metavar="ID", help="only this story")
    checkpoints.add_argument("--json", action="store_true", help="print one JSON list")
    checkpoints.set_defaults(existing=True, command=cmd_checkpoints)


async def cmd_status(database: Database, args: argparse.Namespace) -> None:
    status = await RecoveryManager(database).get_recovery_status(args.session)
    if args.json:
        print(json.dumps(status))
        return
    counts = ", ".join(f"{n} {name}" for name, n in sorted(status["by_status"].items()))
    print(f"session {status['session_id']}: {status['session_status']}")
    print(f"{status['total_stories']} stories: {counts or 'none'}")
    recoverable = status["recoverable_stories"]
    if not recoverable:
        print("nothing to recover")
        return
    print("recoverable:")
    for story in recoverable:
        last = story["last_checkpoint"]
        print(
            f"  {story['story_id']:<12} {story['current_status']:<12} retries "
            f"{story['retry_count']}  last checkpoint {last['type']} at {last['gate'] or '-'} "
            f"({last['created_at']})"
        )


async def cmd_checkpoints(database: Database, args: argparse.Namespace) -> None:
    points = await RecoveryManager(database).find_recovery_points(args.session, args.story)
    if args.json:
        print(json.dumps([point.as_dict() for point in points]))
        return
    if not points:
        print("No checkpoints.")
        return
    for point in points:
        summary = point.summary
        where = (
            f"{summary.current_gate} {summary.phase}, AC {summary.ac_passed}/{summary.ac_total}, "
            f"iteration {summary.iteration}"
            if summary
            else "state unreadable"
        )
        mark = "ok " if point.resumable else ("-  " if point.valid else "BAD")
        problem = f"  ({point.problem})" if point.problem else ""
        kind = point.checkpoint_type.value
        print(
            f"{mark} #{point.checkpoint_id:<6} {point.story_id:<12} {kind:<16}"
            f" {point.created_at:%Y-%m-%d %H:%M:%S}  {where}{problem}"
        )
