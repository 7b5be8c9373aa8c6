"""Building blocks for engine tests: a real project repository, stories and replay scripts."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

GIT_IDENTITY = ["-c", "user.name=Test", "-c", "user.email=test@localhost"]


def make_project(path: Path) -> Path:
    """A git repository on main with a tiny package and a passing test."""
    (path / "pkg").mkdir(parents=True)
    (path / "tests").mkdir()
    (path / "pkg" / "__init__.py").write_text("")
    (path / "conftest.py").write_text("")
    (path / "tests" / "test_base.py").write_text("def test_base():\n    assert True\n")
    (path / ".gitignore").write_text("__pycache__/\n.pytest_cache/\n")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True)
    subprocess.run(["git", *GIT_IDENTITY, "add", "-A"], cwd=path, check=True)
    subprocess.run(["git", *GIT_IDENTITY, "commit", "-qm", "init"], cwd=path, check=True)
    return path


def write_story(path: Path, story_id: str = "S-1", **fields: Any) -> Path:
    story = {
        "id": story_id,
        "title": f"Add double ({story_id})",
        "prompt": "Add pkg/double.py with double(x) returning twice x.",
        "acceptance_criteria": ["double(3) == 6"],
        **fields,
    }
    path.write_text(yaml.safe_dump(story))
    return path


def usage(inp: int = 1000, out: int = 200) -> dict[str, int]:
    return {"input_tokens": inp, "output_tokens": out}


def pm_turn() -> list[dict[str, Any]]:
    plan = {"plan": "1. pkg/double.py\n2. its test", "acceptance_criteria": [
        {"id": "AC-1", "description": "double(3) == 6"}]}  # fmt: skip
    return [{"tool_calls": [{"name": "submit_plan", "input": plan}], "usage": usage(500, 100)}]


def dev_turns(body: str, module: str = "double") -> list[dict[str, Any]]:
    code = {"path": f"pkg/{module}.py", "content": f"def double(x):\n    return {body}\n"}
    test = {
        "path": f"tests/test_{module}.py",
        "content": f"from pkg.{module} import double\n\n\ndef test_ac_1_doubles():\n"
        "    assert double(3) == 6\n",
    }
    finish = {"summary": f"double is {body}", "ac_mapping": {"AC-1": f"pkg/{module}.py"}}
    return [
        {"tool_calls": [{"name": "write_file", "input": code},
                        {"name": "write_file", "input": test}], "usage": usage()},
        {"tool_calls": [{"name": "finish", "input": finish}], "usage": usage(1200, 50)},
    ]  # fmt: skip


def cto_turn(decision: str = "GO") -> list[dict[str, Any]]:
    review = {"decision": decision, "reason": "the tests prove the criterion"}
    return [{"tool_calls": [{"name": "submit_review", "input": review}], "usage": usage(800, 40)}]


def write_script(path: Path, conversations: dict[str, list[dict[str, Any]]]) -> Path:
    path.write_text(
        yaml.safe_dump({"version": 1, "model": "claude-sonnet-4-6", "conversations": conversations})
    )
    return path


def first_time_right(tmp_path: Path) -> Path:
    """A replay script in which S-1 passes QA on the first attempt."""
    conversations = {
        "S-1/pm/1": pm_turn(),
        "S-1/dev/1": dev_turns("x * 2"),
        "S-1/cto/1": cto_turn(),
    }
    return write_script(tmp_path / "script.yaml", conversations)
