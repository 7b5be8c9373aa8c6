"""`wave demo` in a real terminal (a pseudo-terminal): the command opens the console on the
demo's dashboard, and quitting with stories running holds them and says how to continue."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time
from pathlib import Path

import pytest

from wave_tui.db import Database, SessionRepository, StoryExecutionRepository
from wave_tui.domain.enums import StoryStatus

pytestmark = pytest.mark.timeout(300)
SHIFT_TAB, ENTER = b"\x1b[Z", b"\r"


class Terminal:
    """A child process on a pseudo-terminal of 160 x 48, and everything it wrote so far."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: sizes its terminal before the command can ask, then runs it
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
            os.execve(argv[0], argv, env)
        self.output = b""
        self.status: int | None = None

    def read_until(self, needle: bytes, within: float) -> None:
        deadline = time.monotonic() + within
        while needle not in self.output:
            if time.monotonic() > deadline or not self._read(0.2):
                tail = self.output[-2000:].decode(errors="replace")
                raise AssertionError(f"{needle!r} not shown within {within:.0f} s: …{tail}")

    def send(self, *keys: bytes) -> None:
        for key in keys:
            os.write(self.fd, key)
            self._read(0.3)

    def wait(self, within: float) -> int:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            self._read(0.2)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                return self.status
        raise AssertionError(f"still running after {within:.0f} s")

    def close(self) -> None:
        if self.status is None:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        os.close(self.fd)

    def _read(self, wait: float) -> bool:
        """False once the child has closed the terminal."""
        ready, _, _ = select.select([self.fd], [], [], wait)
        if ready:
            try:
                self.output += os.read(self.fd, 1 << 16)
            except OSError:
                return False
        return True


def test_wave_demo_opens_the_console_and_quitting_holds_the_running_stories(
    tmp_path: Path,
) -> None:
    db = tmp_path / "wave.db"
    # COLUMNS and LINES win over the terminal's own size (a pytest worker may have set them).
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "48",
           "WAVE_OPERATOR": "ops-carol"}  # fmt: skip
    argv = [sys.executable, "-m", "wave_tui", "--db", str(db), "demo",
            "--project", str(tmp_path / "demo")]  # fmt: skip
    terminal = Terminal(argv, env)
    try:
        terminal.read_until(b"Gates 0-7", within=120)  # the dashboard's table, not event lines
        terminal.read_until(b"in progress", within=60)
        terminal.send(b"q")
        terminal.read_until(b"Hold and quit", within=30)
        # Focus starts on Cancel; Hold and quit is two buttons before it.
        terminal.send(SHIFT_TAB, SHIFT_TAB, ENTER)
        code = terminal.wait(within=180)
    finally:
        terminal.close()
    shown = terminal.output.decode(errors="replace")
    assert code == 1  # the session did not complete
    assert "continue it with: wave resume" in shown
    assert "Traceback" not in shown
    held = asyncio.run(_held_stories(db))
    assert held
    assert all(reason == "held: console closed by ops-carol" for reason in held.values())


async def _held_stories(db: Path) -> dict[str, str]:
    database = Database(f"sqlite+aiosqlite:///{db}")
    try:
        async with database.session(readonly=True) as session:
            (row,) = await SessionRepository(session).list()
            stories = await StoryExecutionRepository(session).list_by_session(row.id)
        return {
            s.story_id: s.block_reason or "" for s in stories if s.status is StoryStatus.BLOCKED
        }
    finally:
        await database.dispose()
