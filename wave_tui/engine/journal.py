"""The turn journal: every completed model answer is committed before the agent acts on it.

A crash in the middle of a node loses the node's state update, so after recovery the node runs
again from its input and asks the model the same turns. The journal answers the turns that had
completed, so no paid turn is asked twice and the re-run takes the path the first run took.

A turn is found by (story execution, epoch, conversation, turn index) and trusted only when its
request starts the same way (system prompt, opening message, tool names): a different request
is asked afresh. Recovery that forks or restarts a story moves it to a new epoch, so a deliberate
re-run asks the model again. Answers are redacted before they are stored, like every checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from wave_tui.db import Database, WaveLLMTurn
from wave_tui.domain.redaction import redact
from wave_tui.llm import LLMProvider, LLMResponse, ToolCall, Usage, turn_index


class JournaledProvider:
    """An `LLMProvider` for one story: answers from the journal when it can, else asks `inner`
    and commits the answer before returning it."""

    def __init__(
        self, inner: LLMProvider, database: Database, execution_id: uuid.UUID, epoch: int = 0
    ) -> None:
        self.inner = inner
        self.database = database
        self.execution_id = execution_id
        self.epoch = epoch

    async def complete(
        self,
        system: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] = (),
        *,
        conversation: str,
    ) -> LLMResponse:
        turn = turn_index(messages)
        fingerprint = _fingerprint(system, messages, tools)
        where = (
            WaveLLMTurn.story_execution_id == self.execution_id,
            WaveLLMTurn.epoch == self.epoch,
            WaveLLMTurn.conversation == conversation,
            WaveLLMTurn.turn == turn,
        )
        async with self.database.session(readonly=True) as db:
            kept = (await db.execute(select(WaveLLMTurn).where(*where))).scalar_one_or_none()
        if kept is not None and kept.fingerprint == fingerprint:
            return response_from_data(kept.response, journaled=True)
        response = await self.inner.complete(system, messages, tools, conversation=conversation)
        async with self.database.session() as db:
            stale = (await db.execute(select(WaveLLMTurn).where(*where))).scalar_one_or_none()
            if stale is not None:  # the same turn of a different request: this answer replaces it
                await db.delete(stale)
                await db.flush()
            db.add(
                WaveLLMTurn(
                    story_execution_id=self.execution_id,
                    epoch=self.epoch,
                    conversation=conversation,
                    turn=turn,
                    fingerprint=fingerprint,
                    response=redact(response_data(response)),
                )
            )
        return response


def response_data(response: LLMResponse) -> dict[str, Any]:
    return {
        "text": response.text,
        "tool_calls": [{"id": c.id, "name": c.name, "input": c.input} for c in response.tool_calls],
        "usage": {
            "input_tokens": response.usage.input_tokens,
            "output_tokens": response.usage.output_tokens,
            "cache_read_input_tokens": response.usage.cache_read_input_tokens,
            "cache_creation_input_tokens": response.usage.cache_creation_input_tokens,
        },
        "cost_usd": str(response.cost_usd),
        "model": response.model,
        "stop_reason": response.stop_reason,
    }


def response_from_data(data: Mapping[str, Any], *, journaled: bool = False) -> LLMResponse:
    return LLMResponse(
        text=str(data["text"]),
        tool_calls=[
            ToolCall(id=str(c["id"]), name=str(c["name"]), input=dict(c["input"]))
            for c in data["tool_calls"]
        ],
        usage=Usage(**{k: int(v) for k, v in data["usage"].items()}),
        cost_usd=Decimal(str(data["cost_usd"])),
        model=str(data["model"]),
        stop_reason=data.get("stop_reason"),
        journaled=journaled,
    )


def _fingerprint(
    system: str, messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]]
) -> str:
    """What makes a request the same request: its system prompt, opening and tool names."""
    opening = messages[0] if messages else {}
    names = sorted(str(tool.get("name")) for tool in tools)
    text = json.dumps([system, opening, names], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
