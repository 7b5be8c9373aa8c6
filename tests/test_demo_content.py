"""The shipped demo is right: its stories load, its script covers every agent turn, and the code
the scripted Dev writes really passes (or, for DEMO-2's first attempt, really fails) QA's tests."""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from wave_tui.agents.qa import test_command as qa_test_command
from wave_tui.agents.qa_report import RunReport, ac_evidence, parse_junit, uncovered
from wave_tui.demo.project import (
    DemoProjectError,
    create_demo_project,
    demo_script_path,
    demo_stories_dir,
)
from wave_tui.domain.story import Story, dependency_order, load_stories
from wave_tui.errors import UserError
from wave_tui.llm.replay import ReplayScript, ScriptAnswer
from wave_tui.workspace import matches_glob, run_command
from wave_tui.workspace.git import git
from wave_tui.workspace.tools import WorkspaceTools

DEMO_IDS = ["DEMO-1", "DEMO-2", "DEMO-3", "DEMO-4"]


def _after(tool_result: str) -> list[dict[str, Any]]:
    """Messages whose last tool result is `tool_result`: what a variant's `when` looks at."""
    block = {"type": "tool_result", "tool_use_id": "toolu_x", "content": tool_result}
    return [{"role": "user", "content": [block]}]


# How the safety layer answers a refused `rm -rf build`, and how an allowed run answers.
REJECTED = _after("rejected by the safety layer: rm -rf deletes files recursively")
ALLOWED = _after("[exit code 0, 0.0s]\n")


@functools.cache
def script() -> ReplayScript:
    return ReplayScript.load(demo_script_path())


@functools.cache
def stories() -> dict[str, Story]:
    return {story.id: story for story in load_stories([demo_stories_dir()])}


def ac_ids(story_id: str) -> list[str]:
    return [ac.id for ac in stories()[story_id].acceptance_criteria]


def dev_conversations(story_id: str) -> list[str]:
    return sorted(name for name in script().conversations if name.startswith(f"{story_id}/dev/"))


def answers(conversation: str, messages: Sequence[Mapping[str, Any]]) -> list[ScriptAnswer]:
    """The turns the replay gives when every tool result it sees is the last one in `messages`."""
    chosen = [turn.choose(messages) for turn in script().conversations[conversation]]
    assert all(answer is not None for answer in chosen), f"{conversation}: no variant matches"
    return [answer for answer in chosen if answer is not None]


async def apply_dev_work(
    project: Path, story_id: str, conversation: str, messages: Sequence[Mapping[str, Any]]
) -> list[str]:
    """Run the conversation's file tools for real on `project`, as the engine would; the paths
    written. Commands are only checked for shape, since the engine runs QA itself."""
    story = stories()[story_id]
    tools = WorkspaceTools(project, forbidden=story.files.forbidden)
    written: list[str] = []
    for answer in answers(conversation, messages):
        for call in answer.tool_calls:
            if call.name in {"write_file", "read_file", "list_files"}:
                result = await tools.dispatch(call.name, call.input)
                assert result.ok, f"{conversation} {call.name}: {result.content}"
                written += result.files_written
            elif call.name == "run_command":
                argv = call.input["argv"]
                assert isinstance(argv, list)
                assert all(isinstance(arg, str) for arg in argv)
            else:
                assert call.name == "finish", f"{conversation}: unknown tool {call.name}"
    return written


async def run_qa(project: Path) -> RunReport:
    """Exactly the command QA runs in a worktree, with its JUnit report."""
    with tempfile.TemporaryDirectory(prefix="demo-qa-") as scratch:
        report_path = Path(scratch) / "report.xml"
        argv = [*qa_test_command(None), f"--junitxml={report_path}", "-p", "no:cacheprovider"]
        result = await run_command(argv, cwd=project, timeout=120)
        report = parse_junit(report_path, result.exit_code)
    assert report.report_found, result.output
    return report


def assert_every_ac_evidenced(report: RunReport, story_id: str) -> None:
    evidence = ac_evidence(report, ac_ids(story_id))
    assert uncovered(evidence) == [], evidence


# --- stories and script -------------------------------------------------------------------------


