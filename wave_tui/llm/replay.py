"""An offline, deterministic LLM: answers each conversation's turns from a YAML/JSON script."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from wave_tui.errors import UserError
from wave_tui.llm.base import (
    CONVERSATION_PATTERN,
    DEFAULT_MODEL,
    LLMError,
    LLMResponse,
    ToolCall,
    Usage,
    last_tool_result_text,
    turn_index,
)
from wave_tui.llm.pricing import check_priced, cost_usd

# A missing conversation lists what the script has; past this many the list is cut short.
_LISTED_CONVERSATIONS = 20


class ScriptError(UserError):
    """A replay script is missing, unreadable or not in the expected shape."""


class ReplayExhausted(LLMError):
    """The script has no answer for the turn asked: the run went where the script never went."""


class _Strict(BaseModel):
    # A typo in a script key must fail loudly instead of silently changing the replay.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScriptUsage(_Strict):
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cache_read_input_tokens: int = Field(default=0, ge=0)
    cache_creation_input_tokens: int = Field(default=0, ge=0)

    def to_usage(self) -> Usage:
        return Usage(**self.model_dump())


class ScriptToolCall(_Strict):
    name: str = Field(min_length=1)
    input: dict[str, Any] = Field(default_factory=dict)
    # Recorded scripts keep the API's ids so a replay answers exactly as the recording did.
    id: str | None = None


class ScriptAnswer(_Strict):
    text: str = ""
    tool_calls: list[ScriptToolCall] = Field(default_factory=list)
    usage: ScriptUsage = Field(default_factory=ScriptUsage)
    stop_reason: str | None = None


class When(_Strict):
    last_tool_result_contains: str


class ScriptVariant(ScriptAnswer):
    """One branch of a turn; without `when` it always matches (the default)."""

    when: When | None = None

    def matches(self, messages: Sequence[Mapping[str, Any]]) -> bool:
        if self.when is None:
            return True
        return self.when.last_tool_result_contains in last_tool_result_text(messages)


class ScriptTurn(ScriptAnswer):
    """One assistant turn: a fixed answer, or `variants` tried in order."""

    variants: list[ScriptVariant] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _variants_or_answer(self) -> Self:
        if self.variants is not None and self.model_fields_set - {"variants"}:
            raise ValueError("a turn with variants has no text, tool_calls, usage of its own")
        return self

    def choose(self, messages: Sequence[Mapping[str, Any]]) -> ScriptAnswer | None:
        """The answer this turn gives after `messages`, or None when no variant matches."""
        if self.variants is None:
            return self
        return next((variant for variant in self.variants if variant.matches(messages)), None)


class ReplayScript(_Strict):
    """A whole script: per conversation ("<story-id>/<agent>/<iteration>"), its turns in order."""

    version: Literal[1] = 1
    model: str | None = None
    latency_s: float = Field(default=0, ge=0)
    conversations: dict[str, list[ScriptTurn]] = Field(default_factory=dict)
    _source: str = PrivateAttr(default="<memory>")

    @model_validator(mode="after")
    def _conversation_ids(self) -> Self:
        for name in self.conversations:
            if not CONVERSATION_PATTERN.match(name):
                raise ValueError(
                    f"conversation {name!r} is not of the form <story-id>/<agent>/<iteration>"
                )
        return self

    @property
    def source(self) -> str:
        """Where the script came from, for error messages."""
        return self._source

    @classmethod
    def load(cls, path: Path) -> ReplayScript:
        """Read a script file (YAML, or JSON by its `.json` suffix), or raise a one-line error."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScriptError(f"cannot read replay script {path}: {exc.strerror}") from None
        try:
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            reason = " ".join(str(exc).split())
            raise ScriptError(f"replay script {path} is not valid: {reason}") from None
        return cls.from_data(data, source=str(path))

    @classmethod
    def from_data(cls, data: object, *, source: str = "<memory>") -> ReplayScript:
        """Validate already-parsed script data; `source` names it in errors."""
        if not isinstance(data, Mapping):
            raise ScriptError(f"replay script {source}: expected a mapping with `conversations`")
        try:
            script = cls.model_validate(data)
        except ValidationError as exc:
            raise ScriptError(f"replay script {source}: {_one_line(exc)}") from None
        script._source = source
        return script

    def to_data(self) -> dict[str, Any]:
        """The script as plain data in the file format, without fields left at their defaults."""
        data = self.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
        return {"version": self.version, **data}

    def dump(self) -> str:
        """The script as YAML text that `load` reads back to an equal script."""
        return yaml.safe_dump(self.to_data(), sort_keys=False, allow_unicode=True)


