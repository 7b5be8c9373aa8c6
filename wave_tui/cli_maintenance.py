"""`wave prune` and `wave vacuum`: keep the checkpoint history to what recovery needs, and give
the space back to the disk."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

from wave_tui.checkpoint.pruning import PruneReport
from wave_tui.cli_common import human_size
from wave_tui.config import Settings
from wave_tui.db import Database
from wave_tui.db.engine import SQLITE_BUSY_TIMEOUT_S
from wave_tui.errors import WaveError
from wave_tui.recovery.manager import parse_session_id
from wave_tui.recovery.retention import SessionPrune, prune_sessions


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    prune = commands.add_parser(
        "prune",
        parents=[common],
        help="remove old graph checkpoints, keeping every recovery point and the newest N",
    )
    prune.add_argument(
        "session", nargs="?", type=parse_session_id, metavar="SESSION", help="default: every one"
    )
    prune.add_argument(
        "--keep-latest",
        type=int,
        metavar="N",
        help="newest checkpoints kept per thread besides recovery points "
        "(default: WAVE_CHECKPOINT_KEEP_LATEST)",
    )
    prune.add_argument("--dry-run", action="store_true", help="count, change nothing")
    prune.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    prune.set_defaults(existing=True, command=cmd_prune)

    vacuum = commands.add_parser(
        "vacuum", parents=[common], help="give the space of removed rows back (SQLite)"
    )
    vacuum.set_defaults(existing=True, command=cmd_vacuum)


async def cmd_prune(database: Database, args: argparse.Namespace) -> None:
    settings: Settings = args.settings
    keep = settings.checkpoint_keep_latest if args.keep_latest is None else args.keep_latest
    results = await prune_sessions(
        database, session_id=args.session, keep_latest=keep, dry_run=args.dry_run
    )
    if args.json:
        print(json.dumps({"dry_run": args.dry_run, "keep_latest": keep, "sessions": [
            {"session": str(r.session_id), "stories": r.stories, "skipped": r.skipped,
             **vars(r.report)} for r in results
        ]}))  # fmt: skip
        return
    verb = "would prune" if args.dry_run else "pruned"
    for result in results:
        print(_line(verb, result))
    if len(results) != 1:
        total = sum((r.report for r in results), start=PruneReport())
        print(
            f"{verb} {_counts(total)} in {len(results):,} sessions; kept {total.kept:,}"
            if results
            else "no sessions in this database"
        )


def _line(verb: str, result: SessionPrune) -> str:
    line = (
        f"{verb} {_counts(result.report)} from {result.stories:,} "
        f"{'story' if result.stories == 1 else 'stories'} in session {result.session_id}; "
        f"kept {result.report.kept:,}"
    )
    if result.skipped:
        line += "; skipped " + ", ".join(f"{s} ({why})" for s, why in result.skipped.items())
    return line


def _counts(report: PruneReport) -> str:
    return (
        f"{report.checkpoints:,} checkpoints, {report.writes:,} writes, {report.blobs:,} blobs "
        f"({human_size(report.blob_bytes)})"
    )


async def cmd_vacuum(database: Database, args: argparse.Namespace) -> None:
    path = database.sqlite_path
    if path is None:
        print("PostgreSQL reclaims space itself (autovacuum): nothing to do")
        return
    before = await database.size_bytes()
    await database.dispose()  # this process's own connections must not hold the file
    try:
        await asyncio.to_thread(_vacuum, path)
    except sqlite3.OperationalError as problem:
        if "locked" in str(problem) or "busy" in str(problem):
            raise WaveError(
                f"the database {path} is busy (a run is writing to it): try again when it is idle"
            ) from None
        raise WaveError(f"vacuum of {path} failed: {problem}") from None
    after = await database.size_bytes()  # the file alone: it needs no connection
    print(f"vacuumed {path}: {human_size(before)} -> {human_size(after)}")


def _vacuum(path: Path) -> None:
    # VACUUM cannot run inside a transaction: autocommit, and a short busy timeout so a running
    # session makes this fail with a message rather than wait.
    connection = sqlite3.connect(path, timeout=min(5, SQLITE_BUSY_TIMEOUT_S), isolation_level=None)
    try:
        connection.execute("VACUUM")
        connection.execute("PRAGMA optimize")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
