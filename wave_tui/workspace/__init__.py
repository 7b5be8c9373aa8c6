"""Where stories change code: a git worktree per story, tools confined to it, a command runner."""

from __future__ import annotations

from wave_tui.domain.globs import matches_glob
from wave_tui.workspace.commands import CommandResult, child_environment, run_command
from wave_tui.workspace.git import WorkspaceError, git
from wave_tui.workspace.tools import ToolResult, WorkspaceTools
from wave_tui.workspace.worktree import Worktree

__all__ = [
    "CommandResult",
    "ToolResult",
    "WorkspaceError",
    "WorkspaceTools",
    "Worktree",
    "child_environment",
    "git",
    "matches_glob",
    "run_command",
]
