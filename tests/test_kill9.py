"""The kill -9 proof: SIGKILL a headless demo run at many moments, resume it each time, and end
exactly where an uninterrupted run ends — nothing committed lost, nothing done twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.kill_helpers import (
    Durable,
    KillPoint,
    Strike,
    WaveProcess,
    durable,
    escalations,
    git_lines,
    statuses,
)
from wave_tui.demo.project import create_demo_project, demo_script_path, demo_stories_dir

# Every model call of the chain takes this long, so a kill soon after the step before it lands
# while the call is in flight.
LLM_LATENCY_S = 0.3
IN_FLIGHT_S = 0.12
MIN_DELIVERED = 10
PYTEST, COMMIT, MERGE = ("pytest",), ("git", "commit"), ("git", "merge")

# In run order (the demo runs its stories one at a time): each cue is an event the process
# prints. A cue that a resumed process prints again is fine; one that could come before the
# moment meant is not: a process is killed at the first cue of any point still ahead, so that
# a kill landing late skips a point rather than the rest.
KILL_POINTS = (
    KillPoint("DEMO-1 PM LLM call", "step", "DEMO-1", IN_FLIGHT_S, {"node": "start"}),
    KillPoint("DEMO-1 Dev turn journaled, its tools not all run", "agent_turn", "DEMO-1", 0.0,
              {"conversation": "DEMO-1/dev/1", "turn": 1}),
    KillPoint("DEMO-1 Dev test run", "tool_call", "DEMO-1", 0.3,
              {"agent": "dev", "tool": "run_command"}, PYTEST),
    KillPoint("DEMO-1 QA test run", "tool_call", "DEMO-1", 0.3,
              {"agent": "qa", "tool": "run_command"}, PYTEST),
    KillPoint("DEMO-1 merge-prep commit", "step", "DEMO-1", 0.0, {"node": "cto"}, COMMIT),
    KillPoint("DEMO-1 merge", "step", "DEMO-1", 0.0, {"node": "merge_prep"}, MERGE),
    KillPoint("DEMO-2 story start", "story_started", "DEMO-2", 0.0),
    KillPoint("DEMO-2 Dev LLM call", "step", "DEMO-2", IN_FLIGHT_S, {"node": "pm"}),
    KillPoint("DEMO-2 just recovered by a resume", "story_resumed", "DEMO-2", 0.0),
    KillPoint("DEMO-2 after failed QA", "test_run", "DEMO-2", 0.0),
    KillPoint("DEMO-2 fix-loop writes", "agent_turn", "DEMO-2", 0.0,
              {"conversation": "DEMO-2/dev/2", "turn": 1}),
    KillPoint("DEMO-2 merge", "step", "DEMO-2", 0.0, {"node": "merge_prep"}, MERGE),
    KillPoint("DEMO-3 pending escalation", "escalation", "DEMO-3", 0.0),
    KillPoint("DEMO-3 Dev LLM call after rejection", "tool_call_rejected", "DEMO-3", IN_FLIGHT_S),
    KillPoint("DEMO-3 CTO LLM call", "step", "DEMO-3", IN_FLIGHT_S, {"node": "supervisor"}),
    KillPoint("DEMO-4 QA test run", "tool_call", "DEMO-4", 0.3,
              {"agent": "qa", "tool": "run_command"}, PYTEST),
    KillPoint("DEMO-4 merge-prep commit", "step", "DEMO-4", 0.0, {"node": "cto"}, COMMIT),
)  # fmt: skip


def _run_args(project: Path, script: Path) -> list[str]:
    return [
        "run", str(demo_stories_dir()), "--project", str(project), "--script", str(script),
        "--autonomy", "L3", "--headless", "--json", "--on-escalation", "reject",
    ]  # fmt: skip


def _resume_args(session: str, script: Path) -> list[str]:
    return [
        "resume", session, "--script", str(script), "--headless", "--json",
        "--on-escalation", "reject",
    ]  # fmt: skip


def _slow_script(path: Path) -> Path:
    data = yaml.safe_load(demo_script_path().read_text(encoding="utf-8"))
    data["latency_s"] = LLM_LATENCY_S
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _main_branch(project: Path) -> tuple[list[str], list[str]]:
    """main's files with their content hashes, and its commit subjects."""
    files = git_lines(project, "ls-tree", "-r", "main")
    return files, git_lines(project, "log", "--format=%s", "main")


