"""`wave demo --headless --on-escalation reject`: the whole shipped demo, as a user runs it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from wave_tui.db import Database, SessionRepository, StoryExecutionRepository
from wave_tui.db.models import WaveStoryExecution
from wave_tui.domain.enums import SessionStatus, StoryStatus


async def _stories(db_path: Path) -> list[WaveStoryExecution]:
    database = Database(f"sqlite+aiosqlite:///{db_path}")
    try:
        async with database.session(readonly=True) as db:
            (session,) = await SessionRepository(db).list()
            assert session.status is SessionStatus.COMPLETED
            return list(await StoryExecutionRepository(db).list_by_session(session.id))
    finally:
        await database.dispose()


def test_the_demo_completes_every_story_offline(tmp_path: Path) -> None:
    project, db_path = tmp_path / "demo", tmp_path / "wave.db"
    result = subprocess.run(
        [sys.executable, "-m", "wave_tui", "--db", str(db_path), "demo", "--project",
         str(project), "--headless", "--json", "--on-escalation", "reject"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout[-3000:]
    assert f"demo project: {project}" in result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    tests = [e["payload"]["summary"] for e in events if e["kind"] == "test_run"]
    assert any(" 0 failed" not in summary for summary in tests)  # DEMO-2 failed QA once
    # DEMO-3's `rm -rf build` went to the operator (rejected headless); nothing else did.
    calls = [e["payload"] for e in events if e["kind"] == "tool_call"]
    assert calls
    assert all("decision" in call and "score" in call for call in calls)  # every call scored
    flagged = [(c["tool"], c["arguments"], c["decision"]) for c in calls if c["score"] < 1.0]
    assert flagged == [("run_command", {"argv": ["rm", "-rf", "build"]}, "escalate")]
    decided = [e["payload"] for e in events if e["kind"] == "escalation_decided"]
    assert [(d["status"], d["by"]) for d in decided] == [("rejected", "wave (headless)")]
    rejected = [e for e in events if e["kind"] == "tool_call_rejected"]
    assert [e["payload"]["story"] for e in rejected] == ["DEMO-3"]

    stories = {s.story_id: s for s in asyncio.run(_stories(db_path))}
    assert {sid: s.status for sid, s in stories.items()} == {
        f"DEMO-{n}": StoryStatus.COMPLETE for n in range(1, 5)
    }
    assert stories["DEMO-2"].iteration == 2
    assert stories["DEMO-1"].iteration == 1
    # DEMO-4 ran only after DEMO-1 was merged.
    assert stories["DEMO-4"].started_at is not None
    assert stories["DEMO-1"].completed_at is not None
    assert stories["DEMO-4"].started_at > stories["DEMO-1"].completed_at

    log = subprocess.run(
        ["git", "log", "--merges", "--format=%s", "main"], cwd=project, capture_output=True,
        text=True, check=True,
    ).stdout  # fmt: skip
    assert sorted(line.split()[1] for line in log.splitlines()) == [
        f"wave/DEMO-{n}:" for n in range(1, 5)
    ]
    merged = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert merged.returncode == 0, merged.stdout
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True
    )
    assert status.stdout == ""


def test_a_demo_into_a_non_empty_directory_is_refused_untouched(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    result = subprocess.run(
        [sys.executable, "-m", "wave_tui", "--db", str(tmp_path / "wave.db"), "demo",
         "--project", str(tmp_path / "taken"), "--headless"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "wave.db").exists()
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]
