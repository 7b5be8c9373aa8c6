"""Rules for network access: fetches from commands and the http_request tool.

A request is judged once, by where it goes (the allowed hosts, loopback, cloud metadata) and
whether it sends data (`net_judge`); the per-program readers only find the URLs, hosts and
uploaded files in each client's argv: HTTP clients in `net_http`, sockets, remote copies,
servers and tunnels in `net_sockets`. This module is the face the rule registry and the other
rule modules use.
"""

from __future__ import annotations

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding, unique
from wave_tui.safety.rules import net_http, net_sockets
from wave_tui.safety.rules.net_http import output_files
from wave_tui.safety.rules.net_judge import (
    READ_METHODS,
    RULES,
    Reader,
    check_request,
    host_allowed,
    is_metadata,
    judge_host,
    judge_request,
)
from wave_tui.safety.rules.net_sockets import INTERPRETER, dev_sockets, inline_code, interpreter
from wave_tui.safety.shell import SimpleCommand


def check_command(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    found = dev_sockets(cmd, ctx)
    reader = _PROGRAMS.get(cmd.program)
    if reader is None and INTERPRETER.match(cmd.program):
        reader = interpreter
    if reader is not None:
        found.extend(reader(cmd, ctx))
    return unique(found)


_PROGRAMS: dict[str, Reader] = {**net_http.PROGRAMS, **net_sockets.PROGRAMS}

__all__ = [
    "INTERPRETER",
    "READ_METHODS",
    "RULES",
    "check_command",
    "check_request",
    "host_allowed",
    "inline_code",
    "is_metadata",
    "judge_host",
    "judge_request",
    "output_files",
]