@dataclass
class Chain:
    """A demo session killed at each reachable kill point and resumed after every kill."""

    processes: list[WaveProcess] = field(default_factory=list)
    strikes: list[Strike] = field(default_factory=list)
    after_kills: list[Durable] = field(default_factory=list)  # committed when each kill struck

    def run(self, db: Path, project: Path, script: Path, cleanup: ExitStack) -> int:
        """Run, kill, resume, kill, … resume to the end; the last process's exit code."""
        process = self._start(db, _run_args(project, script), cleanup)
        session = ""
        remaining = list(KILL_POINTS)
        while remaining and (strike := process.kill_at_first(remaining)) is not None:
            session = session or process.session_id()
            self.strikes.append(strike)
            if not strike.delivered:
                break  # the session ended between the cue and the kill
            self.after_kills.append(durable(db))
            remaining = remaining[remaining.index(strike.point) + 1 :]
            process = self._start(db, _resume_args(session, script), cleanup)
        return process.wait()

    def _start(self, db: Path, args: list[str], cleanup: ExitStack) -> WaveProcess:
        log = db.with_name(f"{db.stem}-{len(self.processes)}.log")
        process = WaveProcess(db, args, log)
        cleanup.callback(process.close)
        self.processes.append(process)
        return process

    @property
    def delivered(self) -> list[Strike]:
        return [strike for strike in self.strikes if strike.delivered]

    def agent_turns(self) -> list[tuple[int, dict[str, Any]]]:
        """Every agent_turn payload of the chain, with the number of the process that printed it."""
        return [
            (number, event["payload"])
            for number, process in enumerate(self.processes)
            for event in process.events
            if event["kind"] == "agent_turn"
        ]


def test_kill9_at_any_moment_then_resume_ends_as_an_uninterrupted_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chain_project = asyncio.run(create_demo_project(tmp_path / "chain"))
    reference_project = asyncio.run(create_demo_project(tmp_path / "reference"))
    script = _slow_script(tmp_path / "slow-script.yaml")
    chain_db, reference_db = tmp_path / "chain.db", tmp_path / "reference.db"
    chain = Chain()
    with ExitStack() as cleanup:
        # The uninterrupted run goes alongside the chain; only its end state is compared.
        reference = WaveProcess(
            reference_db,
            _run_args(reference_project, demo_script_path()),
            tmp_path / "reference.log",
        )
        cleanup.callback(reference.close)
        final_code = chain.run(chain_db, chain_project, script, cleanup)
        reference_code = reference.wait()

    landed = "; ".join(f"{s.point.label} ({s.landed})" for s in chain.delivered)
    with capsys.disabled():
        print(
            f"\nkill -9 proof: {len(chain.strikes)} of {len(KILL_POINTS)} kill points tried, "
            f"{len(chain.delivered)} delivered to a live process: {landed}"
        )

    assert reference_code == 0, reference.describe()
    assert len(chain.delivered) >= MIN_DELIVERED, chain.strikes
    assert final_code == reference_code, chain.processes[-1].describe()
    assert statuses(chain_db) == statuses(reference_db)
    # DEMO-3's question was asked once, killed while pending or not: a resume finds it again.
    assert escalations(chain_db) == escalations(reference_db) == [("DEMO-3", "rejected")]

    files, subjects = _main_branch(chain_project)
    reference_files, reference_subjects = _main_branch(reference_project)
    assert files == reference_files
    twice = [subject for subject, n in Counter(subjects).items() if n > 1]
    assert twice == [], f"commits on main more than once: {twice}"
    assert sorted(subjects) == sorted(reference_subjects)

    end = durable(chain_db)
    lost = {
        strike.point.label: snapshot.missing_from(end)
        for strike, snapshot in zip(chain.delivered, chain.after_kills, strict=True)
    }
    assert {label: rows for label, rows in lost.items() if rows} == {}

    turns = chain.agent_turns()
    assert turns
    assert all({"turn", "journaled"} <= payload.keys() for _, payload in turns), turns[0]
    asked = Counter(
        (p["story"], p["conversation"], p["turn"]) for _, p in turns if not p["journaled"]
    )
    replayed = {
        key: [
            (n, p["journaled"])
            for n, p in turns
            if (p["story"], p["conversation"], p["turn"]) == key
        ]
        for key, count in asked.items()
        if count > 1
    }
    assert replayed == {}, f"turns asked again: (process number, journaled) {replayed}"
