"""git configuration and remotes: config keys that run commands, change identity or skip hooks;
clones and fetches judged by the network rules; and the commands git itself runs for
submodules and bisect, judged as if the agent had run them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding
from wave_tui.safety.rules import files, network
from wave_tui.safety.rules.git_rules import (
    CONFIG_COMMAND,
    CONFIG_GLOBAL,
    IDENTITY,
    MESSAGE_VALUED,
    REMOTE,
    RUNS_COMMAND,
    SKIP_HOOKS,
    Checker,
    first_word,
    no_verify,
)
from wave_tui.safety.rules.paths import split_options

# Config keys whose value git runs as a command (or that hand git a program to run).
_COMMAND_KEY = re.compile(
    r"^(core\.(sshcommand|pager|editor|fsmonitor|askpass|gitproxy)|sequence\.editor|"
    r"diff\.external|gpg\.(\w+\.)?program|uploadpack\.packobjectshook|credential\.helper|"
    r"filter\..+\.(clean|smudge|process)|diff\..+\.(command|textconv)|merge\..+\.driver|"
    r"alias\..+)$"
)
IDENTITY_KEY = re.compile(r"^((user|author|committer)\.(name|email)|user\.signingkey)$")


def config_findings(keys: Sequence[str], detail: str) -> list[Finding]:
    found: list[Finding] = []
    for key in (k.lower() for k in keys):
        if key == "core.hookspath":
            found.append(SKIP_HOOKS.finding(detail))
        elif _COMMAND_KEY.match(key):
            found.append(CONFIG_COMMAND.finding(detail))
    return found


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
    found = [] if unset else config_findings([key], detail)
    if IDENTITY_KEY.match(key.lower()):
        found.append(IDENTITY.finding(detail))
    if opts.has("--global", "--system"):
        found.append(CONFIG_GLOBAL.finding(detail))
    return found


def _remote(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    operands = split_options(args, {"-t", "-m", "--push"}).operands
    return [REMOTE.finding(detail)] if first_word(operands) in ("add", "set-url") else []


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
    opts = split_options(args, MESSAGE_VALUED | {"--depth", "--upload-pack", "-j", "--jobs"})
    return [*_repository_urls(opts.operands[:1], ctx, detail), *no_verify(opts, detail)]


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
    verb = first_word(operands)
    if verb == "add":
        return _repository_urls(operands[1:2], ctx, detail)
    if verb == "foreach":
        return [RUNS_COMMAND.finding(detail), *_inner_command(operands[1:], ctx)]
    return []


def _bisect(args: Sequence[str], ctx: SafetyContext, detail: str) -> list[Finding]:
    if first_word(args) != "run":
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


SUBCOMMANDS: dict[str, Checker] = {
    "config": _config,
    "clone": _clone,
    "fetch": _fetch,
    "pull": _fetch,
    "ls-remote": _fetch,
    "submodule": _submodule,
    "bisect": _bisect,
    "remote": _remote,
}
