"""Checkpoints, events, escalations and approvals on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text

from wave_tui.db import (
    ApprovalRepository,
    CheckpointRepository,
    Database,
    EscalationRepository,
    EventRepository,
    SessionRepository,
    StoryExecutionRepository,
    WaveStoryExecution,
)
from wave_tui.domain.enums import (
    ApprovalDecision,
    ApprovalSubject,
    CheckpointType,
    EscalationKind,
    EscalationStatus,
)
from wave_tui.domain.gates import Gate
from wave_tui.domain.redaction import REDACTED
from wave_tui.errors import InvalidTransitionError, UserError

SECRET = "sk-ant-api03-" + "x" * 40


@pytest.fixture
async def story(database: Database) -> WaveStoryExecution:
    async with database.session() as db:
        session = await SessionRepository(db).create("shop")
        return await StoryExecutionRepository(db).create(session.id, "AUTH-001", "Login")


async def _checkpoint(
    database: Database,
    story: WaveStoryExecution,
    kind: CheckpointType,
    gate: Gate | None = None,
    parent: int | None = None,
) -> int:
    async with database.session() as db:
        checkpoint = await CheckpointRepository(db).create(
            story.session_id,
            kind,
            f"{kind} {gate or ''}".strip(),
            {"phase": "development", "ac_passed": 1, "gate": gate},
            story_execution_id=story.id,
            story_id=story.story_id,
            gate=gate,
            parent_checkpoint_id=parent,
            graph_thread_id=str(story.id),
            graph_checkpoint_id=f"lg-{uuid.uuid4()}",
        )
        return checkpoint.id


async def test_checkpoints_latest_by_story_and_session(
    database: Database, story: WaveStoryExecution
) -> None:
    start = await _checkpoint(database, story, CheckpointType.STORY_START)
    gate0 = await _checkpoint(database, story, CheckpointType.GATE, Gate.GATE_0, parent=start)
    gate1 = await _checkpoint(database, story, CheckpointType.GATE, Gate.GATE_1, parent=gate0)
    async with database.session(readonly=True) as db:
        repo = CheckpointRepository(db)
        latest = await repo.get_latest_by_story(story.session_id, "AUTH-001")
        assert latest is not None
        assert latest.id == gate1
        assert latest.parent_checkpoint_id == gate0
        assert latest.gate is Gate.GATE_1
        assert latest.state == {"phase": "development", "ac_passed": 1, "gate": "gate-1"}
        assert latest.graph_thread_id == str(story.id)
        assert latest.graph_checkpoint_id is not None
        latest_of_session = await repo.get_latest_by_session(story.session_id)
        assert latest_of_session is not None
        assert latest_of_session.id == gate1
        assert await repo.get_latest_by_story(story.session_id, "OTHER-1") is None
        fetched = await repo.get(start)
        assert fetched is not None
        assert fetched.checkpoint_type is CheckpointType.STORY_START


async def test_checkpoints_listed_newest_first_and_by_gate(
    database: Database, story: WaveStoryExecution
) -> None:
    ids = [
        await _checkpoint(database, story, CheckpointType.STORY_START),
        await _checkpoint(database, story, CheckpointType.GATE, Gate.GATE_2),
        await _checkpoint(database, story, CheckpointType.AGENT_HANDOFF),
        await _checkpoint(database, story, CheckpointType.GATE, Gate.GATE_2),
    ]
    async with database.session(readonly=True) as db:
        repo = CheckpointRepository(db)
        listed = await repo.list_by_story(story.session_id, "AUTH-001")
        at_gate_2 = await repo.list_by_gate(story.session_id, "AUTH-001", Gate.GATE_2)
        at_gate_5 = await repo.list_by_gate(story.session_id, "AUTH-001", Gate.GATE_5)
        limited = await repo.list_by_story(story.session_id, "AUTH-001", limit=2)
    assert [c.id for c in listed] == ids[::-1]
    assert [c.id for c in at_gate_2] == [ids[3], ids[1]]
    assert at_gate_5 == []
    assert [c.id for c in limited] == [ids[3], ids[2]]


async def test_a_gate_checkpoint_must_name_its_gate(
    database: Database, story: WaveStoryExecution
) -> None:
    with pytest.raises(UserError, match="must name its gate"):
        await _checkpoint(database, story, CheckpointType.GATE)
    with pytest.raises(ValueError, match="gate-9"):
        await _checkpoint(database, story, CheckpointType.GATE, "gate-9")  # type: ignore[arg-type]


async def test_checkpoint_state_never_stores_a_secret(
    database: Database, story: WaveStoryExecution
) -> None:
    async with database.session() as db:
        checkpoint = await CheckpointRepository(db).create(
            story.session_id,
            CheckpointType.MANUAL,
            "by hand",
            {"messages": [f"export ANTHROPIC_API_KEY={SECRET}"], "api_key": SECRET},
            story_id=story.story_id,
        )
    async with database.session(readonly=True) as db:
        raw = await db.scalar(
            text("SELECT CAST(state AS TEXT) FROM wave_checkpoints WHERE id = :id"),
            {"id": checkpoint.id},
        )
    assert SECRET not in raw
    assert REDACTED in raw


async def test_latest_checkpoint_lookups_use_the_indexes(
    database: Database, story: WaveStoryExecution
) -> None:
    for _ in range(3):
        await _checkpoint(database, story, CheckpointType.GATE, Gate.GATE_3)
    latest = (
        "SELECT id FROM wave_checkpoints WHERE session_id = :s AND story_id = 'AUTH-001' "
        "ORDER BY id DESC LIMIT 1"
    )
    at_gate = (
        "SELECT id FROM wave_checkpoints WHERE session_id = :s AND story_id = 'AUTH-001' "
        "AND gate = 'gate-3' ORDER BY id DESC"
    )
    session_key = story.session_id.hex if database.is_sqlite else story.session_id
    async with database.session(readonly=True) as db:
        if database.is_sqlite:
            explain = "EXPLAIN QUERY PLAN "
        else:
            await db.execute(text("SET LOCAL enable_seqscan = off"))
            explain = "EXPLAIN "
        plans = []
        for query in (latest, at_gate):
            rows = await db.execute(text(explain + query), {"s": session_key})
            plans.append(" ".join(str(cell) for row in rows for cell in row))
    assert "ix_wave_checkpoints_session_id_story_id_id" in plans[0]
    assert "TEMP B-TREE" not in plans[0].upper()  # ordered by the index, not sorted afterwards
    assert "Seq Scan" not in " ".join(plans)
    if database.is_sqlite:
        assert "ix_wave_checkpoints_session_id_story_id_gate_id" in plans[1]
    else:  # PostgreSQL's planner may pick either story index for a handful of rows
        assert "Index Scan" in plans[1]
        assert "ix_wave_checkpoints_session_id_story_id" in plans[1]


async def test_events_append_and_tail_in_order(
    database: Database, story: WaveStoryExecution
) -> None:
    async with database.session() as db:
        events = EventRepository(db)
        first = await events.append(story.session_id, "agent_output", {"text": "plan"}, agent="pm")
        await events.append(
            story.session_id,
            "tool_call",
            {"command": "pytest", "score": 1.0},
            story_execution_id=story.id,
            agent="dev",
        )
        await events.append(story.session_id, "operator", {"action": "hold"})
    async with database.session(readonly=True) as db:
        events = EventRepository(db)
        everything = await events.tail(story.session_id)
        after_first = await events.tail(story.session_id, after_id=first.id)
        of_story = await events.tail(story.session_id, story_execution_id=story.id)
        one = await events.tail(story.session_id, limit=1)
    assert [e.kind for e in everything] == ["agent_output", "tool_call", "operator"]
    assert [e.id for e in everything] == sorted(e.id for e in everything)
    assert [e.kind for e in after_first] == ["tool_call", "operator"]
    assert [e.kind for e in of_story] == ["tool_call"]
    assert everything[0].agent == "pm"
    assert everything[1].payload == {"command": "pytest", "score": 1.0}
    assert [e.id for e in one] == [first.id]


async def test_event_ids_keep_growing_across_concurrent_writers(
    database: Database, story: WaveStoryExecution
) -> None:
    async def write(n: int) -> None:
        async with database.session() as db:
            await EventRepository(db).append(story.session_id, "tick", {"n": n})

    await asyncio.gather(*(write(n) for n in range(30)))
    async with database.session(readonly=True) as db:
        tailed = await EventRepository(db).tail(story.session_id)
    assert len(tailed) == 30
    assert len({e.id for e in tailed}) == 30
    assert sorted(e.payload["n"] for e in tailed) == list(range(30))


async def test_events_are_redacted_before_they_are_written(
    database: Database, story: WaveStoryExecution
) -> None:
    async with database.session() as db:
        event = await EventRepository(db).append(
            story.session_id,
            "tool_call",
            {"command": f"curl -H 'Authorization: Bearer {SECRET}' https://example.test"},
        )
    async with database.session(readonly=True) as db:
        raw = await db.scalar(
            text("SELECT CAST(payload AS TEXT) FROM wave_events WHERE id = :id"), {"id": event.id}
        )
    assert SECRET not in raw
    assert REDACTED in raw


async def test_escalations_queue_and_decisions(
    database: Database, story: WaveStoryExecution
) -> None:
    async with database.session() as db:
        repo = EscalationRepository(db)
        risky = await repo.create(
            story.session_id,
            EscalationKind.TOOL_CALL,
            "rm -rf build/ outside the plan",
            {"tool": "shell", "command": "rm -rf build/"},
            story_execution_id=story.id,
            score=0.8,
            violations=[{"principle": "security.destructive", "rule": "exec.destroy.rm_rf"}],
        )
        merge = await repo.create(
            story.session_id, EscalationKind.GATE_APPROVAL, "merge AUTH-001 into main"
        )
    async with database.session(readonly=True) as db:
        pending = await EscalationRepository(db).list_pending(story.session_id)
        assert [e.id for e in pending] == [risky.id, merge.id]
        assert await EscalationRepository(db).list_pending(uuid.uuid4()) == []
    async with database.session() as db:
        decided = await EscalationRepository(db).decide(
            risky.id, EscalationStatus.REJECTED, "alice", "deletes more than the story needs"
        )
    assert decided.status is EscalationStatus.REJECTED
    assert decided.decided_by == "alice"
    assert decided.decided_at is not None
    async with database.session(readonly=True) as db:
        repo = EscalationRepository(db)
        assert [e.id for e in await repo.list_pending()] == [merge.id]
        stored = await repo.get(risky.id)
        assert stored is not None
        assert stored.violations[0]["rule"] == "exec.destroy.rm_rf"
        assert stored.score == pytest.approx(0.8)
        assert stored.reason == "deletes more than the story needs"


async def test_an_escalation_is_decided_once(database: Database, story: WaveStoryExecution) -> None:
    async with database.session() as db:
        escalation = await EscalationRepository(db).create(
            story.session_id, EscalationKind.BUDGET, "story over budget"
        )
        await EscalationRepository(db).decide(escalation.id, EscalationStatus.APPROVED, "alice")
    with pytest.raises(InvalidTransitionError, match="already approved by alice"):
        async with database.session() as db:
            await EscalationRepository(db).decide(
                escalation.id, EscalationStatus.REJECTED, "bob", "too late"
            )
    with pytest.raises(UserError, match="needs a reason"):
        async with database.session() as db:
            other = await EscalationRepository(db).create(
                story.session_id, EscalationKind.RETRY_EXHAUSTED, "QA failed 3 times"
            )
            await EscalationRepository(db).decide(other.id, EscalationStatus.REJECTED, "bob")


async def test_approvals_record_who_when_and_why_not(
    database: Database, story: WaveStoryExecution
) -> None:
    async with database.session() as db:
        repo = ApprovalRepository(db)
        await repo.record(
            story.session_id, story.id, ApprovalSubject.PLAN, ApprovalDecision.APPROVED, "alice"
        )
        await repo.record(
            story.session_id,
            story.id,
            ApprovalSubject.MERGE,
            ApprovalDecision.REJECTED,
            "bob",
            reason="tests are flaky",
        )
        with pytest.raises(UserError, match="needs a reason"):
            await repo.record(
                story.session_id, story.id, ApprovalSubject.REVIEW, ApprovalDecision.REJECTED, "c"
            )
    async with database.session(readonly=True) as db:
        approvals = await ApprovalRepository(db).list_by_story(story.id)
    assert [(a.subject, a.decision, a.decided_by) for a in approvals] == [
        (ApprovalSubject.PLAN, ApprovalDecision.APPROVED, "alice"),
        (ApprovalSubject.MERGE, ApprovalDecision.REJECTED, "bob"),
    ]
    assert approvals[1].reason == "tests are flaky"
    assert approvals[0].decided_at is not None
