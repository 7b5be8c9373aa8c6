"""A whole story through `wave run` with the real anthropic SDK against a local fake API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.engine_helpers import make_project, write_story
from tests.fake_anthropic import FakeAnthropic
from wave_tui.llm import ReplayScript

API_KEY = "sk-ant-api03-test-" + "k" * 32
CODE = "def double(x):\n    return x * 2\n"
TEST = "from pkg.double import double\n\n\ndef test_ac_1_doubles():\n    assert double(3) == 6\n"


def _script_the_agents(fake: FakeAnthropic) -> None:
    plan = {"plan": "write pkg/double.py and its test",
            "acceptance_criteria": [{"id": "AC-1", "description": "double(3) == 6"}]}  # fmt: skip
    fake.reply_tool_use("submit_plan", plan, input_tokens=600, output_tokens=120)
    fake.reply_message(
        [
            {"type": "text", "text": "Writing the module and its test."},
            {"type": "tool_use", "id": "toolu_w1", "name": "write_file",
             "input": {"path": "pkg/double.py", "content": CODE}},
            {"type": "tool_use", "id": "toolu_w2", "name": "write_file",
             "input": {"path": "tests/test_double.py", "content": TEST}},
        ],
        stop_reason="tool_use", input_tokens=1500, output_tokens=400,
    )  # fmt: skip
    fake.reply_tool_use(
        "finish", {"summary": "double added", "ac_mapping": {"AC-1": "pkg/double.py"}}
    )
    fake.reply_tool_use("submit_review", {"decision": "GO", "reason": "covered by test_ac_1"})


def test_a_story_runs_through_the_real_sdk_and_is_recorded_for_replay(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    story = write_story(tmp_path / "story.yaml")
    recording = tmp_path / "recorded.yaml"
    database = tmp_path / "wave.db"
    with FakeAnthropic() as fake:
        _script_the_agents(fake)
        env = {**os.environ, "ANTHROPIC_API_KEY": API_KEY, "ANTHROPIC_BASE_URL": fake.url,
               "WAVE_MODEL": "claude-sonnet-4-6"}  # fmt: skip
        result = subprocess.run(
            [sys.executable, "-m", "wave_tui", "--db", str(database), "run", str(story),
             "--project", str(project), "--provider", "anthropic", "--record", str(recording),
             "--autonomy", "L3", "--headless", "--json"],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        requests = list(fake.message_requests())
        assert fake.pending == 0
    assert result.returncode == 0, result.stderr + result.stdout
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[-1]["kind"] == "session_finished"
    assert events[-1]["payload"]["status"] == "completed"

    # What the API received: the model, each agent's tools, and the tool results sent back.
    assert len(requests) == 4
    assert {r.body["model"] for r in requests} == {"claude-sonnet-4-6"}
    assert all(r.api_key == API_KEY for r in requests)
    tools = [[t["name"] for t in r.body["tools"]] for r in requests]
    assert tools[0] == ["submit_plan"]
    assert {"write_file", "read_file", "list_files", "run_command", "finish"} == set(tools[1])
    assert tools[3] == ["submit_review"]
    # The CTO reviews with QA's evidence: the passing test that names the criterion.
    assert "AC-1: tests/test_double.py::test_ac_1_doubles" in str(requests[3].body["messages"])
    follow_up = requests[2].body["messages"]
    results = [b for b in follow_up[-1]["content"] if b["type"] == "tool_result"]
    assert [b["tool_use_id"] for b in results] == ["toolu_w1", "toolu_w2"]
    assert "wrote" in str(results[0]["content"])

    # The key never reaches the database or the recording; the recording replays the run.
    assert API_KEY.encode() not in database.read_bytes()
    assert API_KEY not in recording.read_text()
    script = ReplayScript.load(recording)
    assert sorted(script.conversations) == ["S-1/cto/1", "S-1/dev/1", "S-1/pm/1"]
