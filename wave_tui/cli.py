"""The `wave` command: thin calls into the layers; every error becomes one line and an exit code."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import closing
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from wave_tui import __version__
from wave_tui.checkpoint.tables import graph_checkpoints
from wave_tui.cli_common import (
    PROG,
    Parser,
    add_follow_options,
    fail,
    human_size,
    lazy,
    output_closed,
)
from wave_tui.config import display_url, load_settings
from wave_tui.db import Database, SessionRepository, WaveSession
from wave_tui.db.types import utcnow
from wave_tui.errors import EXIT_OPERATIONAL, UserError, WaveError, first_line
from wave_tui.logs import setup_logging

Command = Callable[[Database, argparse.Namespace], Awaitable[int | None]]


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        settings = load_settings()
        args.settings = settings
        if (offline := getattr(args, "offline", None)) is not None:
            return int(offline(args, settings))  # needs no database
        url = settings.resolve_database_url(db_path=args.db, database_url=args.database_url)
        setup_logging(settings.data_dir)
        if (prepare := getattr(args, "prepare", None)) is not None:
            prepare(args, settings)
        return asyncio.run(_run(url, args.command, args))
    except WaveError as exc:
        return fail(str(exc), exc.exit_code)
    except SQLAlchemyError as exc:
        return fail(f"database error: {first_line(exc)}", EXIT_OPERATIONAL)
    except BrokenPipeError:
        return output_closed()
    except OSError as exc:
        return fail(str(exc), EXIT_OPERATIONAL)
    except KeyboardInterrupt:
        return 130


async def _run(url: Any, command: Command, args: argparse.Namespace) -> int:
    database = Database(url)
    try:
        # Only the commands that start something create a database: a mistyped --db given to
        # any other gets one line, not a new empty file.
        path = database.sqlite_path
        if getattr(args, "existing", False) and path is not None and not path.exists():
            raise UserError(f"no database at {path}: `wave run` or `wave demo` creates one")
        await database.upgrade()
        return await command(database, args) or 0
    finally:
        await database.dispose()


# -- commands -------------------------------------------------------------------------------


async def cmd_sessions(database: Database, args: argparse.Namespace) -> None:
    if args.resumable:
        await _resumable_sessions(database, as_json=args.json)
        return
    async with database.session(readonly=True) as db:
        sessions = await SessionRepository(db).list()
    if args.json:
        _print_json([session_summary(session) for session in sessions])
    elif not sessions:
        kind = "interrupted sessions" if args.resumable else "sessions yet"
        print(f"No {kind} in {database.display_url}.")
    else:
        _print_table(
            ["ID", "PROJECT", "WAVE", "STATUS", "STORIES", "COST / BUDGET", "CREATED", "ENDED"],
            [_session_row(session) for session in sessions],
        )


async def _resumable_sessions(database: Database, *, as_json: bool) -> None:
    """The startup scan: interrupted sessions, what each can recover, and the command to do it."""
    from wave_tui.recovery import RecoveryManager

    found = await RecoveryManager(database).interrupted_sessions()
    if as_json:
        _print_json(
            [
                {**session_summary(session), "recoverable_stories": status["recoverable_stories"],
                 "resume_command": f"{PROG} resume {session.id}"}
                for session, status in found
            ]
        )  # fmt: skip
        return
    if not found:
        print(f"No interrupted sessions in {database.display_url}.")
        return
    _print_table(
        ["ID", "PROJECT", "WAVE", "STATUS", "STORIES", "COST / BUDGET", "CREATED", "ENDED"],
        [_session_row(session) for session, _ in found],
    )
    for session, status in found:
        stories = status["recoverable_stories"]
        listed = ", ".join(
            f"{s['story_id']} ({s['current_status']}, last {s['last_checkpoint']['gate'] or '-'})"
            for s in stories
        )
        print(f"\n{str(session.id)[:8]}: {listed or 'no checkpoint yet: its stories start over'}")
        print(f"  recover with: {PROG} resume {session.id}")


async def cmd_stats(database: Database, args: argparse.Namespace) -> None:
    async with database.session(readonly=True) as db:
        stats = await SessionRepository(db).statistics()
        graph = await db.scalar(select(func.count()).select_from(graph_checkpoints))
    size = await database.size_bytes()
    report = {
        "database": database.display_url,
        "size_bytes": size,
        **asdict(stats),
        "graph_checkpoints": graph or 0,
    }
    if args.json:
        _print_json(report)
        return
    print(f"database            {report['database']}")
    print(f"size                {human_size(size)}  (wave prune and wave vacuum make it smaller)")
    print(f"sessions            {stats.sessions}{_counts(stats.sessions_by_status)}")
    print(f"stories             {stats.stories}{_counts(stats.stories_by_status)}")
    print(f"resumable sessions  {stats.resumable_sessions}")
    print(f"tokens used         {stats.total_tokens:,}")
    print(f"cost                ${stats.total_cost_usd:.2f}")
    print(f"checkpoints         {stats.checkpoints:,}  (graph checkpoints {graph or 0:,})")
    print(f"events              {stats.events:,}")
    print(f"pending escalations {stats.pending_escalations}")


async def cmd_db_upgrade(database: Database, args: argparse.Namespace) -> None:
    # `_run` has already migrated; say where the database stands.
    revision = await database.current_revision()
    print(f"{database.display_url} is at schema revision {revision} (head)")


async def cmd_backup(database: Database, args: argparse.Namespace) -> None:
    source = database.sqlite_path
    if source is None:
        raise UserError(
            "wave backup copies SQLite databases; for PostgreSQL use pg_dump, e.g. "
            f"pg_dump --format=custom --file=wave.dump '{display_url(database.url)}'"
        )
    target = _backup_target(args.path, source)
    await asyncio.to_thread(_sqlite_backup, source, target)
    print(target)


def _backup_target(requested: Path | None, source: Path) -> Path:
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    name = f"{source.stem}-{stamp}{source.suffix or '.db'}"
    if requested is None:
        return source.parent / "backups" / name
    requested = requested.expanduser()
    if requested.is_dir():
        return requested / name
    if requested.exists():
        raise UserError(f"{requested} already exists; wave backup never overwrites a file")
    if requested.suffix in {".db", ".sqlite", ".sqlite3"}:
        return requested
    return requested / name


def _sqlite_backup(source: Path, target: Path) -> None:
    """Copy a live database with SQLite's online backup API; the file appears only when whole."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(partial)) as dst:
        src.backup(dst)
        (verdict,) = dst.execute("PRAGMA quick_check").fetchone()
    if verdict != "ok":
        partial.unlink(missing_ok=True)
        raise WaveError(f"the backup of {source} failed its integrity check: {verdict}")
    partial.rename(target)


