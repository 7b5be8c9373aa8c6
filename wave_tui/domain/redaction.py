"""Redact anything that looks like a credential before it reaches the database or a log."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[REDACTED]"

# Values that are secrets whatever key they sit under.
_SECRET_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_\-]{20,}"),
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"),
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{30,}\b"),
    re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"),
    re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    re.compile(r"\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"),
    re.compile(
        r"-----BEGIN (?:[A-Z ]+ )?PRIVATE KEY-----.*?-----END (?:[A-Z ]+ )?PRIVATE KEY-----",
        re.DOTALL,
    ),
)
# `Bearer <token>` and `user:password@` in URLs keep their shape, lose the secret.
_BEARER = re.compile(r"(?i)\b(bearer|token)\s+[A-Za-z0-9_\-\.=+/]{16,}")
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]+:)[^@\s/]+(?=@)")
# `API_KEY=...` in env style, and a quoted literal assigned to a secret-named variable in code;
# unquoted code such as `password = form["password"]` is left alone.
_ENV_ASSIGNMENT = re.compile(
    r"\b(?P<key>[A-Z][A-Z0-9_]*(?:PASSWORD|PASSWD|SECRET|API_KEY|APIKEY|ACCESS_KEY|TOKEN|"
    r"CREDENTIALS?))(?P<sep>\s*[=:]\s*)(?P<quote>['\"]?)(?P<value>[^\s'\"]{4,})"
)
_LITERAL_ASSIGNMENT = re.compile(
    r"(?i)\b(?P<key>\w*(?:password|passwd|secret|api_?key|token))(?P<sep>\s*[=:]\s*)"
    r"(?P<quote>['\"])(?P<value>[^'\"\s]{6,})(?=['\"])"
)
_SECRET_KEY_NAMES = re.compile(
    r"(?i)(password|passwd|secret|api_?key|access_?key|auth_?token|access_?token|"
    r"refresh_?token|private_?key|credentials?)$"
)


def redact_text(text: str) -> str:
    """The text with every credential-looking substring replaced by `[REDACTED]`."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{REDACTED}", text)
    for assignment in (_ENV_ASSIGNMENT, _LITERAL_ASSIGNMENT):
        text = assignment.sub(_redact_assignment, text)
    return text


def _redact_assignment(match: re.Match[str]) -> str:
    return f"{match.group('key')}{match.group('sep')}{match.group('quote')}{REDACTED}"


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
