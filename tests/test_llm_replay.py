"""Offline replay of scripted conversations, pricing, and recording a live run into a script."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.fake_anthropic import FakeAnthropic
from wave_tui.errors import UserError
from wave_tui.llm import (
    DEFAULT_MODEL,
    AnthropicProvider,
    LLMError,
    LLMResponse,
    RecordingProvider,
    ReplayExhausted,
    ReplayProvider,
    ReplayScript,
    ScriptError,
    UnknownModelPriceError,
    Usage,
    assistant_message,
    cost_usd,
    tool_results_message,
)

SCRIPT = """\
version: 1
model: claude-sonnet-4-5
conversations:
  "AUTH-001/pm/1":
    - text: "Plan: one login module."
      usage: {input_tokens: 900, output_tokens: 200}
  "AUTH-001/dev/1":
    - text: "I'll write the module."
      tool_calls:
        - {name: write_file, input: {path: src/login.py, content: "def login(): ..."}}
        - {name: run_command, input: {command: "pytest -q"}}
      usage: {input_tokens: 1200, output_tokens: 400}
    - variants:
        - when: {last_tool_result_contains: "rejected"}
          text: "Taking the safe route instead."
          tool_calls:
            - {name: write_file, input: {path: src/login_safe.py, content: "..."}}
          usage: {input_tokens: 1500, output_tokens: 100}
        - text: "Done."
          usage: {input_tokens: 1600, output_tokens: 20}
"""
USER = {"role": "user", "content": "Implement AUTH-001."}


@pytest.fixture
def script_path(tmp_path: Path) -> Path:
    path = tmp_path / "script.yaml"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


@pytest.fixture
def replay(script_path: Path) -> ReplayProvider:
    return ReplayProvider(ReplayScript.load(script_path))


def after(response: LLMResponse, result: str, *, error: bool = False) -> list[dict[str, Any]]:
    """The messages of a dev conversation after its first answer and the tools' results."""
    results = [(call.id, result, error) for call in response.tool_calls]
    return [USER, assistant_message(response), tool_results_message(results)]


async def test_turn_is_the_number_of_assistant_messages_already_sent(
    replay: ReplayProvider,
) -> None:
    first = await replay.complete("dev", [USER], conversation="AUTH-001/dev/1")
    second = await replay.complete("dev", after(first, "ok"), conversation="AUTH-001/dev/1")

    assert first.text == "I'll write the module."
    assert [call.name for call in first.tool_calls] == ["write_file", "run_command"]
    assert first.tool_calls[0].input == {"path": "src/login.py", "content": "def login(): ..."}
    assert first.stop_reason == "tool_use"
    assert second.text == "Done."
    assert second.tool_calls == []
    assert second.stop_reason == "end_turn"
    assert replay.calls == ["AUTH-001/dev/1#0", "AUTH-001/dev/1#1"]


async def test_conversations_are_answered_independently(replay: ReplayProvider) -> None:
    dev = await replay.complete("dev", [USER], conversation="AUTH-001/dev/1")
    pm = await replay.complete("pm", [USER], conversation="AUTH-001/pm/1")
    assert (dev.text, pm.text) == ("I'll write the module.", "Plan: one login module.")


async def test_a_resumed_run_in_a_new_provider_gets_the_turn_its_messages_ask_for(
    script_path: Path,
) -> None:
    before_crash = ReplayProvider(ReplayScript.load(script_path))
    first = await before_crash.complete("dev", [USER], conversation="AUTH-001/dev/1")

    after_restart = ReplayProvider(ReplayScript.load(script_path))
    second = await after_restart.complete("dev", after(first, "ok"), conversation="AUTH-001/dev/1")

    assert second.text == "Done."
    assert after_restart.calls == ["AUTH-001/dev/1#1"]


async def test_a_conversation_the_script_lacks_fails_loudly_listing_what_it_has(
    replay: ReplayProvider, script_path: Path
) -> None:
    with pytest.raises(ReplayExhausted) as caught:
        await replay.complete("qa", [USER], conversation="AUTH-001/qa/1")
    message = str(caught.value)
    assert "'AUTH-001/qa/1'" in message
    assert "turn 0" in message
    assert str(script_path) in message
    assert "AUTH-001/dev/1, AUTH-001/pm/1" in message


async def test_a_turn_past_the_end_of_the_script_fails_loudly(replay: ReplayProvider) -> None:
    first = await replay.complete("pm", [USER], conversation="AUTH-001/pm/1")
    messages = [USER, assistant_message(first), {"role": "user", "content": "More detail?"}]
    with pytest.raises(ReplayExhausted, match=r"no turn 1 in conversation 'AUTH-001/pm/1'"):
        await replay.complete("pm", messages, conversation="AUTH-001/pm/1")


async def test_a_variant_answers_when_the_last_tool_result_contains_its_text(
    replay: ReplayProvider,
) -> None:
    first = await replay.complete("dev", [USER], conversation="AUTH-001/dev/1")
    messages = after(first, "blocked: command rejected by the safety guard", error=True)
    second = await replay.complete("dev", messages, conversation="AUTH-001/dev/1")
    assert second.text == "Taking the safe route instead."
    assert second.tool_calls[0].input["path"] == "src/login_safe.py"


