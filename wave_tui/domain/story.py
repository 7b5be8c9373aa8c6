"""Stories from files: the WAVE v4 JSON schema and a short YAML/JSON form, validated as a set.

Reading the story files is the only I/O here; every mistake becomes one StoryError line that
names the file and the field.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from wave_tui.errors import UserError

STORY_SUFFIXES = (".json", ".yaml", ".yml")


class StoryError(UserError):
    """A story file cannot be read or a story (or the set of stories) is invalid."""


class AcceptanceCriterion(BaseModel):
    # Unknown keys on a criterion (priority, test hints) are kept, never fatal.
    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1)
    description: str


class FileRules(BaseModel):
    """Glob patterns of the files a story may create, may modify, and must never touch."""

    model_config = ConfigDict(extra="allow")

    create: list[str] = Field(default_factory=list)
    modify: list[str] = Field(default_factory=list)
    forbidden: list[str] = Field(default_factory=list)


def _split_command(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return shlex.split(value)
    except ValueError as error:
        reason = str(error).lower()
        raise PydanticCustomError(
            "command", "not a valid command line ({reason})", {"reason": reason}
        ) from None


# A test command is argv; a string in a file is split the way a shell would split it.
CommandLine = Annotated[list[str] | None, BeforeValidator(_split_command)]


class Story(BaseModel):
    id: str = Field(min_length=1)
    title: str = Field(min_length=1)
    prompt: str
    domain: str = ""
    agent: str = ""
    wave_number: int | None = None
    acceptance_criteria: list[AcceptanceCriterion] = Field(default_factory=list)
    files: FileRules = Field(default_factory=FileRules)
    depends_on: list[str] = Field(default_factory=list)
    estimated_tokens: int | None = None
    budget_usd: Decimal | None = None
    test_command: CommandLine = None
    stop_conditions: list[str] = Field(default_factory=list)
    source: Path | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    # Where the story sits in its file and what the file called its id/dependency fields,
    # so set-level errors (duplicates, cycles) point at the line the user must edit.
    _where: str = PrivateAttr(default="")
    _id_field: str = PrivateAttr(default="id")
    _deps_field: str = PrivateAttr(default="depends_on")

    def location(self, field: str | None = None) -> str:
        """`file: [i].field` for error messages; `field` is this story's own spelling of it."""
        name = {"id": self._id_field, "depends_on": self._deps_field}.get(field or "", field)
        path = ".".join(part for part in (self._where, name) if part)
        if self.source is None:
            return f"story {self.id}: {path}" if path else f"story {self.id}"
        return f"{self.source}: {path}" if path else str(self.source)


# --- the two file forms -------------------------------------------------------------------------


