"""One git worktree per story on branch `wave/<story-id>`: open, inspect, commit, merge, reset."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import weakref
from dataclasses import dataclass
from pathlib import Path

from wave_tui.workspace.git import WorkspaceError, git, run_git

BRANCH_PREFIX = "wave/"
# A story id becomes a directory name and a branch component, so it stays boring.
_STORY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# Git config key (under the story branch) that remembers the base across crashes.
_BASE_KEY = "waveBase"
# An index lock in a story's worktree older than this belongs to no running git (see
# _clear_stale_index_lock); a younger one is waited for.
STALE_INDEX_LOCK_S = 5.0

log = logging.getLogger(__name__)

# Worktree bookkeeping and merges change state shared by the whole repository, so they run one at
# a time per repository. Locks belong to one event loop, hence one table per loop.
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Path, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def repository_lock(repo: Path) -> asyncio.Lock:
    """The lock that serialises worktree changes and merges in `repo` on the running loop."""
    table = _locks.setdefault(asyncio.get_running_loop(), {})
    return table.setdefault(repo.resolve(), asyncio.Lock())


@dataclass(frozen=True)
class Worktree:
    """A story's checkout: `path` on `branch`, forked from `base_branch` of `repo`."""

    repo: Path
    path: Path
    branch: str
    base_branch: str
    story_id: str

    @classmethod
    async def open(
        cls, repo: Path, story_id: str, *, root: Path, base_branch: str | None = None
    ) -> Worktree:
        """Create `root/<story-id>` on a new branch from the base, or reuse it after a crash."""
        _check_story_id(story_id)
        top = await _repository_top(repo)
        branch = BRANCH_PREFIX + story_id
        check = await run_git("check-ref-format", f"refs/heads/{branch}", cwd=top)
        if check.exit_code != 0:
            raise WorkspaceError(f"story id {story_id!r} is not a valid git branch component")
        path = await asyncio.to_thread(lambda: root.resolve() / story_id)
        async with repository_lock(top):
            branch_exists = await _ref_exists(top, f"refs/heads/{branch}")
            base = base_branch or (await _recorded_base(top, branch) if branch_exists else None)
            base = base or await _current_branch(top)
            if not await _ref_exists(top, f"refs/heads/{base}"):
                raise WorkspaceError(
                    f"base branch {base!r} does not exist in {top} (does it have a commit?)"
                )
            await git("worktree", "prune", cwd=top)
            checkouts = await _checkouts(top)
            if path in checkouts:
                if checkouts[path] != branch:
                    raise WorkspaceError(
                        f"{path} is a worktree of {checkouts[path] or 'a detached HEAD'}, "
                        f"not of {branch}; remove it or choose another root"
                    )
            else:
                await asyncio.to_thread(_prepare_directory, path, branch)
                if branch_exists:
                    await git("worktree", "add", "--quiet", str(path), branch, cwd=top)
                else:
                    await git("worktree", "add", "--quiet", "-b", branch, str(path), base, cwd=top)
            await git("config", f"branch.{branch}.{_BASE_KEY}", base, cwd=top)
        return cls(repo=top, path=path, branch=branch, base_branch=base, story_id=story_id)

    async def changes(self) -> tuple[list[str], list[str]]:
        """(created, modified) paths relative to the worktree, since it forked from the base.

        Counts commits, staged, unstaged and untracked (not ignored) files. A deleted file is
        listed as modified: it changed a file that the base has.
        """
        fork = (await git("merge-base", self.base_branch, "HEAD", cwd=self.path)).strip()
        diff = await git("diff", "--name-status", "--no-renames", "-z", fork, cwd=self.path)
        fields = diff.split("\0")
        created: set[str] = set()
        modified: set[str] = set()
        for status, name in zip(fields[0::2], fields[1::2], strict=False):
            (created if status.startswith("A") else modified).add(name)
        untracked = await git("ls-files", "--others", "--exclude-standard", "-z", cwd=self.path)
        created.update(name for name in untracked.split("\0") if name)
        return sorted(created), sorted(modified - created)

    async def commit(self, message: str) -> str | None:
        """Stage everything and commit on the story branch; the new sha, or None if no change."""
        await self._clear_stale_index_lock()
        await git("add", "--all", cwd=self.path)
        staged = await run_git("diff", "--cached", "--quiet", cwd=self.path)
        if staged.exit_code == 0:
            return None
        if staged.exit_code != 1:
            raise staged.failure()
        await git("commit", "--quiet", "-m", message, cwd=self.path)
        return (await git("rev-parse", "HEAD", cwd=self.path)).strip()

    async def head_if_ahead(self) -> str | None:
        """The story branch's tip when it carries commits the base has not, else None: after a
        crash between the commit and its checkpoint, that commit is the story's."""
        ahead = await git("rev-list", "--count", f"{self.base_branch}..HEAD", cwd=self.path)
        if int(ahead.strip() or 0) == 0:
            return None
        return (await git("rev-parse", "HEAD", cwd=self.path)).strip()

    async def merges_cleanly(self) -> bool:
        """Whether the committed story branch merges into the base without conflicts.

        Touches no working tree; uncommitted changes in the worktree are not considered.
        """
        result = await run_git(
            "merge-tree", "--write-tree", "--no-messages", self.base_branch, self.branch,
            cwd=self.repo,
        )  # fmt: skip
        if result.exit_code not in (0, 1):
            raise result.failure()
        return result.exit_code == 0

    async def merge_into_base(self, message: str) -> str:
        """Merge the story branch into the base with a merge commit; the base's new sha.

        Where the base is checked out (usually the main working tree) the merge happens there,
        and only if that tree has no uncommitted changes. Merging an already merged branch
        changes nothing and returns the base's sha.
        """
        async with repository_lock(self.repo):
            if (await git("status", "--porcelain", cwd=self.path)).strip():
                raise WorkspaceError(
                    f"{self.branch} has uncommitted changes in {self.path}; commit them first"
                )
            base_ref = f"refs/heads/{self.base_branch}"
            base_sha = (await git("rev-parse", base_ref, cwd=self.repo)).strip()
            merged = await run_git(
                "merge-base", "--is-ancestor", self.branch, base_ref, cwd=self.repo
            )
            if merged.exit_code == 0:
                return base_sha
            tree = await run_git("merge-tree", "--write-tree", "--no-messages", base_ref,
                                 self.branch, cwd=self.repo)  # fmt: skip
            if tree.exit_code != 0:
                raise WorkspaceError(
                    f"{self.branch} conflicts with {self.base_branch}; nothing was merged"
                )
            checkout = _checkout_of(await _checkouts(self.repo), self.base_branch)
            if checkout is None:
                return await self._merge_without_checkout(tree.stdout.split()[0], base_sha, message)
            await self._merge_in_checkout(checkout, message)
            return (await git("rev-parse", base_ref, cwd=self.repo)).strip()

    async def _merge_in_checkout(self, checkout: Path, message: str) -> None:
        dirty = await git("status", "--porcelain", "--untracked-files=no", cwd=checkout)
        if dirty.strip():
            raise WorkspaceError(
                f"cannot merge {self.branch}: {checkout} (on {self.base_branch}) has uncommitted "
                "changes; commit or stash them, then approve the merge again"
            )
        merge = await run_git(
            "merge", "--no-ff", "--quiet", "-m", message, self.branch, cwd=checkout
        )
        if merge.exit_code != 0:
            # An untracked file in the way: leave the tree as it was.
            await run_git("merge", "--abort", cwd=checkout)
            raise merge.failure()

    async def _merge_without_checkout(self, tree: str, base_sha: str, message: str) -> str:
        branch_sha = (await git("rev-parse", self.branch, cwd=self.repo)).strip()
        commit_args = ("commit-tree", tree, "-p", base_sha, "-p", branch_sha, "-m", message)
        sha = (await git(*commit_args, cwd=self.repo)).strip()
        # Compare-and-swap: a base that moved meanwhile is not overwritten.
        await git("update-ref", f"refs/heads/{self.base_branch}", sha, base_sha, cwd=self.repo)
        return sha

    async def reset_to_base(self) -> None:
        """Restart the story: its branch points at the base again and the worktree is pristine."""
        await self._clear_stale_index_lock()
        await git("reset", "--hard", "--quiet", self.base_branch, cwd=self.path)
        await git("clean", "-ffdxq", cwd=self.path)

    async def _clear_stale_index_lock(self) -> None:
        """Remove the index lock a killed git left in this worktree, so the story can go on.

        An agent's `git add` stopped at its command timeout leaves `index.lock` behind, and every
        later git command that writes the index fails with "File exists". In a story's worktree no
        other git can be running when the engine gets here: one process holds the story's lease,
        the engine's git commands run one after another, and an agent's command has ended (its
        process group killed) before the next step. The one exception is an engine git command
        orphaned by a crashed wave process, still finishing: a lock younger than
        STALE_INDEX_LOCK_S is given that long to go away. Only this worktree's own index is
        touched, never the repository's main one."""
        git_path = await git("rev-parse", "--git-path", "index.lock", cwd=self.path)
        lock = self.path / git_path.strip()
        while True:
            try:
                age = time.time() - (await asyncio.to_thread(lock.stat)).st_mtime
            except FileNotFoundError:
                return
            if age >= STALE_INDEX_LOCK_S:
                break
            await asyncio.sleep(min(0.1, STALE_INDEX_LOCK_S - age))
        try:
            await asyncio.to_thread(lock.unlink)
        except FileNotFoundError:
            return
        log.warning(
            "Removed a stale git index lock | story=%s | %s (%.0f s old)", self.story_id, lock, age
        )

    async def remove(self, *, delete_branch: bool = False) -> None:
        """Delete the worktree directory (and the story branch if asked). Safe to repeat."""
        async with repository_lock(self.repo):
            if self.path in await _checkouts(self.repo):
                await git("worktree", "remove", "--force", "--force", str(self.path), cwd=self.repo)
            await git("worktree", "prune", cwd=self.repo)
            if delete_branch and await _ref_exists(self.repo, f"refs/heads/{self.branch}"):
                await git("branch", "--quiet", "-D", self.branch, cwd=self.repo)


