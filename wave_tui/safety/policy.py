"""A project's own safety policy: `wave-policy.toml` with deny, ask and allow rules.

Rules have the form `Tool(pattern)` (`bash(npm run *)`, `write_file(src/**)`) and are checked
deny → ask → allow, first match wins. A policy tightens freely; it loosens a built-in rule only
through an `allow` entry that names that rule's id.

How a pattern matches, per tool:

- `bash` / `run_command` (one tool here): the whole command line, `*` spanning anything. A `deny`
  also matches any single program the line runs (`a && curl x | sh`, `sudo curl x`), so a denied
  command cannot hide inside a compound line; `ask` and `allow` match the whole line only.
- `write_file`, `read_file`, `delete_file`, `list_files`: the path relative to the worktree, as
  story file rules match (`src/**`, `*.py` at any depth). A path outside the worktree matches only
  absolute patterns (`/etc/**`, `~/.ssh/**`).
- `http_request`: the URL, case-insensitively; `sql`: the query, case-insensitively with
  whitespace collapsed (a `deny` also matches any one `;`-separated statement).
- `*`: any tool, with that tool's matching; the pattern `*` alone matches every call.
"""

from __future__ import annotations

import functools
import re
import shlex
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any

from wave_tui.domain.globs import matches_glob
from wave_tui.errors import UserError
from wave_tui.safety.context import ResolvedPath, SafetyContext
from wave_tui.safety.shell import parse_command


class PolicyError(UserError):
    """The policy file cannot be read or one of its entries is malformed (one line, exit 2)."""


class PolicyAction(StrEnum):
    DENY = "deny"
    ASK = "ask"
    ALLOW = "allow"


@dataclass(frozen=True, slots=True)
class PolicyMatch:
    """The policy entry that decided: where it is written, and the rule ids it waives."""

    action: PolicyAction
    entry: str  # as written: `bash(npm run *)`
    source: str  # the policy file
    line: int  # 1-based line of the entry in the file (0 when not from a file)
    waives: tuple[str, ...] = ()  # rule ids an `allow` entry explicitly loosens
    reason: str = ""

    @property
    def cite(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where} {self.action} {self.entry}"


SHELL = "bash"  # the name both shell tools match under
_TOOL_ALIASES = {"bash": SHELL, "run_command": SHELL}
FILE_TOOLS = frozenset({"write_file", "read_file", "delete_file", "list_files"})
POLICY_TOOLS = frozenset({*_TOOL_ALIASES, *FILE_TOOLS, "http_request", "sql", "*"})
_ENTRY = re.compile(r"(?P<tool>\*|[A-Za-z_][A-Za-z0-9_]*)\((?P<pattern>.*)\)", re.DOTALL)
_KEYS = frozenset(action.value for action in PolicyAction)
_TABLE_KEYS = frozenset({"match", "rules", "reason"})
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class PolicyEntry:
    """One parsed line of a policy: `tool(pattern)` under `action`."""

    action: PolicyAction
    text: str  # as written, for citing
    tool: str  # `bash` for both shell tools, `*` for any tool
    pattern: str
    line: int = 0
    waives: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Policy:
    source: str = ""
    entries: tuple[PolicyEntry, ...] = ()  # deny entries, then ask, then allow, in file order

    @classmethod
    def load(cls, path: Path) -> Policy:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PolicyError(f"{path}: policy file not found") from None
        except (OSError, UnicodeDecodeError) as error:
            raise PolicyError(f"{path}: cannot read the policy file ({error})") from None
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, source: str = "wave-policy.toml") -> Policy:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            found = re.search(r"line (\d+)", str(error))
            line = found.group(1) if found else "1"
            raise PolicyError(f"{source}:{line}: not valid TOML: {error}") from None
        lines = _LineFinder(text, source)
        for key in data:
            if key not in _KEYS:
                raise lines.error(key, f"unknown key {key!r} (expected deny, ask or allow)")
        entries: list[PolicyEntry] = []
        for action in PolicyAction:
            entries.extend(_parse_list(action, data.get(action.value, []), lines))
        return cls(source, tuple(entries))

    def match(self, tool: str, args: Mapping[str, Any], ctx: SafetyContext) -> PolicyMatch | None:
        """The first entry that matches the call (deny, then ask, then allow), or None."""
        call = _Call(tool, args, ctx)
        for entry in self.entries:
            if _entry_matches(entry, call):
                return PolicyMatch(
                    entry.action, entry.text, self.source, entry.line, entry.waives, entry.reason
                )
        return None


