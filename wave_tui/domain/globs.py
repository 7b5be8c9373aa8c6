"""Glob patterns over relative posix paths, as story file rules and policies write them."""

from __future__ import annotations

import functools
import re
from pathlib import PurePosixPath


@functools.lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """`*` and `?` stay inside one path segment, `**` spans segments, `**/` may match nothing."""
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            parts.append(".*")
            index += 2
            continue
        if char == "*":
            parts.append("[^/]*")
        elif char == "?":
            parts.append("[^/]")
        elif char == "[" and (end := pattern.find("]", index + 1)) > index + 1:
            body = pattern[index + 1 : end]
            parts.append("[^" + re.escape(body[1:]) + "]" if body[0] == "!" else f"[{body}]")
            index = end + 1
            continue
        else:
            parts.append(re.escape(char))
        index += 1
    return re.compile("".join(parts))


def matches_glob(path: str, pattern: str) -> bool:
    """Whether a relative posix `path` falls under `pattern` (`secrets/**`, `*.pem`, `docs`).

    A pattern without `/` matches a name at any depth, like .gitignore; a pattern that matches
    a directory covers everything inside it.
    """
    pattern = pattern.strip().lstrip("/").removesuffix("/")
    if not pattern:
        return False
    regex = _glob_regex(pattern)
    segments = PurePosixPath(path).parts
    if "/" not in pattern:
        return any(regex.fullmatch(segment) for segment in segments)
    prefixes = ("/".join(segments[: end + 1]) for end in range(len(segments)))
    return any(regex.fullmatch(prefix) for prefix in prefixes)
