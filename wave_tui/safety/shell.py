"""Understand a shell command the way a shell would, without running it.

Every simple command that would execute is listed with its real argv (wrappers such as `sudo`,
`env`, `xargs`, `sh -c`, `poetry run` peeled off), with what the line around it says about it:
the variables set for it, the loops and functions it sits in, and the operator after it.
Anything that cannot be known statically is reported in `unresolved`, so the rule layer
escalates it instead of waving it through.

This module walks a line's tokens; `shell_resolve` turns each simple command into what it runs,
with the wrapper tables of `shell_wrappers`; the result types live in `shell_commands`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from wave_tui.safety.shell_commands import Loop, ParsedCommand, SimpleCommand
from wave_tui.safety.shell_lexer import (
    Operator,
    Redirect,
    Token,
    Word,
    decode_escapes,
    tokenize,
)
from wave_tui.safety.shell_resolve import HEADER_KEYWORDS, Resolver, is_keyword
from wave_tui.safety.shell_wrappers import SHELLS

__all__ = ["MAX_DEPTH", "SHELLS", "Loop", "ParsedCommand", "SimpleCommand", "parse_command"]

MAX_DEPTH = 8

_CASE_ENDS = frozenset({";;", ";&", ";;&"})
_VARIABLE_REFERENCE = re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})")


def parse_command(command: str | Sequence[str]) -> ParsedCommand:
    """Parse a shell command line (a str) or an argv run without a shell (a sequence)."""
    out = ParsedCommand()
    parser = _Parser(out)
    try:
        if isinstance(command, str):
            parser.line(command, (), 0)
        else:
            parser.resolve([Word(str(arg)) for arg in command], [], (), 0, piped=False)
    except Exception as exc:  # the parser must never raise: an unknown command is escalated
        out.unresolved.append(f"the command could not be parsed ({type(exc).__name__}: {exc})")
    out.unresolved = list(dict.fromkeys(out.unresolved))
    return out


class _Parser(Resolver):
    """Reads command lines into `out`: each line's tokens are walked by `_Line`, and each simple
    command it finds is resolved by `Resolver`."""

    def line(self, source: str, via: tuple[str, ...], depth: int, piped: bool = False) -> None:
        if depth > MAX_DEPTH:
            self.out.unresolved.append(f"commands nested more than {MAX_DEPTH} levels deep")
            return
        tokens, errors = tokenize(source)
        self.out.unresolved.extend(errors)
        _Line(self, tokens, via, depth, piped).run()


@dataclass(slots=True)
class _Frame:
    """An open compound command: a `{ … }` group, a function body, a loop or a case."""

    kind: str  # "group", "function", "loop" or "case"
    start: int | None  # index of its first command in the output (a `for` body: from `do`)
    name: str = ""  # a function's name
    header: list[str] = field(default_factory=list)  # a loop's header, until `do`
    collecting: bool = False  # still reading a loop's header
    state: str = ""  # a case: "subject", "pattern" or "body"


class _Line:
    """The token walk over one command line: splits it into simple commands and keeps track of
    the compound commands (groups, functions, loops, cases) around them."""

    def __init__(
        self, parser: _Parser, tokens: list[Token], via: tuple[str, ...], depth: int, piped: bool
    ) -> None:
        self.parser, self.out = parser, parser.out
        self.tokens, self.via, self.depth = tokens, via, depth
        self.words: list[Word] = []
        self.redirects: list[Redirect] = []
        self.frames: list[_Frame] = []
        self.parens = 0
        self.piped = piped
        self.in_test = False
        self.function_name: str | None = None  # a name seen with `()` or after `function`
        self.expect_name = False  # the next word names a function (`function f`)
        self.last: int | None = None  # index of the last command this line recorded
        self.awaiting_next: int | None = None  # a command whose `followed_by` is still unknown
        self.pipe_text: str | None = None  # what a literal `echo`/`printf` writes into the pipe
        self.variables: dict[str, str] = {}  # shell variables set to literal text (`a=rm`)

    def run(self) -> None:
        index = 0
        while index < len(self.tokens):
            token = self.tokens[index]
            following = self.tokens[index + 1] if index + 1 < len(self.tokens) else None
            index += 1
            if self.in_test:  # inside [[ … ]], && and < are test operators, not shell syntax
                text = token.op if isinstance(token, Operator) else _token_text(token)
                self.words.append(Word(text, quoted=True))
                self.in_test = text != "]]"
            elif self._case_header(token):
                continue
            elif isinstance(token, Word):
                self._word(token)
            elif isinstance(token, Redirect):
                self.redirects.append(token)
            elif token.op == "(":
                name = self._defined_name()
                if name is not None and following == Operator(")"):
                    self.function_name, self.expect_name = name, False
                    self.words.clear()  # `name() { … }` defines a function
                    index += 1
                    continue
                self.flush()
                self.function_name = None
                self.parens += 1
            elif token.op == ")":
                self.flush()
                self.parens -= 1
                if self.parens < 0:
                    self.out.unresolved.append("unbalanced ')'")
                    self.parens = 0
            else:
                self._operator(token.op, index - 1)
        self.flush()
        while self.frames:
            self._close(self.frames.pop())
        if self.parens:
            self.out.unresolved.append("unbalanced '('")

    # --- words and keywords ------------------------------------------------------------------

    def _at_command_start(self) -> bool:
        return not self.expect_name and all(is_keyword(w) for w in self.words)

    def _word(self, token: Word) -> None:
        if self.expect_name:
            self.function_name, self.expect_name = token.text, False
            return
        if self._at_command_start() and not token.quoted and self._keyword(token.text):
            return
        loop = self._collecting_loop()
        if loop is not None:
            loop.header.append(token.text)
        self.in_test = self._at_command_start() and token.text == "[[" and not token.quoted
        self.words.append(token)

    def _keyword(self, text: str) -> bool:
        """Open or close a compound command; True when the word is used up (not a command's)."""
        commands = len(self.out.commands)
        if text == "{":
            kind = "function" if self.function_name is not None else "group"
            self.frames.append(_Frame(kind, commands, name=self.function_name or ""))
            self.function_name = None
        elif text == "}":
            self._close_innermost(("group", "function"))
        elif text in ("while", "until"):
            self.frames.append(_Frame("loop", commands, collecting=True))
        elif text in ("for", "select"):
            self.frames.append(_Frame("loop", None, collecting=True))
        elif text == "do":
            loop = self._collecting_loop()
            if loop is not None:
                loop.collecting = False
                loop.start = commands if loop.start is None else loop.start
        elif text == "done":
            self._close_innermost(("loop",))
        elif text == "function":
            self.expect_name = True
            return True
        elif text == "case":
            self.words.clear()
            self.frames.append(_Frame("case", commands, state="subject"))
            return True
        elif text == "esac" and self._innermost("case") is not None:
            self.flush()
            self._close_innermost(("case",))
            return True
        return False

    def _defined_name(self) -> str | None:
        """The function name before `()`: `f() {…}` or `function f() {…}`."""
        named = [w for w in self.words if not is_keyword(w)]
        if len(named) == 1 and not named[0].quoted:
            return named[0].text
        if not named and self.function_name is not None:
            return self.function_name
        return None

    # --- case statements ---------------------------------------------------------------------

    def _case_header(self, token: Token) -> bool:
        """Consume the subject and the patterns of a case statement; True when used up."""
        case = self.frames[-1] if self.frames and self.frames[-1].kind == "case" else None
        if case is None or case.state == "body":
            return False
        if case.state == "subject":
            if isinstance(token, Word) and token.text == "in" and not token.quoted:
                case.state = "pattern"
            elif isinstance(token, Word):
                for inner in token.substitutions:
                    self.parser.line(inner, (*self.via, "$(...)"), self.depth + 1)
        elif isinstance(token, Word) and token.text == "esac" and not token.quoted:
            self._close_innermost(("case",))
        elif token == Operator(")"):
            case.state = "body"
        return True

    # --- operators ---------------------------------------------------------------------------

    def _operator(self, op: str, index: int) -> None:
        was_command = bool(self.words or self.redirects)
        echoed = _echoed([w for w in self.words if not is_keyword(w)])
        self.flush()
        if op in _CASE_ENDS:
            case = self._innermost("case")
            if case is None:
                self.out.unresolved.append(f"{op!r} outside a case statement")
            else:
                case.state = "pattern"
            op = ";"
        loop = self._collecting_loop()
        if loop is not None and op not in (";", "\n", "&"):
            loop.header.append(op)
        self._connect(";" if op == "\n" else op)
        if op in ("|", "|&"):
            previous = self.tokens[index - 1] if index else None
            self.piped = was_command or index == 0 or previous == Operator(")")
            self.pipe_text = echoed

    def _connect(self, op: str) -> None:
        """Record `op` as the operator after the last command. A sequence (`;`) gives way to
        what follows a group or loop (`{ a; } || b`); a pipe or `&` stays."""
        if self.last is None:
            return
        cmd = self.out.commands[self.last]
        if cmd.connector in ("", ";"):
            self.out.commands[self.last] = replace(cmd, connector=op)
        self.awaiting_next = self.last

    def flush(self) -> None:
        if self.words or self.redirects:
            start = len(self.out.commands)
            words = self._expand(self.words)
            self.parser.stdin_text = self.pipe_text if self.piped else None
            self.parser.resolve(words, list(self.redirects), self.via, self.depth, self.piped)
            self.parser.stdin_text = self.pipe_text = None
            self.piped = False
            named = [w for w in words if not is_keyword(w)]
            self._remember(named)
            if named and named[0].text in HEADER_KEYWORDS and not named[0].quoted:
                self.last = None  # `for x in $(…)` runs only its substitutions, not a command
            elif len(self.out.commands) > start:
                self._follow(start)
                self.last = len(self.out.commands) - 1
        self.words.clear()
        self.redirects.clear()

    def _expand(self, words: list[Word]) -> list[Word]:
        """Put the literal value of a variable set earlier on this line in place of a word that
        is only that variable (`a=rm; $a -rf /`), split into words as the shell would."""
        expanded: list[Word] = []
        for word in words:
            match = _VARIABLE_REFERENCE.fullmatch(word.text)
            name = (match.group(1) or match.group(2)) if match else None
            value = self.variables.get(name) if name and word.dynamic else None
            if value is None:
                expanded.append(word)
            elif word.quoted:
                expanded.append(Word(value, quoted=True))
            else:
                expanded.extend(Word(part) for part in value.split())
        return expanded

    def _remember(self, named: list[Word]) -> None:
        """Bare assignments set shell variables; only literal values are remembered."""
        if not named or not all(w.assignment for w in named):
            return
        for word in named:
            name, _, value = word.text.partition("=")
            if word.dynamic or word.expands or name.endswith(("+", "]")):
                self.variables.pop(name.rstrip("+"), None)
            else:
                self.variables[name] = value

    def _follow(self, start: int) -> None:
        """Tell the command waiting for it which command came after its operator."""
        if self.awaiting_next is None:
            return
        new = self.out.commands[start:]
        following = next((c for c in new if c.via == self.via), new[-1])
        waiting = self.out.commands[self.awaiting_next]
        self.out.commands[self.awaiting_next] = replace(waiting, followed_by=following.argv)
        self.awaiting_next = None

    # --- compound commands -------------------------------------------------------------------

    def _innermost(self, kind: str) -> _Frame | None:
        return next((f for f in reversed(self.frames) if f.kind == kind), None)

    def _collecting_loop(self) -> _Frame | None:
        loop = self._innermost("loop")
        return loop if loop is not None and loop.collecting else None

    def _close_innermost(self, kinds: tuple[str, ...]) -> None:
        while self.frames:
            frame = self.frames.pop()
            self._close(frame)
            if frame.kind in kinds:
                return

    def _close(self, frame: _Frame) -> None:
        """Mark the commands of a loop body or function body now that it is complete."""
        if frame.start is None or frame.kind not in ("loop", "function"):
            return
        commands = self.out.commands
        body = range(frame.start, len(commands))
        if frame.kind == "function":
            for i in body:
                if not commands[i].function:
                    commands[i] = replace(commands[i], function=frame.name)
            return
        pauses = any(commands[i].program == "sleep" for i in body)
        loop = Loop(" ".join(frame.header), pauses)
        for i in body:
            commands[i] = replace(commands[i], loops=(loop, *commands[i].loops))


def _echoed(words: list[Word]) -> str | None:
    """The text a literal `echo` or `printf` writes, or None when it is not one."""
    if not words or words[0].text not in ("echo", "printf") or words[0].quoted:
        return None
    if any(w.dynamic or w.expands for w in words):
        return None
    args = [w.text for w in words[1:]]
    if words[0].text == "echo":
        flags = set()
        while args and re.fullmatch(r"-[neE]+", args[0]):
            flags |= set(args.pop(0)[1:])
        text = " ".join(args)
        return decode_escapes(text) if "e" in flags else text
    if not args:
        return None
    template, values = args[0], args[1:]
    if template.count("%") != template.count("%s") or template.count("%s") != len(values):
        return None  # other conversions, or a template used more than once
    for value in values:
        template = template.replace("%s", value.replace("%", "%%"), 1)
    return decode_escapes(template).replace("%%", "%")


def _token_text(token: Word | Redirect) -> str:
    return token.text if isinstance(token, Word) else f"{token.op}{token.target.text}"
