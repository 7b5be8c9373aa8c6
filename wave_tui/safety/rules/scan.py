"""Fast scanning of written content: a pattern is run only on the lines that hold one of its
words. Python's regex engine skips quickly to a plain word but tries a pattern that starts with
`\\b`, a class or `(?i:…)` at every position, and a written file may be 50 KB.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable

MAX_LINE = 4000


class Text:
    """A file's content, its lowercased copy (the same length, for case-blind word scans) and
    where its lines start."""

    def __init__(self, content: str) -> None:
        self.content = content
        lower = content.lower()
        if len(lower) != len(content):  # a character whose lower case is longer: stay aligned
            lower = "".join(c.lower() if len(c.lower()) == 1 else c for c in content)
        self.lower = lower
        self._starts: list[int] | None = None
        self._excerpts: dict[tuple[re.Pattern[str], int], str] = {}

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            self._starts = [0, *(m.end() for m in re.finditer("\n", self.content))]
        return self._starts

    def line_numbers(self, words: re.Pattern[str]) -> list[int]:
        """The (0-based) lines on which one of `words` occurs in the lowercased text."""
        starts, lower = self.starts, self.lower
        numbers: list[int] = []
        match = words.search(lower)
        while match is not None:
            number = bisect_right(starts, match.start()) - 1
            numbers.append(number)
            if number + 1 >= len(starts):
                break
            match = words.search(lower, starts[number + 1])  # one hit per line is enough
        return numbers

    def line(self, number: int) -> str:
        """A line, cut at `MAX_LINE` characters: a pattern with `.*` costs the square of a line's
        length, and a minified file is one long line."""
        starts = self.starts
        end = starts[number + 1] - 1 if number + 1 < len(starts) else len(self.content)
        return self.content[starts[number] : min(end, starts[number] + MAX_LINE)]

    def excerpt(self, words: re.Pattern[str], following: int = 0) -> str:
        """The lines holding one of `words`, each with the `following` lines after it (a pattern
        may run on into them), joined in order: what a gated pattern is searched in."""
        key = (words, following)
        if key not in self._excerpts:
            last = len(self.starts) - 1
            spread = range(following + 1)
            wanted = sorted({n + d for n in self.line_numbers(words) for d in spread})
            pieces: list[str] = []
            for index, number in enumerate(n for n in wanted if n <= last):
                if index and wanted[index - 1] != number - 1:
                    pieces.append("\x00")  # lines apart in the file: no pattern runs across
                pieces.append(self.line(number))
            self._excerpts[key] = "\n".join(pieces)
        return self._excerpts[key]


class Gated:
    """A pattern searched only in the lines that hold one of `words` (lower case): every match of
    the pattern must hold one of them on its first line, or on one of the `following` lines
    before it when the pattern spans lines."""

    def __init__(self, pattern: re.Pattern[str], words: Iterable[str], following: int = 0) -> None:
        self.pattern = pattern
        self.words = re.compile("|".join(re.escape(w) for w in sorted(set(words))))
        self.following = following

    def search(self, text: Text) -> re.Match[str] | None:
        excerpt = text.excerpt(self.words, self.following)
        return self.pattern.search(excerpt) if excerpt else None


def words(text: str) -> frozenset[str]:
    """Needles written as one whitespace-separated string (tables stay readable)."""
    return frozenset(text.split())