def test_demo_stories_load_and_dependency_order_puts_demo_1_before_demo_4() -> None:
    loaded = load_stories([demo_stories_dir()])
    assert [story.id for story in loaded] == DEMO_IDS
    assert stories()["DEMO-4"].depends_on == ["DEMO-1"]
    order = [story.id for story in dependency_order(loaded)]
    assert order.index("DEMO-1") < order.index("DEMO-4")
    for story in loaded:
        assert 2 <= len(story.acceptance_criteria) <= 3
        assert ac_ids(story.id) == [f"AC-{n}" for n in range(1, len(ac_ids(story.id)) + 1)]


def test_script_has_pm_dev_and_cto_conversations_for_every_story() -> None:
    assert script().model == "claude-sonnet-4-6"
    expected = {f"{story_id}/{agent}/1" for story_id in DEMO_IDS for agent in ("pm", "dev")}
    expected |= {"DEMO-1/cto/1", "DEMO-2/dev/2", "DEMO-2/cto/2", "DEMO-3/cto/1", "DEMO-4/cto/1"}
    assert set(script().conversations) == expected


@pytest.mark.parametrize("story_id", DEMO_IDS)
def test_pm_submits_a_plan_with_exactly_the_story_criteria(story_id: str) -> None:
    [turn] = script().conversations[f"{story_id}/pm/1"]
    [call] = turn.tool_calls
    assert call.name == "submit_plan"
    assert call.input["plan"].strip()
    submitted = call.input["acceptance_criteria"]
    assert [ac["id"] for ac in submitted] == ac_ids(story_id)
    descriptions = [ac.description for ac in stories()[story_id].acceptance_criteria]
    assert [ac["description"] for ac in submitted] == descriptions


@pytest.mark.parametrize("story_id", DEMO_IDS)
def test_cto_says_go_after_the_dev_iteration_that_passes(story_id: str) -> None:
    iteration = len(dev_conversations(story_id))
    [turn] = script().conversations[f"{story_id}/cto/{iteration}"]
    [call] = turn.tool_calls
    assert call.name == "submit_review"
    assert call.input["decision"] == "GO"
    assert call.input["reason"]


@pytest.mark.parametrize(
    ("conversation", "messages"),
    [
        ("DEMO-1/dev/1", ALLOWED),
        ("DEMO-2/dev/1", ALLOWED),
        ("DEMO-2/dev/2", ALLOWED),
        ("DEMO-3/dev/1", ALLOWED),
        ("DEMO-3/dev/1", REJECTED),
        ("DEMO-4/dev/1", ALLOWED),
    ],
)
def test_every_dev_conversation_ends_with_finish_mapping_every_criterion(
    conversation: str, messages: list[dict[str, Any]]
) -> None:
    turns = answers(conversation, messages)
    *earlier, last = turns
    assert last.tool_calls[-1].name == "finish"
    finish = last.tool_calls[-1].input
    assert finish["summary"].strip()
    story_id = conversation.split("/")[0]
    assert sorted(finish["ac_mapping"]) == ac_ids(story_id)
    assert all(where.strip() for where in finish["ac_mapping"].values())
    # Only the last turn finishes, and every earlier one asks for tools so the talk goes on.
    assert all(turn.tool_calls for turn in earlier)
    assert all(call.name != "finish" for turn in turns for call in turn.tool_calls[:-1])
    for turn in turns:
        assert 1500 <= turn.usage.input_tokens <= 4000
        assert 300 <= turn.usage.output_tokens <= 1500


def test_demo_3_tries_rm_rf_build_first_and_branches_on_its_rejection() -> None:
    first, second, *_ = script().conversations["DEMO-3/dev/1"]
    assert [(call.name, call.input) for call in first.tool_calls] == [
        ("run_command", {"argv": ["rm", "-rf", "build"]})
    ]
    assert second.variants is not None
    rejected, allowed = second.choose(REJECTED), second.choose(ALLOWED)
    assert rejected is not None
    assert allowed is not None
    assert rejected is not allowed
    assert "rejected" in rejected.text


# --- the demo project ---------------------------------------------------------------------------


