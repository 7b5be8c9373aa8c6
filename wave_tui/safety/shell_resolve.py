"""Resolving one simple command into the programs it would run: wrappers peeled, nested shells,
`eval`, aliases, traps, `find -exec` and awk's `system()` parsed, redirections attached.

What a program runs is judged like anything on the line itself; a wrapper is never the
program that matters. Whatever cannot be followed statically is reported as unresolved.
"""

from __future__ import annotations

import posixpath
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace

from wave_tui.safety.shell_commands import Loop, ParsedCommand, SimpleCommand
from wave_tui.safety.shell_lexer import Redirect, Word
from wave_tui.safety.shell_wrappers import (
    AWKS,
    CODE_OPTIONS,
    INTERPRETER,
    PARALLEL_INPUTS,
    SHELLS,
    WRAPPERS,
    Wrapper,
)

_KEYWORDS = frozenset({"!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done"})
_KEYWORDS |= {"while", "until"}
HEADER_KEYWORDS = frozenset({"for", "select", "function"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=")
_WRITE_OPS = frozenset({">", ">>", ">|", "&>", "&>>", "<>", ">&"})
_AWK_STRING = r'"((?:[^"\\]|\\.)*)"'
_AWK_SYSTEM = re.compile(r"\bsystem\s*\(\s*(?:" + _AWK_STRING + r"\s*\))?")
_AWK_PIPE_TO = re.compile(r"\|&?\s*" + _AWK_STRING)  # `print … | "cmd"`
_AWK_PIPE_FROM = re.compile(_AWK_STRING + r"\s*\|&?\s*getline")  # `"cmd" | getline`

_Change = Callable[[SimpleCommand], SimpleCommand]


def is_keyword(word: Word) -> bool:
    return not word.quoted and word.text in _KEYWORDS


class Resolver(ABC):
    """Resolves simple commands (wrappers, nested shells, awk, aliases) into `out`; nested
    command lines go back to `line`, which the parser that reads whole lines provides."""

    def __init__(self, out: ParsedCommand) -> None:
        self.out = out
        self.stdin_text: str | None = None  # known text piped into the command being resolved

    @abstractmethod
    def line(self, source: str, via: tuple[str, ...], depth: int, piped: bool = False) -> None:
        """Parse a nested command line (`sh -c '…'`, `$(…)`, an alias body) into `out`."""

    def resolve(
        self,
        words: list[Word],
        redirects: list[Redirect],
        via: tuple[str, ...],
        depth: int,
        piped: bool,
    ) -> None:
        """Record the command `words` would run, peeling wrappers and parsing nested shells."""
        for word in [*words, *(r.target for r in redirects)]:
            for inner in word.substitutions:
                self.line(inner, (*via, "$(...)"), depth + 1)
            for inner in word.process_substitutions:
                self.line(inner, (*via, "<(...)"), depth + 1)
        start = len(self.out.commands)
        stdin = self.stdin_text if piped else None
        self.command(words, redirects, via, depth, piped)
        for redirect in redirects:
            if redirect.op in ("<<", "<<-") and redirect.heredoc is not None:
                stdin = redirect.heredoc
            elif redirect.op == "<<<":
                stdin = redirect.target.text
        if stdin is not None and len(self.out.commands) > start:
            self.out.commands[-1] = replace(self.out.commands[-1], stdin=stdin)
        targets, writes = _redirect_targets(redirects)
        if targets:  # a wrapper's redirections apply to what it runs (`sh -c '…' > f`)
            self._amend(
                start,
                lambda c: replace(
                    c, redirects=(*c.redirects, *targets), writes=(*c.writes, *writes)
                ),
            )

    def _amend(self, start: int, change: _Change) -> None:
        commands = self.out.commands
        for i in range(start, len(commands)):
            commands[i] = change(commands[i])

    def command(
        self,
        words: list[Word],
        redirects: list[Redirect],
        via: tuple[str, ...],
        depth: int,
        piped: bool,
    ) -> None:
        while words and is_keyword(words[0]):
            words = words[1:]
        if words and not words[0].quoted and words[0].text in HEADER_KEYWORDS:
            return  # `for x in …`: nothing runs here (substitutions were parsed)
        assignments: list[str] = []
        while words and words[0].assignment:
            assignments.append(words[0].text)
            words = words[1:]
        if not words:
            if redirects or assignments:  # `> file` truncates it; `X=1` sets a variable
                self.out.commands.append(SimpleCommand((), via, assignments=tuple(assignments)))
            return
        start = len(self.out.commands)
        self._run(words, redirects, via, depth, piped)
        if assignments:
            self._amend(start, lambda c: replace(c, assignments=(*assignments, *c.assignments)))

    def _run(
        self,
        words: list[Word],
        redirects: list[Redirect],
        via: tuple[str, ...],
        depth: int,
        piped: bool,
    ) -> None:
        argv = tuple(w.text for w in words)
        program, name = words[0], posixpath.basename(words[0].text)
        if program.dynamic or program.expands:
            self.out.unresolved.append(f"the program is known only at run time: {program.text}")
            self.out.commands.append(SimpleCommand(argv, via))
            return
        wrapper = WRAPPERS.get(name)
        if wrapper is not None:
            if self._wrapped(words, redirects, wrapper, via, depth, piped):
                return
        elif name in SHELLS:
            if self._shell(words, redirects, via, depth, piped):
                return
        elif name == "eval":
            if any(w.dynamic for w in words[1:]):
                self.out.unresolved.append(
                    f"eval of a value known only at run time: {' '.join(argv)}"
                )
            self.line(" ".join(argv[1:]), (*via, "eval"), depth + 1)
            return
        elif INTERPRETER.match(name) and piped and _reads_stdin(words[1:], CODE_OPTIONS):
            self.out.pipes_into_shell = True
        elif name == "find":
            self._find_exec(words, via, depth)
        elif name in AWKS:
            self._awk(words, via, depth)
        elif name == "alias":
            for definition in argv[1:]:
                _, eq, body = definition.partition("=")
                if eq:
                    self.line(body, (*via, "alias"), depth + 1)
        elif name == "trap":
            operands = [a for a in argv[1:] if not a.startswith("-")]
            if len(operands) >= 2 and operands[0]:  # `trap 'cmd' EXIT` runs cmd later
                self.line(operands[0], (*via, "trap"), depth + 1)
        self.out.commands.append(SimpleCommand(argv, via))

    # --- wrappers ----------------------------------------------------------------------------

    def _wrapped(
        self,
        words: list[Word],
        redirects: list[Redirect],
        wrapper: Wrapper,
        via: tuple[str, ...],
        depth: int,
        piped: bool,
    ) -> bool:
        """Record what a wrapper runs; False when it runs nothing (`command -v rm`)."""
        peeled = self._peel(words, wrapper, via, depth)
        if peeled is None:
            return False
        label, rest, own, assignments = peeled
        start = len(self.out.commands)
        inner = (*via, label)
        name = posixpath.basename(words[0].text)
        if name == "parallel":
            rest, inputs = _split_at(rest, PARALLEL_INPUTS)
            own = [*own, *inputs]
            if not rest:  # `parallel ::: 'cmd a' 'cmd b'`: the inputs are the commands
                sources = [w.text for w in inputs if w.text not in PARALLEL_INPUTS]
                for source in sources:
                    self.line(source, inner, depth + 1)
                if not sources:
                    self.out.unresolved.append("parallel runs commands it reads from its input")
        if name == "hatch" and rest and ":" in rest[0].text:  # `hatch run env:cmd`
            rest = [replace(rest[0], text=rest[0].text.split(":", 1)[1]), *rest[1:]]
        if wrapper.joins and rest and not any(w.text in ("-x", "--exec") for w in own):
            self.line(" ".join(w.text for w in rest), inner, depth + 1)
        elif rest or name == "exec":
            self.command(rest, redirects, inner, depth, piped)
        if wrapper.repeats:
            loop = Loop(" ".join(w.text for w in own))
            self._amend(start, lambda c: replace(c, loops=(loop, *c.loops)))
        if assignments:
            self._amend(start, lambda c: replace(c, assignments=(*assignments, *c.assignments)))
        return True

    def _peel(
        self, words: list[Word], wrapper: Wrapper, via: tuple[str, ...], depth: int
    ) -> tuple[str, list[Word], list[Word], tuple[str, ...]] | None:
        """What a wrapper runs: (its label in `via`, the command's words, the wrapper's own
        words, the variables it sets), or None when it runs no command."""
        name = posixpath.basename(words[0].text)
        label, i, positionals = name, 1, wrapper.positionals
        assignments: list[str] = []
        if wrapper.subcommands:
            while i < len(words) and words[i].text.startswith("-") and len(words[i].text) > 1:
                i += 2 if words[i].text in wrapper.value_options else 1
            if i >= len(words) or words[i].text not in wrapper.subcommands:
                return None
            label = f"{name} {words[i].text}"
            i += 1
        while i < len(words):
            text = words[i].text
            if text == "--":
                i += 1
                break
            if name == "env" and _ASSIGNMENT.match(text):
                assignments.append(text)
                i += 1
            elif text in wrapper.code_options and i + 1 < len(words):
                code = " ".join(w.text for w in words[i + 1 :])
                self.line(code, (*via, label), depth + 1)
                return label, [], words[:i], tuple(assignments)
            elif text in wrapper.no_command_options:
                return None
            elif text.startswith("-") and len(text) > 1:
                i += 2 if text in wrapper.value_options else 1
            elif positionals:
                positionals -= 1
                i += 1
            else:
                break
        if name == "env":
            while i < len(words) and _ASSIGNMENT.match(words[i].text):
                assignments.append(words[i].text)
                i += 1
        rest = words[i:]
        if not rest and name not in ("exec", "parallel"):
            return None  # `exec > log` redirects the shell; `parallel` reads commands
        return label, rest, words[:i], tuple(assignments)

    # --- nested shells and programs that run commands ----------------------------------------

    def _shell(
        self,
        words: list[Word],
        redirects: list[Redirect],
        via: tuple[str, ...],
        depth: int,
        piped: bool,
    ) -> bool:
        """Parse what a shell would run; True when its own argv need not be recorded."""
        name = posixpath.basename(words[0].text)
        i, has_c = 1, False
        while i < len(words) and words[i].text.startswith(("-", "+")) and words[i].text != "-":
            text = words[i].text
            i += 1
            if text == "--":
                break
            if not text.startswith("--") and "c" in text[1:]:
                has_c = True
            if text in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
                i += 1
        if has_c:
            if i >= len(words):
                return False
            self.line(words[i].text, (*via, f"{name} -c"), depth + 1)
            return True
        for redirect in redirects:
            if redirect.op in ("<<", "<<-") and redirect.heredoc is not None:
                self.line(redirect.heredoc, (*via, f"{name} <<"), depth + 1)
            elif redirect.op == "<<<":
                self.line(redirect.target.text, (*via, f"{name} <<<"), depth + 1)
        operands = words[i:]
        reads_stdin = not operands or operands[0].text == "-" or _has_flag(words, "s")
        if operands and operands[0].process_substitutions:
            self.out.pipes_into_shell = True  # `bash <(curl …)` runs what the download says
        elif piped and reads_stdin and self.stdin_text is not None:
            self.line(self.stdin_text, (*via, f"{name} <|"), depth + 1)  # `echo "ls" | sh`
        elif piped and reads_stdin:
            self.out.pipes_into_shell = True
        return False

    def _find_exec(self, words: list[Word], via: tuple[str, ...], depth: int) -> None:
        """Record the command each `-exec … ;` (or `-execdir`, `-ok`) of a `find` would run,
        with the start paths its `{}` stands under."""
        roots = tuple(_find_roots([w.text for w in words[1:]]))
        i = 1
        while i < len(words):
            if words[i].text in ("-exec", "-execdir", "-ok", "-okdir"):
                end = i + 1
                while end < len(words) and words[end].text not in (";", "+"):
                    end += 1
                if end > i + 1:
                    start = len(self.out.commands)
                    self.command(words[i + 1 : end], [], (*via, "find -exec"), depth + 1, False)
                    self._amend(start, lambda c: replace(c, found_under=roots))
                i = end
            i += 1

    def _awk(self, words: list[Word], via: tuple[str, ...], depth: int) -> None:
        """awk's `system("…")` and `print | "…"` run commands: parse the literal ones."""
        for program in _awk_programs([w.text for w in words[1:]]):
            for match in _AWK_SYSTEM.finditer(program):
                if match.group(1) is None:
                    self.out.unresolved.append("awk runs a command built at run time")
                else:
                    self.line(_awk_unescape(match.group(1)), (*via, "awk system"), depth + 1)
            for match in _AWK_PIPE_TO.finditer(program):
                self.line(_awk_unescape(match.group(1)), (*via, "awk |"), depth + 1, piped=True)
            for match in _AWK_PIPE_FROM.finditer(program):
                self.line(_awk_unescape(match.group(1)), (*via, "awk getline"), depth + 1)


def _split_at(words: list[Word], markers: frozenset[str]) -> tuple[list[Word], list[Word]]:
    for i, word in enumerate(words):
        if word.text in markers:
            return words[:i], words[i:]
    return words, []


def _find_roots(args: list[str]) -> list[str]:
    """The start paths of a `find` (`.` when none is given), after its leading options."""
    roots: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-H", "-L", "-P") or arg.startswith("-O"):
            i += 1
        elif arg == "-D":
            i += 2
        elif arg.startswith(("-", "(", "!", ")")) or arg == ",":
            break
        else:
            roots.append(arg)
            i += 1
    return roots or ["."]


def _awk_programs(args: list[str]) -> list[str]:
    """The program texts of an awk command line: `-e`/`--source` values, else the first
    operand (none when the program comes from a file with `-f`)."""
    programs: list[str] = []
    from_file = False
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-e", "--source") and i + 1 < len(args):
            programs.append(args[i + 1])
            i += 2
            continue
        if arg in ("-f", "--file"):
            from_file = True
            i += 2
            continue
        if arg in ("-F", "-v", "--assign", "--field-separator"):
            i += 2
            continue
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        i += 1
    if not programs and not from_file and i < len(args):
        programs.append(args[i])
    return programs


def _awk_unescape(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal)


def _reads_stdin(args: list[Word], code_options: frozenset[str]) -> bool:
    """Whether an interpreter given `args` takes its program from stdin."""
    for word in args:
        text = word.text
        if text in code_options or any(text.startswith(o) and len(o) == 2 for o in code_options):
            return False
        if text == "-":
            return True
        if not text.startswith("-"):
            return False
    return True


def _has_flag(words: list[Word], letter: str) -> bool:
    return any(
        w.text.startswith("-") and not w.text.startswith("--") and letter in w.text[1:]
        for w in words[1:]
    )


def _redirect_targets(redirects: list[Redirect]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    targets: list[str] = []
    writes: list[str] = []
    for redirect in redirects:
        target = redirect.target.text
        if redirect.op in ("<<", "<<-", "<<<"):
            continue  # a here-document's delimiter or a here-string is not a file
        if redirect.op in (">&", "<&") and (target.isdigit() or target == "-"):
            continue  # `2>&1` duplicates a descriptor; no file is touched
        targets.append(target)
        if redirect.op in _WRITE_OPS:
            writes.append(target)
    return tuple(targets), tuple(writes)
