"""What the rules know about where an action runs: the worktree, the story's file rules, its text.

Paths are judged lexically (`~`, `$HOME`, `..` resolved, nothing read from disk), because the rule
layer must answer fast and the same way every time. Symlinks that lead out of the worktree are
the workspace tools' business: they resolve real paths before touching anything.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from wave_tui.domain.globs import matches_glob

if TYPE_CHECKING:
    from wave_tui.domain.story import Story

# Where a network request needs no approval: the package indexes a story's installs talk to.
DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = (
    "pypi.org",
    "files.pythonhosted.org",
    "registry.npmjs.org",
    "localhost",
    "127.0.0.1",
    "::1",
)
DEFAULT_PROTECTED_BRANCHES: tuple[str, ...] = (
    "main",
    "master",
    "trunk",
    "develop",
    "production",
    "prod",
    "release",
    "release/*",
    "release-*",
    "stable",
)
# Without a worktree, relative paths are judged against a root nothing real lives under.
_NO_WORKTREE = PurePosixPath("/.wave-worktree")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_VARIABLE = re.compile(rf"\$(?:\{{(?P<braced>{_NAME})\}}|(?P<bare>{_NAME}))")
_DYNAMIC = re.compile(r"\$|`")
# Text a reader of the story does not see (HTML comments) names nothing the story asks for.
_HIDDEN = re.compile(r"<!--.*?(-->|$)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ResolvedPath:
    """A path as an action names it and where that lands."""

    raw: str
    absolute: PurePosixPath | None  # None when only known at run time (`$DIR/x`, `$(pwd)`)
    relative: str | None  # inside the worktree: "." for the root itself, else the relative path

    @property
    def dynamic(self) -> bool:
        return self.absolute is None

    @property
    def inside(self) -> bool:
        return self.relative is not None

    @property
    def is_worktree_root(self) -> bool:
        return self.relative == "."


@dataclass(frozen=True, slots=True)
class SafetyContext:
    """Everything an evaluation may know besides the action itself. All of it is optional: with
    nothing known, relative paths are taken as inside an unnamed worktree, absolute ones as
    outside it."""

    text: str = ""  # free-form context, as the original API took it (also shown to the judge)
    worktree: PurePosixPath | None = None
    cwd: PurePosixPath | None = None  # where a command runs; the worktree unless a `cd` moved it
    home: PurePosixPath = field(default_factory=lambda: PurePosixPath(os.path.expanduser("~")))
    story_id: str = ""
    story_text: str = ""  # title, prompt and criteria: untrusted, used only to name packages
    create: tuple[str, ...] = ()
    modify: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    protected_branches: tuple[str, ...] = DEFAULT_PROTECTED_BRANCHES
    base_branch: str = "main"

    @classmethod
    def coerce(cls, value: str | SafetyContext | None) -> SafetyContext:
        if isinstance(value, SafetyContext):
            return value
        return cls(text=value or "")

    @classmethod
    def for_story(
        cls, story: Story, worktree: str | os.PathLike[str] | None, **overrides: object
    ) -> SafetyContext:
        criteria = " ".join(ac.description for ac in story.acceptance_criteria)
        base = cls(
            text=f"story {story.id}: {story.title}",
            worktree=PurePosixPath(os.fspath(worktree)) if worktree is not None else None,
            story_id=story.id,
            story_text=_HIDDEN.sub(" ", f"{story.title}\n{story.prompt}\n{criteria}"),
            create=tuple(story.files.create),
            modify=tuple(story.files.modify),
            forbidden=tuple(story.files.forbidden),
        )
        return replace(base, **overrides)  # type: ignore[arg-type]

    @property
    def root(self) -> PurePosixPath:
        return self.worktree or _NO_WORKTREE

    @property
    def working_directory(self) -> PurePosixPath:
        return self.cwd or self.root

    def with_cwd(self, path: str) -> SafetyContext:
        """The context after `cd path`; an unknowable target leaves `cwd` outside the worktree."""
        target = self.resolve(path)
        return replace(self, cwd=target.absolute or PurePosixPath("/.wave-unknown-directory"))

    def resolve(self, path: str) -> ResolvedPath:
        expanded = self._expand(path.strip())
        if expanded is None:
            return ResolvedPath(path, None, None)
        joined = posixpath.join(str(self.working_directory), expanded) if expanded else "."
        absolute = PurePosixPath(posixpath.normpath(joined))
        root = self.root
        if absolute == root:
            return ResolvedPath(path, absolute, ".")
        if absolute.is_relative_to(root):
            return ResolvedPath(path, absolute, absolute.relative_to(root).as_posix())
        return ResolvedPath(path, absolute, None)

    def _expand(self, path: str) -> str | None:
        if path == "~" or path.startswith("~/"):
            path = str(self.home) + path[1:]
        elif path.startswith("~"):
            return None  # `~user/…`: somebody else's home
        known = {"HOME": str(self.home), "PWD": str(self.working_directory)}

        def substitute(match: re.Match[str]) -> str:
            name = match.group("braced") or match.group("bare")
            return known.get(name, match.group(0))

        path = _VARIABLE.sub(substitute, path)
        return None if _DYNAMIC.search(path) else path

    def is_forbidden(self, relative: str) -> bool:
        return any(matches_glob(relative, pattern) for pattern in self.forbidden)

    def may_create(self, relative: str) -> bool:
        """Whether the story's rules let it create `relative` (no `create` list: anything)."""
        return not self.create or any(matches_glob(relative, p) for p in self.create)

    def may_modify(self, relative: str) -> bool:
        return not self.modify or any(matches_glob(relative, p) for p in self.modify)

    def in_story_scope(self, relative: str) -> bool:
        """Whether the story's file rules name `relative` as something it may create or modify."""
        patterns = (*self.create, *self.modify)
        return any(matches_glob(relative, p) for p in patterns)

    def names_package(self, name: str) -> bool:
        """Whether the story's text names the package `name` (as a word, case-insensitively)."""
        base = re.split(r"[\[<>=!~;@ ]", name, maxsplit=1)[0].strip()
        if not base:
            return False
        variants = {base, base.replace("-", "_"), base.replace("_", "-")}
        text = self.story_text.lower()
        return any(
            re.search(rf"(?<![\w.-]){re.escape(v.lower())}(?![\w-])", text) for v in variants
        )

    def host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == h or host.endswith("." + h) for h in self.allowed_hosts)

    def protected_branch(self, branch: str) -> bool:
        names: Sequence[str] = (*self.protected_branches, self.base_branch)
        branch = branch.removeprefix("refs/heads/")
        return any(matches_glob(branch, p) if "*" in p else branch == p for p in names)
