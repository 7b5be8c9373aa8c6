"""Rules for git: force pushes, protected branches, history rewrites, deleted branches.

The engine merges a story's branch; an agent only commits in its own worktree. So pushing is
outside the plan, anything aimed at a protected branch (or at a branch git would pick for itself)
is blocked, and commands that lose work or rewrite the audit trail go to the operator or stop.
The rules live in `git_rules`; each subcommand's checker in `git_history`, `git_tree` or
`git_remotes`. This module reads git's own options and routes the subcommand.
"""

from __future__ import annotations

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding
from wave_tui.safety.rules import git_history, git_remotes, git_tree
from wave_tui.safety.rules.git_remotes import IDENTITY_KEY, config_findings
from wave_tui.safety.rules.git_rules import (
    AUTHOR,
    HISTORY_FILTER,
    OUTSIDE_WORKTREE,
    RULES,
    Checker,
)
from wave_tui.safety.rules.paths import Options, split_options
from wave_tui.safety.shell import SimpleCommand

_GLOBAL_VALUED = frozenset(
    {"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--super-prefix", "--config-env"}
)


def check_command(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    detail = " ".join(cmd.argv)
    if cmd.program == "git-filter-repo":
        return [HISTORY_FILTER.finding(detail)]
    if cmd.program != "git":
        return []
    top = split_options(cmd.argv[1:], _GLOBAL_VALUED, stop_at_operand=True)
    found = _global_options(top, ctx, detail)
    if top.operands:
        subcommand, args = top.operands[0], top.operands[1:]
        checker = _SUBCOMMANDS.get(subcommand)
        if checker is not None:
            found.extend(checker(args, ctx, detail))
    return found


def _global_options(top: Options, ctx: SafetyContext, detail: str) -> list[Finding]:
    found: list[Finding] = []
    here = ctx
    for directory in top.values("-C"):
        here = here.with_cwd(directory)
    places = [".", *top.values("--git-dir", "--work-tree")]
    if not all(here.resolve(place).inside for place in places):
        found.append(OUTSIDE_WORKTREE.finding(detail))
    keys = [s.partition("=")[0] for s in (*top.values("-c"), *top.values("--config-env"))]
    found.extend(config_findings(keys, detail))
    if any(IDENTITY_KEY.match(key.lower()) for key in keys):
        found.append(AUTHOR.finding(detail))  # for this one command only
    return found


_SUBCOMMANDS: dict[str, Checker] = {
    **git_history.SUBCOMMANDS,
    **git_tree.SUBCOMMANDS,
    **git_remotes.SUBCOMMANDS,
}

__all__ = ["RULES", "check_command"]
