"""The console from the command line: `wave` opens the sessions screen, `wave attach SESSION`
watches (and steers) a session another process runs, and `wave run`, `wave demo` and `wave
resume` open their session's dashboard unless told to run headless."""

from __future__ import annotations

import argparse
import sys
import uuid
from typing import TYPE_CHECKING, Any

from wave_tui.cli_common import PROG
from wave_tui.config import Settings
from wave_tui.db import Database, SessionRepository
from wave_tui.domain.enums import SessionStatus

if TYPE_CHECKING:
    from wave_tui.engine.live import LiveSession


def add_console_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--readonly",
        action="store_true",
        help="an observer's console: every key that changes something is off",
    )


def add_parsers(commands: Any, common: argparse.ArgumentParser) -> None:
    attach = commands.add_parser(
        "attach",
        parents=[common],
        help="open the console on a session, also one another process (or machine) runs",
        description="Watch a session live from the database and steer it: hold, resume, kill, "
        "decide escalations. The process that runs the session applies your commands.",
    )
    attach.add_argument("session", metavar="SESSION", help="a session id (see `wave sessions`)")
    add_console_options(attach)
    attach.set_defaults(existing=True, command=cmd_attach, prepare=prepare_attach)


def interactive() -> bool:
    """A terminal on both ends: the console can open. Piped or redirected, commands print."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def wants_console(args: argparse.Namespace) -> bool:
    return not (args.headless or args.json) and interactive()


def prepare_attach(args: argparse.Namespace, settings: Settings) -> None:
    from wave_tui.recovery.manager import parse_session_id

    args.session_id = parse_session_id(args.session)


async def cmd_attach(database: Database, args: argparse.Namespace) -> int:
    async with database.session(readonly=True) as db:
        await SessionRepository(db).require(args.session_id)  # unknown: one line, exit 2
    return await open_console(
        database, args.settings, session_id=args.session_id, readonly=args.readonly
    )


async def cmd_home(database: Database, args: argparse.Namespace) -> int | None:
    """Bare `wave`: the console in a terminal, the sessions list when piped."""
    if not interactive():
        from wave_tui.cli import cmd_sessions

        await cmd_sessions(database, args)
        return 0
    return await open_console(database, args.settings, readonly=args.readonly)


async def open_console(
    database: Database,
    settings: Settings,
    *,
    session_id: uuid.UUID | None = None,
    live: LiveSession | None = None,
    readonly: bool = False,
) -> int:
    """Run the console until the operator quits. A session this process ran (`live`) sets the
    exit code as `wave run` does: 0 when it completed, 1 otherwise (with how to continue it)."""
    from wave_tui.tui.app import WaveApp

    app = WaveApp(database, settings, session_id=session_id, live=live, readonly=readonly)
    await app.run_async()
    if live is None:
        return 0
    if live.running:  # the app ended without the quit dialog (a crash of the UI): hold, not lose
        print("holding the running stories at their next step boundary…", file=sys.stderr)
        await live.hold_all("console closed")
    if live.session_id in app.detached:
        print(
            f"session {live.session_id} continues in the background; watch it with "
            f"`{PROG} attach {live.session_id}` (log: {settings.data_dir / 'logs'})",
            file=sys.stderr,
        )
        return 0
    async with database.session(readonly=True) as db:
        session = await SessionRepository(db).require(live.session_id)
    print(f"session {live.session_id}: {session.status}", file=sys.stderr)
    if session.status is SessionStatus.COMPLETED:
        return 0
    print(f"  continue it with: {PROG} resume {live.session_id}", file=sys.stderr)
    return 1