# -- output ---------------------------------------------------------------------------------


def session_summary(session: WaveSession) -> dict[str, Any]:
    """The JSON shape of a session in `wave sessions --json`."""
    return {
        "id": str(session.id),
        "project_name": session.project_name,
        "project_path": session.project_path,
        "wave_number": session.wave_number,
        "status": str(session.status),
        "autonomy_level": str(session.autonomy_level),
        "concurrency": session.concurrency,
        "story_count": session.story_count,
        "stories_completed": session.stories_completed,
        "stories_failed": session.stories_failed,
        "budget_usd": float(session.budget_usd),
        "actual_cost_usd": float(session.actual_cost_usd),
        "token_limit": session.token_limit,
        "tokens_used": session.tokens_used,
        "created_at": session.created_at.isoformat(),
        "started_at": _iso(session.started_at),
        "completed_at": _iso(session.completed_at),
    }


def _session_row(session: WaveSession) -> list[str]:
    stories = f"{session.stories_completed}/{session.story_count}"
    if session.stories_failed:
        stories += f" ({session.stories_failed} failed)"
    return [
        str(session.id)[:8],
        session.project_name,
        str(session.wave_number),
        str(session.status),
        stories,
        f"${session.actual_cost_usd:.2f} / ${session.budget_usd:.2f}",
        _short_time(session.created_at),
        _short_time(session.completed_at),
    ]


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def _print_json(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2, default=_json_default)
    sys.stdout.write("\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot put {type(value).__name__} in JSON")


