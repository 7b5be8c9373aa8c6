"""The Dev agent's tools (write, read, list, run), confined to one worktree.

A refusal is a result the agent reads, never an exception, and it leaves no trace on disk.
"""

from __future__ import annotations

import asyncio
import copy
import os
import posixpath
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from wave_tui.domain.globs import matches_glob
from wave_tui.workspace.commands import run_command

# Directories a listing skips: tool caches and installed dependencies, not the story's code.
_NOT_LISTED = frozenset(
    {".git", "__pycache__", "node_modules", ".venv", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
)
_MAX_LISTED = 2_000


@dataclass(frozen=True)
class ToolResult:
    """What a tool call did. `content` is what the agent sees; the rest is for the engine."""

    ok: bool
    content: str
    files_written: tuple[str, ...] = ()
    exit_code: int | None = None
    timed_out: bool = False

    @classmethod
    def refused(cls, reason: str) -> ToolResult:
        return cls(ok=False, content=f"refused: {reason}")


class _Refused(Exception):
    """A path or argument the tools will not touch; becomes ToolResult.refused."""


class WorkspaceTools:
    """File and command tools an agent uses inside `root`; nothing they do reaches outside it."""

    def __init__(
        self,
        root: Path,
        *,
        forbidden: Sequence[str] = (),
        command_timeout: float = 120,
        output_cap: int = 64_000,
    ) -> None:
        self.root = root.resolve()
        self.forbidden = tuple(forbidden)
        self.command_timeout = command_timeout
        self.output_cap = output_cap

    # -- path confinement -------------------------------------------------------------------

    def _relative(self, path: str) -> str:
        """The normalised path inside root that `path` names, real (symlinks followed)."""
        if not path or "\0" in path:
            raise _Refused("an empty or malformed path")
        if path.startswith(("/", "\\", "~")) or re.match(r"[A-Za-z]:[\\/]", path):
            raise _Refused(f"{path!r} is absolute; use a path relative to the workspace")
        lexical = posixpath.normpath(path.replace("\\", "/"))
        if lexical == ".." or lexical.startswith("../"):
            raise _Refused(f"{path!r} leaves the workspace")
        self._check_allowed(lexical, path)
        real = Path(os.path.realpath(self.root / lexical))
        if real != self.root and not real.is_relative_to(self.root):
            raise _Refused(f"{path!r} resolves through a symlink to {real}, outside the workspace")
        relative = real.relative_to(self.root).as_posix()
        self._check_allowed(relative, path)
        return relative

    def _check_allowed(self, relative: str, asked: str) -> None:
        segments = PurePosixPath(relative).parts
        if any(segment.lower() == ".git" for segment in segments):
            raise _Refused(f"{asked!r} is inside .git, which only WAVE manages")
        for pattern in self.forbidden:
            if matches_glob(relative, pattern):
                raise _Refused(f"{asked!r} matches the story's forbidden pattern {pattern!r}")

    def _display(self, relative: str) -> str:
        return relative if relative != "." else "the workspace root"

    # -- tools ------------------------------------------------------------------------------

    async def write_file(self, path: str, content: str) -> ToolResult:
        """Create or overwrite a text file (and its parent directories)."""
        return await asyncio.to_thread(self._write_file, path, content)

    async def read_file(self, path: str) -> ToolResult:
        """A text file's content, capped at `output_cap` characters."""
        return await asyncio.to_thread(self._read_file, path)

    async def list_files(self, path: str = ".") -> ToolResult:
        """Every file under a directory, one relative path a line (empty directories end in /)."""
        return await asyncio.to_thread(self._list_files, path)

    def _write_file(self, path: str, content: str) -> ToolResult:
        try:
            relative = self._relative(path)
        except _Refused as refusal:
            return ToolResult.refused(str(refusal))
        target = self.root / relative
        if relative == "." or target.is_dir():
            return ToolResult(ok=False, content=f"error: {path!r} is a directory")
        data = content.encode("utf-8")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        except OSError as error:
            return ToolResult(ok=False, content=f"error: cannot write {relative}: {error.strerror}")
        return ToolResult(
            ok=True, content=f"wrote {len(data)} bytes to {relative}", files_written=(relative,)
        )

    def _read_file(self, path: str) -> ToolResult:
        try:
            relative = self._relative(path)
        except _Refused as refusal:
            return ToolResult.refused(str(refusal))
        target = self.root / relative
        if not target.is_file():
            what = "is a directory" if target.is_dir() else "does not exist"
            return ToolResult(ok=False, content=f"error: {self._display(relative)} {what}")
        try:
            text = target.read_text("utf-8", "replace")
        except OSError as error:
            return ToolResult(ok=False, content=f"error: cannot read {relative}: {error.strerror}")
        if len(text) > self.output_cap:
            cut = len(text) - self.output_cap
            text = f"{text[: self.output_cap]}\n[… {cut} characters cut]"
        return ToolResult(ok=True, content=text)

    def _list_files(self, path: str) -> ToolResult:
        try:
            relative = self._relative(path)
        except _Refused as refusal:
            return ToolResult.refused(str(refusal))
        target = self.root / relative
        if not target.is_dir():
            return ToolResult(ok=False, content=f"error: {path!r} is not a directory")
        names = self._walk(target)
        if not names:
            return ToolResult(ok=True, content=f"{self._display(relative)} is empty")
        shown = names[:_MAX_LISTED]
        more = f"\n[… {len(names) - _MAX_LISTED} more]" if len(names) > _MAX_LISTED else ""
        return ToolResult(ok=True, content="\n".join(shown) + more)

    def _walk(self, top: Path) -> list[str]:
        names: list[str] = []
        for directory, subdirectories, files in os.walk(top):
            here = Path(directory).relative_to(self.root)
            subdirectories[:] = sorted(d for d in subdirectories if d not in _NOT_LISTED)
            entries = [(name, True) for name in subdirectories if _is_empty(Path(directory, name))]
            # In a worktree `.git` is a file pointing at the repository's metadata.
            entries += [(name, False) for name in files if name != ".git"]
            for name, is_empty_directory in entries:
                relative = (here / name).as_posix()
                if not any(matches_glob(relative, pattern) for pattern in self.forbidden):
                    names.append(relative + "/" if is_empty_directory else relative)
        return sorted(names)

    async def run_command(
        self,
        argv: list[str],
        timeout: float | None = None,  # noqa: ASYNC109 - the model asks; the child is killed
    ) -> ToolResult:
        """Run a program (no shell) in the workspace root; `timeout` is capped by the operator's."""
        if not argv or not all(isinstance(arg, str) for arg in argv) or not argv[0]:
            return ToolResult.refused("argv must be a non-empty list of strings")
        limit = self.command_timeout if timeout is None else min(timeout, self.command_timeout)
        if limit <= 0:
            return ToolResult.refused("timeout must be a positive number of seconds")
        result = await run_command(argv, cwd=self.root, timeout=limit, output_cap=self.output_cap)
        status = "timed out" if result.timed_out else f"exit code {result.exit_code}"
        return ToolResult(
            ok=result.ok,
            content=f"[{status}, {result.duration_s:.1f}s]\n{result.output}",
            exit_code=result.exit_code,
            timed_out=result.timed_out,
        )

    # -- the agent's view -------------------------------------------------------------------

    def tool_specs(self) -> list[dict[str, Any]]:
        """Anthropic Messages API tool definitions for the four tools."""
        return copy.deepcopy(list(_TOOL_SPECS))

    async def dispatch(self, name: str, arguments: Mapping[str, Any]) -> ToolResult:
        """Call tool `name` with the model's `arguments`; bad input is refused, never raised."""
        spec = next((spec for spec in _TOOL_SPECS if spec["name"] == name), None)
        if spec is None:
            known = ", ".join(spec["name"] for spec in _TOOL_SPECS)
            return ToolResult.refused(f"unknown tool {name!r}; the tools are {known}")
        if not isinstance(arguments, Mapping):
            return ToolResult.refused(f"{name} takes an object of arguments")
        schema = spec["input_schema"]
        problem = _argument_problem(schema, arguments)
        if problem:
            return ToolResult.refused(f"{name}: {problem}")
        tools: dict[str, Callable[..., Awaitable[ToolResult]]] = {
            "write_file": self.write_file,
            "read_file": self.read_file,
            "list_files": self.list_files,
            "run_command": self.run_command,
        }
        return await tools[name](**arguments)


def _is_empty(directory: Path) -> bool:
    try:
        return not any(directory.iterdir())
    except OSError:
        return False


_JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda value: isinstance(value, str),
    "number": lambda value: isinstance(value, int | float) and not isinstance(value, bool),
    "array": lambda value: isinstance(value, list) and all(isinstance(v, str) for v in value),
}


