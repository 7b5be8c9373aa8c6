"""What every `wave` command shares: the program name, one-line usage errors, failing."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from wave_tui.errors import UserError

PROG = "wave"


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line instead of usage text plus a line."""

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message} (see `{self.prog} --help`)")


def human_size(size: int) -> str:
    """Bytes as people read them: 892.9 KB, 14.5 MB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def output_closed() -> int:
    """The reader of our output went away (`wave … | head`): stop quietly, as Unix tools do.
    stdout is pointed at /dev/null so flushing it at exit cannot fail a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0


def lazy(module: str, name: str) -> Callable[..., Any]:
    """A command (or prepare step) imported only when it runs: `wave status` must not pay for
    importing the engine, LangGraph and the model SDKs that `wave run` needs."""

    def call(*args: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args)

    call.__name__ = name
    return call


def add_follow_options(parser: argparse.ArgumentParser) -> None:
    """How a command that runs a session shows it and answers its escalations."""
    parser.add_argument(
        "--headless",
        action="store_true",
        help="print one line per event instead of opening the console (so does a run whose "
        "output is not a terminal)",
    )
    parser.add_argument("--json", action="store_true", help="events as JSON lines")
    parser.add_argument(
        "--on-escalation",
        choices=["wait", "reject"],
        default="wait",
        help="wait for a decision from another terminal (default) or reject every escalation",
    )
