"""Redact anything that looks like a credential before it reaches the database or a log.

Every pattern starts with a plain word (the `\\b` it needs comes after, as a lookbehind): Python's
regex engine skips quickly to a literal and crawls through a leading class or `(?i:…)`, and whole
files pass through here. Case-insensitive patterns run on the lowercased text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

REDACTED = "[REDACTED]"

# Values that are secrets whatever key they sit under.
_SECRET_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"sk-(?<!\wsk-)(?:proj-)?[A-Za-z0-9_\-]{20,}"),
    re.compile(r"(?:AKIA|ASIA)(?<!\w....)[0-9A-Z]{16}\b"),
    re.compile(r"gh[pousr]_(?<!\wgh._)[A-Za-z0-9]{30,}\b"),
    re.compile(r"github_pat_(?<!\wgithub_pat_)[A-Za-z0-9_]{30,}\b"),
    re.compile(r"xox[abprs]-(?<!\wxox.-)[A-Za-z0-9\-]{10,}"),
    re.compile(r"AIza(?<!\wAIza)[0-9A-Za-z_\-]{35}\b"),  # Google's keys: AIza + 35 characters
    re.compile(r"eyJ(?<!\weyJ)[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
    re.compile(
        r"-----BEGIN (?:[A-Z ]+ )?PRIVATE KEY-----.*?-----END (?:[A-Z ]+ )?PRIVATE KEY-----",
        re.DOTALL,
    ),
)
# `user:password@` in URLs keeps its shape, loses the secret; the lookbehind anchors the scheme
# so a long run of scheme characters is not rescanned from every position.
_URL_PASSWORD = re.compile(
    r"(?P<head>(?<![A-Za-z0-9+.\-])[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]+:)[^@\s/]+(?=@)"
)
# `API_KEY=...` in env style: the name is a secret's name, alone or after upper-case words
# (`PASSWORD=`, `DB_PASSWORD=`, not `DEFAULT_TOKEN_LIMIT=` or `myToken=`).
_ENV_ASSIGNMENT = re.compile(
    r"(?:PASSWORD|PASSWD|SECRET|API_KEY|APIKEY|ACCESS_KEY|TOKEN|CREDENTIALS?)"
    r"\s*[=:]\s*['\"]?(?P<value>[^\s'\"]{4,})"
)
_ENV_NAME_HEAD = re.compile(r"[A-Z][A-Z0-9_]*")  # what may run into the secret's name
# On the lowercased text: `Bearer <token>`; a quoted literal given to a secret-named key in code,
# JSON or YAML (`password = "…"`, `"password": "…"`); and `password: value` on a YAML line of its
# own. Unquoted code such as `password = form["password"]` is left alone.
_BEARER = re.compile(r"(?:bearer(?<!\wbearer)|token(?<!\wtoken))\s+(?P<value>[a-z0-9_\-.=+/]{16,})")
_LITERAL_ASSIGNMENT = re.compile(
    r"(?:password|passwd|secret|api_?key|token)['\"]?\s*[=:]\s*['\"](?P<value>[^'\"\s]{6,})(?=['\"])"
)
_YAML_ASSIGNMENT = re.compile(
    r"(?:password|passwd|secret|api_?key|access_?key|token|credentials?|private_?key)"
    r"[ \t]*:[ \t]+(?P<value>(?![$!&*{\[(<'\"])[^\s#]{4,})(?=[ \t]*(?:#|$))",
    re.MULTILINE,
)
_YAML_KEY_HEAD = re.compile(r"[ \t]*(?:-[ \t]+)?[\w.-]*")  # the line up to the secret's name
# A YAML value that reads as code or a type (`SecretStr`, `form.password`, `os.environ[...]`) or
# a number is kept, unless digits mixed in make it look like a password; so is a parameter line
# of a long signature (`api_key: str,`).
_CODE_LIKE = re.compile(r"^([A-Za-z_][\w.]*|\d+)$|[\[(]")
_SECRET_KEY_NAMES = re.compile(
    r"(?i)(password|passwd|secret|api_?key|access_?key|auth_?token|access_?token|"
    r"refresh_?token|private_?key|credentials?)$"
)

# A word (lower case) every pattern above needs: text with none of them is returned at once.
_ANY_SECRET = re.compile(
    r"sk-|akia|asia|ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|xox|aiza|eyj|private key|://|pass"
    r"|secret|api_key|apikey|access_key|accesskey|private_key|privatekey|token|credential|bearer"
)

_Keep = Callable[[str, re.Match[str]], bool]


def redact_text(text: str) -> str:
    """The text with every credential-looking substring replaced by `[REDACTED]`."""
    if _ANY_SECRET.search(text.lower()) is None:
        return text
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(REDACTED, text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{REDACTED}", text)
    text = _redact_values(text, text, _ENV_ASSIGNMENT, _env_name_continues)
    for pattern, keep in (
        (_BEARER, _never),
        (_LITERAL_ASSIGNMENT, _never),
        (_YAML_ASSIGNMENT, _yaml_value_kept),
    ):
        lower = text.lower()
        if len(lower) != len(text):  # a character whose lower case is longer: stay aligned
            lower = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        text = _redact_values(text, lower, pattern, keep)
    return text


def _redact_values(text: str, searched: str, pattern: re.Pattern[str], keep: _Keep) -> str:
    """`text` with the `value` group of each match of `pattern` in `searched` (the text itself,
    or its lowercased copy: the same length) replaced, unless `keep` says otherwise."""
    pieces: list[str] = []
    last = 0
    for match in pattern.finditer(searched):
        start, end = match.span("value")
        if start < last or keep(text, match):
            continue
        pieces += [text[last:start], REDACTED]
        last = end
    return "".join([*pieces, text[last:]]) if pieces else text


def _never(text: str, match: re.Match[str]) -> bool:
    return False


def _env_name_continues(text: str, match: re.Match[str]) -> bool:
    """Whether the secret's name ends a longer word that is no upper-case env name (`myTOKEN`,
    `_TOKEN`): that value is kept."""
    start = head = match.start()
    while head > 0 and (text[head - 1].isalnum() or text[head - 1] == "_"):
        head -= 1
    return head < start and _ENV_NAME_HEAD.fullmatch(text, head, start) is None


def _yaml_value_kept(text: str, match: re.Match[str]) -> bool:
    line_start = text.rfind("\n", 0, match.start()) + 1
    if _YAML_KEY_HEAD.fullmatch(text, line_start, match.start()) is None:
        return True  # not a key at the start of its line: `def f(password: str)`
    value = text[match.start("value") : match.end("value")]
    code_like = _CODE_LIKE.search(value) and not any(c.isdigit() for c in value)
    return REDACTED in value or bool(code_like) or value.isdigit() or value.endswith(",")


def redact(value: Any) -> Any:
    """A copy of a JSON-like value with secrets redacted: by key name, or by shape in text."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {
            key: (
                REDACTED
                if isinstance(key, str) and _SECRET_KEY_NAMES.search(key) and item
                else redact(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value
