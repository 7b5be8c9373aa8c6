"""Split a shell command line into words, operators and redirections the way a POSIX shell would.

Quotes and escapes are removed as the shell removes them (`r''m` is `rm`), expansions whose value
is only known at run time are flagged, and problems become messages instead of exceptions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_BREAK = " \t\n;&|()<>"
_OPERATORS = ("&&", "||", ";;&", ";;", ";&", "|&", "&", "|", ";", "(", ")")
_REDIRECTS = ("<<<", "<<-", "<<", "<>", "<&", "<", ">>", ">&", ">|", ">", "&>>", "&>")
_FD_PREFIX = re.compile(r"[0-9]+(?=[<>])|&(?=>)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9@?$#!*-]")
_ASSIGN_PREFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\+?=$")
_ASSIGN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?")
_GLOB = re.compile(r"[*?]|\[.+\]|\{[^}]*,[^}]*\}")
_ANSI_C = re.compile(
    r"\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|[0-7]{1,3}|c.|.)", re.S
)
_ANSI_SIMPLE = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r"}
_ANSI_SIMPLE |= {"t": "\t", "v": "\v"}


@dataclass(frozen=True, slots=True)
class Word:
    """One shell word after quote removal; expansions stay as their source text."""

    text: str
    dynamic: bool = False  # holds $var, ${…}, $(…) or `…`: the value is known only at run time
    expands: bool = False  # unquoted glob or brace expansion: the shell may turn it into others
    quoted: bool = False  # some part was quoted or escaped, so it is never a keyword
    assignment: bool = (
        False  # starts with an unquoted `NAME=`: before a command, it sets a variable
    )
    substitutions: tuple[str, ...] = ()  # inner command lines of $(…) and `…`
    process_substitutions: tuple[str, ...] = ()  # inner command lines of <(…) and >(…)


@dataclass(frozen=True, slots=True)
class Operator:
    op: str  # one of _OPERATORS, or "\n"


@dataclass(slots=True)
class Redirect:
    op: str
    target: Word
    heredoc: str | None = None  # the body of a `<<` here-document, once read


Token = Word | Operator | Redirect


@dataclass(slots=True)
class _WordParts:
    text: list[str] = field(default_factory=list)
    unquoted: list[str] = field(default_factory=list)
    dynamic: bool = False
    quoted: bool = False
    assignment: bool = False
    subs: list[str] = field(default_factory=list)
    procs: list[str] = field(default_factory=list)


def tokenize(source: str) -> tuple[list[Token], list[str]]:
    """The tokens of `source` and the reasons (if any) it could not be fully understood."""
    lexer = _Lexer(source)
    lexer.run()
    return lexer.tokens, lexer.errors


class _Lexer:
    def __init__(self, source: str) -> None:
        self.s = source
        self.i = 0
        self.tokens: list[Token] = []
        self.errors: list[str] = []
        self.pending_heredocs: list[tuple[Redirect, str, bool]] = []

    def run(self) -> None:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t":
                self.i += 1
            elif s.startswith("\\\n", self.i):
                self.i += 2
            elif c == "#":
                end = s.find("\n", self.i)
                self.i = len(s) if end < 0 else end
            elif c == "\n":
                self.tokens.append(Operator("\n"))
                self.i += 1
                self._read_heredocs()
            elif s.startswith(("<(", ">("), self.i):
                self.tokens.append(self._word())
            elif fd := _FD_PREFIX.match(s, self.i):
                self.i += len(fd.group()) if fd.group() != "&" else 0
                self._redirect()
            elif c in "<>":
                self._redirect()
            elif s.startswith("((", self.i) and self._after_for():
                start, self.i = self.i, self._closing(self.i + 1, "(", ")") + 2
                self.tokens.append(Word(s[start : self.i], dynamic=True, quoted=True))
            elif s.startswith("((", self.i) and self._at_command_start():
                self.i = self._closing(self.i + 1, "(", ")") + 1  # arithmetic: runs nothing
                if s.startswith(")", self.i):
                    self.i += 1
            elif c in ";&|()":
                op = next(o for o in _OPERATORS if s.startswith(o, self.i))
                self.tokens.append(Operator(op))
                self.i += len(op)
            else:
                self.tokens.append(self._word())
        if self.pending_heredocs:
            self._read_heredocs()

    def _at_command_start(self) -> bool:
        return not self.tokens or isinstance(self.tokens[-1], Operator)

    def _after_for(self) -> bool:
        """`for ((i = 0; i < n; i++))`: the header of a C-style loop, kept as one word."""
        last = self.tokens[-1] if self.tokens else None
        return isinstance(last, Word) and last.text == "for" and not last.quoted

    def _redirect(self) -> None:
        op = next(o for o in _REDIRECTS if self.s.startswith(o, self.i))
        self.i += len(op)
        while self.i < len(self.s) and self.s[self.i] in " \t":
            self.i += 1
        if self.i >= len(self.s) or self.s[self.i] in "\n;&|()<>":
            self.errors.append(f"redirection {op!r} has no target")
            return
        redirect = Redirect(op, self._word())
        if op in ("<<", "<<-"):
            self.pending_heredocs.append((redirect, redirect.target.text, op == "<<-"))
        self.tokens.append(redirect)

    def _read_heredocs(self) -> None:
        for redirect, delimiter, strip_tabs in self.pending_heredocs:
            body: list[str] = []
            while self.i < len(self.s):
                end = self.s.find("\n", self.i)
                end = len(self.s) if end < 0 else end
                line = self.s[self.i : end]
                self.i = end + 1
                if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                    break
                body.append(line)
            redirect.heredoc = "\n".join(body)
        self.pending_heredocs = []

    def _word(self) -> Word:
        s, parts = self.s, _WordParts()
        if s.startswith(("<(", ">("), self.i):
            end = self._closing(self.i + 1, "(", ")")
            parts.procs.append(s[self.i + 2 : end])
            parts.text.append(s[self.i : end + 1])
            parts.dynamic = True
            self.i = end + 1
        while self.i < len(s) and s[self.i] not in _BREAK:
            c = s[self.i]
            if c == "\\":
                self._escape(parts)
            elif c == "'":
                end = s.find("'", self.i + 1)
                if end < 0:
                    self.errors.append("unbalanced single quote")
                    end = len(s)
                parts.text.append(s[self.i + 1 : end])
                parts.quoted = True
                self.i = end + 1
            elif c == '"':
                self._double_quoted(parts)
            elif c in "$`":
                self._expansion(parts)
            else:
                if c == "=" and not parts.assignment:
                    name = "".join(parts.text)
                    plain = not parts.quoted and not parts.dynamic
                    parts.assignment = plain and bool(_ASSIGN_NAME.fullmatch(name))
                parts.text.append(c)
                parts.unquoted.append(c)
                self.i += 1
            if s.startswith("(", self.i) and _ASSIGN_PREFIX.match("".join(parts.text)):
                # `arr=(a b)` is one assignment word, not a subshell
                end = self._closing(self.i, "(", ")")
                parts.text.append(s[self.i : end + 1])
                self.i = end + 1
        unquoted = "".join(parts.unquoted)
        return Word(
            "".join(parts.text),
            dynamic=parts.dynamic,
            expands=bool(_GLOB.search(unquoted)),
            quoted=parts.quoted,
            assignment=parts.assignment,
            substitutions=tuple(parts.subs),
            process_substitutions=tuple(parts.procs),
        )

    def _escape(self, parts: _WordParts) -> None:
        nxt = self.s[self.i + 1 : self.i + 2]
        if nxt != "\n":
            parts.text.append(nxt or "\\")
            parts.quoted = True
        self.i += 2

    def _double_quoted(self, parts: _WordParts) -> None:
        s = self.s
        parts.quoted = True
        self.i += 1
        while self.i < len(s) and s[self.i] != '"':
            c = s[self.i]
            if c == "\\" and s[self.i + 1 : self.i + 2] in ('"', "\\", "$", "`", "\n"):
                if s[self.i + 1] != "\n":
                    parts.text.append(s[self.i + 1])
                self.i += 2
            elif c in "$`":
                self._expansion(parts, in_double_quotes=True)
            else:
                parts.text.append(c)
                self.i += 1
        if self.i >= len(s):
            self.errors.append("unbalanced double quote")
        self.i += 1

    def _expansion(self, parts: _WordParts, in_double_quotes: bool = False) -> None:
        s, start = self.s, self.i
        if s[start] == "`":
            end = start + 1
            while end < len(s) and s[end] != "`":
                end += 2 if s[end] == "\\" else 1
            if end >= len(s):
                self.errors.append("unbalanced backtick")
            inner = s[start + 1 : end]
            parts.subs.append(re.sub(r"\\([\\`$])", r"\1", inner))
            parts.text.append(s[start : end + 1])
            parts.dynamic = True
            self.i = end + 1
            return
        nxt = s[start + 1 : start + 2]
        if nxt == "'" and not in_double_quotes:
            end = start + 2
            while end < len(s) and s[end] != "'":
                end += 2 if s[end] == "\\" else 1
            if end >= len(s):
                self.errors.append("unbalanced $'…' quote")
            parts.text.append(decode_escapes(s[start + 2 : end]))
            parts.quoted = True
            self.i = end + 1
        elif nxt == '"' and not in_double_quotes:
            self.i += 1
            self._double_quoted(parts)
        elif s.startswith("$((", start):
            end = self._closing(start + 2, "(", ")") + 1
            parts.text.append(s[start : end + 1])
            parts.dynamic = True
            self.i = end + 1
        elif nxt == "(":
            end = self._closing(start + 1, "(", ")")
            parts.subs.append(s[start + 2 : end])
            parts.text.append(s[start : end + 1])
            parts.dynamic = True
            self.i = end + 1
        elif nxt == "{":
            end = self._closing(start + 1, "{", "}")
            parts.text.append(s[start : end + 1])
            parts.dynamic = True
            self.i = end + 1
        elif name := _NAME.match(s, start + 1):
            parts.text.append(s[start : name.end()])
            parts.dynamic = True
            self.i = name.end()
        else:
            parts.text.append("$")
            if not in_double_quotes:
                parts.unquoted.append("$")
            self.i += 1

    def _closing(self, open_at: int, opening: str, closing: str) -> int:
        """Index of the bracket closing the one at `open_at`, skipping quoted text."""
        s, depth, j = self.s, 0, open_at
        while j < len(s):
            c = s[j]
            if c == "\\":
                j += 1
            elif c == "'" and opening == "(":
                j = s.find("'", j + 1)
                if j < 0:
                    break
            elif c == '"':
                j += 1
                while j < len(s) and s[j] != '"':
                    j += 2 if s[j] == "\\" else 1
            elif c == opening:
                depth += 1
            elif c == closing:
                depth -= 1
                if depth == 0:
                    return j
            j += 1
        self.errors.append(f"unbalanced {opening!r}")
        return len(s)


def decode_escapes(body: str) -> str:
    """Decode bash's $'…' escapes (printf's and `echo -e`'s too), a common way to hide a
    command name (`$'\\x72m'` is `rm`)."""

    def decode(match: re.Match[str]) -> str:
        esc = match.group(1)
        if esc[0] in "xuU":
            return chr(min(int(esc[1:], 16), 0x10FFFF))
        if esc[0] in "01234567":
            return chr(int(esc, 8))
        if esc[0] == "c":
            return chr(ord(esc[1]) & 0x1F)
        return _ANSI_SIMPLE.get(esc, esc)

    return _ANSI_C.sub(decode, body)
