"""Recording one graph step: the story row, the session's spend, an event and a checkpoint row
that points at the LangGraph checkpoint, all in one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from wave_tui.db import CheckpointRepository, SessionRepository, StoryExecutionRepository
from wave_tui.domain.enums import CheckpointType
from wave_tui.domain.gates import Gate
from wave_tui.domain.state import Phase, WAVEState
from wave_tui.engine.events import EventBus, Recorder

# The gate each node decides; a step of any other node is an agent handoff.
NODE_GATES: dict[str, Gate] = {
    "pm": Gate.GATE_1,
    "dev": Gate.GATE_3,
    "qa": Gate.GATE_4,
    "cto": Gate.GATE_5,
    "merge_prep": Gate.GATE_6,
    "merge": Gate.GATE_7,
}


@dataclass
class StepRecorder:
    """Per story: remembers what was already charged and the previous checkpoint row."""

    bus: EventBus
    session_id: uuid.UUID
    execution_id: uuid.UUID
    story_id: str
    thread_id: str
    charged_tokens: int = 0
    charged_cost: Decimal = Decimal(0)
    last_checkpoint: int | None = None
    # The story was forked by recovery: its first recorded step clears the fork request.
    clears_fork: bool = False

    async def record(
        self, node: str, state: WAVEState, graph_checkpoint_id: str, kind: CheckpointType | None
    ) -> int:
        """Record one step in a transaction of its own."""
        async with self.bus.transaction() as recorder:
            return await self.write(recorder, node, state, graph_checkpoint_id, kind)

    async def write(
        self,
        recorder: Recorder,
        node: str,
        state: WAVEState,
        graph_checkpoint_id: str,
        kind: CheckpointType | None,
    ) -> int:
        """Record one step inside the caller's transaction (with its status change, if any)."""
        gate = NODE_GATES.get(node)
        result = state.gates.results.get(gate.value) if gate else None
        if kind is None:
            if state.phase is Phase.FAILED:
                kind = CheckpointType.ERROR
            elif result is not None:
                kind = CheckpointType.GATE
            else:
                kind = CheckpointType.AGENT_HANDOFF
        tokens = state.budget.tokens_used - self.charged_tokens
        cost = state.budget.cost_usd - self.charged_cost
        evidence = state.gates.results.get(Gate.GATE_4.value)
        stories = StoryExecutionRepository(recorder.db)
        await stories.update_metrics(
            self.execution_id,
            token_count=state.budget.tokens_used,
            cost_usd=state.budget.cost_usd,
            iteration=state.iteration,
            recycle_count=state.gates.recycle_count,
            ac_total=len(state.acceptance_criteria),
            ac_passed=state.ac_passed,
            current_gate=_current_gate(state),
            phase=state.phase.value,
            agent=state.current_agent,
            tests_passing=evidence.passed if evidence else None,
            retry_count=0,  # a recorded step is progress: recoveries are counted afresh
        )
        if self.clears_fork:
            await stories.forget_fork(self.execution_id)
            self.clears_fork = False
        if tokens or cost:
            await SessionRepository(recorder.db).charge(
                self.session_id, tokens=tokens, cost_usd=cost
            )
        checkpoint = await CheckpointRepository(recorder.db).create(
            self.session_id,
            kind,
            f"{node}: {state.phase.value}",
            state.model_dump(mode="json"),
            story_execution_id=self.execution_id,
            story_id=self.story_id,
            gate=gate if kind is CheckpointType.GATE else None,
            parent_checkpoint_id=self.last_checkpoint,
            graph_thread_id=self.thread_id,
            graph_checkpoint_id=graph_checkpoint_id,
        )
        await recorder.record(
            self.session_id,
            "step",
            {
                "story": self.story_id,
                "node": node,
                "phase": state.phase.value,
                "gate": gate.value if gate and result else None,
                "passed": result.passed if result else None,
                "evidence": result.evidence[:8] if result else [],
                "tokens": state.budget.tokens_used,
                "cost_usd": str(state.budget.cost_usd),
                "checkpoint": checkpoint.id,
                # Where the story stands as a whole: what the console's gate strip draws.
                "gates": {value: r.passed for value, r in state.gates.results.items()},
                "safety": state.safety.score,
                "iteration": state.iteration,
                "recycles": state.gates.recycle_count,
                "ac_passed": state.ac_passed,
                "ac_total": len(state.acceptance_criteria),
            },
            story_execution_id=self.execution_id,
            agent=state.current_agent,
        )
        self.charged_tokens, self.charged_cost = state.budget.tokens_used, state.budget.cost_usd
        self.last_checkpoint = checkpoint.id
        return checkpoint.id


def _current_gate(state: WAVEState) -> Gate:
    """The first gate not yet passed: where the story stands."""
    for gate in Gate:
        if not state.gates.has_passed(gate):
            return gate
    return Gate.GATE_7