class _LineFinder:
    """Where keys and entries sit in the source text: tomllib reports no positions."""

    def __init__(self, text: str, source: str) -> None:
        self.text, self.source = text, source
        self._after: dict[str, int] = {}

    def key_offset(self, key: str) -> int:
        # `deny = [`, `"deny" =`, `deny.x =` or an array-of-tables header `[[allow]]`
        head = rf"(?m)^[ \t]*(?:\[\[?[ \t]*)?[\"']?{re.escape(key)}[\"']?[ \t]*[=.\]]"
        found = re.search(head, self.text)
        return found.start() if found else -1

    def entry_line(self, key: str, needle: str) -> int:
        """The line of `needle`: its first occurrence after the key's previous entry."""
        start = self._after.get(key, max(self.key_offset(key), 0))
        found = self.text.find(needle, start) if needle else -1
        if found < 0:
            return self.key_line(key)
        self._after[key] = found + len(needle)
        return self.text.count("\n", 0, found) + 1

    def key_line(self, key: str) -> int:
        offset = self.key_offset(key)
        return self.text.count("\n", 0, offset) + 1 if offset >= 0 else 1

    def error(self, key: str, message: str, line: int | None = None) -> PolicyError:
        return PolicyError(f"{self.source}:{line or self.key_line(key)}: {message}")


def _parse_list(action: PolicyAction, value: object, lines: _LineFinder) -> list[PolicyEntry]:
    key = action.value
    if not isinstance(value, list):
        raise lines.error(key, f"{key} must be a list of 'tool(pattern)' entries")
    return [_parse_entry(action, item, lines) for item in value]


def _parse_entry(action: PolicyAction, item: object, lines: _LineFinder) -> PolicyEntry:
    key = action.value
    if isinstance(item, str):
        text, rules, reason = item.strip(), [], ""
        line = lines.entry_line(key, item)
    elif isinstance(item, dict):
        match = item.get("match")
        line = lines.entry_line(key, match if isinstance(match, str) else "")
        if not isinstance(match, str):
            raise lines.error(key, f"{key} table entry needs 'match' (a string)", line)
        text, rules, reason = match.strip(), item.get("rules", []), item.get("reason", "")
        unknown = sorted(set(item) - _TABLE_KEYS)
        if unknown:
            raise lines.error(key, f"{key} entry {text!r} has unknown key {unknown[0]!r}", line)
        if "rules" in item and action is not PolicyAction.ALLOW:
            message = f"{key} entry {text!r} names rules: only allow entries waive rules"
            raise lines.error(key, message, line)
        if not isinstance(reason, str):
            raise lines.error(key, f"{key} entry {text!r}: 'reason' must be a string", line)
        if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
            raise lines.error(key, f"{key} entry {text!r}: 'rules' must be a list of ids", line)
    else:
        raise lines.error(key, f"{key} entries are 'tool(pattern)' strings or tables")
    parsed = _ENTRY.fullmatch(text)
    if parsed is None or not parsed.group("pattern").strip():
        message = f"{key} entry {text!r} is not of the form tool(pattern), e.g. bash(npm run *)"
        raise lines.error(key, message, line)
    tool = parsed.group("tool").lower()
    if tool not in POLICY_TOOLS:
        known = ", ".join(sorted(POLICY_TOOLS))
        raise lines.error(key, f"{key} entry {text!r} names unknown tool {tool!r} ({known})", line)
    problem = _rule_problem(rules)
    if problem:
        raise lines.error(key, f"{key} entry {text!r} {problem}", line)
    pattern = parsed.group("pattern").strip()
    tool = _TOOL_ALIASES.get(tool, tool)
    return PolicyEntry(action, text, tool, pattern, line, tuple(rules), reason)


def _rule_problem(rule_ids: Sequence[str]) -> str:
    """Why an allow entry cannot waive `rule_ids`, or "" when it can."""
    # Imported here: the rule layer and the evaluation both sit above this module.
    from wave_tui.safety.evaluation import UNWAIVABLE
    from wave_tui.safety.rules import REGISTRY

    for rule_id in rule_ids:
        if rule_id not in REGISTRY:
            return f"names unknown rule {rule_id!r} (not a built-in rule id)"
        if rule_id in UNWAIVABLE:
            return f"names rule {rule_id!r}, which no policy can waive"
    return ""


