"""Understand a shell command the way a shell would, without running it.

Every simple command that would execute is listed with its real argv (wrappers such as `sudo`,
`env`, `xargs`, `sh -c` peeled off); anything that cannot be known statically is reported in
`unresolved`, so the rule layer escalates it instead of waving it through.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from wave_tui.safety.shell_lexer import Operator, Redirect, Word, tokenize

MAX_DEPTH = 8

SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish"})
_INTERPRETER = re.compile(r"^(python[0-9.]*|pypy[0-9.]*|perl[0-9.]*|ruby|node|nodejs|php|lua)$")
# Options after which an interpreter takes its program from an argument, not from stdin.
_CODE_OPTIONS = frozenset({"-c", "-e", "-E", "-m", "-r", "-p", "--eval", "--print"})
_KEYWORDS = frozenset({"!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done"})
_KEYWORDS |= {"while", "until"}
_HEADER_KEYWORDS = frozenset({"for", "select", "function"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=")
_WRITE_OPS = frozenset({">", ">>", ">|", "&>", "&>>", "<>", ">&"})


@dataclass(frozen=True, slots=True)
class _Wrapper:
    """A program that runs the rest of its argv as another command."""

    value_options: frozenset[str] = frozenset()  # options that consume the next word
    positionals: int = 0  # words before the command (the duration of `timeout`)
    no_command_options: frozenset[str] = frozenset()  # options meaning "no command runs"


_WRAPPERS: dict[str, _Wrapper] = {
    "sudo": _Wrapper(
        frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "--user"}),
        no_command_options=frozenset({"-e", "--edit", "-l", "--list", "-v", "-k", "-K"}),
    ),
    "doas": _Wrapper(frozenset({"-u", "-C"})),
    "env": _Wrapper(frozenset({"-u", "--unset", "-C", "--chdir"})),
    "nohup": _Wrapper(),
    "setsid": _Wrapper(),
    "builtin": _Wrapper(),
    "busybox": _Wrapper(),
    "time": _Wrapper(frozenset({"-f", "--format", "-o", "--output"})),
    "nice": _Wrapper(frozenset({"-n", "--adjustment"})),
    "timeout": _Wrapper(frozenset({"-s", "--signal", "-k", "--kill-after"}), positionals=1),
    "stdbuf": _Wrapper(frozenset({"-i", "-o", "-e"})),
    "exec": _Wrapper(frozenset({"-a"})),
    "command": _Wrapper(no_command_options=frozenset({"-v", "-V"})),
    "xargs": _Wrapper(
        frozenset({"-I", "-L", "-n", "-P", "-s", "-d", "-E", "-a", "--max-args", "--delimiter"})
    ),
}


@dataclass(frozen=True, slots=True)
class SimpleCommand:
    """One program that would run. `argv` is empty for a bare redirection such as `> file`."""

    argv: tuple[str, ...]
    via: tuple[str, ...] = ()  # wrappers peeled off on the way, outermost first
    redirects: tuple[str, ...] = ()  # every redirection target (files read or written)
    writes: tuple[str, ...] = ()  # the targets that are written (`>`, `>>`, `&>`, …)

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


def parse_command(command: str | Sequence[str]) -> ParsedCommand:
    """Parse a shell command line (a str) or an argv run without a shell (a sequence)."""
    out = ParsedCommand()
    try:
        if isinstance(command, str):
            _parse_line(command, (), 0, out)
        else:
            _resolve([Word(str(arg)) for arg in command], [], (), 0, out, piped=False)
    except Exception as exc:  # the parser must never raise: an unknown command is escalated
        out.unresolved.append(f"the command could not be parsed ({type(exc).__name__}: {exc})")
    out.unresolved = list(dict.fromkeys(out.unresolved))
    return out


def _parse_line(source: str, via: tuple[str, ...], depth: int, out: ParsedCommand) -> None:
    if depth > MAX_DEPTH:
        out.unresolved.append(f"commands nested more than {MAX_DEPTH} levels deep")
        return
    tokens, errors = tokenize(source)
    out.unresolved.extend(errors)
    words: list[Word] = []
    redirects: list[Redirect] = []
    parens = 0
    piped = in_test = False
    skip_next = False

    def flush() -> None:
        nonlocal piped
        if words or redirects:
            _resolve(list(words), list(redirects), via, depth, out, piped)
            piped = False
        words.clear()
        redirects.clear()

    for index, token in enumerate(tokens):
        if skip_next:
            skip_next = False
        elif in_test:  # inside [[ … ]], && and < are test operators, not shell syntax
            text = token.op if isinstance(token, Operator) else _token_text(token)
            words.append(Word(text, quoted=True))
            in_test = text != "]]"
        elif isinstance(token, Word):
            in_test = not words and token.text == "[[" and not token.quoted
            words.append(token)
        elif isinstance(token, Redirect):
            redirects.append(token)
        elif token.op == "(":
            following = tokens[index + 1] if index + 1 < len(tokens) else None
            if len(words) == 1 and following == Operator(")"):
                words.clear()  # `name() { … }` defines a function; its body is parsed as usual
                skip_next = True
                continue
            flush()
            parens += 1
        elif token.op == ")":
            flush()
            parens -= 1
            if parens < 0:
                out.unresolved.append("unbalanced ')'")
                parens = 0
        else:
            was_piped_command = bool(words or redirects)
            flush()
            if token.op in ("|", "|&"):
                piped = was_piped_command or index == 0 or tokens[index - 1] == Operator(")")
            elif token.op in (";;", ";&", ";;&"):
                out.unresolved.append("case statements are not analysed")
    flush()
    if parens:
        out.unresolved.append("unbalanced '('")


def _token_text(token: Word | Redirect) -> str:
    return token.text if isinstance(token, Word) else f"{token.op}{token.target.text}"


def _resolve(
    words: list[Word],
    redirects: list[Redirect],
    via: tuple[str, ...],
    depth: int,
    out: ParsedCommand,
    piped: bool,
) -> None:
    """Record the command `words` would run, peeling wrappers and parsing nested shells."""
    for word in [*words, *(r.target for r in redirects)]:
        for inner in word.substitutions:
            _parse_line(inner, (*via, "$(...)"), depth + 1, out)
        for inner in word.process_substitutions:
            _parse_line(inner, (*via, "<(...)"), depth + 1, out)
    start = len(out.commands)
    _command(words, redirects, via, depth, out, piped)
    targets, writes = _redirect_targets(redirects)
    if targets:  # a wrapper's redirections apply to what it runs (`sh -c '…' > f`)
        for i in range(start, len(out.commands)):
            cmd = out.commands[i]
            redirected = (*cmd.redirects, *targets)
            out.commands[i] = replace(cmd, redirects=redirected, writes=(*cmd.writes, *writes))


def _command(
    words: list[Word],
    redirects: list[Redirect],
    via: tuple[str, ...],
    depth: int,
    out: ParsedCommand,
    piped: bool,
) -> None:
    while words and not words[0].quoted and words[0].text in _KEYWORDS:
        words = words[1:]
    if words and not words[0].quoted and words[0].text in _HEADER_KEYWORDS:
        return  # `for x in …`, `function f`: nothing runs here (substitutions were parsed)
    if words and not words[0].quoted and words[0].text == "case":
        out.unresolved.append("case statements are not analysed")
        return
    while words and not words[0].quoted and _ASSIGNMENT.match(words[0].text):
        words = words[1:]
    _run(words, redirects, via, depth, out, piped)


def _run(
    words: list[Word],
    redirects: list[Redirect],
    via: tuple[str, ...],
    depth: int,
    out: ParsedCommand,
    piped: bool,
) -> None:
    argv = tuple(w.text for w in words)
    if not words:
        if redirects:  # `> file` alone still truncates the file
            out.commands.append(SimpleCommand((), via))
        return
    program, name = words[0], posixpath.basename(words[0].text)
    if program.dynamic or program.expands:
        out.unresolved.append(f"the program is known only at run time: {program.text}")
        out.commands.append(SimpleCommand(argv, via))
        return
    wrapper = _WRAPPERS.get(name)
    if wrapper is not None:
        rest = _peel(words, wrapper, name, via, depth, out)
        if rest is not None:
            _command(rest, redirects, (*via, name), depth, out, piped)
            return
    elif name in SHELLS and _shell(words, redirects, via, depth, out, piped):
        return
    elif name == "eval":
        if any(w.dynamic for w in words[1:]):
            out.unresolved.append(f"eval of a value known only at run time: {' '.join(argv)}")
        _parse_line(" ".join(argv[1:]), (*via, "eval"), depth + 1, out)
        return
    elif _INTERPRETER.match(name) and piped and _reads_stdin(words[1:], _CODE_OPTIONS):
        out.pipes_into_shell = True
    elif name == "find":
        _find_exec(words, via, depth, out)
    out.commands.append(SimpleCommand(argv, via))


def _peel(
    words: list[Word],
    wrapper: _Wrapper,
    name: str,
    via: tuple[str, ...],
    depth: int,
    out: ParsedCommand,
) -> list[Word] | None:
    """The command a wrapper would run, or None when it runs none (`command -v rm`)."""
    i, positionals = 1, wrapper.positionals
    while i < len(words):
        text = words[i].text
        if text == "--":
            i += 1
            break
        if name == "env" and _ASSIGNMENT.match(text):
            i += 1
        elif name == "env" and text in ("-S", "--split-string") and i + 1 < len(words):
            _parse_line(" ".join(w.text for w in words[i + 1 :]), (*via, "env"), depth + 1, out)
            return []
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
            i += 1
    rest = words[i:]
    return rest if rest or name == "exec" else None


def _shell(
    words: list[Word],
    redirects: list[Redirect],
    via: tuple[str, ...],
    depth: int,
    out: ParsedCommand,
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
        _parse_line(words[i].text, (*via, f"{name} -c"), depth + 1, out)
        return True
    for redirect in redirects:
        if redirect.op in ("<<", "<<-") and redirect.heredoc is not None:
            _parse_line(redirect.heredoc, (*via, f"{name} <<"), depth + 1, out)
        elif redirect.op == "<<<":
            _parse_line(redirect.target.text, (*via, f"{name} <<<"), depth + 1, out)
    operands = words[i:]
    if operands and operands[0].process_substitutions:
        out.pipes_into_shell = True  # `bash <(curl …)` runs what the download says
    elif piped and (not operands or operands[0].text == "-" or _has_flag(words, "s")):
        out.pipes_into_shell = True
    return False


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


def _find_exec(words: list[Word], via: tuple[str, ...], depth: int, out: ParsedCommand) -> None:
    """Record the command each `-exec … ;` (or `-execdir`, `-ok`) of a `find` would run."""
    i = 1
    while i < len(words):
        if words[i].text in ("-exec", "-execdir", "-ok", "-okdir"):
            end = i + 1
            while end < len(words) and words[end].text not in (";", "+"):
                end += 1
            if end > i + 1:
                _command(words[i + 1 : end], [], (*via, "find -exec"), depth + 1, out, False)
            i = end
        i += 1


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
