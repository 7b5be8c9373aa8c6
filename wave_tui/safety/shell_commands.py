"""What a parsed command line is made of: the simple commands that would run, with what the line
around each says about it, and what could not be known without running it."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Loop:
    """A loop or repeater around a command: how often and how fast the command runs."""

    header: str  # as written: `for i in $(seq 1 100)`, `while true`, `xargs -P 50`, `watch -n 1`
    pauses: bool = False  # the body sleeps between rounds


@dataclass(frozen=True, slots=True)
class SimpleCommand:
    """One program that would run. `argv` is empty for a bare redirection such as `> file`, or
    a bare assignment such as `HISTFILE=/dev/null` (then `assignments` holds it)."""

    argv: tuple[str, ...]
    via: tuple[str, ...] = ()  # wrappers peeled off on the way, outermost first
    redirects: tuple[str, ...] = ()  # every redirection target (files read or written)
    writes: tuple[str, ...] = ()  # the targets that are written (`>`, `>>`, `&>`, …)
    assignments: tuple[str, ...] = ()  # `NAME=value` set for it (before it, or through `env`)
    function: str = ""  # the shell function whose body holds it
    loops: tuple[Loop, ...] = ()  # loops and repeaters around it, outermost first
    connector: str = ""  # the operator after it: `|`, `&&`, `||`, `;`, `&`, or "" at the end
    followed_by: tuple[str, ...] = ()  # argv of the command after that operator
    found_under: tuple[str, ...] = ()  # `find … -exec`: the start paths `{}` lies under
    stdin: str | None = None  # text known to reach its stdin: `echo …|`, `<<EOF`, `<<<`

    @property
    def program(self) -> str:
        """The program's base name (`/bin/rm` → `rm`), or "" for a bare redirection."""
        return posixpath.basename(self.argv[0]) if self.argv else ""


@dataclass(slots=True)
class ParsedCommand:
    commands: list[SimpleCommand] = field(default_factory=list)
    pipes_into_shell: bool = False  # `curl … | sh`: code arrives on a shell's stdin
    unresolved: list[str] = field(default_factory=list)

    @property
    def resolved(self) -> bool:
        return not self.unresolved

    @property
    def functions(self) -> dict[str, list[SimpleCommand]]:
        """The shell functions the line defines, each with the commands of its body."""
        bodies: dict[str, list[SimpleCommand]] = {}
        for cmd in self.commands:
            if cmd.function:
                bodies.setdefault(cmd.function, []).append(cmd)
        return bodies
