"""Run git asynchronously with WAVE's own identity; a failure is one line naming the command."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wave_tui.errors import WaveError
from wave_tui.workspace.processes import kill_group

# WAVE commits on machines with no global git identity, and never waits for a prompt.
_GIT_ENVIRONMENT = {
    "GIT_AUTHOR_NAME": "WAVE agent",
    "GIT_AUTHOR_EMAIL": "wave@localhost",
    "GIT_COMMITTER_NAME": "WAVE agent",
    "GIT_COMMITTER_EMAIL": "wave@localhost",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_EDITOR": "true",
    # Messages in English so the first stderr line means the same everywhere.
    "LC_ALL": "C",
}
# Settings every WAVE git command runs with, given on the command line so they win over any
# configuration:
# - no hook runs. WAVE's commands are not scored as agent actions are, and a hook may be code an
#   agent wrote: a project with its hooks in its tree (core.hooksPath = .hooks, as husky sets
#   up) checks the agent's versions out with the story branch, and a hook manager in .git/hooks
#   reads its configuration from the tree. --no-verify would still run post-commit, post-merge,
#   post-checkout and reference-transaction. The gates are the checks a story passes.
# - no commit is signed. WAVE's commits are the agents' work under WAVE's identity, not the
#   operator's to sign, and a signing key that needs a passphrase would wait for a prompt
#   (gpg-agent's pinentry on the terminal the console draws on).
_ENGINE_SETTINGS = ("-c", f"core.hooksPath={os.devnull}", "-c", "commit.gpgsign=false")


# How long a git command may take: beyond it, it is stopped and the story fails on the record
# (recoverable) instead of hanging where a hold or kill, drained between steps, cannot reach it.
GIT_TIMEOUT_S = 600.0
# How long a git command whose caller was cancelled may take to finish before it is killed.
GIT_FINISH_S = 30.0


class WorkspaceError(WaveError):
    """A worktree, branch, merge or command could not be set up or used; nothing half-done."""


@dataclass(frozen=True)
class GitResult:
    """One finished git command."""

    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    def failure(self) -> WorkspaceError:
        """The one-line error for this command: what ran and git's first complaint."""
        reason = next((line for line in self.stderr.splitlines() if line.strip()), "")
        reason = reason or f"exit code {self.exit_code}"
        return WorkspaceError(f"git {shlex.join(self.args)} failed: {reason.strip()}")


async def run_git(*args: str, cwd: Path) -> GitResult:
    """Run `git args` in `cwd` and return its result whatever the exit code."""
    try:
        process = await asyncio.create_subprocess_exec(
            "git",
            *_ENGINE_SETTINGS,
            *args,
            cwd=cwd,
            env={**os.environ, **_GIT_ENVIRONMENT},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            # A session of its own: no controlling terminal to prompt on, and a Ctrl-C meant for
            # wave does not kill a commit or merge halfway (leaving .git/index.lock behind).
            start_new_session=True,
        )
    except OSError as error:
        reason = "git is not installed"
        if str(error.filename) == str(cwd):
            reason = f"{cwd} is not an existing directory"
        raise WorkspaceError(f"git {shlex.join(args)} failed: {reason}") from error
    finished = asyncio.ensure_future(process.communicate())
    try:
        stdout, stderr = await asyncio.wait_for(asyncio.shield(finished), GIT_TIMEOUT_S)
    except TimeoutError:
        kill_group(process.pid)
        with contextlib.suppress(TimeoutError):  # the pipes close with the process group
            await asyncio.wait_for(asyncio.shield(finished), GIT_FINISH_S)
        raise WorkspaceError(
            f"git {shlex.join(args)} failed: did not finish within {GIT_TIMEOUT_S:g} s "
            "and was stopped"
        ) from None
    except asyncio.CancelledError:
        await _let_finish(process, finished)
        raise
    return GitResult(
        args,
        process.returncode if process.returncode is not None else -1,
        stdout.decode("utf-8", errors="replace"),
        stderr.decode("utf-8", errors="replace"),
    )


async def _let_finish(process: asyncio.subprocess.Process, finished: asyncio.Future[Any]) -> None:
    """The caller was cancelled (wave is shutting down): git still finishes what it started,
    since a commit or merge stopped halfway leaves index.lock or a half-merged checkout behind.
    Only a git that has not finished within GIT_FINISH_S is killed."""
    try:
        await asyncio.wait_for(asyncio.shield(finished), GIT_FINISH_S)
    except TimeoutError:
        kill_group(process.pid)
    except asyncio.CancelledError:
        pass  # cancelled again while waiting: the first cancellation goes on


async def git(*args: str, cwd: Path, check: bool = True) -> str:
    """Stdout of `git args` run in `cwd`; a non-zero exit raises WorkspaceError when `check`."""
    result = await run_git(*args, cwd=cwd)
    if check and result.exit_code != 0:
        raise result.failure()
    return result.stdout
