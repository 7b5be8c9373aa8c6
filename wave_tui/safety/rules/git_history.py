"""git commands that move or rewrite history: push, commit --amend, rebase, reset, ref updates,
reflog expiry, pruning, replace refs and history filters, and the merges that only matter
when they skip the hooks. Lost commits and a rewritten audit trail are what they risk.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding
from wave_tui.safety.rules.git_rules import (
    AMEND,
    AUTHOR,
    HISTORY_FILTER,
    MESSAGE_VALUED,
    PRUNE,
    PUSH,
    PUSH_DELETE,
    PUSH_FORCE,
    PUSH_FORCE_UNPROTECTED,
    PUSH_PROTECTED,
    REBASE,
    REBASE_INTERACTIVE,
    REBASE_PROTECTED,
    REFLOG,
    REPLACE,
    RESET_HARD,
    RESET_HARD_TO_BRANCH,
    SKIP_HOOKS,
    UPDATE_REF,
    Checker,
    branch_name,
    first_word,
    no_verify,
    protected_ref,
)
from wave_tui.safety.rules.paths import split_options

_REMOTES = ("origin", "upstream")


# push -----------------------------------------------------------------------------------------

_PUSH_VALUED = frozenset({"-o", "--push-option", "--repo", "--receive-pack", "--exec"})
_FORCE_FLAGS = ("-f", "--force", "--force-with-lease", "--force-if-includes", "--mirror")


def _push(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    opts = split_options(args, _PUSH_VALUED)
    if opts.has("-n", "--dry-run"):
        return []
    found = no_verify(opts, detail)
    refspecs = list(opts.operands[1:])
    forced_all = opts.has(*_FORCE_FLAGS)
    deleting = opts.has("-d", "--delete")
    forced: list[str | None] = []
    plain: list[str | None] = []
    deleted: list[str] = [spec for spec in refspecs if deleting]
    for spec in [] if deleting else refspecs:
        plus = spec.startswith("+")
        source, colon, destination = spec.removeprefix("+").partition(":")
        if colon and not source:
            deleted.append(destination)
            continue
        target = destination or source
        known: str | None = None if target in ("HEAD", "@") else target
        (forced if plus or forced_all else plain).append(known)
    if not refspecs and not (opts.has("--tags") and not opts.has("--all", "--mirror")):
        (forced if forced_all else plain).append(None)  # git picks the branch
    if opts.has("--prune") or opts.has("--mirror"):
        deleted.append("--prune")
    if forced:
        rule = PUSH_FORCE if any(protected_ref(ctx, t) for t in forced) else PUSH_FORCE_UNPROTECTED
        found.append(rule.finding(detail))
    if deleted:
        found.append(PUSH_DELETE.finding(detail))
    if plain:
        rule = PUSH_PROTECTED if any(protected_ref(ctx, t) for t in plain) else PUSH
        found.append(rule.finding(detail))
    elif not (forced or deleted):
        found.append(PUSH.finding(detail))  # tags only
    return found


# history --------------------------------------------------------------------------------------

_COMMIT_VALUED = frozenset(
    {"-m", "--message", "-F", "--file", "-C", "--reuse-message", "-c", "--reedit-message"}
    | {"-t", "--template", "--author", "--date", "--fixup", "--squash", "--trailer", "--cleanup"}
)


def _commit(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    opts = split_options(args, _COMMIT_VALUED, attached_only={"-S", "-u"})
    found: list[Finding] = []
    if opts.has("-n", "--no-verify"):
        found.append(SKIP_HOOKS.finding(detail))
    if opts.has("--amend"):
        found.append(AMEND.finding(detail))
    if opts.has("--author"):
        found.append(AUTHOR.finding(detail))
    return found


_REBASE_VALUED = frozenset({"--onto", "-s", "--strategy", "-X", "--strategy-option", "-x"})
_REBASE_VALUED |= {"--exec", "-C", "--whitespace"}
_REBASE_CONTROL = ("--continue", "--abort", "--skip", "--quit", "--edit-todo")


def _rebase(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    opts = split_options(args, _REBASE_VALUED, attached_only={"-S"})
    if opts.has(*_REBASE_CONTROL, "--show-current-patch"):
        return []
    found = no_verify(opts, detail)
    branch = opts.operands[1] if len(opts.operands) > 1 else ""
    if branch and ctx.protected_branch(branch_name(branch)):
        found.append(REBASE_PROTECTED.finding(detail))
    elif opts.has("-i", "--interactive", "--root", "-x", "--exec"):
        found.append(REBASE_INTERACTIVE.finding(detail))
    else:
        found.append(REBASE.finding(detail))
    return found


def _reset(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    opts = split_options(args, ())
    if not opts.has("--hard"):
        return []
    target = opts.operands[0] if opts.operands else "HEAD"
    if _names_other_branch(target, ctx):
        return [RESET_HARD_TO_BRANCH.finding(detail)]
    return [RESET_HARD.finding(detail)]


def _names_other_branch(target: str, ctx: SafetyContext) -> bool:
    """Whether a commit-ish names a remote-tracking or protected branch rather than the
    story's own history (`HEAD~2`, a sha)."""
    name = target.removeprefix("refs/remotes/").removeprefix("refs/heads/")
    if "@{u" in name or "@{push}" in name:
        return True
    remote, slash, rest = name.partition("/")
    if slash and remote in _REMOTES:
        return True
    return ctx.protected_branch(re.split(r"[~^@]", rest if slash else name, maxsplit=1)[0])


def _update_ref(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    opts = split_options(args, {"-m"})
    ref = opts.operands[0] if opts.operands else ""
    if opts.has("-d", "--stdin") or (ref and ctx.protected_branch(branch_name(ref))):
        return [UPDATE_REF.finding(detail)]
    return []


def _reflog(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    return [REFLOG.finding(detail)] if first_word(args) in ("expire", "delete") else []


def _gc(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    values = split_options(args, ()).values("--prune")
    soon = re.compile(r"^(now|all|0|\d+\.(seconds?|minutes?|hours?)(\.ago)?)$", re.IGNORECASE)
    return [PRUNE.finding(detail)] if any(soon.match(v) for v in values) else []


def _prune(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    opts = split_options(args, {"--expire"})
    return [] if opts.has("-n", "--dry-run") else [PRUNE.finding(detail)]


def _replace(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    opts = split_options(args, {"--format"})
    if opts.has("-d", "--delete", "-l", "--list"):
        return []
    if opts.has("--edit", "--graft", "--convert-graft-file") or len(opts.operands) >= 2:
        return [REPLACE.finding(detail)]
    return []


def _filter(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    if any(a in ("-h", "--help", "--analyze", "--dry-run") for a in args):
        return []
    return [HISTORY_FILTER.finding(detail)]


def _hooks_only(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    """merge, pull, am, cherry-pick, revert: fine, unless they skip the hooks."""
    return no_verify(split_options(args, MESSAGE_VALUED), detail)


SUBCOMMANDS: dict[str, Checker] = {
    "push": _push,
    "commit": _commit,
    "rebase": _rebase,
    "reset": _reset,
    "update-ref": _update_ref,
    "reflog": _reflog,
    "gc": _gc,
    "prune": _prune,
    "replace": _replace,
    "filter-branch": _filter,
    "filter-repo": _filter,
    "merge": _hooks_only,
    "am": _hooks_only,
    "cherry-pick": _hooks_only,
    "revert": _hooks_only,
}
