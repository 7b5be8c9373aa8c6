"""Rules for the programs a command line runs: what they do to the machine, not to its paths.

Paths read, written or deleted (rm, mv, redirections), git, network fetches and SQL clients have
their own modules. This package judges disks, processes, permissions, protections and logs,
privilege, scheduled jobs, remote and production systems, secrets printed into the log, package
installs, inline code, commit hooks, load generators, scanners, migrations and WAVE itself; and
what the line around a command says: the variables set for it, the loop it repeats in, the
function it sits in, and a failure swallowed by the operator after it.

Each topic module holds the checkers of its programs in a `CHECKERS` table; `catalogue` holds
every rule with its severity, on one scale.
"""

from __future__ import annotations

import functools

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding
from wave_tui.safety.rules.execution import (
    databases,
    environment,
    floods,
    gates,
    interpreters,
    leaks,
    packages,
    privilege,
    production,
    system,
)
from wave_tui.safety.rules.execution.catalogue import RULES
from wave_tui.safety.rules.execution.common import Checker
from wave_tui.safety.shell import SimpleCommand

__all__ = ["RULES", "Checker", "check_command"]


def check_command(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """Findings for one program a command line runs; [] when it is none of this package's."""
    found = environment.judge_assignments(cmd.assignments, cmd, ctx)
    if not cmd.argv:
        return found
    found += privilege.escalated(cmd) + leaks.secret_variables(cmd) + floods.fork_bomb(cmd)
    found += gates.masked_gate(cmd) + floods.repeated_requests(cmd)
    found += packages.download_run(cmd, ctx) + interpreters.script_outside(cmd, ctx)
    checker = _CHECKERS.get(cmd.program) or _family_checker(cmd.program)
    if checker is not None:
        found.extend(checker(cmd, ctx))
    return found


_CHECKERS: dict[str, Checker] = {
    **system.CHECKERS,
    **environment.CHECKERS,
    **privilege.CHECKERS,
    **production.CHECKERS,
    **packages.CHECKERS,
    **leaks.CHECKERS,
    **gates.CHECKERS,
    **floods.CHECKERS,
    **databases.CHECKERS,
}


def _family_checker(program: str) -> Checker | None:
    """Checkers for programs known by a name pattern rather than by one name."""
    if program.startswith(("mkfs", "newfs")):
        return system.format_disk
    if packages.PIP.match(program):
        return packages.pip_program
    for pattern, language in interpreters.LANGUAGES:
        if pattern.match(program):
            return functools.partial(interpreters.interpreter, language=language)
    return None
