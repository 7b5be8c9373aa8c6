"""Secrets printed into the log: variables named like keys or passwords, the whole
environment, and keychains and vaults that hand out what they store.

Whatever a command prints lands in the agent's transcript and the audit trail, where a secret
is no longer one.
"""

from __future__ import annotations

import re

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding
from wave_tui.safety.rules.execution.catalogue import ENV_DUMP, SECRET_STORE, SECRET_VARIABLE
from wave_tui.safety.rules.execution.common import Checker, show, table, word_set
from wave_tui.safety.shell import SimpleCommand

_PRINTERS = frozenset({"echo", "printf", "print", "printenv"})
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.I)
_NOT_SECRET_NAME = re.compile(r"(_FILE|_PATH|_DIR|_ID)$|^SSH_AUTH_SOCK$", re.I)
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def _is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET_NAME.search(name)


def secret_variables(cmd: SimpleCommand) -> list[Finding]:
    if cmd.program not in _PRINTERS:
        return []
    names = [m.group(1) for arg in cmd.argv[1:] for m in _VARIABLE.finditer(arg)]
    if cmd.program == "printenv":
        names += [a for a in cmd.argv[1:] if not a.startswith("-")]
    secret = [n for n in names if _is_secret_name(n)]
    return [SECRET_VARIABLE.finding(", ".join(secret))] if secret else []


def _env(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """`env` or `printenv` that runs nothing and names nothing prints the whole environment."""
    args = cmd.argv[1:]
    if set(args) & {"--help", "--version"}:
        return []
    if cmd.program == "printenv" and any(not a.startswith("-") for a in args):
        return []  # named variables: judged by secret_variables
    return [ENV_DUMP.finding(show(cmd))]


def _gpg(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    exports = {"--export-secret-keys", "--export-secret-subkeys"}
    return [SECRET_STORE.finding(show(cmd))] if set(cmd.argv[1:]) & exports else []


_PASS_COMMANDS = word_set("init ls list find search insert add edit rm remove delete mv rename cp")
_PASS_COMMANDS |= word_set("copy git help version")


def _keychain(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """security, vault, pass, op: the subcommands that print a stored secret."""
    args = cmd.argv[1:]
    verb = args[0] if args else ""
    if cmd.program == "security":
        reading = verb in {"find-generic-password", "find-internet-password", "dump-keychain"}
    elif cmd.program == "vault":
        reading = verb == "read" or args[:2] == ("kv", "get")
    elif cmd.program == "pass":  # `pass NAME` shows it, as does `pass show NAME`
        reading = bool(verb) and not verb.startswith("-") and verb not in _PASS_COMMANDS
    else:
        reading = verb == "read" or args[:2] == ("item", "get")
    return [SECRET_STORE.finding(show(cmd))] if reading else []


# The programs this module judges, by name.
CHECKERS: dict[str, Checker] = {
    **table(_env, "env printenv"),
    "gpg": _gpg,
    **table(_keychain, "security vault pass op"),
}
