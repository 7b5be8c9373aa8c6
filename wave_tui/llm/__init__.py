"""LLM providers behind one protocol: the Anthropic API, an offline replay, and a recorder."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wave_tui.llm.base import (
    DEFAULT_MODEL,
    LLMError,
    LLMProvider,
    LLMResponse,
    ToolCall,
    Usage,
    assistant_message,
    conversation_id,
    tool_results_message,
    turn_index,
)
from wave_tui.llm.pricing import UnknownModelPriceError, cost_usd
from wave_tui.llm.recording import RecordingProvider
from wave_tui.llm.replay import ReplayExhausted, ReplayProvider, ReplayScript, ScriptError

if TYPE_CHECKING:
    from wave_tui.llm.anthropic_provider import AnthropicProvider


def __getattr__(name: str) -> Any:
    # The Anthropic SDK takes seconds to import; only a run that uses it pays for it.
    if name == "AnthropicProvider":
        from wave_tui.llm.anthropic_provider import AnthropicProvider

        return AnthropicProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_MODEL",
    "AnthropicProvider",
    "LLMError",
    "LLMProvider",
    "LLMResponse",
    "RecordingProvider",
    "ReplayExhausted",
    "ReplayProvider",
    "ReplayScript",
    "ScriptError",
    "ToolCall",
    "UnknownModelPriceError",
    "Usage",
    "assistant_message",
    "conversation_id",
    "cost_usd",
    "tool_results_message",
    "turn_index",
]
