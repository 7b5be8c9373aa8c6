"""How a story's run ends up on the record: its final status, an operator's decision it waited
for, a failure, or an operator's stop; each with its event, in one transaction."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from wave_tui.db import (
    ApprovalRepository,
    EscalationRepository,
    StoryExecutionRepository,
    WaveEscalation,
    WaveStoryExecution,
)
from wave_tui.domain import threads
from wave_tui.domain.enums import (
    ApprovalDecision,
    ApprovalSubject,
    CheckpointType,
    EscalationKind,
    EscalationStatus,
    StoryStatus,
)
from wave_tui.domain.state import Phase, WAVEState
from wave_tui.engine.events import EventBus, Recorder
from wave_tui.engine.steps import StepRecorder
from wave_tui.workspace import Worktree

OnEscalation = Literal["wait", "reject"]


@dataclass
class StoryOutcomes:
    bus: EventBus
    session_id: uuid.UUID
    on_escalation: OnEscalation = "wait"
    decision_poll_s: float = 0.5

    async def decide(
        self,
        execution: WaveStoryExecution,
        interrupt: Any,
        stopped: Callable[[], bool] = lambda: False,
    ) -> dict[str, Any] | None:
        """Queue the decision the graph waits for (a gate approval or a safety escalation of one
        action) and wait for the operator; the answer resumes the graph.

        The question is asked once per interrupt: a story held (or crashed) while it waited
        finds its escalation again when it resumes, and a decision made meanwhile counts.
        Returns None when `stopped()` turns true first (the operator held the story)."""
        request = dict(interrupt.value)
        safety = request.get("kind") == "safety"
        escalation = await self._raise(execution, interrupt, request, safety)
        while True:
            async with self.bus.database.session(readonly=True) as db:
                decided = await EscalationRepository(db).get(escalation.id)
            assert decided is not None
            if decided.status is not EscalationStatus.PENDING:
                break
            if stopped():
                return None
            await asyncio.sleep(self.decision_poll_s)
        approved = decided.status is EscalationStatus.APPROVED
        async with self.bus.transaction() as recorder:
            if not safety:
                await ApprovalRepository(recorder.db).record(
                    self.session_id,
                    execution.id,
                    ApprovalSubject(str(request.get("subject", "merge"))),
                    ApprovalDecision.APPROVED if approved else ApprovalDecision.REJECTED,
                    decided.decided_by or "unknown",
                    reason=decided.reason or (None if approved else "rejected"),
                    escalation_id=decided.id,
                )
            await recorder.record(
                self.session_id, "escalation_decided", {"id": decided.id,
                "status": str(decided.status), "by": decided.decided_by,
                "reason": decided.reason}, story_execution_id=execution.id,
            )  # fmt: skip
        return {
            "approved": approved,
            "reason": decided.reason or "",
            "by": decided.decided_by or "unknown",
        }

    async def _raise(
        self,
        execution: WaveStoryExecution,
        interrupt: Any,
        request: dict[str, Any],
        safety: bool,
    ) -> WaveEscalation:
        """The escalation row for this interrupt (the one raised before, or a new one); a
        headless run that rejects escalations rejects it at once, old or new."""
        thread = threads.thread_of(execution.id, execution.meta_data)
        async with self.bus.transaction() as recorder:
            repo = EscalationRepository(recorder.db)
            escalation = await repo.find_for_interrupt(execution.id, thread, interrupt.id)
            if escalation is None or escalation.status is EscalationStatus.EXPIRED:
                escalation = await self._new_escalation(
                    recorder, execution, interrupt, request, safety, thread
                )
        if self.on_escalation == "reject" and escalation.status is EscalationStatus.PENDING:
            async with self.bus.database.session() as db:
                await EscalationRepository(db).decide(
                    escalation.id, EscalationStatus.REJECTED, "wave (headless)", "headless run"
                )
        return escalation

    async def _new_escalation(
        self,
        recorder: Recorder,
        execution: WaveStoryExecution,
        interrupt: Any,
        request: dict[str, Any],
        safety: bool,
        thread: str,
    ) -> WaveEscalation:
        escalation = await EscalationRepository(recorder.db).create(
            self.session_id,
            EscalationKind.TOOL_CALL if safety else EscalationKind.GATE_APPROVAL,
            str(request.get("summary", "approval needed")),
            request,
            story_execution_id=execution.id,
            score=request.get("score") if safety else None,
            violations=list(request.get("violations") or []) if safety else None,
            graph_thread_id=thread,
            interrupt_id=interrupt.id,
        )
        phase = "awaiting approval" if safety else "review"
        await StoryExecutionRepository(recorder.db).update_metrics(execution.id, phase=phase)
        await recorder.record(
            self.session_id, "escalation", {"id": escalation.id, "story": execution.story_id,
            "kind": str(escalation.kind), "summary": escalation.summary,
            "score": escalation.score}, story_execution_id=execution.id,
        )  # fmt: skip
        return escalation

    async def conclude(
        self,
        execution: WaveStoryExecution,
        final: WAVEState,
        worktree: Worktree,
        steps: StepRecorder,
        graph_checkpoint_id: str,
    ) -> None:
        """The final status, its event and (complete or failed) its checkpoint: one transaction."""
        async with self.bus.transaction() as recorder:
            repo = StoryExecutionRepository(recorder.db)
            if final.phase is Phase.COMPLETE:
                await steps.write(
                    recorder, "end", final, graph_checkpoint_id, CheckpointType.STORY_COMPLETE
                )
            elif final.phase in (Phase.FAILED, Phase.KILLED):
                await steps.write(recorder, "end", final, graph_checkpoint_id, CheckpointType.ERROR)
            if final.phase is Phase.COMPLETE:
                created, modified = final.files_created, final.files_modified
                await repo.complete_execution(
                    execution.id, tests_passing=True, files_created=created,
                    files_modified=modified, branch_name=worktree.branch,
                    commit_sha=final.git.commit_hash,
                )  # fmt: skip
            elif final.phase is Phase.HELD:
                reason = final.gates.hold_reason or "held"
                await repo.block(execution.id, reason)
                if (kind := _escalation_for(reason)) is not None:
                    await EscalationRepository(recorder.db).create(
                        self.session_id, kind, f"{execution.story_id}: {reason}",
                        {"story": execution.story_id, "reason": reason},
                        story_execution_id=execution.id,
                    )  # fmt: skip
            elif final.phase is Phase.KILLED:
                await repo.fail_execution(execution.id, f"killed: {final.gates.kill_reason}")
            else:
                await repo.fail_execution(execution.id, final.error or f"ended {final.phase}")
            await recorder.record(
                self.session_id, "story_finished", {"story": execution.story_id,
                "phase": final.phase.value, "error": final.error,
                "hold_reason": final.gates.hold_reason}, story_execution_id=execution.id,
            )  # fmt: skip

    async def failed(self, execution: WaveStoryExecution, reason: str) -> None:
        async with self.bus.transaction() as recorder:
            repo = StoryExecutionRepository(recorder.db)
            if (await repo.require(execution.id)).status is StoryStatus.PENDING:
                await repo.start_execution(execution.id)
            await repo.fail_execution(execution.id, reason)
            await recorder.record(
                self.session_id, "story_failed", {"story": execution.story_id,
                "error": reason}, story_execution_id=execution.id,
            )  # fmt: skip

    async def stopped(self, execution: WaveStoryExecution, reason: str) -> None:
        """Held or killed by the operator: the graph's last checkpoint stays; the row says why."""
        async with self.bus.transaction() as recorder:
            repo = StoryExecutionRepository(recorder.db)
            current = await repo.require(execution.id)
            if reason.startswith("killed"):
                await repo.cancel_execution(execution.id, reason)
            elif current.status is not StoryStatus.BLOCKED:
                await repo.block(execution.id, reason)
            await recorder.record(
                self.session_id, "story_stopped", {"story": execution.story_id,
                "reason": reason}, story_execution_id=execution.id,
            )  # fmt: skip


def _escalation_for(hold_reason: str) -> EscalationKind | None:
    """What the operator is asked when a story is held; a rejected approval asks nothing more."""
    if hold_reason.startswith(("stuck", "QA failed")):
        return EscalationKind.RETRY_EXHAUSTED
    if hold_reason.startswith("CTO"):
        return EscalationKind.GATE_APPROVAL
    return None
