"""Where a story's graph runs, kept on its row (`meta_data`) so any process can pick it up.

- `thread`: the LangGraph thread; absent means the execution id. A restart moves the story to a
  new thread, so the old one stays whole for the audit trail.
- `fork_from`: a LangGraph checkpoint of that thread to continue from instead of its newest one
  (time travel: the new steps branch off it, the old history stays). Cleared by the first step
  recorded after it.
- `epoch`: the turn journal's generation. A fork or restart asked by the operator moves to a new
  epoch, so the model is asked afresh instead of repeating the old answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

THREAD = "thread"
FORK_FROM = "fork_from"
EPOCH = "epoch"


def thread_of(execution_id: uuid.UUID, meta: Mapping[str, Any] | None) -> str:
    return str((meta or {}).get(THREAD) or execution_id)


def fork_of(meta: Mapping[str, Any] | None) -> str | None:
    return (meta or {}).get(FORK_FROM) or None


def epoch_of(meta: Mapping[str, Any] | None) -> int:
    return int((meta or {}).get(EPOCH) or 0)
