"""Tools for the kill -9 proof: a `wave` process watched event by event and killed on cue, and
what a crash must never lose, read straight from the SQLite file and the project's git history.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# A process silent this long is hung (a resume waiting out a dead process's lease, say): the
# demo never goes more than a few seconds without an event.
SILENCE_LIMIT_S = 90.0
_SESSION_LINE = re.compile(r"^session ([0-9a-f-]{36})$", re.MULTILINE)

Event = dict[str, Any]


@dataclass(frozen=True)
class KillPoint:
    """Where to strike: at the first event of `kind` for `story` whose top-level `agent` and
    payload fields equal `fields` (e.g. node="pm", tool="run_command"), then as soon as the
    process runs a child whose command line holds all words of `child` (e.g. git commit) if
    that comes before its next event, then after `delay_s`."""

    label: str
    kind: str
    story: str
    delay_s: float = 0.0
    fields: dict[str, Any] = field(default_factory=dict)
    child: tuple[str, ...] = ()

    def matches(self, event: Event) -> bool:
        payload = event.get("payload") or {}
        if event.get("kind") != self.kind or payload.get("story") != self.story:
            return False
        for key, wanted in self.fields.items():
            value = event.get(key) if key == "agent" else payload.get(key)
            if value != wanted:
                return False
        return True


@dataclass
class Strike:
    """What happened at one kill point."""

    point: KillPoint
    delivered: bool  # SIGKILL reached a live process and ended it
    landed: str  # "0.3 s into pytest", "right after DEMO-1 step pm": where SIGKILL struck


def _wave_main(argv: list[str], env: dict[str, str], cwd: str, out: str, err: str) -> None:
    """The body of a `wave` process: `python -m wave_tui ARGV` with stdout and stderr in files."""
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    for fd, path in ((1, out), (2, err)):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(handle, fd)
        os.close(handle)
    sys.stdout = open(1, "w", encoding="utf-8", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", buffering=1, closefd=False)  # noqa: SIM115
    sys.argv = ["wave", *argv]
    from wave_tui.entry import main

    raise SystemExit(main())


# A fresh interpreter spends seconds importing the engine and the SDKs; a dozen of them would
# not fit the test's time. Each `wave` process is forked from a server that imported them once:
# its own process all the same, with its own pid for SIGKILL and its own exit code.
_FORKS = multiprocessing.get_context("forkserver")
# What `wave run` and `wave resume` import (per `python -X importtime`; a name that is gone is
# skipped by the server, only costing time), and the test runner's main script, which each
# child would otherwise import again.
_FORKS.set_forkserver_preload(
    ["__main__", "wave_tui.cli", "wave_tui.cli_run", "wave_tui.cli_resume", "aiosqlite",
     "genai_prices.data", "tests.kill_helpers"]
)  # fmt: skip


class WaveProcess:
    """A `wave --db DB ARGS…` process whose JSON events are read line by line as they come."""

    def __init__(self, db: Path, args: Sequence[str], log: Path) -> None:
        self.log = log
        self.events: list[Event] = []
        self.stdout = log.with_suffix(".jsonl")
        self.stdout.touch()
        self._out = self.stdout.open("rb")
        self._partial = b""
        self.name = " ".join(args[:2])
        self.exit_code: int | None = None
        self.process = _FORKS.Process(
            target=_wave_main,
            args=(["--db", str(db), *args], dict(os.environ), os.getcwd(), str(self.stdout),
                  str(log)),
            name=self.name,
        )  # fmt: skip
        self.process.start()
        assert self.process.pid is not None
        self.pid = self.process.pid
        self._heard = time.monotonic()
        self._ended = False

    def _poll_event(self) -> Event | None:
        """The next event if a whole line of it has been printed, without waiting."""
        self._partial += self._out.readline()
        if not self._partial.endswith(b"\n"):
            return None
        event: Event = json.loads(self._partial)
        self._partial = b""
        self._heard = time.monotonic()
        self.events.append(event)
        return event

    def _next_event(self) -> Event | None:
        """The next event printed, or None once the process is gone and all it printed is read."""
        while not self._ended:
            gone = self.process.exitcode is not None  # before reading: its output is all there
            if (event := self._poll_event()) is not None:
                return event
            if gone:
                self._ended = True  # a line cut short by the kill is not an event
            elif time.monotonic() - self._heard > SILENCE_LIMIT_S:
                self.process.kill()
                raise AssertionError(f"no event for {SILENCE_LIMIT_S:.0f} s: {self.describe()}")
            else:
                time.sleep(0.005)
        return None

    def _child_running(self, words: Sequence[str]) -> bool:
        """Wait until a child of the process runs a command holding all `words` (True), or the
        process prints its next event or ends first (False: that moment has passed)."""
        while self.process.exitcode is None:
            if any(set(words) <= set(argv) for argv in _children(self.pid)):
                return True
            if self._poll_event() is not None:
                return False
            time.sleep(0.001)
        return False

    def kill_at_first(self, points: Sequence[KillPoint]) -> Strike | None:
        """SIGKILL the process at the first cue of any of `points` (a point whose moment already
        passed is skipped for a later one); None if the process ended first."""
        while (event := self._next_event()) is not None:
            point = next((point for point in points if point.matches(event)), None)
            if point is not None:
                break
        else:
            return None
        during = bool(point.child) and self._child_running(point.child)
        time.sleep(point.delay_s)
        alive = self.process.exitcode is None
        if alive:
            self.process.kill()  # SIGKILL
        code = self.wait()
        if during:
            child = " ".join(point.child)
            where = f"{point.delay_s} s into {child}" if point.delay_s else f"during {child}"
        elif point.delay_s:
            where = f"{point.delay_s} s after {_describe(event)}"
        else:
            where = f"right after {_describe(self.events[-1])}"
        return Strike(point, alive and code == -signal.SIGKILL, where)

    def wait(self) -> int:
        """Read to the end and return the exit code."""
        while self._next_event() is not None:
            pass
        self.process.join()
        assert self.process.exitcode is not None
        self.exit_code = self.process.exitcode
        return self.exit_code

    def close(self) -> None:
        """Kill the process if it still runs and release what it holds: a failed test leaves
        nothing behind."""
        if self.process.exitcode is None:
            self.process.kill()
        self.process.join()
        self.exit_code = self.process.exitcode
        self.process.close()
        self._out.close()

    def session_id(self) -> str:
        found = _SESSION_LINE.search(self.log.read_text())
        assert found, f"no `session <id>` line: {self.describe()}"
        return found.group(1)

    def describe(self) -> str:
        """The command, its exit code and its last words, for an assertion message."""
        tail = self.log.read_text(errors="replace")[-2000:]
        return f"wave {self.name} exit {self.exit_code}\nstderr: {tail}"


def _children(pid: int) -> list[list[str]]:
    """The command lines of a process's children, from /proc (none where there is no /proc).
    The program is given by its file name, so `git` matches /usr/bin/git."""
    commands = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            try:
                argv = Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue  # already gone
            words = [word for word in argv.split("\0") if word]
            if words:
                commands.append([Path(words[0]).name, *words[1:]])
    return commands


def _describe(event: Event) -> str:
    payload = event.get("payload") or {}
    what = payload.get("node") or payload.get("tool") or payload.get("conversation") or ""
    return " ".join(str(part) for part in (payload.get("story"), event["kind"], what) if part)


@dataclass(frozen=True)
class Durable:
    """Rows that, once committed, no crash or recovery may take away."""

    checkpoints: frozenset[int]
    graph_checkpoints: frozenset[tuple[str, str, str]]
    llm_turns: frozenset[tuple[int, str, int, str, int]]

    def missing_from(self, later: Durable) -> dict[str, list[Any]]:
        """What this snapshot has that `later` lost, by table."""
        lost: dict[str, list[Any]] = {
            "wave_checkpoints": sorted(self.checkpoints - later.checkpoints),
            "wave_graph_checkpoints": sorted(self.graph_checkpoints - later.graph_checkpoints),
            "wave_llm_turns": sorted(self.llm_turns - later.llm_turns),
        }
        return {table: rows for table, rows in lost.items() if rows}


def durable(db: Path) -> Durable:
    with _read(db) as connection:
        return Durable(
            frozenset(row[0] for row in connection.execute("SELECT id FROM wave_checkpoints")),
            frozenset(
                connection.execute(
                    "SELECT thread_id, checkpoint_ns, checkpoint_id FROM wave_graph_checkpoints"
                )
            ),
            frozenset(
                connection.execute(
                    "SELECT id, story_execution_id, epoch, conversation, turn FROM wave_llm_turns"
                )
            ),
        )


def statuses(db: Path) -> tuple[str, dict[str, str]]:
    """The session's status and each story's, as stored."""
    with _read(db) as connection:
        (session,) = connection.execute("SELECT status FROM wave_sessions").fetchall()
        stories = connection.execute("SELECT story_id, status FROM wave_story_executions")
        return session[0], dict(stories.fetchall())


def escalations(db: Path) -> list[tuple[str, str]]:
    """Each escalation's story and status, in the order they were raised."""
    with _read(db) as connection:
        rows = connection.execute(
            "SELECT s.story_id, e.status FROM wave_escalations e "
            "JOIN wave_story_executions s ON s.id = e.story_execution_id ORDER BY e.id"
        )
        return [(story, status) for story, status in rows.fetchall()]


def _read(db: Path) -> closing[sqlite3.Connection]:
    """A short-lived connection: opening it after a kill recovers the WAL, as the next run would."""
    return closing(sqlite3.connect(db, timeout=30))


def git_lines(project: Path, *args: str) -> list[str]:
    result = subprocess.run(
        ["git", *args], cwd=project, capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout.splitlines()
