"""Rules for files: where a path lands (`file_checks`), what is written there (`file_content`,
`file_code`), and the shell programs that read, write or delete files (`file_programs`). This
module is the face the rule registry and the other rule modules use.
"""

from __future__ import annotations

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding, Rule, unique
from wave_tui.safety.rules import file_checks, file_content, file_programs
from wave_tui.safety.rules.file_checks import (
    TRUNCATE,
    check_delete,
    check_read,
    check_write,
)
from wave_tui.safety.rules.paths import is_secret_path, show_path
from wave_tui.safety.shell import SimpleCommand

RULES: tuple[Rule, ...] = (*file_checks.RULES, *file_programs.RULES, *file_content.RULES)


def check_command(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """Findings for the files one simple command reads, writes (redirects too) or deletes."""
    found: list[Finding] = []
    echoed = " ".join(cmd.argv[1:]) if cmd.program in ("echo", "printf") else ""
    empties = not cmd.argv or cmd.argv in ((":",), ("true",), ("cat", "/dev/null"))
    for path in cmd.writes:
        found += check_write(path, echoed, ctx)
        target = ctx.resolve(path)
        if empties and target.inside:
            found.append(TRUNCATE.finding(show_path(target)))
    for path in cmd.redirects:
        if path not in cmd.writes:
            found += check_read(path, ctx)
    handler = file_programs.PROGRAMS.get(cmd.program)
    if handler is not None:
        found += handler(cmd, ctx)
    return unique(found)


__all__ = ["RULES", "check_command", "check_delete", "check_read", "check_write", "is_secret_path"]
