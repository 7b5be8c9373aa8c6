"""Who a command runs as and what it may reach: modes and owners, sudo and su, other roots and
namespaces, user accounts, jobs scheduled for later and commands sent to another host.

Each steps outside what the story's user, worktree and moment allow. What `su -c`, `pkexec` or
`ssh host CMD` runs is judged again by every rule, as if it ran here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding
from wave_tui.safety.rules.execution.catalogue import (
    ACCOUNTS,
    CRONTAB_REMOVE,
    NAMESPACE,
    PERM_OUTSIDE,
    PERM_SETUID,
    PERM_SYSTEM,
    PERM_WORLD,
    ROOT_SHELL,
    SCHEDULE,
    SKIP_HOOKS,
    SSH_COMMAND,
    SSH_SESSION,
    SU,
    SUDO,
)
from wave_tui.safety.rules.execution.common import Checker, show, split_args, table
from wave_tui.safety.shell import SHELLS, SimpleCommand, parse_command

# --- permissions ----------------------------------------------------------------------------

_CHMOD_OPTION = re.compile(r"^-[RcfvHLPh]+$")
_SYMBOLIC_CLAUSE = re.compile(r"([ugoa]*)((?:[-+=][rwxXstugo]*)+)")
_SYMBOLIC_OP = re.compile(r"([-+=])([rwxXstugo]*)")


@dataclass(frozen=True, slots=True)
class _Mode:
    world_writable: bool = False
    setuid: bool = False
    drops_exec: bool = False


def _mode(spec: str) -> _Mode:
    if re.fullmatch(r"[0-7]{1,4}", spec):
        digits = spec.zfill(4)
        owner, other = int(digits[1]), int(digits[3])
        return _Mode(bool(other & 2), bool(int(digits[0]) & 6), not owner & 1)
    world = setuid = drops = False
    for clause in spec.split(","):
        match = _SYMBOLIC_CLAUSE.fullmatch(clause)
        if match is None:
            continue
        who = match.group(1)
        for op, perms in _SYMBOLIC_OP.findall(match.group(2)):
            world |= op in "+=" and "w" in perms and bool(set(who) & {"o", "a"})
            setuid |= op in "+=" and "s" in perms
            drops |= op == "-" and "x" in perms
    return _Mode(world, setuid, drops)


def _permissions(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """chmod, chown, chgrp: modes that open files up anywhere, any change outside the worktree."""
    recursive, spec, paths = False, None, []
    wants_spec = not any(a.startswith("--reference") for a in cmd.argv[1:])
    for arg in cmd.argv[1:]:
        if arg.startswith("--") or _CHMOD_OPTION.match(arg):
            recursive |= arg == "--recursive" or (arg[1] != "-" and "R" in arg)
        elif wants_spec and spec is None:
            spec = arg
        else:
            paths.append(arg)
    found: list[Finding] = []
    mode = _mode(spec) if cmd.program == "chmod" and spec else _Mode()
    if mode.world_writable:
        found.append(PERM_WORLD.finding(show(cmd)))
    if mode.setuid:
        found.append(PERM_SETUID.finding(show(cmd)))
    if mode.drops_exec and any(".git/hooks/" in f"/{p}" for p in paths):
        found.append(SKIP_HOOKS.finding(show(cmd)))
    # find's `{}` is every file under its start paths: judged as a recursive change of them.
    # Paths fed by `xargs` are not on this argv at all.
    found_paths = [(p, recursive) for p in paths if "{}" not in p]
    if any("{}" in p for p in paths):
        found_paths += [(root, True) for root in cmd.found_under]
    for path, walks in found_paths:
        resolved = ctx.resolve(path)
        if resolved.inside:
            continue
        top = resolved.absolute is not None and (
            len(resolved.absolute.parts) <= 2 or resolved.absolute == ctx.home
        )
        rule = PERM_SYSTEM if walks and top else PERM_OUTSIDE
        found.append(rule.finding(show(cmd)))
        break
    return found


def _setcap(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = split_args(cmd.argv[1:])
    return [] if args.has("-v") or not args.operands else [PERM_SETUID.finding(show(cmd))]


# --- privilege ------------------------------------------------------------------------------

_ESCALATORS = frozenset({"sudo", "doas"})
_SUDO_QUERIES = frozenset({"-l", "--list", "-k", "-K", "--reset-timestamp", "--remove-timestamp"})
_SUDO_QUERIES |= {"-V", "--version", "-h", "--help"}


def escalated(cmd: SimpleCommand) -> list[Finding]:
    """Anything run through sudo/doas; a bare shell through them is a root shell."""
    if not set(cmd.via) & _ESCALATORS:
        return []
    found = [SUDO.finding(show(cmd))]
    interactive = all(a.startswith("-") for a in cmd.argv[1:])
    if cmd.program in SHELLS and interactive:
        found.append(ROOT_SHELL.finding(show(cmd)))
    return found


def _sudo(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """sudo or doas with no command the parser could peel: a login shell, an edit, a query."""
    args = split_args(cmd.argv[1:])
    if args.has("-i", "--login", "-s", "--shell"):
        return [ROOT_SHELL.finding(show(cmd))]
    if args.options and set(args.options) <= _SUDO_QUERIES:
        return []
    return [SUDO.finding(show(cmd))]


def _su(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = split_args(cmd.argv[1:], frozenset({"-c", "--command", "-s", "--shell", "-g", "-G"}))
    code = args.value("-c", "--command")
    if not code:
        return [ROOT_SHELL.finding(show(cmd))]
    return [SU.finding(show(cmd)), *_nested(code[0], ctx, "su -c")]


def _pkexec(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    rest = split_args(cmd.argv[1:], frozenset({"--user"})).operands
    if not rest:
        return [ROOT_SHELL.finding(show(cmd))]
    return [SUDO.finding(show(cmd)), *_nested(list(rest), ctx, "pkexec")]


def _namespace(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    return [NAMESPACE.finding(show(cmd))]


def _accounts(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    return [ACCOUNTS.finding(show(cmd))]


def _nested(
    source: str | Sequence[str], ctx: SafetyContext, where: str, remote: bool = False
) -> list[Finding]:
    """Every rule's findings for a command another program runs (su -c, ssh host …)."""
    from wave_tui.safety.rules import check_shell  # the rules package imports this module

    if remote:  # relative paths there start in a home directory, never in our worktree
        ctx = replace(ctx, cwd=PurePosixPath("/.wave-remote-home"))
    findings = check_shell(parse_command(source), ctx)
    return [Finding(f.rule, f"{where}: {f.detail}") for f in findings]


