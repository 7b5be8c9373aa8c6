"""Run an agent's command in a worktree: own process group, timeout, capped output, no secrets."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from wave_tui.workspace.git import WorkspaceError
from wave_tui.workspace.processes import kill_group

EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126
EXIT_TIMED_OUT = -9

# Name fragments of variables that hold credentials; agents' commands must never see them.
_SECRET_FRAGMENTS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL")
# WAVE's own settings (and the database URL, which may carry a password) are the operator's.
_OPERATOR_PREFIXES = ("WAVE_", "ANTHROPIC_")
_OPERATOR_NAMES = frozenset({"DATABASE_URL"})
# After the leader exits, output still held open by an escaped grandchild is not waited for long.
_DRAIN_GRACE_S = 2.0
_CHUNK = 65_536


@dataclass(frozen=True)
class CommandResult:
    """What a command did: its exit code, its interleaved stdout+stderr, and how long it took."""

    argv: tuple[str, ...]
    exit_code: int
    output: str
    timed_out: bool
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


def is_secret_variable(name: str) -> bool:
    """True for environment variables an agent's command must not inherit."""
    upper = name.upper()
    return (
        any(fragment in upper for fragment in _SECRET_FRAGMENTS)
        or upper.startswith(_OPERATOR_PREFIXES)
        or upper in _OPERATOR_NAMES
    )


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The parent's environment without credentials, plus the caller's explicit `extra`.

    wave's own interpreter comes first on PATH, so `python -m pytest` in an agent's command runs
    with the same Python (and pytest) that QA uses.
    """
    environment = {
        name: value for name, value in os.environ.items() if not is_secret_variable(name)
    }
    interpreter_dir = str(Path(sys.executable).parent)
    environment["PATH"] = os.pathsep.join([interpreter_dir, environment.get("PATH", os.defpath)])
    environment.update(extra or {})
    return environment


class _CappedOutput:
    """Keeps the head and the tail of a stream; the middle is counted, not stored."""

    def __init__(self, cap: int) -> None:
        self._head_cap = cap // 2
        self._tail_cap = cap - self._head_cap
        self._head = bytearray()
        self._tail = bytearray()
        self._total = 0

    def feed(self, chunk: bytes) -> None:
        self._total += len(chunk)
        room = self._head_cap - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self._tail += chunk
            del self._tail[: max(0, len(self._tail) - self._tail_cap)]

    def text(self) -> str:
        cut = self._total - len(self._head) - len(self._tail)
        head = self._head.decode("utf-8", errors="replace")
        tail = self._tail.decode("utf-8", errors="replace")
        if cut <= 0:
            return head + tail
        return f"{head}\n[… {cut} bytes cut]\n{tail}"


async def run_command(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout: float,  # noqa: ASYNC109 - the child is killed, not just abandoned, at the deadline
    output_cap: int = 64_000,
    env: Mapping[str, str] | None = None,
) -> CommandResult:
    """Run `argv` in `cwd`; on timeout kill its whole process group. Never raises for the child.

    `env` adds variables to the scrubbed parent environment. A missing program gives exit code
    127 and a one-line output; a missing `cwd` or empty argv is the caller's bug (WorkspaceError).
    """
    args = tuple(argv)
    if not args:
        raise WorkspaceError("cannot run an empty command")
    started = time.monotonic()
    # Our own pipe, not asyncio's: asyncio's `wait()` also waits for its pipes to close, which a
    # background grandchild holding stdout would delay until the timeout.
    read_fd, write_fd = os.pipe()
    try:
        process = await asyncio.create_subprocess_exec(
            *args,
            cwd=cwd,
            env=child_environment(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=write_fd,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as error:
        os.close(read_fd)
        if isinstance(error, FileNotFoundError) and str(error.filename) == str(cwd):
            raise WorkspaceError(
                f"cannot run {args[0]!r}: directory {cwd} does not exist"
            ) from None
        return _failed_to_start(args, error, started)
    finally:
        os.close(write_fd)

    output = _CappedOutput(output_cap)
    stream = asyncio.StreamReader()
    transport, _ = await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(stream), os.fdopen(read_fd, "rb", buffering=0)
    )
    reader = asyncio.create_task(_read_all(stream, output))
    timed_out = False
    try:
        await asyncio.wait_for(process.wait(), timeout)
    except TimeoutError:
        timed_out = True
    finally:
        # Background children of the command die with it, whether it finished or timed out
        # (or our caller was cancelled): no orphan keeps running in the worktree.
        kill_group(process.pid)
        if process.returncode is None:
            await process.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(reader), _DRAIN_GRACE_S)
        reader.cancel()
        transport.close()
    exit_code = EXIT_TIMED_OUT if timed_out else (process.returncode or 0)
    text = output.text()
    if timed_out:
        text += f"\n[timed out after {timeout:g}s; process group killed]"
    return CommandResult(args, exit_code, text, timed_out, time.monotonic() - started)


async def _read_all(stream: asyncio.StreamReader, output: _CappedOutput) -> None:
    while chunk := await stream.read(_CHUNK):
        output.feed(chunk)


def _failed_to_start(args: tuple[str, ...], error: OSError, started: float) -> CommandResult:
    if isinstance(error, FileNotFoundError):
        code, reason = EXIT_NOT_FOUND, "command not found"
    else:
        code, reason = EXIT_NOT_EXECUTABLE, error.strerror or str(error)
    return CommandResult(args, code, f"{args[0]}: {reason}", False, time.monotonic() - started)
