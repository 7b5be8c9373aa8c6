"""The SQL scanner: no parser, just enough to see what each statement does. Comments go,
string literals are masked, statements split on `;` and the rest is upper-cased, so quoted text
never looks like a keyword to the rules that read it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement, comments gone, whitespace collapsed, upper-cased. `text` has every
    string literal masked as `''` (so quoted text never looks like a keyword); `plain` keeps
    the literals; `literals` holds their contents as written."""

    text: str
    plain: str
    literals: tuple[str, ...]


_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
_ORDINARY = re.compile(r"[^-/'\"`$;]+")  # text the scanner can copy without looking closer


def split_statements(sql: str) -> list[Statement]:
    """The statements of `sql`, split on `;` outside quotes and comments."""
    statements: list[Statement] = []
    masked: list[str] = []
    plain: list[str] = []
    literals: list[str] = []

    def end() -> None:
        text = _normal("".join(masked))
        if text:
            statements.append(Statement(text, _normal("".join(plain)), tuple(literals)))
        masked.clear()
        plain.clear()
        literals.clear()

    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if sql.startswith("--", i):
            newline = sql.find("\n", i)
            i = n if newline < 0 else newline
            masked.append(" ")
            plain.append(" ")
        elif sql.startswith("/*", i):
            close = sql.find("*/", i + 2)
            close = n if close < 0 else close
            if sql.startswith("/*!", i):  # MySQL runs the body of `/*!50000 … */`
                body = re.sub(r"^!\d*", "", sql[i + 2 : close])
                sql = f"{sql[:i]} {body} {sql[close + 2 :]}"
                n = len(sql)
                continue
            i = close + 2
            masked.append(" ")
            plain.append(" ")
        elif char == "'":
            literal, i = _quoted(sql, i, "'")
            literals.append(literal)
            masked.append("''")
            plain.append(f"'{literal}'")
        elif char in '"`':
            identifier, i = _quoted(sql, i, char)
            word = re.sub(r"\s+", "_", identifier)
            masked.append(word)
            plain.append(word)
        elif char == "$" and (tag := _DOLLAR_TAG.match(sql, i)) is not None:
            close = sql.find(tag.group(), tag.end())
            close = n if close < 0 else close
            literals.append(sql[tag.end() : close])
            masked.append("''")
            plain.append(f"'{sql[tag.end() : close]}'")
            i = close + len(tag.group())
        elif char == ";":
            end()
            i += 1
        else:
            chunk = _ORDINARY.match(sql, i)
            text = chunk.group() if chunk is not None else char
            masked.append(text)
            plain.append(text)
            i += len(text)
    end()
    return statements


def _quoted(sql: str, start: int, quote: str) -> tuple[str, int]:
    """The text of the quoted run starting at `start` (a doubled quote or a backslash escapes
    one) and the index after it; an unclosed quote runs to the end."""
    out: list[str] = []
    i = start + 1
    while i < len(sql):
        char = sql[i]
        if char == "\\" and quote == "'" and i + 1 < len(sql):
            out.append(sql[i + 1])
            i += 2
        elif char == quote and sql.startswith(quote * 2, i):
            out.append(quote)
            i += 2
        elif char == quote:
            return "".join(out), i + 1
        else:
            out.append(char)
            i += 1
    return "".join(out), i


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().upper()


_INNERMOST = re.compile(r"\(([^()]*)\)")


def flatten(text: str) -> str:
    """The statement with every parenthesised part emptied: what is left is its top level."""
    while True:
        flat = re.sub(r"\([^()]*\)", "()", text)
        if flat == text:
            return flat
        text = flat


def unnest(text: str) -> str:
    """The statement with its subqueries emptied and other parentheses turned into brackets,
    so a WHERE found here is the statement's own and its condition stays readable."""
    while True:
        flat = _INNERMOST.sub(lambda m: "()" if "SELECT" in m[1] else f"[{m[1]}]", text)
        if flat == text:
            return flat
        text = flat


def top_parts(text: str) -> Iterator[str]:
    """The contents of the top-level parentheses (a WITH clause's queries)."""
    depth, start = 0, 0
    for index, char in enumerate(text):
        if char == "(":
            if depth == 0:
                start = index + 1
            depth += 1
        elif char == ")" and depth:
            depth -= 1
            if depth == 0:
                yield text[start:index].strip()
