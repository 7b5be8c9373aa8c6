"""Record a live run into a replay script, so the same run can be replayed offline later."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wave_tui.llm.base import LLMError, LLMProvider, LLMResponse, turn_index
from wave_tui.llm.replay import ReplayScript, ScriptToolCall, ScriptTurn, ScriptUsage


class RecordingProvider:
    """Passes each call to `inner` and writes the answer at its conversation and turn index."""

    def __init__(self, inner: LLMProvider, path: Path, model: str) -> None:
        self.inner = inner
        self.path = path
        self.model = model
        # Continuing a recording (a resumed run in a new process) keeps the turns already saved.
        existing = ReplayScript.load(path) if path.exists() else None
        self._turns: dict[str, list[ScriptTurn]] = (
            {name: list(turns) for name, turns in existing.conversations.items()}
            if existing
            else {}
        )
        # Concurrent stories answer at once; one writer at a time keeps every turn in the file.
        self._lock = asyncio.Lock()

    async def complete(
        self,
        system: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] = (),
        *,
        conversation: str,
    ) -> LLMResponse:
        turn = turn_index(messages)
        recorded = len(self._turns.get(conversation, []))
        if turn > recorded:
            # Checked before the call so a recording that cannot be replayed costs nothing.
            raise LLMError(
                f"cannot record turn {turn} of conversation {conversation!r} into {self.path}: "
                f"only turns 0-{recorded - 1} are recorded, so the script would have a gap"
            )
        response = await self.inner.complete(system, messages, tools, conversation=conversation)
        async with self._lock:
            turns = self._turns.setdefault(conversation, [])
            # A turn asked again (a retry or resumed run) replaces the old one and what followed it.
            del turns[turn:]
            turns.append(_turn(response))
            text = self._render()
            await asyncio.to_thread(_write_atomically, self.path, text)
        return response

    def script(self) -> ReplayScript:
        """What has been recorded so far."""
        return ReplayScript(model=self.model, conversations=dict(self._turns))

    def _render(self) -> str:
        script = self.script()
        if self.path.suffix == ".json":
            return json.dumps(script.to_data(), indent=2, ensure_ascii=False) + "\n"
        return script.dump()


def _turn(response: LLMResponse) -> ScriptTurn:
    usage = response.usage
    return ScriptTurn(
        text=response.text,
        tool_calls=[
            ScriptToolCall(id=call.id, name=call.name, input=call.input)
            for call in response.tool_calls
        ],
        usage=ScriptUsage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_input_tokens=usage.cache_read_input_tokens,
            cache_creation_input_tokens=usage.cache_creation_input_tokens,
        ),
        stop_reason=response.stop_reason,
    )


def _write_atomically(path: Path, text: str) -> None:
    """Write to a temp file beside `path`, then rename: readers see the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