def _argument_problem(schema: Mapping[str, Any], arguments: Mapping[str, Any]) -> str | None:
    properties: Mapping[str, Any] = schema["properties"]
    missing = [key for key in schema.get("required", ()) if key not in arguments]
    if missing:
        return f"missing argument(s) {', '.join(missing)}"
    unknown = [key for key in arguments if key not in properties]
    if unknown:
        return f"unexpected argument(s) {', '.join(map(str, unknown))}"
    for key, value in arguments.items():
        expected = properties[key]["type"]
        if not _JSON_TYPES[expected](value):
            kind = "a list of strings" if expected == "array" else f"a {expected}"
            return f"argument {key!r} must be {kind}"
    return None


_TOOL_SPECS: tuple[dict[str, Any], ...] = (
    {
        "name": "write_file",
        "description": (
            "Create or overwrite a UTF-8 text file in the story's workspace. Parent directories "
            "are created. The path is relative to the workspace root."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "Relative path, e.g. src/app.py"},
                "content": {"type": "string", "description": "The whole new file content"},
            },
            "required": ["path", "content"],
        },
    },
    {
        "name": "read_file",
        "description": "Read a UTF-8 text file from the story's workspace.",
        "input_schema": {
            "type": "object",
            "properties": {"path": {"type": "string", "description": "Relative path"}},
            "required": ["path"],
        },
    },
    {
        "name": "list_files",
        "description": (
            "List every file under a directory of the workspace (recursively), one relative path "
            "a line. Defaults to the workspace root."
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "Relative directory, default '.'"}
            },
        },
    },
    {
        "name": "run_command",
        "description": (
            "Run a program in the workspace root without a shell, e.g. "
            '["python", "-m", "pytest", "-q"]. Returns the exit code and combined output. '
            'Use ["sh", "-c", "..."] only when you need pipes or redirection.'
        ),
        "input_schema": {
            "type": "object",
            "properties": {
                "argv": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Program and arguments",
                },
                "timeout": {"type": "number", "description": "Seconds before the run is killed"},
            },
            "required": ["argv"],
        },
    },
)
