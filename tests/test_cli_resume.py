"""`wave resume` and the startup scan as an operator meets them after a crash: real processes
killed with SIGKILL, a real SQLite file, a real git project, exit codes and streams."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.engine_helpers import cto_turn, dev_turns, make_project, pm_turn, write_story

WAVE = [sys.executable, "-m", "wave_tui"]


def _wave(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WAVE, *args], capture_output=True, text=True, timeout=170)


def _script(path: Path, stories: list[str], latency: float) -> Path:
    conversations: dict[str, Any] = {}
    for story in stories:
        conversations[f"{story}/pm/1"] = pm_turn()
        conversations[f"{story}/dev/1"] = dev_turns("x * 2", module=f"double_{story[-1]}")
        conversations[f"{story}/cto/1"] = cto_turn()
    path.write_text(yaml.safe_dump({"version": 1, "latency_s": latency,
                                    "conversations": conversations}))  # fmt: skip
    return path


def _world(tmp_path: Path, latency: float = 0.0) -> tuple[Path, Path, list[str]]:
    project = make_project(tmp_path / "project")
    stories = tmp_path / "stories"
    stories.mkdir()
    ids = ["S-1", "S-2"]
    for story in ids:
        write_story(stories / f"{story}.yaml", story,
                    prompt=f"Add pkg/double_{story[-1]}.py with double(x).")  # fmt: skip
    return project, stories, ids


def _run_and_kill(db: Path, project: Path, stories: Path, script: Path, after: str) -> str:
    """Start `wave run`, SIGKILL it once an event of kind `after` is on the record."""
    command = [*WAVE, "--db", str(db), "run", str(stories), "--project", str(project),
               "--script", str(script), "--headless", "--json", "--on-escalation", "reject",
               "--autonomy", "L3"]  # fmt: skip
    with (
        (db.parent / "killed-run.err").open("w") as errors,
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True) as process,
    ):
        assert process.stdout is not None
        for line in process.stdout:
            if json.loads(line)["kind"] == after:
                break
        process.send_signal(signal.SIGKILL)
        process.wait()
    return _one(db, "SELECT id FROM wave_sessions")


def _one(db: Path, query: str) -> Any:
    with sqlite3.connect(db) as connection:
        return connection.execute(query).fetchone()[0]


def _rows(db: Path, query: str) -> list[Any]:
    with sqlite3.connect(db) as connection:
        return connection.execute(query).fetchall()


def _events(db: Path, kind: str) -> list[dict[str, Any]]:
    rows = _rows(db, f"SELECT payload FROM wave_events WHERE kind = '{kind}' ORDER BY id")
    return [json.loads(payload) for (payload,) in rows]


def _merges(project: Path) -> list[str]:
    log = ["git", "log", "--merges", "--format=%s", "main"]
    result = subprocess.run(log, cwd=project, capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def _session_id(raw: str) -> str:
    return str(uuid.UUID(raw))


def test_after_a_kill_the_scan_lists_the_session_and_resume_finishes_it(tmp_path: Path) -> None:
    project, stories, ids = _world(tmp_path)
    script = _script(tmp_path / "script.yaml", ids, latency=0.2)
    db = tmp_path / "wave.db"
    session = _session_id(_run_and_kill(db, project, stories, script, after="agent_turn"))

    # The startup scan: the dead process's lease does not hide the session.
    scan = _wave("--db", str(db), "sessions", "--resumable")
    assert scan.returncode == 0, scan.stderr
    assert f"recover with: wave resume {session}" in scan.stdout
    (listed,) = json.loads(_wave("--db", str(db), "sessions", "--resumable", "--json").stdout)
    assert listed["id"] == session
    assert listed["resume_command"] == f"wave resume {session}"
    assert [s["story_id"] for s in listed["recoverable_stories"]] == ["S-1"]

    # A fresh run of the same project warns first, then runs (here: out of budget at once).
    again = _wave("--db", str(db), "run", str(stories / "S-1.yaml"), "--project", str(project),
                  "--script", str(script), "--headless", "--budget-usd", "0.0001")  # fmt: skip
    assert again.returncode == 1, again.stderr
    assert f"has an interrupted session {session}" in again.stderr
    assert f"wave resume {session}" in again.stderr

    # `wave resume` uses the session's own replay script and finishes every story.
    resumed = _wave("--db", str(db), "resume", session, "--headless", "--json",
                    "--on-escalation", "reject")  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    first = json.loads(resumed.stdout.splitlines()[0])
    assert first["kind"] == "recovery"
    assert first["payload"]["session"]["failed"] == []
    statuses = _rows(
        db,
        "SELECT story_id, status FROM wave_story_executions WHERE session_id = "
        f"'{uuid.UUID(session).hex}' ORDER BY story_id",
    )
    assert statuses == [("S-1", "complete"), ("S-2", "complete")]
    recovered = _events(db, "story_recovered")
    assert {r["story"] for r in recovered} == {"S-1", "S-2"}
    assert all(r["recovery_time_seconds"] >= 0 and r["strategy"] == "resume_from_last"
               for r in recovered)  # fmt: skip
    log = (Path(os.environ["WAVE_DATA_DIR"]) / "logs" / "wave.log").read_text()
    assert f"Starting recovery | session={session} | story=S-1 | strategy=resume_from_last" in log
    assert re.search(
        rf"Recovery complete \| session={session} \| story=S-1 \| checkpoint=\d+ \| "
        r"time=\d+\.\d{3}s \| status=resumed", log
    )  # fmt: skip
    still = json.loads(_wave("--db", str(db), "sessions", "--resumable", "--json").stdout)
    assert session not in [s["id"] for s in still]


def test_two_resumes_at_once_one_runs_and_the_other_exits_1_with_the_holder(
    tmp_path: Path,
) -> None:
    project, stories, ids = _world(tmp_path)
    script = _script(tmp_path / "script.yaml", ids, latency=0.5)
    db = tmp_path / "wave.db"
    session = _session_id(_run_and_kill(db, project, stories, script, after="story_started"))
    command = [*WAVE, "--db", str(db), "resume", session, "--json", "--on-escalation", "reject"]
    both = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]  # fmt: skip
    results = []
    for process in both:
        with process:
            out, err = process.communicate(timeout=170)
            results.append((process.returncode, out, err))
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    (loser,) = [stderr for code, _, stderr in results if code == 1]
    assert "is being run by" in loser
    assert "Traceback" not in loser
    assert len(loser.strip().splitlines()) == 1
    # Nothing ran twice: each story started once, each model turn was asked at most once.
    # The loser recovered nothing: one recovery per story, all by the winner.
    assert sorted(event["story"] for event in _events(db, "story_recovered")) == ["S-1", "S-2"]
    turns = _events(db, "agent_turn")
    asked = Counter((e["conversation"], e["turn"]) for e in turns if not e["journaled"])
    assert asked
    assert max(asked.values()) == 1, asked
    merges = _merges(project)
    assert len(merges) == len(set(merges)) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-a-uuid"], "is not a session id"),
        ([str(uuid.UUID(int=7))], "not found"),
        (["{session}", "--strategy", "sideways"], "unknown recovery strategy"),
        (["{session}", "--strategy", "resume_from_gate"], "needs a gate"),
        (["{session}", "--strategy", "resume_from_gate", "--gate", "gate-9"], "unknown gate"),
        (["{session}", "--checkpoint", "3"], "--checkpoint needs --story"),
        (["{session}", "--story", "NOPE"], "NOPE is not in session"),
        (["{session}", "--story", "S-1", "--strategy", "resume_from_gate", "--gate", "gate-5"],
         "gates with one"),
    ],
)  # fmt: skip
def test_bad_resume_arguments_are_one_line_exit_2_and_change_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    project, stories, ids = _world(tmp_path)
    script = _script(tmp_path / "script.yaml", ids, latency=0.0)
    db = tmp_path / "wave.db"
    session = _session_id(_run_and_kill(db, project, stories, script, after="step"))
    before = _rows(db, "SELECT * FROM wave_story_executions ORDER BY story_id")
    events = _one(db, "SELECT count(*) FROM wave_events")
    result = _wave("--db", str(db), "resume", *[a.format(session=session) for a in args])
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert _rows(db, "SELECT * FROM wave_story_executions ORDER BY story_id") == before
    assert _one(db, "SELECT count(*) FROM wave_events") == events


def test_resume_of_a_session_another_live_process_runs_exits_1(tmp_path: Path) -> None:
    project, stories, ids = _world(tmp_path)
    script = _script(tmp_path / "script.yaml", ids, latency=0.0)
    db = tmp_path / "wave.db"
    session = _session_id(_run_and_kill(db, project, stories, script, after="step"))
    # A live process of another machine holds S-1 (its lease has not expired).
    until = time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime(time.time() + 3600))
    with sqlite3.connect(db) as connection:
        connection.execute(
            "UPDATE wave_story_executions SET lease_owner = 'elsewhere:4242:abcdef', "
            f"lease_acquired_at = lease_expires_at, lease_expires_at = '{until}' "
            "WHERE story_id = 'S-1'"
        )
    before = _rows(db, "SELECT * FROM wave_story_executions ORDER BY story_id")
    result = _wave("--db", str(db), "resume", session)
    assert result.returncode == 1, result.stderr
    assert "story S-1 is being run by elsewhere:4242:abcdef since" in result.stderr
    # Refused before anything changed: no lease taken on S-2, no recovery on the record.
    assert _rows(db, "SELECT * FROM wave_story_executions ORDER BY story_id") == before
    assert _one(db, "SELECT count(*) FROM wave_events WHERE kind = 'story_recovered'") == 0
