"""Loading stories from files: both forms, folders, the set checks, and one-line errors."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from wave_tui.domain.story import (
    AcceptanceCriterion,
    FileRules,
    Story,
    StoryError,
    dependency_order,
    load_stories,
)
from wave_tui.errors import UserError

V4_STORY: dict[str, Any] = {
    "story_id": "AUTH-001",
    "title": "Login with email",
    "description": "Add an email + password login form.",
    "domain": "auth",
    "agent": "dev",
    "wave_number": 1,
    "acceptance_criteria": [
        {"id": "AC-1", "description": "user can log in", "priority": "must"},
        {"id": "AC-2", "description": "bad password is refused"},
    ],
    "files": {"create": ["app/login.py"], "modify": ["app/urls.py"], "forbidden": [".env*"]},
    "dependencies": {"required_before": ["CORE-001"], "blocks": ["AUTH-002"]},
    "estimated_tokens": 20000,
    "safety": {"stop_conditions": ["touches .env"], "max_risk": "low"},
    "schema_version": "4.3",
    "objective": {"as_a": "user", "i_want": "to log in"},
}

SHORT_STORY_YAML = """\
id: CORE-001
title: Project skeleton
prompt: |
  Create the app package.
acceptance_criteria:
  - app/__init__.py exists
  - pytest runs
test_command: python -m pytest -q "tests/test app.py"
depends_on: []
budget_usd: 1.25
owner: alice
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _error(paths: list[Path]) -> str:
    with pytest.raises(StoryError) as caught:
        load_stories(paths)
    message = str(caught.value)
    assert "\n" not in message
    assert isinstance(caught.value, UserError)
    return message


def _short(story_id: str, depends_on: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": story_id,
        "title": f"Story {story_id}",
        "prompt": "do it",
        "depends_on": depends_on or [],
    }


def test_v4_story_loads_with_all_fields_and_keeps_unknown_ones(tmp_path: Path) -> None:
    path = _write(tmp_path / "auth.json", json.dumps(V4_STORY))

    [story] = load_stories([path, _write(tmp_path / "core.yaml", SHORT_STORY_YAML)])[:1]

    assert story.id == "AUTH-001"
    assert story.title == "Login with email"
    assert story.prompt == "Add an email + password login form."
    assert (story.domain, story.agent, story.wave_number) == ("auth", "dev", 1)
    assert [c.id for c in story.acceptance_criteria] == ["AC-1", "AC-2"]
    assert story.acceptance_criteria[1] == AcceptanceCriterion(
        id="AC-2", description="bad password is refused"
    )
    assert story.acceptance_criteria[0].model_extra == {"priority": "must"}
    assert story.files == FileRules(
        create=["app/login.py"], modify=["app/urls.py"], forbidden=[".env*"]
    )
    assert story.depends_on == ["CORE-001"]
    assert story.estimated_tokens == 20000
    assert story.stop_conditions == ["touches .env"]
    assert story.source == path
    assert story.budget_usd is None
    assert story.test_command is None
    assert story.extra == {
        "schema_version": "4.3",
        "objective": {"as_a": "user", "i_want": "to log in"},
        "dependencies": {"blocks": ["AUTH-002"]},
        "safety": {"max_risk": "low"},
    }


def test_short_yaml_story_numbers_criteria_and_splits_the_test_command(tmp_path: Path) -> None:
    path = _write(tmp_path / "core.yaml", SHORT_STORY_YAML)

    [story] = load_stories([path])

    assert story.id == "CORE-001"
    assert story.prompt == "Create the app package.\n"
    assert story.acceptance_criteria == [
        AcceptanceCriterion(id="AC-1", description="app/__init__.py exists"),
        AcceptanceCriterion(id="AC-2", description="pytest runs"),
    ]
    assert story.test_command == ["python", "-m", "pytest", "-q", "tests/test app.py"]
    assert story.budget_usd == Decimal("1.25")
    assert story.depends_on == []
    assert story.extra == {"owner": "alice"}


def test_a_file_may_hold_a_list_or_a_stories_key(tmp_path: Path) -> None:
    listed = _write(tmp_path / "a.json", json.dumps([_short("A-1"), _short("A-2", ["A-1"])]))
    keyed = _write(
        tmp_path / "b.yml",
        "stories:\n  - {id: B-1, title: B, prompt: p, test_command: [make, test]}\n",
    )

    stories = load_stories([listed, keyed])

    assert [s.id for s in stories] == ["A-1", "A-2", "B-1"]
    assert stories[2].test_command == ["make", "test"]


def test_a_folder_loads_its_story_files_sorted_by_name_not_recursively(tmp_path: Path) -> None:
    folder = tmp_path / "stories"
    _write(folder / "b.yaml", "id: B-1\ntitle: B\nprompt: p\n")
    _write(folder / "a.json", json.dumps(_short("A-1")))
    _write(folder / "c.yml", "id: C-1\ntitle: C\nprompt: p\n")
    _write(folder / "notes.txt", "not a story")
    _write(folder / "nested" / "d.yaml", "id: D-1\ntitle: D\nprompt: p\n")

    stories = load_stories([folder])

    assert [s.id for s in stories] == ["A-1", "B-1", "C-1"]
    assert stories[1].source == folder / "b.yaml"


