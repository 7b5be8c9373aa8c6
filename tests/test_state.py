"""WAVEState: its stop rules, and that it survives LangGraph's checkpoint serializer and a real
checkpointed graph with the same values and the same types."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.event_hooks import SerdeEvent, register_serde_event_listener
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.graph import END, START, StateGraph
from pydantic import ValidationError

from wave_tui.domain.gates import Gate
from wave_tui.domain.state import (
    CHECKPOINT_TYPES,
    AgentOutput,
    BudgetState,
    GateResult,
    GateState,
    GateStatus,
    GitState,
    Phase,
    SafetyState,
    WAVEState,
)
from wave_tui.domain.story import AcceptanceCriterion

AT = datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def _full_state() -> WAVEState:
    """A state with every sub-state, enum, datetime, Decimal and list filled in."""
    gates = (
        GateState(max_recycles=2, gate_status=GateStatus.RECYCLE, recycle_count=1)
        .record(Gate.GATE_0, True, ["worktree exists"], at=AT)
        .record(Gate.GATE_4, False, ["2 tests failed"], at=AT)
    )
    return WAVEState(
        project_id="shop",
        session_id="0b5c7a52-session",
        story_id="AUTH-001",
        thread_id="thread-1",
        domain="auth",
        prompt="Add login with email",
        plan="1. form 2. handler",
        acceptance_criteria=[
            AcceptanceCriterion(id="AC-1", description="user can log in"),
            AcceptanceCriterion(id="AC-2", description="bad password is refused"),
        ],
        phase=Phase.TESTING,
        current_agent="qa",
        iteration=2,
        max_iterations=5,
        messages=[{"role": "pm", "content": "plan ready", "meta": {"n": 1}}],
        agent_outputs=[
            AgentOutput(
                agent="dev",
                action="write_file",
                result="ok",
                timestamp=AT,
                tokens_used=1200,
                cost_usd=Decimal("0.0183"),
                safety_score=0.93,
                tool_calls=[{"name": "write_file", "input": {"path": "app/login.py"}}],
            )
        ],
        files_created=["app/login.py"],
        files_modified=["app/urls.py"],
        tests_passed=4,
        tests_failed=2,
        test_output="2 failed, 4 passed",
        error="tests failed",
        error_count=1,
        created_at=AT,
        updated_at=AT,
        git=GitState(
            branch="wave/AUTH-001",
            commit_hash="a" * 40,
            worktree_path=Path("/tmp/worktrees/AUTH-001"),
            files_changed=["app/login.py", "app/urls.py"],
            has_uncommitted=True,
        ),
        budget=BudgetState(
            tokens_used=5400,
            token_limit=50_000,
            cost_usd=Decimal("0.0812"),
            cost_limit_usd=Decimal("2.00"),
        ),
        safety=SafetyState(
            score=0.91,
            violations=["tried to read .env"],
            blocked_actions=["rm -rf /"],
            block_threshold=0.6,
            escalate_threshold=0.8,
        ),
        gates=gates,
    )


def _assert_typed_like_the_original(state: WAVEState) -> None:
    assert type(state.phase) is Phase
    assert type(state.gates.current_gate) is Gate
    assert type(state.gates.gate_status) is GateStatus
    assert all(type(result) is GateResult for result in state.gates.results.values())
    assert type(state.gates.results["gate-4"].gate) is Gate
    assert type(state.git) is GitState
    assert isinstance(state.git.worktree_path, Path)
    assert type(state.budget) is BudgetState
    assert type(state.budget.cost_usd) is Decimal
    assert type(state.safety) is SafetyState
    assert type(state.agent_outputs[0]) is AgentOutput
    assert type(state.agent_outputs[0].cost_usd) is Decimal
    assert type(state.acceptance_criteria[0]) is AcceptanceCriterion
    assert state.created_at.tzinfo is not None
    assert state.agent_outputs[0].timestamp == AT


@pytest.fixture
def serde_events() -> Iterator[list[SerdeEvent]]:
    """What the serializer complained about: unregistered or blocked types."""
    events: list[SerdeEvent] = []
    unregister = register_serde_event_listener(events.append)
    yield events
    unregister()


def _serializer() -> JsonPlusSerializer:
    # An explicit allowlist is strict: any type missing from it would come back as a raw dict.
    return JsonPlusSerializer(allowed_msgpack_modules=CHECKPOINT_TYPES)


def test_full_state_survives_the_checkpoint_serializer_without_warnings(
    serde_events: list[SerdeEvent], caplog: pytest.LogCaptureFixture
) -> None:
    state = _full_state()
    serde = _serializer()

    restored = serde.loads_typed(serde.dumps_typed(state))

    assert type(restored) is WAVEState
    assert restored == state
    _assert_typed_like_the_original(restored)
    assert serde_events == []
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == []


def test_full_state_survives_a_json_snapshot() -> None:
    # Domain checkpoints store model_dump(mode="json"); reading one back must give the same state.
    state = _full_state()

    restored = WAVEState.model_validate_json(state.model_dump_json())

    assert restored == state
    _assert_typed_like_the_original(restored)


def _two_node_graph(serde: JsonPlusSerializer) -> Any:
    def pm(state: WAVEState) -> dict[str, Any]:
        return {
            "phase": Phase.DEVELOPMENT,
            "current_agent": "dev",
            "plan": "write the login form",
            "messages": [{"role": "pm", "content": "plan ready"}],
            "gates": state.gates.record(Gate.GATE_1, True, ["plan approved"], at=AT),
            "budget": state.budget.charge(300, Decimal("0.0045")),
        }

    def dev(state: WAVEState) -> dict[str, Any]:
        # The node sees the rebuilt models, not dicts, and the messages appended so far.
        assert type(state.gates.results["gate-1"]) is GateResult
        assert len(state.messages) == 2
        return {
            "phase": Phase.TESTING,
            "iteration": state.iteration + 1,
            "messages": [{"role": "dev", "content": "wrote app/login.py"}],
            "agent_outputs": [AgentOutput(agent="dev", action="write_file", timestamp=AT)],
            "git": state.git.model_copy(
                update={"files_changed": ["app/login.py"], "has_uncommitted": True}
            ),
            "safety": state.safety.model_copy(update={"score": 0.9}),
            "gates": state.gates.record(Gate.GATE_2, True, ["1 file written"], at=AT),
            "budget": state.budget.charge(900, Decimal("0.0135")),
        }

    builder = StateGraph(WAVEState)
    builder.add_node("pm", pm)
    builder.add_node("dev", dev)
    builder.add_edge(START, "pm")
    builder.add_edge("pm", "dev")
    builder.add_edge("dev", END)
    return builder.compile(checkpointer=InMemorySaver(serde=serde))


async def test_checkpointed_graph_rebuilds_sub_states_enums_and_appended_messages(
    serde_events: list[SerdeEvent], caplog: pytest.LogCaptureFixture
) -> None:
    graph = _two_node_graph(_serializer())
    config = {"configurable": {"thread_id": "story-exec-1"}}
    start = WAVEState(
        story_id="AUTH-001",
        thread_id="story-exec-1",
        acceptance_criteria=[AcceptanceCriterion(id="AC-1", description="user can log in")],
        messages=[{"role": "user", "content": "add login"}],
        git=GitState(branch="wave/AUTH-001", worktree_path=Path("/tmp/wt")),
        budget=BudgetState(token_limit=10_000, cost_limit_usd=Decimal("1.00")),
        created_at=AT,
        updated_at=AT,
    )

    await graph.ainvoke(start, config)
    snapshot = await graph.aget_state(config)
    values = snapshot.values

    # The raw checkpoint values already hold the real types...
    assert type(values["phase"]) is Phase
    assert type(values["git"]) is GitState
    assert type(values["gates"]) is GateState
    assert type(values["acceptance_criteria"][0]) is AcceptanceCriterion
    # ...and rebuild into the state the two nodes produced.
    state = WAVEState.model_validate(values)
    assert state.phase is Phase.TESTING
    assert state.iteration == 1
    assert [m["role"] for m in state.messages] == ["user", "pm", "dev"]
    assert [o.action for o in state.agent_outputs] == ["write_file"]
    assert state.git == GitState(
        branch="wave/AUTH-001",
        worktree_path=Path("/tmp/wt"),
        files_changed=["app/login.py"],
        has_uncommitted=True,
    )
    assert state.budget.tokens_used == 1200
    assert state.budget.cost_usd == Decimal("0.0180")
    assert state.safety.score == 0.9
    assert state.gates.current_gate is Gate.GATE_2
    assert state.gates.has_passed(Gate.GATE_1)
    assert state.gates.has_passed(Gate.GATE_2)
    assert state.gates.results["gate-1"].at == AT
    assert state.current_agent == "dev"
    assert serde_events == []
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == []


async def test_sub_state_returned_as_plain_dict_still_rebuilds_from_the_checkpoint() -> None:
    # LangGraph stores a node's update as given; reading through WAVEState coerces it back.
    def node(state: WAVEState) -> dict[str, Any]:
        return {"git": {"branch": "wave/X-1", "files_changed": ["a.py"]}, "phase": "review"}

    builder = StateGraph(WAVEState)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    graph = builder.compile(checkpointer=InMemorySaver(serde=_serializer()))
    config = {"configurable": {"thread_id": "t"}}

    await graph.ainvoke(WAVEState(story_id="X-1"), config)
    state = WAVEState.model_validate((await graph.aget_state(config)).values)

    assert state.git == GitState(branch="wave/X-1", files_changed=["a.py"])
    assert state.phase is Phase.REVIEW


def test_gate_results_are_keyed_by_gate_value_and_unknown_gates_are_refused() -> None:
    gates = GateState(results={Gate.GATE_3: GateResult(gate=Gate.GATE_3, passed=True, at=AT)})

    assert list(gates.results) == ["gate-3"]
    assert type(next(iter(gates.results))) is str
    with pytest.raises(ValidationError):
        GateState(results={"gate-9": {"gate": "gate-3", "passed": True}})


def test_recording_a_gate_returns_a_new_state_and_tracks_recycles() -> None:
    gates = GateState(max_recycles=1)

    recorded = gates.record(Gate.GATE_4, False, ["pytest exit 1"])

    assert gates.results == {}
    assert recorded.current_gate is Gate.GATE_4
    assert not recorded.has_passed(Gate.GATE_4)
    assert recorded.can_recycle
    assert not recorded.model_copy(update={"recycle_count": 1}).can_recycle


def test_budget_utilisation_is_the_larger_of_tokens_and_cost() -> None:
    budget = BudgetState(
        tokens_used=2500, token_limit=10_000, cost_usd=Decimal("1.50"), cost_limit_usd=Decimal("2")
    )

    assert budget.utilization_percent == pytest.approx(75.0)
    assert not budget.is_exceeded
    assert budget.would_exceed(0, Decimal("0.51"))
    assert not budget.would_exceed(7500, Decimal("0.50"))
    assert budget.charge(7500, Decimal("0")).is_exceeded


def test_safety_thresholds_come_from_the_caller() -> None:
    strict = SafetyState(score=0.75, block_threshold=0.8, escalate_threshold=0.9)
    lenient = SafetyState(score=0.75, block_threshold=0.5, escalate_threshold=0.6)

    assert strict.should_block
    assert strict.requires_human_review
    assert not lenient.should_block
    assert not lenient.requires_human_review
    with pytest.raises(ValidationError, match="block_threshold"):
        SafetyState(block_threshold=0.9, escalate_threshold=0.5)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"phase": Phase.HELD}, "phase is held"),
        ({"phase": Phase.KILLED}, "phase is killed"),
        ({"phase": Phase.COMPLETE}, "phase is complete"),
        ({"phase": Phase.FAILED}, "phase is failed"),
        ({"error_count": 3, "max_errors": 3}, "3 errors"),
        ({"budget": BudgetState(tokens_used=10, token_limit=10)}, "budget used up"),
        ({"safety": SafetyState(score=0.2)}, "safety score 0.20 below"),
        ({"iteration": 6, "max_iterations": 5}, "iteration 6 over"),
    ],
)
def test_story_stops_and_says_why(change: dict[str, Any], reason: str) -> None:
    state = WAVEState(story_id="S-1").model_copy(update=change)

    assert state.should_stop()
    assert (state.stop_reason() or "").startswith(reason)


def test_story_goes_on_at_the_last_allowed_iteration() -> None:
    state = WAVEState(story_id="S-1", iteration=5, max_iterations=5, error_count=2)

    assert not state.should_stop()
    assert state.stop_reason() is None
