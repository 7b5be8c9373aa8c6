"""Story worktrees in real git repositories: open, reuse, changes, commit, merge, reset, remove."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from tests.process_helpers import wait_until_gone
from wave_tui.workspace import WorkspaceError, Worktree, git
from wave_tui.workspace import worktree as worktree_module

OPERATOR = {
    "GIT_AUTHOR_NAME": "Test Operator",
    "GIT_AUTHOR_EMAIL": "operator@example.com",
    "GIT_COMMITTER_NAME": "Test Operator",
    "GIT_COMMITTER_EMAIL": "operator@example.com",
}


@pytest.fixture(autouse=True)
def _no_git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine with no global or system git config: WAVE must still be able to commit."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in list(os.environ):
        if name.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_", "EMAIL")):
            monkeypatch.delenv(name)


async def operator_git(cwd: Path, *args: str) -> str:
    """git as the human operator would run it, with their own identity."""
    process = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        env={**os.environ, **OPERATOR},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def operator_commit(repo: Path, files: dict[str, str], message: str = "operator") -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    await operator_git(repo, "add", "--all")
    await operator_git(repo, "commit", "-q", "-m", message)


@pytest.fixture
async def repo(tmp_path: Path) -> Path:
    """A project on branch main with one commit: README.md and app.py, and a .gitignore."""
    project = tmp_path / "project"
    project.mkdir()
    await operator_git(project, "init", "-q", "-b", "main")
    files = {"README.md": "# project\n", "app.py": "print('hi')\n", ".gitignore": "*.log\n"}
    await operator_commit(project, files, "initial")
    return project


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "worktrees"


async def head(cwd: Path, ref: str = "HEAD") -> str:
    return (await git("rev-parse", ref, cwd=cwd)).strip()


async def test_open_creates_worktree_on_story_branch_from_current_branch(
    repo: Path, root: Path
) -> None:
    worktree = await Worktree.open(repo, "S-1", root=root)

    assert worktree.path == (root / "S-1").resolve()
    assert worktree.branch == "wave/S-1"
    assert worktree.base_branch == "main"
    assert worktree.story_id == "S-1"
    assert worktree.repo == repo
    assert (worktree.path / "app.py").read_text() == "print('hi')\n"
    assert (await git("branch", "--show-current", cwd=worktree.path)).strip() == "wave/S-1"
    assert await head(worktree.path) == await head(repo, "main")


async def test_open_again_reuses_worktree_and_keeps_uncommitted_work(
    repo: Path, root: Path
) -> None:
    first = await Worktree.open(repo, "S-1", root=root)
    (first.path / "work.py").write_text("x = 1\n")

    again = await Worktree.open(repo, "S-1", root=root)

    assert again == first
    assert (again.path / "work.py").read_text() == "x = 1\n"


async def test_open_after_worktree_directory_vanished_recovers_committed_work(
    repo: Path, root: Path, tmp_path: Path
) -> None:
    first = await Worktree.open(repo, "S-1", root=root, base_branch="main")
    (first.path / "done.py").write_text("done = True\n")
    sha = await first.commit("story work")
    await asyncio.to_thread(_remove_tree, first.path)

    recovered = await Worktree.open(repo, "S-1", root=root)

    assert recovered.base_branch == "main"
    assert await head(recovered.path) == sha
    assert (recovered.path / "done.py").read_text() == "done = True\n"


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path)


async def test_open_refuses_a_directory_that_is_not_a_git_repository(
    tmp_path: Path, root: Path
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(WorkspaceError, match="not a git repository"):
        await Worktree.open(plain, "S-1", root=root)
    with pytest.raises(WorkspaceError):
        await Worktree.open(tmp_path / "missing", "S-1", root=root)
    assert not await asyncio.to_thread(root.exists)


@pytest.mark.parametrize("story_id", ["has space", "../escape", "a..b", "x.lock", "-x", "a/b", ""])
async def test_open_refuses_a_story_id_that_cannot_name_a_branch(
    repo: Path, root: Path, story_id: str
) -> None:
    with pytest.raises(WorkspaceError, match="story id"):
        await Worktree.open(repo, story_id, root=root)
    assert "wave/" not in await git("branch", "--list", cwd=repo)


async def test_open_refuses_a_base_branch_that_does_not_exist(repo: Path, root: Path) -> None:
    with pytest.raises(WorkspaceError, match="base branch 'nope' does not exist"):
        await Worktree.open(repo, "S-1", root=root, base_branch="nope")


async def test_changes_lists_created_and_modified_files_committed_or_not(
    repo: Path, root: Path
) -> None:
    worktree = await Worktree.open(repo, "S-1", root=root)
    (worktree.path / "committed.py").write_text("a = 1\n")
    await worktree.commit("first step")
    (worktree.path / "README.md").write_text("# changed\n")
    (worktree.path / "pkg").mkdir()
    (worktree.path / "pkg" / "new module.py").write_text("b = 2\n")
    (worktree.path / "staged.py").write_text("c = 3\n")
    await git("add", "staged.py", cwd=worktree.path)
    (worktree.path / "debug.log").write_text("ignored\n")
    (worktree.path / "app.py").unlink()

    created, modified = await worktree.changes()

    assert created == ["committed.py", "pkg/new module.py", "staged.py"]
    assert modified == ["README.md", "app.py"]


async def test_changes_ignore_work_merged_into_base_by_other_stories(
    repo: Path, root: Path
) -> None:
    worktree = await Worktree.open(repo, "S-1", root=root)
    await operator_commit(repo, {"other.py": "from another story\n"})
    (worktree.path / "mine.py").write_text("mine\n")

    assert await worktree.changes() == (["mine.py"], [])


async def test_commit_returns_branch_head_sha_with_wave_identity_and_none_when_clean(
    repo: Path, root: Path
) -> None:
    worktree = await Worktree.open(repo, "S-1", root=root)
    assert await worktree.commit("nothing yet") is None

    (worktree.path / "feature.py").write_text("feature = 1\n")
    sha = await worktree.commit("Add feature")

    assert sha is not None
    assert sha == await head(repo, "wave/S-1")
    log = await git("log", "-1", "--format=%an <%ae>|%s", cwd=worktree.path)
    assert log.strip() == "WAVE agent <wave@localhost>|Add feature"
    assert await worktree.commit("again") is None
    assert await head(repo, "main") != sha


async def test_merges_cleanly_until_base_gets_a_conflicting_change(repo: Path, root: Path) -> None:
    worktree = await Worktree.open(repo, "S-1", root=root)
    (worktree.path / "app.py").write_text("print('story')\n")
    await worktree.commit("story edit")
    main_before = await head(repo)

    assert await worktree.merges_cleanly() is True

    await operator_commit(repo, {"app.py": "print('operator')\n"})
    main_after = await head(repo)
    assert await worktree.merges_cleanly() is False
    # Asking touched nothing: no merge state, no new commit, trees clean.
    assert main_after != main_before
    assert await head(repo) == main_after
    assert (await git("status", "--porcelain", cwd=repo)).strip() == ""
    assert (repo / "app.py").read_text() == "print('operator')\n"


async def test_merge_into_base_leaves_a_clean_main_tree_with_the_story_files(
    repo: Path, root: Path
) -> None:
    worktree = await Worktree.open(repo, "S-1", root=root)
    (worktree.path / "feature.py").write_text("feature = 1\n")
    story_sha = await worktree.commit("Add feature")

    new_base = await worktree.merge_into_base("Merge S-1")

    assert new_base == await head(repo, "main") == await head(repo)
    assert (repo / "feature.py").read_text() == "feature = 1\n"
    assert (await git("status", "--porcelain", cwd=repo)).strip() == ""
    parents = (await git("log", "-1", "--format=%P|%s", cwd=repo)).strip()
    assert parents.endswith("|Merge S-1")
    assert story_sha in parents.split("|")[0].split()
    assert await worktree.merge_into_base("Merge S-1 again") == new_base


async def test_merge_into_base_refuses_a_dirty_main_tree_and_changes_nothing(
    repo: Path, root: Path
) -> None:
    worktree = await Worktree.open(repo, "S-1", root=root)
    (worktree.path / "feature.py").write_text("feature = 1\n")
    await worktree.commit("Add feature")
    (repo / "README.md").write_text("# operator is editing\n")
    main_before = await head(repo)

    with pytest.raises(WorkspaceError, match="uncommitted changes"):
        await worktree.merge_into_base("Merge S-1")

    assert await head(repo) == main_before
    assert not (repo / "feature.py").exists()
    assert (repo / "README.md").read_text() == "# operator is editing\n"
    assert (await git("status", "--porcelain", cwd=repo)).strip() == "M README.md"


async def test_merge_into_base_refuses_a_conflict_and_changes_nothing(
    repo: Path, root: Path
) -> None:
    worktree = await Worktree.open(repo, "S-1", root=root)
    (worktree.path / "app.py").write_text("print('story')\n")
    await worktree.commit("story edit")
    await operator_commit(repo, {"app.py": "print('operator')\n"})
    main_before = await head(repo)

    with pytest.raises(WorkspaceError, match="conflicts with main"):
        await worktree.merge_into_base("Merge S-1")

    assert await head(repo) == main_before
    assert (await git("status", "--porcelain", cwd=repo)).strip() == ""


async def test_merge_into_base_refuses_uncommitted_story_work(repo: Path, root: Path) -> None:
    worktree = await Worktree.open(repo, "S-1", root=root)
    (worktree.path / "feature.py").write_text("feature = 1\n")

    with pytest.raises(WorkspaceError, match="commit them first"):
        await worktree.merge_into_base("Merge S-1")


async def test_merge_into_a_base_not_checked_out_anywhere_moves_only_that_branch(
    repo: Path, root: Path
) -> None:
    await operator_git(repo, "branch", "release")
    worktree = await Worktree.open(repo, "S-1", root=root, base_branch="release")
    (worktree.path / "fix.py").write_text("fix = 1\n")
    await worktree.commit("fix")
    main_before = await head(repo)

    new_release = await worktree.merge_into_base("Merge S-1 into release")

    assert new_release == await head(repo, "release")
    files = await git("ls-tree", "--name-only", "release", cwd=repo)
    assert "fix.py" in files.split()
    assert await head(repo) == main_before
    assert not (repo / "fix.py").exists()


async def test_concurrent_merges_of_two_stories_both_land_one_at_a_time(
    repo: Path, root: Path
) -> None:
    stories = [await Worktree.open(repo, f"S-{n}", root=root) for n in (1, 2)]
    for story in stories:
        (story.path / f"{story.story_id}.py").write_text(f"story = {story.story_id!r}\n")
        await story.commit(f"work of {story.story_id}")

    await asyncio.gather(*(story.merge_into_base(f"Merge {story.story_id}") for story in stories))

    assert (repo / "S-1.py").exists()
    assert (repo / "S-2.py").exists()
    assert (await git("status", "--porcelain", cwd=repo)).strip() == ""


async def test_reset_to_base_discards_commits_and_files_of_the_story(
    repo: Path, root: Path
) -> None:
    worktree = await Worktree.open(repo, "S-1", root=root)
    (worktree.path / "kept.py").write_text("no\n")
    await worktree.commit("attempt one")
    (worktree.path / "app.py").write_text("broken\n")
    (worktree.path / "scratch.log").write_text("ignored junk\n")

    await worktree.reset_to_base()

    assert await head(worktree.path) == await head(repo, "main")
    assert sorted(p.name for p in worktree.path.iterdir()) == [
        ".git",
        ".gitignore",
        "README.md",
        "app.py",
    ]
    assert await worktree.changes() == ([], [])


async def test_remove_deletes_the_worktree_and_optionally_the_branch(
    repo: Path, root: Path
) -> None:
    worktree = await Worktree.open(repo, "S-1", root=root)
    (worktree.path / "dirty.py").write_text("x\n")

    await worktree.remove()
    assert not worktree.path.exists()
    assert "wave/S-1" in await git("branch", "--list", cwd=repo)

    await worktree.remove(delete_branch=True)
    assert "wave/S-1" not in await git("branch", "--list", cwd=repo)
    assert str(worktree.path) not in await git("worktree", "list", cwd=repo)


# Every hook git runs for the commands the engine uses, --no-verify or not.
HOOKS = (
    "pre-commit", "prepare-commit-msg", "commit-msg", "post-commit", "pre-merge-commit",
    "post-merge", "post-checkout", "reference-transaction", "post-rewrite", "pre-auto-gc",
    "post-index-change",
)  # fmt: skip


def _write_hooks(directory: Path, ran: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in HOOKS:
        hook = directory / name
        hook.write_text(f"#!/bin/sh\necho {directory.name}/{name} >> '{ran}'\nexit 0\n")
        hook.chmod(0o755)


async def test_the_engine_runs_no_hook_whoever_wrote_it(
    repo: Path, root: Path, tmp_path: Path
) -> None:
    """The engine's own git commands are not scored, so they must not run hook code: a project
    whose hooks live in its tree (core.hooksPath = .hooks, as husky sets up) would otherwise run
    hooks an agent wrote in its worktree, after the merge even in the operator's checkout.
    --no-verify alone is not enough: post-commit, post-merge, post-checkout and
    reference-transaction still run."""
    ran = tmp_path / "hooks-that-ran"
    await operator_git(repo, "config", "core.hooksPath", ".hooks")
    _write_hooks(repo / ".git" / "hooks", ran)  # the operator's own hooks: not run either
    await operator_git(repo, "branch", "release")

    story = await Worktree.open(repo, "S-1", root=root)
    _write_hooks(story.path / ".hooks", ran)  # what an agent could write
    await story.commit("agent work with hooks")
    await story.remove()
    story = await Worktree.open(repo, "S-1", root=root)  # checks the hooks out again
    (story.path / "more.py").write_text("more = 1\n")
    await story.commit("more work")
    await story.merge_into_base("Merge S-1")  # into the operator's checkout of main
    other = await Worktree.open(repo, "S-2", root=root, base_branch="release")
    _write_hooks(other.path / ".hooks", ran)
    await other.commit("hooks on release")
    await other.merge_into_base("Merge S-2 into release")  # no checkout: update-ref
    await other.reset_to_base()
    await other.remove(delete_branch=True)
    await story.remove(delete_branch=True)

    assert (repo / ".hooks" / "post-merge").exists()  # the agent's hooks reached main
    assert not ran.exists(), ran.read_text()
    # The same hooks do run for the operator's own git: the check above could fail.
    await operator_commit(repo, {"after.py": "x = 1\n"}, "operator after the merge")
    assert "hooks/post-commit" in ran.read_text()


async def test_the_engine_signs_nothing_even_where_the_operator_signs_every_commit(
    repo: Path, root: Path, tmp_path: Path
) -> None:
    """With commit.gpgsign = true the engine's commits would run the signing program under the
    operator's key, and a key that needs a passphrase would wait for a prompt."""
    called = tmp_path / "signer-called"
    signer = tmp_path / "signer"
    signer.write_text(f"#!/bin/sh\necho \"$@\" >> '{called}'\nexit 1\n")
    signer.chmod(0o755)
    await operator_git(repo, "config", "commit.gpgsign", "true")
    await operator_git(repo, "config", "gpg.program", str(signer))
    await operator_git(repo, "branch", "release")

    story = await Worktree.open(repo, "S-1", root=root)
    (story.path / "work.py").write_text("work = 1\n")
    await story.commit("story work")
    await story.merge_into_base("Merge S-1")  # a merge commit in the operator's checkout
    other = await Worktree.open(repo, "S-2", root=root, base_branch="release")
    (other.path / "fix.py").write_text("fix = 1\n")
    await other.commit("fix")
    await other.merge_into_base("Merge S-2 into release")  # commit-tree

    assert (repo / "work.py").exists()
    assert "fix.py" in (await git("ls-tree", "--name-only", "release", cwd=repo)).split()
    assert not called.exists(), called.read_text()
    # The operator's own commit does call it (and fails, as this signer always does).
    (repo / "mine.py").write_text("mine = 1\n")
    await operator_git(repo, "add", "mine.py")
    process = await asyncio.create_subprocess_exec(
        "git", "commit", "-q", "-m", "mine", cwd=repo, env={**os.environ, **OPERATOR},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert await process.wait() != 0
    assert called.exists()


async def test_engine_git_runs_in_a_session_of_its_own(repo: Path) -> None:
    """No controlling terminal to prompt on, and not in wave's process group: a Ctrl-C that
    interrupts wave does not kill a git commit or merge halfway."""
    probe = f"!{sys.executable} -c 'import os; print(os.getsid(0), os.getpgid(0))'"
    session, group = map(int, (await git("-c", f"alias.probe={probe}", "probe", cwd=repo)).split())

    assert session != os.getsid(0)
    assert group != os.getpgid(0)


async def _index_lock(worktree: Worktree) -> Path:
    return Path((await git("rev-parse", "--git-path", "index.lock", cwd=worktree.path)).strip())


async def test_a_lock_left_by_a_killed_git_no_longer_fails_the_story(
    repo: Path, root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An agent's `git add` killed at its timeout leaves index.lock: the engine's commit and reset
    used to fail with "File exists" until someone deleted it by hand."""
    worktree = await Worktree.open(repo, "S-1", root=root)
    lock = await _index_lock(worktree)
    lock.write_text("")
    an_hour_ago = time.time() - 3600
    os.utime(lock, (an_hour_ago, an_hour_ago))
    (worktree.path / "work.py").write_text("work = 1\n")

    with caplog.at_level(logging.WARNING, logger="wave_tui.workspace.worktree"):
        sha = await worktree.commit("story work")

    assert sha == await head(worktree.path)
    assert not lock.exists()
    assert "Removed a stale git index lock | story=S-1" in caplog.text
    lock.write_text("")
    os.utime(lock, (an_hour_ago, an_hour_ago))
    await worktree.reset_to_base()
    assert await head(worktree.path) == await head(repo, "main")


async def test_a_fresh_lock_is_waited_for_and_left_to_its_owner(
    repo: Path, root: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock younger than STALE_INDEX_LOCK_S may belong to a git still finishing: the commit
    waits for it to go and never removes it itself."""
    monkeypatch.setattr(worktree_module, "STALE_INDEX_LOCK_S", 60.0)  # far beyond the 0.3 s
    worktree = await Worktree.open(repo, "S-1", root=root)
    lock = await _index_lock(worktree)
    lock.write_text("")
    (worktree.path / "work.py").write_text("work = 1\n")
    asyncio.get_running_loop().call_later(0.3, lock.unlink)  # its owner finishes

    with caplog.at_level(logging.WARNING, logger="wave_tui.workspace.worktree"):
        sha = await worktree.commit("story work")

    assert sha == await head(worktree.path)
    assert "stale git index lock" not in caplog.text


async def test_a_cancelled_caller_lets_git_finish_what_it_started(
    repo: Path, tmp_path: Path
) -> None:
    """wave shutting down cancels its tasks: git is not left to be killed halfway through a
    commit or merge. The cancellation goes on once git has finished."""
    done = tmp_path / "git-finished"
    slow = f"!sleep 0.5; echo finished > '{done}'"
    task = asyncio.create_task(git("-c", f"alias.slow={slow}", "slow", cwd=repo))
    await asyncio.sleep(0.1)  # git is running

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert done.read_text() == "finished\n"


async def test_a_git_that_hangs_after_its_caller_was_cancelled_is_killed(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The module, not the function of the same name the package exports.
    monkeypatch.setattr(importlib.import_module("wave_tui.workspace.git"), "GIT_FINISH_S", 0.5)
    pid_file = tmp_path / "hung.pid"
    hang = f"!echo $$ > '{pid_file}'; exec sleep 300"
    task = asyncio.create_task(git("-c", f"alias.hang={hang}", "hang", cwd=repo))
    for _ in range(600):  # git's child has started; the limit only stops a hung test
        if _pid_in(pid_file) is not None:
            break
        await asyncio.sleep(0.05)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    pid = _pid_in(pid_file)
    assert pid is not None
    assert await wait_until_gone(pid), f"the hung git's child {pid} is still running"


def _pid_in(path: Path) -> int | None:
    text = path.read_text().strip() if path.exists() else ""
    return int(text) if text else None


async def test_a_git_that_does_not_finish_in_time_is_stopped_with_one_line(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A git hung on, say, an LFS server would hold its story where a hold or kill (drained
    between steps) cannot reach it: past GIT_TIMEOUT_S it is stopped and the story fails on the
    record, recoverable."""
    monkeypatch.setattr(importlib.import_module("wave_tui.workspace.git"), "GIT_TIMEOUT_S", 0.5)
    pid_file = tmp_path / "hung.pid"
    hang = f"!echo $$ > '{pid_file}'; exec sleep 300"

    with pytest.raises(WorkspaceError, match=r"did not finish within 0.5 s and was stopped"):
        await git("-c", f"alias.hang={hang}", "hang", cwd=repo)

    pid = _pid_in(pid_file)
    assert pid is not None
    assert await wait_until_gone(pid), f"the hung git's child {pid} is still running"
