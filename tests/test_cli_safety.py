"""`wave safety check|rules` and the escalation queue commands, as a user runs them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wave_tui.db import Database, EscalationRepository, SessionRepository, StoryExecutionRepository
from wave_tui.domain.enums import EscalationKind


def wave(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wave_tui", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def check(*args: str) -> dict[str, object]:
    result = wave("safety", "check", *args, "--json")
    assert result.returncode == 0, result.stderr
    document: dict[str, object] = json.loads(result.stdout)
    return document


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_check_prints_the_documented_json_and_exits_0_even_when_blocked() -> None:
    evaluation = check("--tool", "bash", "--args", '{"command": "rm -rf /"}')
    assert {
        "score",
        "allowed",
        "requires_review",
        "violations",
        "risks",
        "reasoning",
        "layer",
    } <= set(evaluation)
    assert evaluation["allowed"] is False
    assert evaluation["score"] == 0.0
    assert evaluation["layer"] == "rules"
    assert evaluation["decided_by"] == "exec.destroy.rm_rf"
    assert isinstance(evaluation["elapsed_ms"], float)  # measured in bench/, not asserted here


def test_check_allows_everyday_work_with_a_perfect_score(tmp_path: Path) -> None:
    for tool, args in [
        ("bash", {"command": "python -m pytest -q"}),
        ("bash", {"command": "git status && git diff"}),
        ("write_file", {"path": "src/app.py", "content": "print('hi')\n"}),
        ("read_file", {"path": "README.md"}),
    ]:
        evaluation = check("--tool", tool, "--args", json.dumps(args), "--worktree", str(tmp_path))
        assert evaluation["allowed"] is True, (tool, args, evaluation)
        assert evaluation["requires_review"] is False
        assert evaluation["score"] == 1.0


def test_check_judges_within_a_story_s_file_rules(tmp_path: Path) -> None:
    story = tmp_path / "story.yaml"
    story.write_text(
        "id: S-1\ntitle: t\nprompt: p\nfiles:\n  create: [src/**]\n  forbidden: [secrets/**]\n"
    )
    inside = check("--tool", "write_file", "--args", '{"path": "src/a.py", "content": "x = 1"}',
                   "--story", str(story), "--worktree", str(tmp_path))  # fmt: skip
    forbidden = check("--tool", "write_file", "--args", '{"path": "secrets/k", "content": "x"}',
                      "--story", str(story), "--worktree", str(tmp_path))  # fmt: skip
    assert inside["allowed"] is True
    assert inside["requires_review"] is False
    assert forbidden["allowed"] is False
    assert "file.write.forbidden" in str(forbidden["violations"])


def test_check_text_names_the_deciding_rule_and_the_policy_line(tmp_path: Path) -> None:
    policy = tmp_path / "wave-policy.toml"
    policy.write_text('# team rules\ndeny = ["bash(npm publish*)"]\n')
    result = wave("safety", "check", "--tool", "bash", "--args", '{"command": "npm publish"}',
                  "--policy", str(policy))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("BLOCK  score 0.00")
    assert f"decided by: {policy}:2 deny bash(npm publish*) (policy layer)" in result.stdout


def test_an_unknown_tool_is_escalated_not_allowed() -> None:
    evaluation = check("--tool", "teleport", "--args", "{}")
    assert evaluation["allowed"] is True
    assert evaluation["requires_review"] is True
    assert evaluation["decided_by"] == "tool.unknown"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--tool", "bash", "--args", "{not json"], "--args is not valid JSON"),
        (["--tool", "bash", "--args", "[1, 2]"], "--args must be a JSON object"),
        (["--args", "{}"], "the following arguments are required: --tool"),
        (["--tool", "bash", "--args", "{}", "--story", "/nonexistent/story.yaml"], "story"),
        (["--tool", "bash", "--args", "{}", "--policy", "/nonexistent/p.toml"], "no such file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], words: str) -> None:
    assert words in _one_line_error(wave("safety", "check", *args))


def test_a_broken_policy_is_refused_with_its_line(tmp_path: Path) -> None:
    policy = tmp_path / "wave-policy.toml"
    policy.write_text('deny = [\n  "bash(",\n]\n')
    line = _one_line_error(wave("safety", "check", "--tool", "bash", "--args", "{}",
                                "--policy", str(policy)))  # fmt: skip
    assert f"{policy}:2" in line


def test_rules_lists_every_rule_id_once() -> None:
    result = wave("safety", "rules", "--json")
    assert result.returncode == 0, result.stderr
    rules = json.loads(result.stdout)
    ids = [rule["id"] for rule in rules]
    assert len(ids) == len(set(ids))
    assert {"exec.destroy.rm_rf", "net.pipe_to_shell", "git.push.force", "tool.unknown"} <= set(ids)


async def _queue(path: Path) -> tuple[str, int, int]:
    database = Database(f"sqlite+aiosqlite:///{path}")
    await database.upgrade()
    async with database.session() as db:
        session = await SessionRepository(db).create("proj", 1, story_count=1)
        story = await StoryExecutionRepository(db).create(session.id, "S-1", "a story")
        repo = EscalationRepository(db)
        first = await repo.create(
            session.id, EscalationKind.TOOL_CALL, "S-1: dev wants to run rm -rf build",
            {"story": "S-1", "tool": "run_command", "arguments": {"argv": ["rm", "-rf", "build"]}},
            story_execution_id=story.id, score=0.75,
            violations=[{"rule": "file.delete.recursive_in_worktree"}],
        )  # fmt: skip
        second = await repo.create(
            session.id, EscalationKind.GATE_APPROVAL, "merge wave/S-1 into main", {"story": "S-1"},
            story_execution_id=story.id,
        )  # fmt: skip
        ids = (str(session.id), first.id, second.id)
    await database.dispose()
    return ids


def test_escalations_approve_and_reject_from_another_terminal(tmp_path: Path) -> None:
    db = str(tmp_path / "wave.db")
    session, first, second = asyncio.run(_queue(tmp_path / "wave.db"))
    listed = wave("escalations", session[:8], "--json", "--db", db)
    assert listed.returncode == 0, listed.stderr
    queue = json.loads(listed.stdout)
    assert [(e["id"], e["kind"], e["status"]) for e in queue] == [
        (first, "tool_call", "pending"), (second, "gate_approval", "pending"),
    ]  # fmt: skip
    assert queue[0]["arguments"] == {"argv": ["rm", "-rf", "build"]}
    assert queue[0]["violations"] == ["file.delete.recursive_in_worktree"]

    approved = wave("approve", str(first), "--reason", "generated output", "--db", db,
                    env={"WAVE_OPERATOR": "alice"})  # fmt: skip
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.startswith(f"escalation #{first} approved by alice")
    again = wave("approve", str(first), "--db", db)
    assert "already" in _one_line_error(again)
    assert "reason" in _one_line_error(wave("reject", str(second), "--db", db))
    rejected = wave("reject", str(second), "--reason", "not yet", "--db", db,
                    env={"WAVE_OPERATOR": "bob"})  # fmt: skip
    assert rejected.returncode == 0, rejected.stderr

    everything = json.loads(wave("escalations", "--all", "--json", "--db", db).stdout)
    decided = {e["id"]: (e["status"], e["decided_by"], e["reason"]) for e in everything}
    assert decided == {
        first: ("approved", "alice", "generated output"), second: ("rejected", "bob", "not yet"),
    }  # fmt: skip
    assert json.loads(wave("escalations", "--json", "--db", db).stdout) == []
    assert "not found" in _one_line_error(wave("approve", "999", "--db", db))
    assert "not an escalation id" in _one_line_error(wave("approve", "abc", "--db", db))