async def test_created_demo_project_is_a_clean_repository_on_main_whose_tests_pass(
    tmp_path: Path,
) -> None:
    project = await create_demo_project(tmp_path / "p")

    assert project == (tmp_path / "p").resolve()
    assert (await git("branch", "--show-current", cwd=project)).strip() == "main"
    assert await git("status", "--porcelain", "--untracked-files=all", cwd=project) == ""
    tracked = (await git("ls-files", cwd=project)).split()
    assert {".gitignore", "pyproject.toml", "textkit/case.py", "tests/test_case.py"} <= set(tracked)
    assert not any(name.endswith(".tmpl") for name in tracked)
    report = await run_qa(project)
    assert report.succeeded, report.summary()
    # Running the tests leaves nothing for git to see: caches are ignored.
    assert await git("status", "--porcelain", "--untracked-files=all", cwd=project) == ""


async def test_an_empty_existing_directory_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    project = await create_demo_project(tmp_path / "empty")
    assert (project / "textkit" / "case.py").is_file()


async def test_a_non_empty_target_is_refused_with_one_line_and_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine")

    with pytest.raises(DemoProjectError) as refused:
        await create_demo_project(target)

    assert isinstance(refused.value, UserError)
    assert "not empty" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert [path.name for path in target.iterdir()] == ["notes.txt"]
    with pytest.raises(DemoProjectError, match="is a file"):
        await create_demo_project(target / "notes.txt")


# --- the scripted Dev's code, tested for real ----------------------------------------------------


@pytest.mark.parametrize(
    ("story_id", "messages"),
    [("DEMO-1", ALLOWED), ("DEMO-3", ALLOWED), ("DEMO-3", REJECTED)],
    ids=["DEMO-1", "DEMO-3-allowed", "DEMO-3-rejected"],
)
async def test_dev_work_passes_qa_with_evidence_for_every_criterion(
    tmp_path: Path, story_id: str, messages: list[dict[str, Any]]
) -> None:
    project = await create_demo_project(tmp_path / "p")
    written = await apply_dev_work(project, story_id, f"{story_id}/dev/1", messages)

    rules = stories()[story_id].files
    assert written
    assert all(any(matches_glob(p, g) for g in rules.create) for p in written)
    report = await run_qa(project)
    assert report.succeeded, report.summary()
    assert_every_ac_evidenced(report, story_id)


async def test_demo_2_fails_qa_on_the_first_attempt_and_passes_on_the_second(
    tmp_path: Path,
) -> None:
    project = await create_demo_project(tmp_path / "p")

    await apply_dev_work(project, "DEMO-2", "DEMO-2/dev/1", ALLOWED)
    first = await run_qa(project)
    assert not first.succeeded
    assert [case.name for case in first.failures()] == [
        "tests/test_words.py::test_ac_2_repeated_whitespace_is_not_extra_words"
    ]

    await apply_dev_work(project, "DEMO-2", "DEMO-2/dev/2", ALLOWED)
    second = await run_qa(project)
    assert second.succeeded, second.summary()
    assert_every_ac_evidenced(second, "DEMO-2")


async def test_demo_2_second_attempt_passes_even_on_a_worktree_reset_to_main(
    tmp_path: Path,
) -> None:
    project = await create_demo_project(tmp_path / "p")
    # Attempt 2 rewrites both files; an empty words.py stands in for a worktree reset to main
    # (its first turn reads that file).
    (project / "textkit" / "words.py").write_text("")
    await apply_dev_work(project, "DEMO-2", "DEMO-2/dev/2", ALLOWED)
    report = await run_qa(project)
    assert report.succeeded, report.summary()
    assert_every_ac_evidenced(report, "DEMO-2")


async def test_demo_4_builds_on_demo_1_and_passes_qa(tmp_path: Path) -> None:
    project = await create_demo_project(tmp_path / "p")
    await apply_dev_work(project, "DEMO-1", "DEMO-1/dev/1", ALLOWED)

    written = await apply_dev_work(project, "DEMO-4", "DEMO-4/dev/1", ALLOWED)

    assert sorted(written) == ["tests/test_cli.py", "textkit/cli.py"]
    report = await run_qa(project)
    assert report.succeeded, report.summary()
    assert_every_ac_evidenced(report, "DEMO-4")
    assert_every_ac_evidenced(report, "DEMO-1")