class _Input(BaseModel):
    """Common to both forms: unknown keys are allowed and end up in Story.extra."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    title: str = Field(min_length=1)
    domain: str = ""
    agent: str = ""
    wave_number: int | None = None
    files: FileRules = Field(default_factory=FileRules)
    estimated_tokens: int | None = Field(default=None, ge=0)
    budget_usd: Decimal | None = Field(default=None, gt=0)
    test_command: CommandLine = None

    def _extra(self) -> dict[str, Any]:
        extra = dict(self.model_extra or {})
        if self.files.model_extra:
            extra["files"] = dict(self.files.model_extra)
        return extra


class _Dependencies(BaseModel):
    model_config = ConfigDict(extra="allow")

    required_before: list[str] = Field(default_factory=list)


class _Safety(BaseModel):
    model_config = ConfigDict(extra="allow")

    stop_conditions: list[str] = Field(default_factory=list)


class _V4Story(_Input):
    """The WAVE story JSON schema v4.x."""

    story_id: str = Field(min_length=1, validation_alias=AliasChoices("story_id", "id"))
    description: str
    acceptance_criteria: list[AcceptanceCriterion] = Field(default_factory=list)
    dependencies: _Dependencies = Field(default_factory=_Dependencies)
    safety: _Safety = Field(default_factory=_Safety)

    def to_story(self) -> Story:
        extra = self._extra()
        for key, part in (("dependencies", self.dependencies), ("safety", self.safety)):
            if part.model_extra:
                extra[key] = dict(part.model_extra)
        story = Story(
            id=self.story_id,
            title=self.title,
            prompt=self.description,
            domain=self.domain,
            agent=self.agent,
            wave_number=self.wave_number,
            acceptance_criteria=self.acceptance_criteria,
            files=FileRules(
                create=self.files.create, modify=self.files.modify, forbidden=self.files.forbidden
            ),
            depends_on=self.dependencies.required_before,
            estimated_tokens=self.estimated_tokens,
            budget_usd=self.budget_usd,
            test_command=self.test_command,
            stop_conditions=self.safety.stop_conditions,
            extra=extra,
        )
        story._id_field = "story_id"
        story._deps_field = "dependencies.required_before"
        return story


class _ShortStory(_Input):
    """The short form: acceptance criteria may be plain strings (numbered AC-1, AC-2, ...)."""

    id: str = Field(min_length=1)
    prompt: str
    acceptance_criteria: list[AcceptanceCriterion] = Field(default_factory=list)
    depends_on: list[str] = Field(default_factory=list)
    stop_conditions: list[str] = Field(default_factory=list)

    @field_validator("acceptance_criteria", mode="before")
    @classmethod
    def _number_plain_criteria(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [
            {"id": f"AC-{number}", "description": item} if isinstance(item, str) else item
            for number, item in enumerate(value, start=1)
        ]

    def to_story(self) -> Story:
        return Story(
            **self.model_dump(include=set(Story.model_fields) - {"files", "extra"}),
            files=FileRules(
                create=self.files.create, modify=self.files.modify, forbidden=self.files.forbidden
            ),
            extra=self._extra(),
        )


def _is_v4(data: Mapping[str, Any]) -> bool:
    if "prompt" in data:
        return False
    return any(key in data for key in ("story_id", "description", "dependencies", "safety"))


def _field_path(loc: Iterable[int | str]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else part
    return path


def _one_line(error: ValidationError) -> tuple[str, str]:
    """The first pydantic error as (field path, lower-case message with the offending value)."""
    first = error.errors(include_url=False)[0]
    message = first["msg"][:1].lower() + first["msg"][1:]
    given = first.get("input")
    if first["type"] != "missing" and isinstance(given, str | int | float | bool):
        shown = repr(given)
        message += f" (got {shown if len(shown) <= 40 else shown[:37] + '...'})"
    return _field_path(first["loc"]), message


def parse_story(data: Any, *, source: Path | None = None, where: str = "") -> Story:
    """One story from its file data (either form); `where` is its path inside the file."""
    label = f"{source}: " if source is not None else ""
    if not isinstance(data, Mapping):
        name = where or "story"
        raise StoryError(f"{label}{name}: a story must be a mapping, got {type(data).__name__}")
    model: type[_V4Story | _ShortStory] = _V4Story if _is_v4(data) else _ShortStory
    try:
        story = model.model_validate(data).to_story()
    except ValidationError as error:
        field, message = _one_line(error)
        path = f"{where}.{field}" if where and field else where or field
        raise StoryError(f"{label}{path}: {message}") from None
    story.source = source
    story._where = where
    return story


# --- files and folders --------------------------------------------------------------------------


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StoryError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise StoryError(f"{path}: not UTF-8 text") from None
    except OSError as error:
        raise StoryError(f"{path}: cannot read ({error.strerror or error})") from None
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise StoryError(
                f"{path}: not valid JSON (line {error.lineno}, column {error.colno}): "
                f"{error.msg[:1].lower()}{error.msg[1:]}"
            ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None)
        detail = f": {problem}" if problem else ""
        raise StoryError(f"{path}: not valid YAML{at}{detail}") from None


def load_story_file(path: Path) -> list[Story]:
    """The stories in one file: a story, a list of stories, or `{stories: [...]}`."""
    if path.suffix not in STORY_SUFFIXES:
        raise StoryError(f"{path}: not a story file (use .json, .yaml or .yml)")
    data = _read(path)
    prefix = ""
    if isinstance(data, Mapping) and "stories" in data:
        data, prefix = data["stories"], "stories"
        if not isinstance(data, list):
            raise StoryError(f"{path}: stories: expected a list, got {type(data).__name__}")
    if data is None or data == [] or data == {}:
        raise StoryError(f"{path}: no stories in file")
    if not isinstance(data, list):
        return [parse_story(data, source=path)]
    return [
        parse_story(item, source=path, where=f"{prefix}[{index}]")
        for index, item in enumerate(data)
    ]


def _story_files(path: Path) -> list[Path]:
    if not path.is_dir():
        return [path]
    found = sorted(p for p in path.iterdir() if p.suffix in STORY_SUFFIXES and p.is_file())
    if not found:
        raise StoryError(f"no story files in {path}/")
    return found


def load_stories(paths: Sequence[Path]) -> list[Story]:
    """Every story in the given files and folders, in file order, checked as a set: ids are
    unique and dependencies exist and have no cycle. Nothing runs until this returns."""
    if not paths:
        raise StoryError("no story files given")
    stories = [
        story for path in paths for file in _story_files(path) for story in load_story_file(file)
    ]
    first_seen: dict[str, Story] = {}
    for story in stories:
        if story.id in first_seen:
            raise StoryError(
                f"{story.location('id')}: duplicate story id {story.id!r} "
                f"(also in {first_seen[story.id].source or 'an earlier story'})"
            )
        first_seen[story.id] = story
    dependency_order(stories)
    return stories


# --- dependencies -------------------------------------------------------------------------------


def _find_cycle(waiting: Sequence[Story], by_id: Mapping[str, Story]) -> list[str]:
    # Every waiting story has a waiting dependency, so walking those edges must revisit a story.
    pending = {story.id for story in waiting}
    path: list[str] = []
    current = waiting[0]
    while current.id not in path:
        path.append(current.id)
        current = by_id[next(dep for dep in current.depends_on if dep in pending)]
    return [*path[path.index(current.id) :], current.id]


def dependency_order(stories: Sequence[Story]) -> list[Story]:
    """Stories with every dependency before its dependents; among equals, the given order."""
    by_id = {story.id: story for story in stories}
    for story in stories:
        for dep in story.depends_on:
            if dep not in by_id:
                raise StoryError(f"{story.location('depends_on')}: unknown story {dep!r}")
    ordered: list[Story] = []
    done: set[str] = set()
    waiting = list(stories)
    while waiting:
        ready = next((s for s in waiting if all(dep in done for dep in s.depends_on)), None)
        if ready is None:
            cycle = _find_cycle(waiting, by_id)
            first = by_id[cycle[0]]
            raise StoryError(
                f"{first.location('depends_on')}: dependency cycle: {' → '.join(cycle)}"
            )
        ordered.append(ready)
        done.add(ready.id)
        waiting.remove(ready)
    return ordered