# --- persistence ----------------------------------------------------------------------------


def _crontab(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = split_args(cmd.argv[1:], frozenset({"-u"}))
    if args.has_letter("r"):
        return [CRONTAB_REMOVE.finding(show(cmd))]
    if args.has_letter("l") and not args.operands:
        return []
    return [SCHEDULE.finding(show(cmd))]  # a file, stdin (`-`) or an editor (`-e`) installs


def _at(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = split_args(cmd.argv[1:])
    if cmd.program == "at" and args.has("-l", "-r", "-d", "-c", "-V"):
        return []  # list, remove or show queued jobs
    return [SCHEDULE.finding(show(cmd))]


def _boot_scripts(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = cmd.argv[1:]
    if set(args) & {"enable", "defaults", "on"}:
        return [SCHEDULE.finding(show(cmd))]
    return []


# --- remote hosts ---------------------------------------------------------------------------

_SSH_VALUE_LETTERS = "BbcDEeFIiJLlmOopQRSWw"


def _ssh(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args, i = cmd.argv[1:], 0
    informational = False
    while i < len(args) and args[i].startswith("-") and len(args[i]) > 1:
        cluster = args[i][1:]
        informational |= cluster in ("V", "G")
        for position, letter in enumerate(cluster):
            if letter in _SSH_VALUE_LETTERS:
                i += int(position == len(cluster) - 1)  # `-p 22` takes the next word, `-p22` not
                break
        i += 1
    remote = args[i + 1 :]
    if informational:
        return []
    if not remote:
        return [SSH_SESSION.finding(show(cmd))]
    host = args[i]
    nested = _nested(" ".join(remote), ctx, f"on {host}", remote=True)
    return [SSH_COMMAND.finding(show(cmd)), *nested]


# The programs this module judges, by name.
CHECKERS: dict[str, Checker] = {
    **table(_permissions, "chmod chown chgrp"),
    "setcap": _setcap,
    **table(_sudo, "sudo doas"),
    "su": _su,
    "pkexec": _pkexec,
    **table(_namespace, "chroot nsenter unshare"),
    **table(_accounts, "passwd chpasswd useradd usermod userdel adduser deluser groupadd"),
    **table(_accounts, "groupdel groupmod gpasswd visudo addgroup delgroup"),
    "crontab": _crontab,
    **table(_at, "at batch systemd-run"),
    **table(_boot_scripts, "update-rc.d chkconfig"),
    "ssh": _ssh,
}
