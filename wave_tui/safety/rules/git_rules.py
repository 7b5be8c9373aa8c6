"""Every git rule with its severity, and the small helpers the subcommand checkers share:
which branch a ref names, whether it is protected, whether hooks are skipped. One place, so
the severities of pushes, rewrites and deletes can be read side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding, Rule
from wave_tui.safety.principles import Severity
from wave_tui.safety.rules.paths import Options

_PRESERVE = "data_integrity.preserve_data"
_AUDIT = "compliance.audit_trail"

PUSH_FORCE = Rule(
    "git.push.force",
    _PRESERVE,
    Severity.CRITICAL,
    "force-pushes over a protected (or unknown) branch: everyone's commits there can be lost",
)
PUSH_FORCE_UNPROTECTED = Rule(
    "git.push.force_unprotected",
    _PRESERVE,
    Severity.HIGH,
    "force-pushes a branch: the remote's history is overwritten",
)
PUSH_PROTECTED = Rule(
    "git.push.protected_branch",
    "compliance.validation_gates",
    Severity.HIGH,
    "pushes to a protected branch (or lets git pick the branch), skipping review and gates",
)
PUSH = Rule(
    "git.push",
    "compliance.approved_plan",
    Severity.MEDIUM,
    "pushes to a remote: the engine merges the story, an agent pushing is outside the plan",
)
PUSH_DELETE = Rule(
    "git.push.delete",
    _PRESERVE,
    Severity.HIGH,
    "deletes branches or tags on the remote",
)
HISTORY_FILTER = Rule(
    "git.history.filter",
    _AUDIT,
    Severity.HIGH,
    "rewrites the whole repository history (filter-branch, filter-repo)",
)
REBASE_PROTECTED = Rule(
    "git.history.rebase_protected",
    _AUDIT,
    Severity.HIGH,
    "rebases a protected branch: its published history is rewritten",
)
REBASE_INTERACTIVE = Rule(
    "git.history.rebase_interactive",
    _AUDIT,
    Severity.MEDIUM,
    "rewrites commits by hand (interactive rebase, --root, --exec)",
)
REBASE = Rule(
    "git.history.rebase",
    _AUDIT,
    Severity.MEDIUM,
    "rebases the story branch: its commits get new ids and its base moves under the plan",
)
AMEND = Rule(
    "git.history.amend",
    _AUDIT,
    Severity.MEDIUM,
    "amends the last commit: before the story's first commit that is the base branch's tip",
)
AUTHOR = Rule(
    "git.history.author",
    _AUDIT,
    Severity.MEDIUM,
    "commits under someone else's name",
)
RESET_HARD = Rule(
    "git.reset.hard",
    _PRESERVE,
    Severity.MEDIUM,
    "a hard reset throws away uncommitted work",
)
RESET_HARD_TO_BRANCH = Rule(
    "git.reset.hard_to_branch",
    _PRESERVE,
    Severity.HIGH,
    "a hard reset to another branch drops the story's commits and uncommitted work",
)
UPDATE_REF = Rule(
    "git.history.update_ref",
    _AUDIT,
    Severity.HIGH,
    "deletes a ref or moves a protected one behind git's back",
)
REFLOG = Rule(
    "git.history.reflog",
    _AUDIT,
    Severity.HIGH,
    "expires or deletes reflog entries: the record of what was done and the way back",
)
PRUNE = Rule(
    "git.history.prune",
    _AUDIT,
    Severity.HIGH,
    "prunes unreachable objects now: lost commits can no longer be recovered",
)
REPLACE = Rule(
    "git.history.replace",
    _AUDIT,
    Severity.HIGH,
    "replaces objects: history shows something other than what was committed",
)
BRANCH_DELETE = Rule(
    "git.branch.delete",
    _PRESERVE,
    Severity.MEDIUM,
    "force-deletes a branch, merged or not",
)
BRANCH_PROTECTED = Rule(
    "git.branch.protected",
    _PRESERVE,
    Severity.HIGH,
    "deletes, renames or moves a protected branch",
)
TAG_DELETE = Rule(
    "git.tag.delete",
    _AUDIT,
    Severity.MEDIUM,
    "deletes or moves a tag that may mark a release",
)
CLEAN = Rule(
    "git.clean",
    _PRESERVE,
    Severity.MEDIUM,
    "deletes untracked files, which git cannot bring back",
)
DISCARD = Rule(
    "git.discard_changes",
    _PRESERVE,
    Severity.LOW,
    "discards uncommitted changes to files (the agent's own edits in its worktree)",
)
SWITCH_PROTECTED = Rule(
    "git.switch.protected_branch",
    "compliance.validation_gates",
    Severity.MEDIUM,
    "moves the story's worktree onto a protected branch: later commits land there ungated",
)
RM_RECURSIVE = Rule(
    "git.rm.recursive",
    _PRESERVE,
    Severity.MEDIUM,
    "removes a whole directory from the repository and the working tree",
)
WORKTREE_REMOVE = Rule(
    "git.worktree.remove",
    _PRESERVE,
    Severity.HIGH,
    "removes a worktree: another story's uncommitted work goes with it",
)
ADD_SECRET = Rule(
    "git.add.secret",
    "security.expose_secrets",
    Severity.HIGH,
    "stages a secrets file: once committed it stays in the history",
)
CREDENTIAL = Rule(
    "git.credential",
    "security.expose_secrets",
    Severity.HIGH,
    "asks git's credential helper for a stored password or token",
)
STASH_DROP = Rule(
    "git.stash.drop",
    _PRESERVE,
    Severity.MEDIUM,
    "drops stashed work (the stash is shared by every worktree of the repository)",
)
SKIP_HOOKS = Rule(
    "git.skip_hooks",
    "compliance.validation_gates",
    Severity.MEDIUM,
    "skips or redirects the repository's hooks, which run the required checks",
)
CONFIG_GLOBAL = Rule(
    "git.config.global",
    "compliance.approved_plan",
    Severity.MEDIUM,
    "changes git configuration for the whole user or machine, beyond the story's worktree",
)
CONFIG_COMMAND = Rule(
    "git.config.command",
    "security.disable_protections",
    Severity.MEDIUM,
    "configures git to run a command, which the safety layer never sees",
)
IDENTITY = Rule(
    "git.config.identity",
    _AUDIT,
    Severity.MEDIUM,
    "changes who commits are made as: worktrees share the repository's config, so the user's too",
)
RUNS_COMMAND = Rule(
    "git.runs_command",
    "compliance.approved_plan",
    Severity.MEDIUM,
    "has git run a command in each submodule or bisect step, out of the safety layer's sight",
)
REMOTE = Rule(
    "git.remote",
    "system_safety.network_requests",
    Severity.MEDIUM,
    "adds or changes a remote: where fetches and pushes go",
)
OUTSIDE_WORKTREE = Rule(
    "git.outside_worktree",
    "compliance.approved_plan",
    Severity.MEDIUM,
    "runs git on a repository outside the story's worktree",
)

RULES: tuple[Rule, ...] = (
    PUSH_FORCE,
    PUSH_FORCE_UNPROTECTED,
    PUSH_PROTECTED,
    PUSH,
    PUSH_DELETE,
    HISTORY_FILTER,
    REBASE_PROTECTED,
    REBASE_INTERACTIVE,
    REBASE,
    AMEND,
    AUTHOR,
    RESET_HARD,
    RESET_HARD_TO_BRANCH,
    UPDATE_REF,
    REFLOG,
    PRUNE,
    REPLACE,
    BRANCH_DELETE,
    BRANCH_PROTECTED,
    TAG_DELETE,
    CLEAN,
    DISCARD,
    SWITCH_PROTECTED,
    RM_RECURSIVE,
    WORKTREE_REMOVE,
    ADD_SECRET,
    CREDENTIAL,
    STASH_DROP,
    SKIP_HOOKS,
    CONFIG_GLOBAL,
    CONFIG_COMMAND,
    IDENTITY,
    RUNS_COMMAND,
    REMOTE,
    OUTSIDE_WORKTREE,
)

MESSAGE_VALUED = frozenset({"-m", "--message", "-F", "--file", "-s", "--strategy", "-X"})

# A subcommand's checker: its arguments, the context, the whole command line for the detail.
Checker = Callable[[Sequence[str], SafetyContext, str], list[Finding]]


def branch_name(ref: str) -> str:
    return ref.removeprefix("refs/heads/")


def protected_ref(ctx: SafetyContext, ref: str | None) -> bool:
    """Unknown (None) counts as protected: git chooses the branch, not the agent."""
    return ref is None or ctx.protected_branch(branch_name(ref))


def first_word(args: Sequence[str]) -> str:
    return args[0] if args else ""


def no_verify(opts: Options, detail: str) -> list[Finding]:
    return [SKIP_HOOKS.finding(detail)] if opts.has("--no-verify") else []
