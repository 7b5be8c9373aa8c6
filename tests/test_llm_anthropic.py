"""The real anthropic SDK, through AnthropicProvider, against a local fake Messages API server."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import pytest

from tests.fake_anthropic import FakeAnthropic
from wave_tui.errors import ConfigError
from wave_tui.llm import (
    AnthropicProvider,
    LLMError,
    UnknownModelPriceError,
    assistant_message,
    tool_results_message,
)

API_KEY = "sk-ant-api03-" + "k3y" * 14
# Not the configured default: anthropic 2.12 warns that claude-sonnet-4-5 is deprecated.
MODEL = "claude-sonnet-4-6"
SYSTEM = "You are the Dev agent."
WRITE_FILE = {
    "name": "write_file",
    "description": "Write a file inside the story's worktree.",
    "input_schema": {
        "type": "object",
        "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["path", "content"],
    },
}


@pytest.fixture
def fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
async def provider(fake: FakeAnthropic) -> AsyncIterator[AnthropicProvider]:
    async with AnthropicProvider(API_KEY, MODEL, base_url=fake.url, max_tokens=1024) as llm:
        yield llm


async def test_tool_use_exchange_sends_the_tool_result_and_parses_both_answers(
    fake: FakeAnthropic, provider: AnthropicProvider
) -> None:
    tool_use_id = fake.reply_tool_use(
        "write_file",
        {"path": "src/login.py", "content": "def login(): ..."},
        text="I'll write the module.",
        input_tokens=1200,
        output_tokens=400,
    )
    fake.reply_text("Done: login implemented.", input_tokens=1700, output_tokens=50)
    messages = [{"role": "user", "content": "Implement AUTH-001."}]

    first = await provider.complete(SYSTEM, messages, [WRITE_FILE], conversation="AUTH-001/dev/1")
    messages.append(assistant_message(first))
    messages.append(tool_results_message([(tool_use_id, "wrote src/login.py", False)]))
    second = await provider.complete(SYSTEM, messages, [WRITE_FILE], conversation="AUTH-001/dev/1")

    assert first.text == "I'll write the module."
    assert [(c.id, c.name, c.input) for c in first.tool_calls] == [
        (tool_use_id, "write_file", {"path": "src/login.py", "content": "def login(): ..."})
    ]
    assert first.stop_reason == "tool_use"
    assert (first.usage.input_tokens, first.usage.output_tokens) == (1200, 400)
    assert first.cost_usd > 0
    assert first.model == MODEL
    assert second.text == "Done: login implemented."
    assert second.tool_calls == []
    assert second.stop_reason == "end_turn"
    assert second.cost_usd > 0

    first_request, second_request = fake.requests
    assert first_request.path == "/v1/messages"
    assert first_request.api_key == API_KEY
    assert first_request.body["model"] == MODEL
    assert first_request.body["max_tokens"] == 1024
    assert first_request.body["system"] == SYSTEM
    assert first_request.body["tools"] == [WRITE_FILE]
    assert first_request.body["messages"] == [{"role": "user", "content": "Implement AUTH-001."}]
    sent = second_request.body["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[1]["content"][1] == {
        "type": "tool_use",
        "id": tool_use_id,
        "name": "write_file",
        "input": {"path": "src/login.py", "content": "def login(): ..."},
    }
    assert sent[2]["content"] == [
        {
            "type": "tool_result",
            "tool_use_id": tool_use_id,
            "content": "wrote src/login.py",
            "is_error": False,
        }
    ]


async def test_overloaded_api_is_retried_by_the_sdk_and_the_answer_arrives(
    fake: FakeAnthropic, provider: AnthropicProvider
) -> None:
    fake.fail(529, "Overloaded")
    fake.fail(500, "Internal server error")
    fake.reply_text("Plan: one module.")

    response = await provider.complete(
        "You are the PM.", [{"role": "user", "content": "Plan AUTH-001."}], conversation="A/pm/1"
    )

    assert response.text == "Plan: one module."
    assert len(fake.requests) == 3
    # The SDK marks a retry in its headers; the key went out on every attempt.
    assert [r.headers.get("x-stainless-retry-count") for r in fake.requests] == ["0", "1", "2"]
    assert all(r.api_key == API_KEY for r in fake.requests)


async def test_overload_that_outlasts_the_retries_is_one_line_llm_error(
    fake: FakeAnthropic,
) -> None:
    for _ in range(3):
        fake.fail(529, "Overloaded")
    async with AnthropicProvider(API_KEY, MODEL, base_url=fake.url, max_retries=1) as llm:
        with pytest.raises(LLMError) as caught:
            await llm.complete("s", [{"role": "user", "content": "hi"}], conversation="A/pm/1")

    assert str(caught.value) == "Anthropic API answered 529 overloaded_error: Overloaded"
    assert len(fake.requests) == 2


async def test_rejected_key_is_one_line_llm_error_without_the_key(fake: FakeAnthropic) -> None:
    fake.fail(401, f"invalid x-api-key {API_KEY}")
    async with AnthropicProvider(API_KEY, MODEL, base_url=fake.url) as llm:
        with pytest.raises(LLMError) as caught:
            await llm.complete("s", [{"role": "user", "content": "hi"}], conversation="A/pm/1")

    message = str(caught.value)
    assert "401" in message
    assert "ANTHROPIC_API_KEY" in message
    assert API_KEY not in message
    assert "\n" not in message
    assert len(fake.requests) == 1, "an authentication failure is not retried"


async def test_unreachable_api_is_one_line_llm_error_naming_the_endpoint() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    async with AnthropicProvider(API_KEY, MODEL, base_url=url, max_retries=0) as llm:
        with pytest.raises(LLMError, match=f"cannot reach the Anthropic API at {url}") as caught:
            await llm.complete("s", [{"role": "user", "content": "hi"}], conversation="A/pm/1")
    assert API_KEY not in str(caught.value)


async def test_base_url_defaults_to_the_anthropic_base_url_environment_variable(
    fake: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
    fake.reply_text("hello from the fake")
    async with AnthropicProvider(API_KEY, MODEL) as llm:
        response = await llm.complete(
            "s", [{"role": "user", "content": "hi"}], conversation="A/pm/1"
        )
    assert response.text == "hello from the fake"
    assert "tools" not in fake.requests[0].body


async def test_sdk_deprecation_warning_for_a_retiring_model_reaches_the_caller(
    fake: FakeAnthropic,
) -> None:
    fake.reply_text("still answering")
    async with AnthropicProvider(API_KEY, "claude-sonnet-4-5", base_url=fake.url) as llm:
        with pytest.warns(DeprecationWarning, match="claude-sonnet-4-5"):
            response = await llm.complete(
                "s", [{"role": "user", "content": "hi"}], conversation="A/pm/1"
            )
    assert response.text == "still answering"


async def test_unpriced_model_is_refused_before_any_request(fake: FakeAnthropic) -> None:
    with pytest.raises(UnknownModelPriceError, match="claude-imaginary-9"):
        AnthropicProvider(API_KEY, "claude-imaginary-9", base_url=fake.url)
    assert fake.requests == []


def test_missing_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="ANTHROPIC_API_KEY"):
        AnthropicProvider("", MODEL)


async def test_cost_grows_with_the_tokens_the_api_reports(
    fake: FakeAnthropic, provider: AnthropicProvider
) -> None:
    fake.reply_text("short", input_tokens=100, output_tokens=10)
    fake.reply_text("long", input_tokens=10_000, output_tokens=1_000)
    messages = [{"role": "user", "content": "hi"}]
    small = await provider.complete("s", messages, conversation="A/pm/1")
    large = await provider.complete("s", messages, conversation="A/pm/2")
    assert Decimal(0) < small.cost_usd < large.cost_usd
