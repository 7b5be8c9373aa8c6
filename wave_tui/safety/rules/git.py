"""Rules for git: force pushes, protected branches, history rewrites, deleted branches.

The engine merges a story's branch; an agent only commits in its own worktree. So pushing is
outside the plan, anything aimed at a protected branch (or at a branch git would pick for itself)
is blocked, and commands that lose work or rewrite the audit trail go to the operator or stop.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding, Rule
from wave_tui.safety.principles import Severity
from wave_tui.safety.rules import files, network
from wave_tui.safety.rules.paths import Options, is_secret_path, split_options
from wave_tui.safety.shell import SimpleCommand

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

_GLOBAL_VALUED = frozenset(
    {"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--super-prefix", "--config-env"}
)
# Config keys whose value git runs as a command (or that hand git a program to run).
_COMMAND_KEY = re.compile(
    r"^(core\.(sshcommand|pager|editor|fsmonitor|askpass|gitproxy)|sequence\.editor|"
    r"diff\.external|gpg\.(\w+\.)?program|uploadpack\.packobjectshook|credential\.helper|"
    r"filter\..+\.(clean|smudge|process)|diff\..+\.(command|textconv)|merge\..+\.driver|"
    r"alias\..+)$"
)
_IDENTITY_KEY = re.compile(r"^((user|author|committer)\.(name|email)|user\.signingkey)$")
_REMOTES = ("origin", "upstream")
_MESSAGE_VALUED = frozenset({"-m", "--message", "-F", "--file", "-s", "--strategy", "-X"})

Checker = Callable[[Sequence[str], SafetyContext, str], list[Finding]]


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
    found.extend(_config_findings(keys, detail))
    if any(_IDENTITY_KEY.match(key.lower()) for key in keys):
        found.append(AUTHOR.finding(detail))  # for this one command only
    return found


def _config_findings(keys: Sequence[str], detail: str) -> list[Finding]:
    found: list[Finding] = []
    for key in (k.lower() for k in keys):
        if key == "core.hookspath":
            found.append(SKIP_HOOKS.finding(detail))
        elif _COMMAND_KEY.match(key):
            found.append(CONFIG_COMMAND.finding(detail))
    return found


def _branch_name(ref: str) -> str:
    return ref.removeprefix("refs/heads/")


def _protected(ctx: SafetyContext, ref: str | None) -> bool:
    """Unknown (None) counts as protected: git chooses the branch, not the agent."""
    return ref is None or ctx.protected_branch(_branch_name(ref))


def _first(args: Sequence[str]) -> str:
    return args[0] if args else ""


def _no_verify(opts: Options, detail: str) -> list[Finding]:
    return [SKIP_HOOKS.finding(detail)] if opts.has("--no-verify") else []


# push -----------------------------------------------------------------------------------------

_PUSH_VALUED = frozenset({"-o", "--push-option", "--repo", "--receive-pack", "--exec"})
_FORCE_FLAGS = ("-f", "--force", "--force-with-lease", "--force-if-includes", "--mirror")


def _push(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    opts = split_options(args, _PUSH_VALUED)
    if opts.has("-n", "--dry-run"):
        return []
    found = _no_verify(opts, detail)
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
        rule = PUSH_FORCE if any(_protected(ctx, t) for t in forced) else PUSH_FORCE_UNPROTECTED
        found.append(rule.finding(detail))
    if deleted:
        found.append(PUSH_DELETE.finding(detail))
    if plain:
        rule = PUSH_PROTECTED if any(_protected(ctx, t) for t in plain) else PUSH
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
    found = _no_verify(opts, detail)
    branch = opts.operands[1] if len(opts.operands) > 1 else ""
    if branch and ctx.protected_branch(_branch_name(branch)):
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
    if opts.has("-d", "--stdin") or (ref and ctx.protected_branch(_branch_name(ref))):
        return [UPDATE_REF.finding(detail)]
    return []


def _reflog(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    return [REFLOG.finding(detail)] if _first(args) in ("expire", "delete") else []


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
        if any(ctx.protected_branch(_branch_name(n)) for n in touched):
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
    if any(ctx.protected_branch(_branch_name(b)) for b in reset):
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
    if any(ctx.protected_branch(_branch_name(b)) for b in reset):
        return [BRANCH_PROTECTED.finding(detail)]
    if opts.has("-c", "--create", "-C", "--force-create", "--orphan"):
        return []
    found = _onto_protected(opts, ctx, detail)
    if opts.has("-f", "--force", "--discard-changes"):
        found.append(DISCARD.finding(detail))
    return found


def _onto_protected(opts: Options, ctx: SafetyContext, detail: str) -> list[Finding]:
    """A checkout of a protected branch itself (not detached at it, not a new branch from it)."""
    branch = _first(opts.operands)
    if branch and not opts.has("--detach", "-d") and ctx.protected_branch(_branch_name(branch)):
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
    return [WORKTREE_REMOVE.finding(detail)] if _first(args) == "remove" else []


def _add(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    operands = split_options(args, {"--chmod", "--pathspec-from-file"}).operands
    secrets = [path for path in operands if is_secret_path(path, ctx)]
    return [ADD_SECRET.finding(", ".join(secrets))] if secrets else []


def _credential(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    return [CREDENTIAL.finding(detail)] if _first(args) == "fill" else []


def _stash(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    return [STASH_DROP.finding(detail)] if _first(args) in ("clear", "drop") else []


# configuration and remotes --------------------------------------------------------------------

_CONFIG_VALUED = frozenset({"-f", "--file", "--blob", "--type", "--default", "--comment"})
_CONFIG_WRITES = ("--unset", "--unset-all", "--add", "--replace-all", "-e", "--edit")
_CONFIG_SECTIONS = ("--rename-section", "--remove-section")
_CONFIG_READS = ("--get", "--get-all", "--get-regexp", "--get-urlmatch", "-l", "--list")


def _config(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    opts = split_options(args, _CONFIG_VALUED)
    operands = list(opts.operands)
    verb = operands[0] if operands else ""
    if verb in ("set", "unset", "edit", "rename-section", "remove-section"):
        writes, unset, key = True, verb == "unset", (operands[1:2] or [""])[0]
    elif verb in ("get", "list"):
        return []
    else:
        unset = opts.has("--unset", "--unset-all")
        writes = opts.has(*_CONFIG_WRITES, *_CONFIG_SECTIONS) or (
            len(operands) >= 2 and not opts.has(*_CONFIG_READS)
        )
        key = verb
    if not writes:
        return []
    found = [] if unset else _config_findings([key], detail)
    if _IDENTITY_KEY.match(key.lower()):
        found.append(IDENTITY.finding(detail))
    if opts.has("--global", "--system"):
        found.append(CONFIG_GLOBAL.finding(detail))
    return found


def _remote(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    operands = split_options(args, {"-t", "-m", "--push"}).operands
    return [REMOTE.finding(detail)] if _first(operands) in ("add", "set-url") else []


_CLONE_VALUED = frozenset(
    {"-o", "--origin", "-b", "--branch", "-u", "--upload-pack", "--reference", "--depth"}
    | {"--reference-if-able", "--separate-git-dir", "--shallow-since", "--shallow-exclude"}
    | {"-c", "--config", "--filter", "-j", "--jobs", "--template", "--server-option"}
    | {"--bundle-uri"}
)
_SCP_LIKE = re.compile(r"^(?:[^@/:\s]+@)?(?P<host>[^@/:\s]{2,}):(?!//)")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def _clone(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    """The repository comes over the network; the directory it lands in is written."""
    operands = split_options(args, _CLONE_VALUED).operands
    found = _repository_urls(operands[:1], ctx, detail)
    if len(operands) > 1:
        found.extend(files.check_write(operands[1], "", ctx))
    return found


def _fetch(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    """fetch, pull, ls-remote: a remote's name is configured; a URL is judged like a request."""
    opts = split_options(args, _MESSAGE_VALUED | {"--depth", "--upload-pack", "-j", "--jobs"})
    return [*_repository_urls(opts.operands[:1], ctx, detail), *_no_verify(opts, detail)]


