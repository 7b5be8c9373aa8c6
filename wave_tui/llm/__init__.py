"""LLM providers behind one protocol: the Anthropic API, an offline replay, and a recorder."""

from __future__ import annotations

from wave_tui.llm.anthropic_provider import AnthropicProvider
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