class ReplayProvider:
    """Answers from a script. Stateless: the turn is the count of assistant messages sent."""

    def __init__(self, script: ReplayScript, *, model: str = DEFAULT_MODEL) -> None:
        self.script = script
        self.model = script.model or model
        check_priced(self.model)
        # Which turns were asked, as "conversation#turn": a log for tests, never read here.
        self.calls: list[str] = []

    async def complete(
        self,
        system: str,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] = (),
        *,
        conversation: str,
    ) -> LLMResponse:
        turn = turn_index(messages)
        self.calls.append(f"{conversation}#{turn}")
        answer = self._answer(conversation, turn, messages)
        if self.script.latency_s > 0:
            await asyncio.sleep(self.script.latency_s)
        usage = answer.usage.to_usage()
        return LLMResponse(
            text=answer.text,
            tool_calls=[
                ToolCall(
                    id=call.id or tool_call_id(conversation, turn, number),
                    name=call.name,
                    input=dict(call.input),
                )
                for number, call in enumerate(answer.tool_calls)
            ],
            usage=usage,
            cost_usd=cost_usd(self.model, usage),
            model=self.model,
            stop_reason=answer.stop_reason or ("tool_use" if answer.tool_calls else "end_turn"),
        )

    def _answer(
        self, conversation: str, turn: int, messages: Sequence[Mapping[str, Any]]
    ) -> ScriptAnswer:
        turns = self.script.conversations.get(conversation)
        where = f"replay script {self.script.source}"
        if turns is None:
            raise ReplayExhausted(
                f"{where} has no conversation {conversation!r} (asked for turn {turn}); "
                f"it has: {_listing(self.script.conversations)}"
            )
        if turn >= len(turns):
            raise ReplayExhausted(
                f"{where} has no turn {turn} in conversation {conversation!r} "
                f"(it scripts {len(turns)} turn(s), from turn 0); conversations: "
                f"{_listing(self.script.conversations)}"
            )
        answer = turns[turn].choose(messages)
        if answer is None:
            raise ReplayExhausted(
                f"{where}: no variant of turn {turn} in conversation {conversation!r} matches "
                f"the last tool result {last_tool_result_text(messages)[:80]!r}; add a default "
                "variant without `when`"
            )
        return answer


def tool_call_id(conversation: str, turn: int, number: int) -> str:
    """A stable tool_use id: the same conversation, turn and position always give the same id."""
    digest = hashlib.sha256(conversation.encode()).hexdigest()[:12]
    return f"toolu_{digest}_{turn}_{number}"


def _listing(conversations: Mapping[str, object]) -> str:
    names = sorted(conversations)
    if not names:
        return "(none)"
    shown = ", ".join(names[:_LISTED_CONVERSATIONS])
    hidden = len(names) - _LISTED_CONVERSATIONS
    return f"{shown} and {hidden} more" if hidden > 0 else shown


def _one_line(exc: ValidationError) -> str:
    """The first validation problem as `field: message`, the field written as in the file."""
    error = exc.errors(include_url=False)[0]
    where = ""
    for part in error["loc"]:
        if isinstance(part, int):
            where += f"[{part}]"
        elif where == "conversations":
            where += f"[{part!r}]"
        elif part != "[key]":
            where += f".{part}" if where else str(part)
    message = error["msg"].removeprefix("Value error, ")
    given = error.get("input")
    shown = f" (got {given!r})" if isinstance(given, str | int | float) else ""
    return f"{where or 'top level'}: {message}{shown}"