def _repository_urls(operands: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    found: list[Finding] = []
    for operand in operands:
        if _URL.match(operand):
            scheme = operand.partition(":")[0].lower()
            if scheme in ("http", "https", "ftp", "ftps", "file"):
                found.extend(network.judge_request(operand, "GET", False, ctx))
                continue
            try:
                host = (urlsplit(operand).hostname or "").lower()
            except ValueError:
                host = ""
        else:
            match = _SCP_LIKE.match(operand)
            if match is None:
                continue  # a remote's name or a local path
            host = match["host"].strip("[]").lower()
        found.extend(network.judge_host(host, "GET", False, ctx, detail))
    return found


def _submodule(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    operands = split_options(args, {"-b", "--branch", "--name", "--reference", "--depth"}).operands
    verb = _first(operands)
    if verb == "add":
        return _repository_urls(operands[1:2], ctx, detail)
    if verb == "foreach":
        return [RUNS_COMMAND.finding(detail), *_inner_command(operands[1:], ctx)]
    return []


def _bisect(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    if _first(args) != "run":
        return []
    return [RUNS_COMMAND.finding(detail), *_inner_command(args[1:], ctx)]


def _inner_command(words: Sequence[str], ctx: SafetyContext) -> list[Finding]:
    """What the command git will run would be judged as, had the agent run it itself."""
    if not words:
        return []
    from wave_tui.safety.rules import check_shell  # the rules package imports this module
    from wave_tui.safety.shell import parse_command

    command = words[0] if len(words) == 1 else list(words)
    return check_shell(parse_command(command), ctx)


def _hooks_only(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    """merge, pull, am, cherry-pick, revert: fine, unless they skip the hooks."""
    return _no_verify(split_options(args, _MESSAGE_VALUED), detail)


_SUBCOMMANDS: dict[str, Checker] = {
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
    "config": _config,
    "clone": _clone,
    "fetch": _fetch,
    "pull": _fetch,
    "ls-remote": _fetch,
    "submodule": _submodule,
    "bisect": _bisect,
    "remote": _remote,
    "merge": _hooks_only,
    "am": _hooks_only,
    "cherry-pick": _hooks_only,
    "revert": _hooks_only,
}