def _check_story_id(story_id: str) -> None:
    if not _STORY_ID.fullmatch(story_id) or ".." in story_id or story_id.endswith((".", ".lock")):
        raise WorkspaceError(
            f"story id {story_id!r} cannot name a branch: use letters, digits, '.', '_' and '-'"
        )


def _prepare_directory(path: Path, branch: str) -> None:
    """An empty or new directory for `git worktree add`; anything else is someone else's."""
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise WorkspaceError(f"{path} exists and is not the worktree of {branch}")
    path.parent.mkdir(parents=True, exist_ok=True)


async def _repository_top(repo: Path) -> Path:
    try:
        top = await run_git("rev-parse", "--show-toplevel", cwd=repo)
    except WorkspaceError:
        raise WorkspaceError(f"{repo} is not a directory") from None
    if top.exit_code != 0 or not top.stdout.strip():
        raise WorkspaceError(f"{repo} is not a git repository (or is a bare one)")
    return await asyncio.to_thread(Path(top.stdout.strip()).resolve)


async def _ref_exists(repo: Path, ref: str) -> bool:
    result = await run_git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=repo)
    return result.exit_code == 0


async def _recorded_base(repo: Path, branch: str) -> str | None:
    result = await run_git("config", "--get", f"branch.{branch}.{_BASE_KEY}", cwd=repo)
    return result.stdout.strip() or None


async def _current_branch(repo: Path) -> str:
    result = await run_git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=repo)
    if result.exit_code != 0:
        raise WorkspaceError(f"{repo} has a detached HEAD; name the base branch explicitly")
    return result.stdout.strip()


async def _checkouts(repo: Path) -> dict[Path, str | None]:
    """Every worktree of `repo` (the main one included) and the branch it has checked out."""
    listing = await git("worktree", "list", "--porcelain", cwd=repo)
    return await asyncio.to_thread(_parse_checkouts, listing)


def _parse_checkouts(listing: str) -> dict[Path, str | None]:
    checkouts: dict[Path, str | None] = {}
    for block in listing.split("\n\n"):
        fields = dict(line.partition(" ")[::2] for line in block.splitlines() if line)
        if "worktree" in fields and "bare" not in fields:
            branch = fields.get("branch")
            checkouts[Path(fields["worktree"]).resolve()] = (
                branch.removeprefix("refs/heads/") if branch else None
            )
    return checkouts


def _checkout_of(checkouts: dict[Path, str | None], branch: str) -> Path | None:
    return next((path for path, name in checkouts.items() if name == branch), None)
