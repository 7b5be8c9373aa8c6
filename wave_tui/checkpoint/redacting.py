"""A serializer that redacts credential-shaped text before a graph checkpoint is written.

The graph state carries the story prompt, the agents' tool arguments and their conversation;
any of them can hold a key someone pasted. Nothing credential-shaped may reach the database, so
every value is walked before it is serialised: strings are redacted, containers, pydantic models
and dataclasses are rebuilt only where something changed, everything else is kept as it is. The
cost is that a secret never comes back on resume: the agent sees `[REDACTED]`, as it should.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol
from pydantic import BaseModel

from wave_tui.domain.redaction import redact_text


class RedactingSerializer:
    def __init__(self, inner: SerializerProtocol) -> None:
        self.inner = inner

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        return self.inner.dumps_typed(redacted(obj))

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        return self.inner.loads_typed(data)


def redacted(value: Any) -> Any:
    """`value` with every string redacted; the same object when nothing needed redacting."""
    if isinstance(value, str):
        if isinstance(value, Enum):
            return value  # an enum member's value is code, never a secret
        clean = redact_text(value)
        return value if clean == value else clean
    if isinstance(value, dict):
        items = {key: redacted(item) for key, item in value.items()}
        return value if _same(value.values(), items.values()) else type(value)(items)
    if isinstance(value, list | tuple | set | frozenset):
        items_list = [redacted(item) for item in value]
        if _same(value, items_list):
            return value
        return (
            type(value)(items_list) if not hasattr(value, "_fields") else type(value)(*items_list)
        )
    if isinstance(value, BaseModel):
        changes = {
            name: new
            for name in type(value).model_fields
            if (new := redacted(old := getattr(value, name))) is not old
        }
        return value.model_copy(update=changes) if changes else value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            field.name: new
            for field in dataclasses.fields(value)
            if field.init and (new := redacted(old := getattr(value, field.name))) is not old
        }
        if not changes:
            return value
        try:
            return dataclasses.replace(value, **changes)
        except (TypeError, ValueError):
            return value
    return value


def _same(old: Any, new: Any) -> bool:
    return all(a is b for a, b in zip(old, new, strict=True))
