"""The real model: the Anthropic Messages API with tools, through the official async SDK."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Self, cast

import anthropic
from anthropic import AsyncAnthropic

from wave_tui.domain.redaction import REDACTED, redact_text
from wave_tui.errors import ConfigError
from wave_tui.llm.base import LLMError, LLMResponse, ToolCall, Usage
from wave_tui.llm.pricing import check_priced, cost_usd


class AnthropicProvider:
    """One client per run; the SDK retries 408/409/429/5xx/529 and connection errors itself."""

    def __init__(
        self,
        api_key: str,
        model: str,
        *,
        base_url: str | None = None,
        max_retries: int = 2,
        timeout: float = 120,
        max_tokens: int = 4096,
    ) -> None:
        if not api_key:
            raise ConfigError("no Anthropic API key: set ANTHROPIC_API_KEY or use a replay script")
        # An unpriced model would make the budget meaningless; refuse it before spending money.
        check_priced(model)
        self.model = model
        self.max_tokens = max_tokens
        self._api_key = api_key
        # base_url=None lets the SDK read ANTHROPIC_BASE_URL, then use the public endpoint.
        self._client = AsyncAnthropic(
            api_key=api_key, base_url=base_url, max_retries=max_retries, timeout=timeout
        )

    @property
    def base_url(self) -> str:
        """The endpoint requests go to, as the SDK resolved it."""
        return str(self._client.base_url)

    async def complete(
        self,
        system: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] = (),
        *,
        conversation: str,
    ) -> LLMResponse:
        # `conversation` names the caller for replay and recording; the API has no use for it.
        del conversation
        # Plain dicts in the Messages API shape; the SDK's TypedDicts describe the same data.
        request: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": [dict(message) for message in messages],
        }
        if system:
            request["system"] = system
        if tools:
            request["tools"] = [dict(tool) for tool in tools]
        try:
            message = await self._client.messages.create(**cast(Any, request))
        except anthropic.AnthropicError as exc:
            raise LLMError(self._describe(exc)) from exc
        return self._response(message)

    def _response(self, message: anthropic.types.Message) -> LLMResponse:
        text = "".join(block.text for block in message.content if block.type == "text")
        tool_calls = [
            ToolCall(id=block.id, name=block.name, input=dict(block.input))
            for block in message.content
            if block.type == "tool_use"
        ]
        raw = message.usage
        usage = Usage(
            input_tokens=raw.input_tokens,
            output_tokens=raw.output_tokens,
            cache_read_input_tokens=raw.cache_read_input_tokens or 0,
            cache_creation_input_tokens=raw.cache_creation_input_tokens or 0,
        )
        return LLMResponse(
            text=text,
            tool_calls=tool_calls,
            usage=usage,
            cost_usd=cost_usd(self.model, usage),
            model=str(message.model),
            stop_reason=message.stop_reason,
        )

    def _describe(self, exc: anthropic.AnthropicError) -> str:
        """One line an operator can act on, never carrying the key."""
        if isinstance(exc, anthropic.APIStatusError):
            kind = exc.type or "error"
            detail = exc.api_message or exc.message
            hint = " (check ANTHROPIC_API_KEY)" if exc.status_code in (401, 403) else ""
            line = f"Anthropic API answered {exc.status_code} {kind}: {detail}{hint}"
        elif isinstance(exc, anthropic.APIConnectionError):
            line = f"cannot reach the Anthropic API at {self.base_url}: {exc.message}"
        else:
            line = f"Anthropic SDK error: {exc}"
        line = " ".join(line.split())
        return redact_text(line.replace(self._api_key, REDACTED))

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