def _counts(by_status: dict[str, int]) -> str:
    parts = [f"{count} {status}" for status, count in sorted(by_status.items())]
    return f"  ({', '.join(parts)})" if parts else ""


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _short_time(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else "-"


# -- arguments ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    # Database options work before or after the subcommand: `wave --db X sessions` and
    # `wave sessions --db X`. SUPPRESS keeps a subcommand from resetting what came before it.
    common = Parser(add_help=False)
    _database_options(common, default=argparse.SUPPRESS)

    parser = Parser(
        prog=PROG,
        description="wave: watch and steer LLM agents taking coding stories through eight gates.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _database_options(parser, default=None)
    from wave_tui import cli_console

    cli_console.add_console_options(parser)
    parser.set_defaults(command=cli_console.cmd_home, resumable=False, json=False)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    sessions = commands.add_parser(
        "sessions", parents=[common], help="list sessions, newest first", description=None
    )
    sessions.add_argument(
        "--resumable", action="store_true", help="only interrupted sessions that can be recovered"
    )
    sessions.add_argument("--json", action="store_true", help="print one JSON list on stdout")
    sessions.set_defaults(command=cmd_sessions)

    stats = commands.add_parser("stats", parents=[common], help="totals across all sessions")
    stats.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    stats.set_defaults(existing=True, command=cmd_stats)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(title="commands", metavar="COMMAND", required=True)
    upgrade = db_commands.add_parser(
        "upgrade", parents=[common], help="migrate the database to the newest schema"
    )
    upgrade.set_defaults(command=cmd_db_upgrade)

    backup = commands.add_parser(
        "backup",
        parents=[common],
        help="copy the SQLite database to a timestamped file, safely while it is in use",
    )
    backup.add_argument(
        "path",
        nargs="?",
        type=Path,
        help="a directory (default: backups/ beside the database) or a new .db file",
    )
    backup.set_defaults(existing=True, command=cmd_backup)
    _run_parsers(commands, common)
    from wave_tui import (
        cli_control,
        cli_escalations,
        cli_maintenance,
        cli_recovery,
        cli_resume,
        cli_safety,
    )

    cli_safety.add_parsers(commands)
    cli_escalations.add_parsers(commands, common)
    cli_recovery.add_parsers(commands, common)
    cli_control.add_parsers(commands, common)
    cli_resume.add_parsers(commands, common)
    cli_console.add_parsers(commands, common)
    cli_maintenance.add_parsers(commands, common)
    return parser


def _run_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    follow = Parser(add_help=False)
    add_follow_options(follow)
    follow.add_argument("--session-name", help="default: the project directory's name")
    follow.add_argument("--budget-usd", type=float, help="session budget in USD")
    follow.add_argument("--token-limit", type=int, help="session token limit")
    follow.add_argument("--concurrency", type=int, default=1, help="stories run at once")

    run = commands.add_parser(
        "run", parents=[common, follow], help="run stories against a project's git repository"
    )
    run.add_argument("stories", nargs="+", type=Path, metavar="STORY_FILES")
    run.add_argument("--project", type=Path, required=True, metavar="DIR")
    run.add_argument("--provider", choices=["anthropic", "replay"])
    run.add_argument("--script", type=Path, metavar="FILE", help="replay script (offline)")
    run.add_argument("--record", type=Path, metavar="FILE", help="record the run as a script")
    run.add_argument("--autonomy", choices=["L0", "L1", "L2", "L3"], default="L2")
    run.set_defaults(
        command=lazy("wave_tui.cli_run", "cmd_run"), prepare=lazy("wave_tui.cli_run", "prepare_run")
    )

    demo = commands.add_parser(
        "demo",
        parents=[common, follow],
        help="create a small demo project and run the shipped demo stories offline",
    )
    demo.add_argument("--project", type=Path, metavar="DIR", help="a new directory")
    demo.set_defaults(
        command=lazy("wave_tui.cli_run", "cmd_demo"),
        prepare=lazy("wave_tui.cli_run", "prepare_demo"),
    )


def _database_options(parser: argparse.ArgumentParser, *, default: Any) -> None:
    group = parser.add_argument_group("database")
    group.add_argument(
        "--db",
        type=Path,
        default=default,
        metavar="PATH",
        help="use this SQLite file (default: wave.db in the user data directory)",
    )
    group.add_argument(
        "--database-url",
        default=default,
        metavar="URL",
        help="use this database, e.g. postgresql://user:password@host:5432/wave",
    )


if __name__ == "__main__":
    raise SystemExit(main())
