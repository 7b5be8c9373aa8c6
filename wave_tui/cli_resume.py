"""`wave resume SESSION`: recover a crashed or held session's stories and run it on.

Recovery takes the stories' leases for this process first (so a second `wave resume` of the
same session exits 1 with who runs it, and changes nothing), then the SessionRunner, with the
same lease owner, runs every story that can go on. Exit codes are those of `wave run`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wave_tui.cli_common import add_follow_options
from wave_tui.config import Settings
from wave_tui.db import Database
from wave_tui.db.types import utcnow
from wave_tui.errors import UserError
from wave_tui.recovery import RecoveryManager, RecoveryStrategy
from wave_tui.recovery.leases import new_owner
from wave_tui.recovery.manager import parse_session_id
from wave_tui.recovery.planning import check_arguments, parse_gate, parse_strategy


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    resume = commands.add_parser(
        "resume",
        parents=[common],
        help="recover a session after a crash or a hold and run it on",
        description="Recover every unfinished story (or one, with --story) and run the session "
        "on. Strategies: resume_from_last (default: the newest valid checkpoint, all progress "
        "kept), resume_from_gate (the newest valid checkpoint at --gate, forked), restart "
        "(from the base branch, history kept), skip (cancelled; its dependents are blocked). "
        "--checkpoint ID forks from a checkpoint listed by `wave checkpoints`.",
    )
    resume.add_argument("session", metavar="SESSION", help="a session id")
    resume.add_argument("--story", metavar="ID", help="recover only this story")
    resume.add_argument(
        "--strategy",
        default=RecoveryStrategy.RESUME_FROM_LAST.value,
        metavar="NAME",
        help="resume_from_last (default), resume_from_gate, restart or skip",
    )
    resume.add_argument("--gate", metavar="gate-N", help="with resume_from_gate: which gate")
    resume.add_argument(
        "--checkpoint", type=int, metavar="ID", help="fork from this checkpoint (needs --story)"
    )
    resume.add_argument("--provider", choices=["anthropic", "replay"])
    resume.add_argument(
        "--script", type=Path, metavar="FILE", help="replay script (default: the session's own)"
    )
    add_follow_options(resume)
    resume.set_defaults(existing=True, command=cmd_resume, prepare=prepare_resume)


def prepare_resume(args: argparse.Namespace, settings: Settings) -> None:
    """Bad arguments are refused before the database is opened."""
    args.session_id = parse_session_id(args.session)
    args.strategy = parse_strategy(args.strategy)
    args.gate = parse_gate(args.gate)
    check_arguments(args.strategy, args.gate, args.checkpoint)
    if args.checkpoint is not None and args.story is None:
        raise UserError("--checkpoint needs --story: a checkpoint belongs to one story")


async def cmd_resume(database: Database, args: argparse.Namespace) -> int:
    # The engine (LangGraph, the model SDK) is imported only by the commands that run stories.
    from wave_tui.cli_run import follow_or_console
    from wave_tui.engine.launch import runner_for_session

    settings: Settings = args.settings
    owner = new_owner()
    # Built before recovering: a model that cannot be had (a replay script gone) changes nothing.
    runner = await runner_for_session(
        database,
        args.session_id,
        settings,
        owner=owner,
        on_escalation=args.on_escalation,
        choice=args.provider,
        script=args.script,
    )
    manager = RecoveryManager(
        database,
        owner=owner,
        worktrees=settings.data_dir / "worktrees",
        operator=settings.operator_name,
    )
    if args.story is not None:
        result = await manager.recover_story(
            args.session_id, args.story, args.strategy, args.gate, args.checkpoint
        )
        _report(str(args.session_id), {"story": result}, [result], [], as_json=args.json)
    else:
        outcome = await manager.recover_session(args.session_id, args.strategy, args.gate)
        results = [item["result"] for item in outcome["recovered"]]
        _report(
            str(args.session_id), {"session": outcome}, results, outcome["failed"],
            as_json=args.json,
        )  # fmt: skip
    print(f"session {args.session_id}", file=sys.stderr)
    return await follow_or_console(database, args, runner)


def _report(
    session_id: str,
    document: dict[str, Any],
    results: list[dict[str, Any]],
    failed: list[dict[str, Any]],
    *,
    as_json: bool,
) -> None:
    if as_json:
        # The shape of every event line; the recovery's own events follow in the database.
        line = {"id": None, "at": utcnow().isoformat(), "session_id": session_id,
                "story_execution_id": None, "kind": "recovery", "agent": None,
                "payload": document}  # fmt: skip
        print(json.dumps(line), flush=True)
        return
    for result in results:
        where = f" from checkpoint {result['checkpoint_id']}" if result["checkpoint_id"] else ""
        print(
            f"recovered {result['story_id']}: {result['status']}{where} "
            f"({result['strategy']}, {result['recovery_time_seconds']:.3f}s)",
            file=sys.stderr,
        )
    for item in failed:
        print(f"not recovered {item['story_id']}: {item['error']}", file=sys.stderr)