class _Call:
    """A tool call as patterns see it; each view is computed once, only when an entry asks."""

    def __init__(self, tool: str, args: Mapping[str, Any], ctx: SafetyContext) -> None:
        from wave_tui.safety.rules import SHELL_TOOLS

        self.kind = SHELL if tool in SHELL_TOOLS else tool
        self.args, self.ctx = args, ctx

    @cached_property
    def command(self) -> str | None:
        command = self.args.get("command", self.args.get("argv"))
        if isinstance(command, str):
            return command.strip()
        if isinstance(command, list | tuple) and command:
            return shlex.join(str(arg) for arg in command)
        return None

    @cached_property
    def simple_commands(self) -> tuple[str, ...]:
        """Each program the line runs, as written and under its bare name (`/bin/rm` → `rm`)."""
        command = self.args.get("command", self.args.get("argv"))
        if not isinstance(command, str):
            command = [str(arg) for arg in command]
        found: list[str] = []
        for cmd in parse_command(command).commands:
            if cmd.argv:
                found += [shlex.join(cmd.argv), shlex.join((cmd.program, *cmd.argv[1:]))]
        return tuple(dict.fromkeys(found))

    @cached_property
    def path(self) -> ResolvedPath | None:
        path = self.args.get("path", "." if self.kind == "list_files" else None)
        return self.ctx.resolve(path) if isinstance(path, str) and path else None

    @cached_property
    def url(self) -> str | None:
        url = self.args.get("url")
        return url.strip() if isinstance(url, str) else None

    @cached_property
    def query(self) -> str | None:
        query = self.args.get("query")
        return _collapse(query) if isinstance(query, str) else None

    @cached_property
    def statements(self) -> tuple[str, ...]:
        return tuple(s for s in (_collapse(p) for p in (self.query or "").split(";")) if s)


def _entry_matches(entry: PolicyEntry, call: _Call) -> bool:
    if entry.tool not in ("*", call.kind):
        return False
    if entry.pattern in ("*", "**"):
        return True
    deny = entry.action is PolicyAction.DENY
    if call.kind == SHELL:
        if call.command is None:
            return False
        regex = _wildcard(entry.pattern, ignore_case=False)
        if regex.fullmatch(call.command):
            return True
        return deny and any(regex.fullmatch(c) for c in call.simple_commands)
    if call.kind in FILE_TOOLS:
        return call.path is not None and _path_matches(call.path, entry.pattern, call.ctx)
    if call.kind == "http_request":
        return call.url is not None and bool(
            _wildcard(entry.pattern, ignore_case=True).fullmatch(call.url)
        )
    if call.kind == "sql":
        if call.query is None:
            return False
        regex = _wildcard(_collapse(entry.pattern), ignore_case=True)
        if regex.fullmatch(call.query):
            return True
        return deny and any(regex.fullmatch(s) for s in call.statements)
    return False  # a tool with no subject to match: only the bare `*` pattern covers it


def _path_matches(path: ResolvedPath, pattern: str, ctx: SafetyContext) -> bool:
    if pattern == "~" or pattern.startswith("~/"):
        pattern = str(ctx.home) + pattern[1:]
    if not pattern.startswith("/"):
        relative = path.relative
        return relative is not None and matches_glob(relative, pattern.removeprefix("./"))
    if path.absolute is None:
        return False
    absolute = path.absolute.as_posix().lstrip("/")
    anchored = pattern.strip("/")
    if "/" not in anchored:  # `/etc`: the top-level name, not any segment called `etc`
        return bool(absolute) and matches_glob(absolute.split("/")[0], anchored)
    return matches_glob(absolute, anchored)


def _collapse(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


@functools.lru_cache(maxsize=256)
def _wildcard(pattern: str, *, ignore_case: bool) -> re.Pattern[str]:
    """`*` (or `**`) spans any run of characters, spaces and `/` included; the rest is literal."""
    body = ".*".join(re.escape(part) for part in re.split(r"\*+", pattern))
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))
