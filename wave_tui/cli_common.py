"""What every `wave` command shares: the program name, one-line usage errors, failing."""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from wave_tui.errors import UserError

PROG = "wave"


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line instead of usage text plus a line."""

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message} (see `{self.prog} --help`)")


def fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def output_closed() -> int:
    """The reader of our output went away (`wave … | head`): stop quietly, as Unix tools do.
    stdout is pointed at /dev/null so flushing it at exit cannot fail a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 0
