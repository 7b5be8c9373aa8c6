"""LangGraph checkpoints stored in wave_tui's own database.

`WAVECheckpointSaver` is imported lazily: wave_tui.db.models imports this package for its
tables, and that must not pull in LangGraph (or loop back into wave_tui.db).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wave_tui.checkpoint.saver import WAVECheckpointSaver

__all__ = ["WAVECheckpointSaver"]


def __getattr__(name: str) -> Any:
    if name == "WAVECheckpointSaver":
        from wave_tui.checkpoint.saver import WAVECheckpointSaver

        return WAVECheckpointSaver
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