async def test_tool_result_content_given_as_text_blocks_is_matched_too(
    replay: ReplayProvider,
) -> None:
    first = await replay.complete("dev", [USER], conversation="AUTH-001/dev/1")
    result_blocks = [{"type": "text", "text": "operator rejected the write"}]
    tool_result = {"type": "tool_result", "tool_use_id": first.tool_calls[0].id}
    messages = [
        USER,
        assistant_message(first),
        {"role": "user", "content": [{**tool_result, "content": result_blocks}]},
    ]
    second = await replay.complete("dev", messages, conversation="AUTH-001/dev/1")
    assert second.text == "Taking the safe route instead."


async def test_no_matching_variant_fails_loudly() -> None:
    script = ReplayScript.from_data(
        {
            "conversations": {
                "S-1/dev/1": [{"variants": [{"when": {"last_tool_result_contains": "x"}}]}]
            }
        }
    )
    with pytest.raises(ReplayExhausted, match=r"no variant of turn 0 .* add a default variant"):
        await ReplayProvider(script).complete("s", [USER], conversation="S-1/dev/1")


async def test_tool_call_ids_are_deterministic_and_unique(script_path: Path) -> None:
    one = ReplayProvider(ReplayScript.load(script_path))
    two = ReplayProvider(ReplayScript.load(script_path))
    a = await one.complete("dev", [USER], conversation="AUTH-001/dev/1")
    b = await two.complete("dev", [USER], conversation="AUTH-001/dev/1")
    rejected = after(a, "rejected")
    later = await one.complete("dev", rejected, conversation="AUTH-001/dev/1")

    ids = [call.id for call in a.tool_calls]
    assert ids == [call.id for call in b.tool_calls]
    assert all(tool_id.startswith("toolu_") for tool_id in ids)
    assert len({*ids, later.tool_calls[0].id}) == 3


async def test_usage_and_cost_come_from_the_script(replay: ReplayProvider) -> None:
    response = await replay.complete("pm", [USER], conversation="AUTH-001/pm/1")
    assert response.usage == Usage(input_tokens=900, output_tokens=200)
    assert response.model == "claude-sonnet-4-5"
    assert response.cost_usd == cost_usd("claude-sonnet-4-5", response.usage)
    assert response.cost_usd > 0


async def test_the_configured_model_prices_a_script_that_names_none() -> None:
    script = ReplayScript.from_data(
        {"conversations": {"S-1/pm/1": [{"text": "hi", "usage": {"input_tokens": 10}}]}}
    )
    response = await ReplayProvider(script, model="claude-haiku-4-5").complete(
        "s", [USER], conversation="S-1/pm/1"
    )
    assert response.model == "claude-haiku-4-5"
    assert response.cost_usd == cost_usd("claude-haiku-4-5", Usage(10, 0))


async def test_simulated_latency_delays_each_answer() -> None:
    script = ReplayScript.from_data(
        {"latency_s": 0.05, "conversations": {"S-1/pm/1": [{"text": "slow"}]}}
    )
    started = time.monotonic()
    await ReplayProvider(script).complete("s", [USER], conversation="S-1/pm/1")
    assert time.monotonic() - started >= 0.05


def test_a_json_script_loads_like_yaml(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_text(json.dumps({"conversations": {"S-1/pm/1": [{"text": "hi"}]}}))
    assert ReplayScript.load(path).conversations["S-1/pm/1"][0].text == "hi"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("conversations: [", "is not valid"),
        ("- just a list", "expected a mapping with `conversations`"),
        ("version: 2\nconversations: {}", "version: Input should be 1"),
        ("conversation: {}", "conversation: Extra inputs are not permitted"),
        (
            'conversations: {"S-1/dev/1": [{tool_calls: [{input: {}}]}]}',
            "conversations['S-1/dev/1'][0].tool_calls[0].name: Field required",
        ),
        (
            'conversations: {"S-1/dev/1": [{text: hi, usage: {input_tokens: many}}]}',
            "conversations['S-1/dev/1'][0].usage.input_tokens: Input should be a valid integer",
        ),
        (
            'conversations: {"S-1/dev/1": [{text: hi, variants: [{text: a}]}]}',
            "a turn with variants has no text",
        ),
        ('conversations: {"dev-1": []}', "'dev-1' is not of the form <story-id>/<agent>/"),
    ],
)
def test_a_bad_script_is_one_line_naming_the_file_and_the_field(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ScriptError) as caught:
        ReplayScript.load(path)
    message = str(caught.value)
    assert isinstance(caught.value, UserError)
    assert str(path) in message
    assert expected in message
    assert "\n" not in message


def test_a_missing_script_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match=r"cannot read replay script .*nope\.yaml"):
        ReplayScript.load(tmp_path / "nope.yaml")


