"""git commands on branches, tags and the working tree: deleting branches and tags, switching to a
protected branch, cleaning, discarding or removing files, adding secrets, dropping stashes.
Uncommitted work and protected branches are what they risk.
"""

from __future__ import annotations

from collections.abc import Sequence

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding
from wave_tui.safety.rules.git_rules import (
    ADD_SECRET,
    BRANCH_DELETE,
    BRANCH_PROTECTED,
    CLEAN,
    CREDENTIAL,
    DISCARD,
    RM_RECURSIVE,
    STASH_DROP,
    SWITCH_PROTECTED,
    TAG_DELETE,
    WORKTREE_REMOVE,
    Checker,
    branch_name,
    first_word,
)
from wave_tui.safety.rules.paths import Options, is_secret_path, split_options

# branches, tags, the working tree -------------------------------------------------------------

_BRANCH_VALUED = frozenset(
    {"-u", "--set-upstream-to", "--contains", "--no-contains", "--points-at", "--sort"}
    | {"--format", "--color"}
)


def _branch(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    opts = split_options(args, _BRANCH_VALUED)
    names = list(opts.operands)
    if opts.has("-r", "--remotes") or not names:
        return []  # remote-tracking refs only, or a listing
    delete = opts.has("-d", "-D", "--delete")
    force = opts.has("-D", "-f", "--force", "-M", "-C")
    move = opts.has("-m", "-M", "--move", "-c", "-C", "--copy")
    if delete or move or force:
        # delete: every name goes; move/copy: both old and new; force-create: the name is reset.
        touched = names if delete or move else names[:1]
        if any(ctx.protected_branch(branch_name(n)) for n in touched):
            return [BRANCH_PROTECTED.finding(detail)]
    if delete and force:
        return [BRANCH_DELETE.finding(detail)]
    return []


def _tag(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    opts = split_options(args, {"-m", "--message", "-F", "--file", "-u", "--local-user"})
    if opts.has("-d", "--delete", "-f", "--force"):
        return [TAG_DELETE.finding(detail)]
    return []


def _clean(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    opts = split_options(args, {"-e", "--exclude"})
    if opts.has("-n", "--dry-run"):
        return []
    if opts.has("-f", "--force", "-i", "--interactive"):
        return [CLEAN.finding(detail)]
    return []  # git refuses to clean without --force


def _checkout(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    opts = split_options(args, {"-b", "-B", "--orphan", "--conflict", "--pathspec-from-file"})
    reset = opts.values("-B")
    if any(ctx.protected_branch(branch_name(b)) for b in reset):
        return [BRANCH_PROTECTED.finding(detail)]
    if opts.has("-b", "-B", "--orphan"):
        return []
    if "--" in args or opts.operands[-1:] == (".",):
        return [DISCARD.finding(detail)]  # paths restored from the index or a commit
    found = _onto_protected(opts, ctx, detail)
    if opts.has("-f", "--force"):
        found.append(DISCARD.finding(detail))
    return found


def _switch(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    opts = split_options(args, {"-c", "--create", "-C", "--force-create", "--orphan"})
    reset = opts.values("-C", "--force-create")
    if any(ctx.protected_branch(branch_name(b)) for b in reset):
        return [BRANCH_PROTECTED.finding(detail)]
    if opts.has("-c", "--create", "-C", "--force-create", "--orphan"):
        return []
    found = _onto_protected(opts, ctx, detail)
    if opts.has("-f", "--force", "--discard-changes"):
        found.append(DISCARD.finding(detail))
    return found


def _onto_protected(opts: Options, ctx: SafetyContext, detail: str) -> list[Finding]:
    """A checkout of a protected branch itself (not detached at it, not a new branch from it)."""
    branch = first_word(opts.operands)
    if branch and not opts.has("--detach", "-d") and ctx.protected_branch(branch_name(branch)):
        return [SWITCH_PROTECTED.finding(detail)]
    return []


def _restore(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    opts = split_options(args, {"-s", "--source", "--pathspec-from-file"})
    if opts.has("-S", "--staged") and not opts.has("-W", "--worktree"):
        return []  # unstaging keeps the changes in the working tree
    return [DISCARD.finding(detail)] if opts.operands else []


def _rm(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    opts = split_options(args, {"--pathspec-from-file"})
    if opts.has("-r") and not opts.has("--cached", "-n", "--dry-run"):
        return [RM_RECURSIVE.finding(detail)]
    return []


def _worktree(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    return [WORKTREE_REMOVE.finding(detail)] if first_word(args) == "remove" else []


def _add(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    operands = split_options(args, {"--chmod", "--pathspec-from-file"}).operands
    secrets = [path for path in operands if is_secret_path(path, ctx)]
    return [ADD_SECRET.finding(", ".join(secrets))] if secrets else []


def _credential(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    return [CREDENTIAL.finding(detail)] if first_word(args) == "fill" else []


def _stash(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    return [STASH_DROP.finding(detail)] if first_word(args) in ("clear", "drop") else []


SUBCOMMANDS: dict[str, Checker] = {
    "branch": _branch,
    "tag": _tag,
    "clean": _clean,
    "checkout": _checkout,
    "switch": _switch,
    "restore": _restore,
    "stash": _stash,
    "rm": _rm,
    "worktree": _worktree,
    "add": _add,
    "credential": _credential,
}
