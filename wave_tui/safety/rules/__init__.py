"""The deterministic rule layer: each tool call becomes a list of findings, by rule id.

One module per kind of action (commands, files, git, network, SQL); each exposes `RULES` and a
`check_command(cmd, ctx)` for the simple commands a shell line runs, and the file, network and SQL
modules a checker for their own tool. This module routes a tool call to them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding, Rule, RuleRegistry
from wave_tui.safety.principles import Severity
from wave_tui.safety.rules import execution, files, git, network, sql
from wave_tui.safety.shell import ParsedCommand, parse_command

SHELL_TOOLS = frozenset({"bash", "run_command", "shell", "sh", "exec"})
# Tools that only answer (a plan, a review, "finished"): nothing runs, nothing to score.
ANSWER_TOOLS = frozenset({"finish", "submit_plan", "submit_review"})
KNOWN_TOOLS = (
    SHELL_TOOLS
    | ANSWER_TOOLS
    | {
        "write_file",
        "read_file",
        "delete_file",
        "list_files",
        "http_request",
        "sql",
    }
)

UNKNOWN_TOOL = Rule(
    "tool.unknown",
    "compliance.approved_plan",
    Severity.MEDIUM,
    "a tool the safety layer does not know: its effect cannot be judged",
)
BAD_ARGUMENTS = Rule(
    "tool.bad_arguments",
    "data_integrity.validate_input",
    Severity.MEDIUM,
    "arguments the safety layer cannot read: the action cannot be judged",
)
UNRESOLVED = Rule(
    "exec.unresolved",
    "data_integrity.validate_input",
    Severity.MEDIUM,
    "part of the command is known only at run time",
)
PIPE_TO_SHELL = Rule(
    "net.pipe_to_shell",
    "system_safety.network_requests",
    Severity.CRITICAL,
    "downloaded code is run by a shell without anyone reading it",
)
OBFUSCATED_SHELL = Rule(
    "exec.obfuscated_shell",
    "security.disable_protections",
    Severity.HIGH,
    "encoded text is decoded and run by a shell: the command hides what it does",
)
STDIN_TO_SHELL = Rule(
    "exec.stdin_to_shell",
    "data_integrity.validate_input",
    Severity.MEDIUM,
    "a shell runs code it reads from a pipe, not from the command line",
)
SCORER_ERROR = Rule(
    "scorer.error",
    "compliance.validation_gates",
    Severity.CRITICAL,
    "the safety layer failed while judging the action: blocked rather than waved through",
)

_OWN_RULES: tuple[Rule, ...] = (
    UNKNOWN_TOOL,
    BAD_ARGUMENTS,
    UNRESOLVED,
    PIPE_TO_SHELL,
    OBFUSCATED_SHELL,
    STDIN_TO_SHELL,
    SCORER_ERROR,
)
_MODULES = (execution, files, git, network, sql)
_FETCHERS = frozenset({"curl", "wget", "fetch", "aria2c", "nc", "ncat", "netcat", "socat", "http"})
_DECODERS = frozenset({"base64", "base32", "xxd", "openssl", "uudecode", "gunzip", "zcat", "rev"})
_CHANGE_DIRECTORY = frozenset({"cd", "pushd"})

REGISTRY = RuleRegistry()
REGISTRY.add(_OWN_RULES)
for _module in _MODULES:
    REGISTRY.add(_module.RULES)


def check_tool(tool: str, args: Mapping[str, Any], ctx: SafetyContext) -> list[Finding]:
    """Every finding the rules make about calling `tool` with `args`; [] means nothing fired."""
    if tool in ANSWER_TOOLS:
        return []
    if tool in SHELL_TOOLS:
        command = args.get("command", args.get("argv"))
        if isinstance(command, str) and command.strip():
            return check_shell(parse_command(command), ctx)
        if _is_argv(command):
            return check_shell(parse_command([str(a) for a in command]), ctx)
        return [BAD_ARGUMENTS.finding(f"{tool} needs 'command' (a string) or 'argv' (a list)")]
    checker = _FILE_TOOLS.get(tool)
    if checker is not None:
        path = args.get("path", "." if tool == "list_files" else None)
        if not isinstance(path, str) or not path:
            return [BAD_ARGUMENTS.finding(f"{tool} needs 'path' (a string)")]
        if tool == "write_file":
            content = args.get("content", "")
            if not isinstance(content, str):
                return [BAD_ARGUMENTS.finding("write_file 'content' must be a string")]
            return files.check_write(path, content, ctx)
        return checker(path, ctx)
    if tool == "http_request":
        url, method, body = args.get("url"), args.get("method", "GET"), args.get("body", "")
        if not isinstance(url, str) or not isinstance(method, str):
            return [BAD_ARGUMENTS.finding("http_request needs 'url' and an optional 'method'")]
        text = body if isinstance(body, str) else repr(body)
        return network.check_request(url, method.upper(), text, ctx)
    if tool == "sql":
        query = args.get("query")
        if not isinstance(query, str) or not query.strip():
            return [BAD_ARGUMENTS.finding("sql needs 'query' (a string)")]
        return sql.check_sql(query, ctx)
    return [UNKNOWN_TOOL.finding(tool)]


def check_shell(parsed: ParsedCommand, ctx: SafetyContext) -> list[Finding]:
    """Findings for a parsed command line: each simple command in the order it would run (a
    `cd` moves the directory later relative paths are judged in), then the line as a whole."""
    found: list[Finding] = [UNRESOLVED.finding(reason) for reason in parsed.unresolved]
    programs = {cmd.program for cmd in parsed.commands}
    if parsed.pipes_into_shell:
        if programs & _FETCHERS:
            found.append(PIPE_TO_SHELL.finding(", ".join(sorted(programs & _FETCHERS))))
        elif programs & _DECODERS:
            found.append(OBFUSCATED_SHELL.finding(", ".join(sorted(programs & _DECODERS))))
        else:
            found.append(STDIN_TO_SHELL.finding(" | ".join(c.program for c in parsed.commands)))
    here = ctx
    for cmd in parsed.commands:
        if cmd.program in _CHANGE_DIRECTORY:
            target = next((a for a in cmd.argv[1:] if not a.startswith("-")), str(ctx.home))
            here = here.with_cwd(target)
            continue
        for module in _MODULES:
            found.extend(module.check_command(cmd, here))
    return found


def _is_argv(value: object) -> bool:
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(isinstance(a, str | int | float) for a in value)
    )


_FILE_TOOLS: dict[str, Callable[[str, SafetyContext], list[Finding]]] = {
    "write_file": lambda path, ctx: files.check_write(path, "", ctx),
    "read_file": files.check_read,
    "list_files": files.check_read,
    "delete_file": files.check_delete,
}

__all__ = ["ANSWER_TOOLS", "KNOWN_TOOLS", "REGISTRY", "SHELL_TOOLS", "check_shell", "check_tool"]