def test_a_script_model_without_a_price_is_refused() -> None:
    script = ReplayScript.from_data({"model": "gpt-imaginary", "conversations": {}})
    with pytest.raises(UnknownModelPriceError, match="gpt-imaginary"):
        ReplayProvider(script)


def test_the_default_model_is_priced_and_cost_grows_with_tokens() -> None:
    small = cost_usd(DEFAULT_MODEL, Usage(input_tokens=1_000, output_tokens=100))
    more_input = cost_usd(DEFAULT_MODEL, Usage(input_tokens=2_000, output_tokens=100))
    more_output = cost_usd(DEFAULT_MODEL, Usage(input_tokens=1_000, output_tokens=200))
    assert DEFAULT_MODEL == "claude-sonnet-4-6"
    assert Decimal(0) < small < more_input
    assert small < more_output
    assert cost_usd(DEFAULT_MODEL, Usage(0, 0)) == 0


def test_cached_input_costs_less_than_fresh_input() -> None:
    fresh = cost_usd(DEFAULT_MODEL, Usage(input_tokens=10_000, output_tokens=0))
    cached = cost_usd(
        DEFAULT_MODEL, Usage(input_tokens=0, output_tokens=0, cache_read_input_tokens=10_000)
    )
    assert Decimal(0) < cached < fresh


def test_an_unknown_model_is_a_user_error_naming_it() -> None:
    with pytest.raises(UnknownModelPriceError, match="'claude-imaginary-9'") as caught:
        cost_usd("claude-imaginary-9", Usage(1, 1))
    assert isinstance(caught.value, UserError)


# --- recording ------------------------------------------------------------------------------

RECORDED_MODEL = "claude-sonnet-4-6"


async def run_story(llm: RecordingProvider | ReplayProvider, tool_id: str) -> list[LLMResponse]:
    """A PM turn, then a Dev tool-use exchange: what an agent loop does."""
    plan = await llm.complete("pm", [USER], conversation="AUTH-001/pm/1")
    first = await llm.complete("dev", [USER], [], conversation="AUTH-001/dev/1")
    assert [call.id for call in first.tool_calls] == [tool_id]
    done = await llm.complete("dev", after(first, "wrote it"), conversation="AUTH-001/dev/1")
    return [plan, first, done]


async def test_a_recorded_run_replays_to_the_same_responses(tmp_path: Path) -> None:
    path = tmp_path / "recorded" / "run.yaml"
    with FakeAnthropic() as fake:
        fake.reply_text("Plan: one login module.", input_tokens=900, output_tokens=200)
        tool_id = fake.reply_tool_use(
            "write_file", {"path": "src/login.py", "content": "ok"}, text="Writing."
        )
        fake.reply_text("Done.", input_tokens=1600, output_tokens=20)
        async with AnthropicProvider("sk-test-key", RECORDED_MODEL, base_url=fake.url) as live:
            recorder = RecordingProvider(live, path, RECORDED_MODEL)
            recorded = await run_story(recorder, tool_id)

    replayed = await run_story(ReplayProvider(ReplayScript.load(path)), tool_id)

    assert replayed == recorded
    assert [r.text for r in replayed] == ["Plan: one login module.", "Writing.", "Done."]
    assert "sk-test-key" not in path.read_text()
    assert [p.name for p in path.parent.iterdir()] == ["run.yaml"], "no temp file is left"


async def test_each_answered_turn_is_on_disk_before_the_next_call(
    tmp_path: Path, script_path: Path
) -> None:
    path = tmp_path / "run.json"
    recorder = RecordingProvider(ReplayProvider(ReplayScript.load(script_path)), path, "x")

    first = await recorder.complete("dev", [USER], conversation="AUTH-001/dev/1")
    on_disk = ReplayScript.load(path)

    assert on_disk.model == "x"
    assert [turn.text for turn in on_disk.conversations["AUTH-001/dev/1"]] == [first.text]
    assert on_disk.conversations["AUTH-001/dev/1"][0].tool_calls[0].id == first.tool_calls[0].id


async def test_a_resumed_recording_keeps_earlier_turns_and_refuses_gaps(
    tmp_path: Path, script_path: Path
) -> None:
    path = tmp_path / "run.yaml"
    source = ReplayProvider(ReplayScript.load(script_path))
    first = await RecordingProvider(source, path, DEFAULT_MODEL).complete(
        "dev", [USER], conversation="AUTH-001/dev/1"
    )

    resumed = RecordingProvider(source, path, DEFAULT_MODEL)
    await resumed.complete("dev", after(first, "ok"), conversation="AUTH-001/dev/1")
    with pytest.raises(LLMError, match="would have a gap"):
        await resumed.complete("pm", after(first, "ok"), conversation="AUTH-001/pm/1")

    turns = ReplayScript.load(path).conversations
    assert [turn.text for turn in turns["AUTH-001/dev/1"]] == ["I'll write the module.", "Done."]
    assert "AUTH-001/pm/1" not in turns
    assert source.calls == ["AUTH-001/dev/1#0", "AUTH-001/dev/1#1"], "the gap cost no call"
