"""The shell's variables: those set for a command (`X=1 cmd`, `env X=1 cmd`, `export X=1`),
and the builtins that print them all or erase the shell history.

The program may be harmless while its environment is not: a variable can switch off the safety
layer, commit hooks, TLS checks or the history, load a library into every program, point
installs at another index, forge a commit's author or aim a command at production.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding
from wave_tui.safety.rules.execution.catalogue import (
    ENV_DUMP,
    FORGED_IDENTITY,
    HISTORY_OFF,
    PRELOAD,
    PROD_ENV,
    PROTECT_OFF,
    SAFETY_CONFIG_ENV,
    SKIP_HOOKS,
    UNTRUSTED_SOURCE,
)
from wave_tui.safety.rules.execution.common import (
    Checker,
    approved_urls,
    show,
    split_args,
    table,
    url_hosts,
    word_set,
)
from wave_tui.safety.shell import SimpleCommand


def _history(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    clears = any(re.fullmatch(r"-[a-z]*[cd][a-z]*", arg) for arg in cmd.argv[1:])
    return [HISTORY_OFF.finding(show(cmd))] if clears else []


def _unset(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    if set(cmd.argv[1:]) & {"HISTFILE", "HISTSIZE", "HISTFILESIZE"}:
        return [HISTORY_OFF.finding(show(cmd))]
    return []


def _declare(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """`export`, `declare`, `typeset`, `readonly`, `local`: their assignments are judged like a
    command's own; with no names at all they print every variable."""
    args = split_args(cmd.argv[1:])
    if not args.operands and cmd.program != "local":
        return [ENV_DUMP.finding(show(cmd))]
    return judge_assignments(args.operands, cmd, ctx)


def _set(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    args = cmd.argv[1:]
    if not args:
        return [ENV_DUMP.finding(show(cmd))]
    if any(a == "+o" and args[i + 1 : i + 2] == ("history",) for i, a in enumerate(args)):
        return [HISTORY_OFF.finding(show(cmd))]
    return []


_HISTORY_OFF_ASSIGNMENT = re.compile(
    r"^(HISTFILE=(/dev/null)?|HIST(FILE)?SIZE=0|HISTIGNORE=['\"]?\*['\"]?)$"
)
_TLS_OFF_ASSIGNMENT = re.compile(
    r"^(NODE_TLS_REJECT_UNAUTHORIZED=0|PYTHONHTTPSVERIFY=0|GIT_SSL_NO_VERIFY=(1|true|yes)"
    r"|(CURL|REQUESTS)_CA_BUNDLE=|NPM_CONFIG_STRICT_SSL=false)$",
    re.I,
)
_SAFETY_VARIABLE = re.compile(
    r"^((WAVE_)?CONSTITUTIONAL_\w+|WAVE_SAFETY_\w+|WAVE_POLICY_FILE|WAVE_\w*THRESHOLD\w*)$", re.I
)
_HOOKS_OFF = {"HUSKY": "0|false", "HUSKY_SKIP_HOOKS": ".+", "SKIP": ".+", "LEFTHOOK": "0|false"}
_HOOKS_OFF |= {"PRE_COMMIT_ALLOW_NO_CONFIG": ".+", "OVERCOMMIT_DISABLE": ".+"}
_PRELOAD_VARIABLES = word_set("LD_PRELOAD LD_LIBRARY_PATH LD_AUDIT DYLD_INSERT_LIBRARIES")
_PRELOAD_VARIABLES |= word_set("DYLD_LIBRARY_PATH")
_INDEX_VARIABLES = word_set("PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_FIND_LINKS UV_INDEX_URL")
_INDEX_VARIABLES |= word_set("UV_INDEX UV_EXTRA_INDEX_URL UV_DEFAULT_INDEX UV_FIND_LINKS")
_INDEX_VARIABLES |= word_set("NPM_CONFIG_REGISTRY")
_INDEX_VARIABLES |= word_set("YARN_REGISTRY YARN_NPM_REGISTRY_SERVER BUN_CONFIG_REGISTRY GOPROXY")
_IDENTITY_VARIABLE = re.compile(r"^GIT_(AUTHOR|COMMITTER)_(NAME|EMAIL|DATE)$")
_TARGET_VARIABLE = re.compile(
    r"(^|_)(URL|URI|DSN|HOST|ENDPOINT)$|^(DATABASE|DB|REDIS|MONGO|POSTGRES|MYSQL|AMQP)", re.I
)
_PRODUCTION_LABEL = re.compile(r"(^|[.-])(prod|production|live)([.-]|\d*$)", re.I)


def judge_assignments(
    assignments: Sequence[str], cmd: SimpleCommand, ctx: SafetyContext
) -> list[Finding]:
    """Variables that switch off the safety layer, hooks, history or TLS checks, inject
    libraries, point installs at another index, forge a commit's author or aim at production."""
    found: list[Finding] = []
    for assignment in assignments:
        name, eq, value = assignment.partition("=")
        name = name.rstrip("+")
        upper = name.upper()
        if not eq:
            continue
        if _SAFETY_VARIABLE.match(name):
            found.append(SAFETY_CONFIG_ENV.finding(f"{assignment} ({show(cmd)})"))
        elif _HISTORY_OFF_ASSIGNMENT.match(assignment):
            found.append(HISTORY_OFF.finding(show(cmd) or assignment))
        elif _TLS_OFF_ASSIGNMENT.match(assignment):
            found.append(PROTECT_OFF.finding(show(cmd) or assignment))
        elif name in _HOOKS_OFF and re.fullmatch(_HOOKS_OFF[name], value, re.I):
            found.append(SKIP_HOOKS.finding(f"{assignment} ({show(cmd)})"))
        elif name in _PRELOAD_VARIABLES and value:
            found.append(PRELOAD.finding(f"{assignment} ({show(cmd)})"))
        elif upper == "PIP_TRUSTED_HOST" and value:
            found.append(UNTRUSTED_SOURCE.finding(f"{assignment} ({show(cmd)})"))
        elif upper in _INDEX_VARIABLES and url_hosts([value]):
            if not approved_urls(value, ctx):
                found.append(UNTRUSTED_SOURCE.finding(f"{assignment} ({show(cmd)})"))
        elif _IDENTITY_VARIABLE.match(name):
            found.append(FORGED_IDENTITY.finding(f"{assignment} ({show(cmd)})"))
        elif _TARGET_VARIABLE.search(name):
            hosts = url_hosts([value]) or ([value] if upper.endswith("HOST") else [])
            if any(_PRODUCTION_LABEL.search(host) for host in hosts):
                found.append(PROD_ENV.finding(f"{name}=… {', '.join(hosts)} ({show(cmd)})"))
    return list(dict.fromkeys(found))


# The programs this module judges, by name.
CHECKERS: dict[str, Checker] = {
    "history": _history,
    "unset": _unset,
    **table(_declare, "export declare typeset readonly local"),
    "set": _set,
}