def test_dependency_order_puts_dependencies_first_and_keeps_file_order_otherwise(
    tmp_path: Path,
) -> None:
    path = _write(
        tmp_path / "s.json",
        json.dumps(
            [
                _short("UI-1", ["API-1"]),
                _short("DOCS-1"),
                _short("API-1", ["DB-1"]),
                _short("DB-1"),
                _short("OPS-1"),
            ]
        ),
    )

    ordered = dependency_order(load_stories([path]))

    assert [s.id for s in ordered] == ["DOCS-1", "DB-1", "API-1", "UI-1", "OPS-1"]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        (
            "x.json",
            '{\n  "id": "A-1",\n  "title" "x"\n}',
            "x.json: not valid JSON (line 3, column 11)",
        ),
        (
            "x.yaml",
            "id: A-1\ntitle: [unclosed\nprompt: p\n",
            "x.yaml: not valid YAML (line 3, column",
        ),
        ("x.yaml", "id: A-1\nprompt: p\n", "x.yaml: title: field required"),
        (
            "x.json",
            json.dumps({**V4_STORY, "estimated_tokens": "lots"}),
            "x.json: estimated_tokens: input should be a valid integer",
        ),
        (
            "x.json",
            json.dumps(
                {
                    **V4_STORY,
                    "acceptance_criteria": [
                        {"id": "AC-1", "description": "d"},
                        {"description": "e"},
                    ],
                }
            ),
            "x.json: acceptance_criteria[1].id: field required",
        ),
        (
            "x.yaml",
            "stories:\n  - {id: A-1, title: A, prompt: p}\n  - {id: A-2, title: [1], prompt: p}\n",
            "x.yaml: stories[1].title: input should be a valid string",
        ),
        (
            "x.yaml",
            "- {id: A-1, title: A, prompt: p}\n- just a string\n",
            "x.yaml: [1]: a story must be",
        ),
        ("x.yaml", "", "x.yaml: no stories in file"),
        ("x.txt", "id: A-1", "x.txt: not a story file"),
    ],
)
def test_bad_story_file_gives_one_line_naming_file_and_field(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    path = _write(tmp_path / name, text)

    assert _error([path]).startswith(str(tmp_path / expected))


def test_wrong_type_names_the_value_that_was_given(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.json", json.dumps({**V4_STORY, "estimated_tokens": "lots"}))

    assert _error([path]).endswith("(got 'lots')")


def test_duplicate_story_ids_are_rejected_naming_both_files(tmp_path: Path) -> None:
    first = _write(tmp_path / "a.json", json.dumps(V4_STORY))
    second = _write(
        tmp_path / "b.yaml",
        "- {id: X-1, title: X, prompt: p}\n- {id: AUTH-001, title: A, prompt: p}\n",
    )

    assert _error([first, second]) == (
        f"{second}: [1].id: duplicate story id 'AUTH-001' (also in {first})"
    )


def test_unknown_dependency_is_rejected_naming_the_field(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.json", json.dumps(V4_STORY))

    assert _error([path]) == (f"{path}: dependencies.required_before: unknown story 'CORE-001'")


def test_dependency_cycle_is_rejected_and_named(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "s.json",
        json.dumps(
            [_short("OK-1"), _short("A-1", ["B-2"]), _short("B-2", ["C-3"]), _short("C-3", ["A-1"])]
        ),
    )

    assert _error([path]) == f"{path}: [1].depends_on: dependency cycle: A-1 → B-2 → C-3 → A-1"


def test_a_story_depending_on_itself_is_a_cycle(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.yaml", "id: A-1\ntitle: A\nprompt: p\ndepends_on: [A-1]\n")

    assert _error([path]).endswith("dependency cycle: A-1 → A-1")


def test_empty_folder_and_missing_file_are_named(tmp_path: Path) -> None:
    folder = tmp_path / "stories"
    _write(folder / "README.md", "no stories here")

    assert _error([folder]) == f"no story files in {folder}/"
    assert _error([tmp_path / "nope.yaml"]) == f"{tmp_path / 'nope.yaml'}: no such file"


def test_dependency_order_checks_stories_built_in_code() -> None:
    a = Story(id="A-1", title="A", prompt="p", depends_on=["B-1"])
    b = Story(id="B-1", title="B", prompt="p", depends_on=["A-1"])

    with pytest.raises(StoryError, match=r"dependency cycle: A-1 → B-1 → A-1"):
        dependency_order([a, b])
    with pytest.raises(StoryError, match=r"story A-1: depends_on: unknown story .B-1."):
        dependency_order([a])
