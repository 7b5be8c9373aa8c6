"""The history the recovery benchmark measures on: sessions of stories, each with its checkpoints
through the gates and their LangGraph rows, written in bulk (100,000 checkpoints in seconds)."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import column, insert, table, text
from sqlalchemy.types import NullType

from wave_tui.checkpoint.tables import graph_checkpoints
from wave_tui.db import Database
from wave_tui.db.models import Base
from wave_tui.domain.enums import CheckpointType, SessionStatus, StoryStatus
from wave_tui.domain.gates import Gate
from wave_tui.domain.state import Phase, WAVEState
from wave_tui.domain.story import AcceptanceCriterion


@dataclass(frozen=True)
class Layout:
    """Stories per session (the first session is the one the per-story calls use) and
    checkpoints per story."""

    sessions: tuple[int, ...]
    per_story: int

    @property
    def checkpoints(self) -> int:
        return sum(self.sessions) * self.per_story


BATCH = 5_000

SESSIONS_TABLE = Base.metadata.tables["wave_sessions"]
STORIES_TABLE = Base.metadata.tables["wave_story_executions"]
# The checkpoint table with its state column untyped, so that the state goes in as the JSON text
# built below: encoding 100,000 dicts one by one took a third of the build.
CHECKPOINTS_TABLE = table(
    "wave_checkpoints",
    *(column(c.name, NullType() if c.name == "state" else c.type)
      for c in Base.metadata.tables["wave_checkpoints"].c if c.name != "id"),
)  # fmt: skip
CRITERIA = [AcceptanceCriterion(id=f"AC-{n}", description=f"criterion {n}") for n in (1, 2, 3)]
PHASES = [Phase.INITIALIZING, Phase.PLANNING, Phase.DEVELOPMENT, Phase.DEVELOPMENT,
          Phase.TESTING, Phase.REVIEW, Phase.REVIEW, Phase.REVIEW]  # fmt: skip
AGENTS = ["pm", "pm", "dev", "dev", "qa", "cto", "cto", "cto"]
GATES = list(Gate)
PLACEHOLDERS = {"story_id": "@story@", "session_id": "@session@", "thread_id": "@thread@"}


@dataclass(frozen=True)
class Story:
    session_id: uuid.UUID
    story_id: str
    execution_id: uuid.UUID


def progress(message: str) -> None:
    print(f"bench.recovery: {message}", file=sys.stderr, flush=True)


def state_at(gate: Gate) -> dict[str, Any]:
    """A story's state once it has passed `gate`, as the engine stores it (JSON of WAVEState)."""
    number = gate.number
    state = WAVEState(
        project_id="shop", domain="api", acceptance_criteria=CRITERIA, phase=PHASES[number],
        prompt="Add rate limiting to the public orders API: 100 requests a minute per key.",
        plan="1. middleware with a token bucket\n2. per-key limits\n3. tests" if number else None,
        iteration=number // 4, current_agent=AGENTS[number],
        files_created=["src/shop/ratelimit.py", "tests/test_ratelimit.py"] if number >= 2 else [],
        files_modified=["src/shop/api.py"] if number >= 2 else [],
        **PLACEHOLDERS,
    )  # fmt: skip
    gates = state.gates
    for passed in GATES[: number + 1]:
        gates = gates.record(passed, True, [f"{passed.value} ok"])
    evidence = {c.id: [f"test_{c.id.lower()}"] for c in CRITERIA} if number >= 4 else {}
    return state.model_copy(update={"gates": gates, "ac_evidence": evidence}).model_dump(
        mode="json"
    )


