"""What every LLM provider speaks: Anthropic-shaped messages in, an `LLMResponse` with cost out."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from wave_tui.errors import WaveError

DEFAULT_MODEL = "claude-sonnet-4-6"
EMPTY_ANSWER = "(empty answer)"

# "<story-id>/<agent>/<iteration>", e.g. "AUTH-001/dev/2": who is talking, and in which attempt.
CONVERSATION_PATTERN = re.compile(r"^[^/\s]+/[^/\s]+/\d+$")


class LLMError(WaveError):
    """The model could not answer: the API failed, refused the key, or a script has no answer."""


@dataclass(frozen=True)
class ToolCall:
    """One `tool_use` block the model asked for."""

    id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Usage:
    """Tokens one answer used; `input_tokens` excludes cached ones, as the Anthropic API counts."""

    input_tokens: int
    output_tokens: int
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Every token billed for the answer: what a session's token budget is charged."""
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_input_tokens
            + self.cache_creation_input_tokens
        )


@dataclass(frozen=True)
class LLMResponse:
    """One assistant turn: its text, the tools it wants run, and what it cost."""

    text: str
    tool_calls: list[ToolCall]
    usage: Usage
    cost_usd: Decimal
    model: str
    stop_reason: str | None
    # Answered from the turn journal (a node re-run after a crash), not asked of the model again.
    journaled: bool = False


class LLMProvider(Protocol):
    """Anything that answers one turn of a conversation; agents depend on this and nothing else."""

    async def complete(
        self,
        system: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] = (),
        *,
        conversation: str,
    ) -> LLMResponse:
        """Answer the next assistant turn; `conversation` is "<story-id>/<agent>/<iteration>"."""
        ...


def conversation_id(story_id: str, agent: str, iteration: int) -> str:
    """The `conversation` argument for one agent's attempt at a story."""
    return f"{story_id}/{agent}/{iteration}"


def turn_index(messages: Sequence[Mapping[str, Any]]) -> int:
    """Which turn a request asks for: the number of assistant turns already in the messages."""
    return sum(1 for message in messages if message.get("role") == "assistant")


def assistant_message(response: LLMResponse) -> dict[str, Any]:
    """The assistant turn to append to the messages before sending the tool results back."""
    content: list[dict[str, Any]] = []
    if response.text:
        content.append({"type": "text", "text": response.text})
    content.extend(
        {"type": "tool_use", "id": call.id, "name": call.name, "input": call.input}
        for call in response.tool_calls
    )
    # The API refuses empty assistant turns and empty text blocks, so say visibly that it was empty.
    if not content:
        content.append({"type": "text", "text": EMPTY_ANSWER})
    return {"role": "assistant", "content": content}


def tool_results_message(results: Sequence[tuple[str, str, bool]]) -> dict[str, Any]:
    """A user turn answering tool calls: `(tool_use_id, content, is_error)` for each."""
    return {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": tool_use_id,
                "content": content,
                "is_error": error,
            }
            for tool_use_id, content, error in results
        ],
    }


def last_tool_result_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """The text of the tool_result blocks in the last user message ("" if it has none)."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if not isinstance(content, list):
            return ""
        return "\n".join(
            _block_text(block.get("content"))
            for block in content
            if isinstance(block, Mapping) and block.get("type") == "tool_result"
        )
    return ""


def _block_text(content: object) -> str:
    """A tool_result's content is a string or a list of text blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(block.get("text", ""))
            for block in content
            if isinstance(block, Mapping) and block.get("type") == "text"
        )
    return ""