def step_kind(step: int, index: int, per_story: int) -> tuple[CheckpointType, Gate]:
    """What a story's `step`-th checkpoint is and the gate it has reached; varied per story, so
    that the newest checkpoints of different stories are of different types."""
    reached = GATES[min(7, step * len(GATES) // per_story)]
    if step == 0:
        return CheckpointType.STORY_START, reached
    turn = (step + index) % 12
    if turn in (0, 4, 8):
        return CheckpointType.GATE, reached
    if turn == 6:
        return CheckpointType.ERROR, reached
    if turn == 11:
        return CheckpointType.MANUAL, reached
    return CheckpointType.AGENT_HANDOFF, reached


def story_status(index: int) -> StoryStatus:
    """Mostly in progress (the crash stopped them mid-run), some blocked, some pending."""
    if index % 10 == 7:
        return StoryStatus.BLOCKED
    if index % 10 == 9:
        return StoryStatus.PENDING
    return StoryStatus.IN_PROGRESS


def graph_id(step: int, index: int) -> str:
    """A LangGraph-like checkpoint id that sorts by step within a thread."""
    return f"{step:08x}-0000-6000-8000-{index:012x}"


def checkpoint_batches(
    stories: Sequence[Story], per_story: int, start: datetime
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Domain checkpoint rows and their LangGraph checkpoint rows, BATCH at a time.

    Stories interleave step by step, as concurrent runs write them: a story's rows are scattered
    over the whole table, so only an index finds them cheaply.
    """
    templates = {gate: json.dumps(state_at(gate)) for gate in Gate}
    phases = {gate: PHASES[gate.number].value for gate in Gate}
    domain: list[dict[str, Any]] = []
    graph: list[dict[str, Any]] = []
    for step in range(per_story):
        for index, story in enumerate(stories):
            kind, reached = step_kind(step, index, per_story)
            thread = str(story.execution_id)
            values = {"story_id": story.story_id, "session_id": str(story.session_id),
                      "thread_id": thread}  # fmt: skip
            state = templates[reached]
            for key, marker in PLACEHOLDERS.items():
                state = state.replace(f'"{marker}"', json.dumps(values[key]))
            domain.append({
                "session_id": story.session_id, "story_execution_id": story.execution_id,
                "story_id": story.story_id, "checkpoint_type": kind,
                "checkpoint_name": f"step {step}: {phases[reached]}",
                "gate": reached if kind is CheckpointType.GATE else None, "state": state,
                "parent_checkpoint_id": None, "graph_thread_id": thread,
                "graph_checkpoint_id": graph_id(step, index),
                "created_at": start + timedelta(minutes=step, microseconds=index),
            })  # fmt: skip
            graph.append({
                "thread_id": thread, "checkpoint_ns": "", "checkpoint_id": graph_id(step, index),
                "parent_checkpoint_id": graph_id(step - 1, index) if step else None,
                "type": "msgpack", "checkpoint": b"\x85\xa1v\x04\xa2ts\xa0" + bytes(48),
                "metadata": {},
            })  # fmt: skip
            if len(domain) == BATCH:
                yield domain, graph
                domain, graph = [], []
    if domain:
        yield domain, graph


async def build(database: Database, layout: Layout) -> list[list[Story]]:
    """Migrate, then bulk-insert the sessions, their stories and their checkpoints."""
    await database.upgrade()
    start = datetime.now(UTC) - timedelta(days=1)
    sessions: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    stories: list[list[Story]] = []
    for count in layout.sessions:
        sid = uuid.uuid4()
        sessions.append({
            "id": sid, "project_name": f"shop-{count}", "project_path": None,
            "status": SessionStatus.IN_PROGRESS, "budget_usd": Decimal("500"),
            "token_limit": 50_000_000, "story_count": count, "concurrency": 4,
            "created_at": start, "started_at": start, "metadata": {"base_branch": "main"},
        })  # fmt: skip
        stories.append([])
        for _ in range(count):
            story = Story(sid, f"STORY-{len(rows) + 1:04d}", uuid.uuid4())
            status = story_status(len(rows))
            stories[-1].append(story)
            rows.append({
                "id": story.execution_id, "session_id": sid, "story_id": story.story_id,
                "story_title": f"story {story.story_id}", "status": status, "agent": "dev",
                "ac_total": len(CRITERIA), "ac_passed": 0, "started_at": start,
                "block_reason": "waiting for review" if status is StoryStatus.BLOCKED else None,
                "lease_owner": None, "definition": {}, "metadata": {}, "created_at": start,
            })  # fmt: skip
    async with database.engine.begin() as connection:
        await connection.execute(insert(SESSIONS_TABLE), sessions)
        await connection.execute(insert(STORIES_TABLE), rows)
    everyone = [story for group in stories for story in group]
    written = 0
    for domain, graph in checkpoint_batches(everyone, layout.per_story, start):
        async with database.engine.begin() as connection:
            await connection.execute(insert(CHECKPOINTS_TABLE), domain)
            await connection.execute(insert(graph_checkpoints), graph)
        written += len(domain)
        if written % 25_000 == 0:
            progress(f"  {written:,} checkpoints written")
    if not database.is_sqlite:
        # Autovacuum analyzes new rows soon after a load; measure that steady state.
        async with database.engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
    return stories


async def size_of(database: Database) -> int:
    path = database.sqlite_path
    if path is not None:
        files = [path, path.with_name(path.name + "-wal")]
        return sum(f.stat().st_size for f in files if f.exists())
    async with database.engine.connect() as connection:
        size = await connection.scalar(text("SELECT pg_database_size(current_database())"))
    return int(size or 0)
