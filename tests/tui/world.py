"""A fixed world for the console's snapshot tests: three sessions written through the ORM with
fixed ids, names and times, each story's steps recorded the way engine/steps.py records them."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from langgraph.checkpoint.base import empty_checkpoint

from wave_tui.checkpoint.saver import WAVECheckpointSaver
from wave_tui.db import Database, WaveCheckpoint, WaveCommand, WaveEscalation, WaveEvent
from wave_tui.db.models import WaveSession, WaveStoryExecution
from wave_tui.domain.enums import (
    AutonomyLevel,
    CheckpointType,
    EscalationKind,
    SessionStatus,
    StoryStatus,
)
from wave_tui.domain.gates import Gate
from wave_tui.domain.state import BudgetState, GateStatus, Phase, SafetyState, WAVEState
from wave_tui.domain.story import AcceptanceCriterion
from wave_tui.engine.steps import NODE_GATES

T0 = datetime(2026, 11, 23, 9, 0, 0, tzinfo=UTC)
FIXED_NOW = T0 + timedelta(minutes=42, seconds=17)
S = timedelta(seconds=1)
# Another machine's runner: its lease is live, so the session is running, not interrupted.
LIVE_OWNER, LIVE_UNTIL = "ops-runner:4242:c0ffee", datetime(2099, 1, 1, tzinfo=UTC)
DEAD_OWNER = "build-7:913:5ab0e1"  # its lease ran out at 07:52: that session is interrupted
TEXTKIT = uuid.UUID("7a3c9e21-4b8d-4f6a-9c2e-1d5f8a0b3c47")
DOCSITE = uuid.UUID("2f81d4c0-93ab-4e57-8a1c-6b0e9d2f7a15")
LEDGER = uuid.UUID("c4e0b7a2-1f63-4d98-b5e1-0a7c3f9d2e68")
TOKEN_PRICE = Decimal("0.000006")  # USD per token, all in
TEXTKIT_STORIES = (
    ("TK-1", "Slugs for titles"),
    ("TK-2", "Word count"),
    ("TK-3", "Case conversion helpers"),
    ("TK-4", "Unicode normalisation"),
    ("TK-5", "Tidy build artifacts"),
    ("TK-6", "Line wrapping that respects word boundaries"),
    ("TK-7", "Slug command line", "TK-1"),
    ("TK-8", "README usage examples"),
)
# What the rule layer says of `rm -rf build` in a worktree (wave safety check, verbatim).
RM_BUILD = {"argv": ["rm", "-rf", "build"]}
RM_FINDING = "a recursive delete inside the worktree: git cannot bring back untracked files"
RM_VERDICT: dict[str, Any] = {
    "score": 0.75,
    "decision": "escalate",
    "violations": [
        f"file.delete.recursive_in_worktree (data_integrity.preserve_data): {RM_FINDING} [build]"
    ],
    "risks": [RM_FINDING],
    "reasoning": "escalated to the operator (score 0.75, block below 0.7, review below 0.85); "
    f"worst finding file.delete.recursive_in_worktree: {RM_FINDING} (build)",
    "layer": "rules",
}
ALLOW: dict[str, Any] = {"score": 1.0, "decision": "allow", "violations": [], "risks": []}


def fixed_now() -> datetime:
    """The clock the snapshots are taken at: 42 min 17 s into the textkit session."""
    return FIXED_NOW


def at(minutes: int, seconds: int = 0, *, day: int = 0) -> datetime:
    return T0 + timedelta(days=day, minutes=minutes, seconds=seconds)


@dataclass(frozen=True)
class World:
    session_id: uuid.UUID  # "textkit": in progress, run by another process
    finished_session_id: uuid.UUID  # "docsite": completed yesterday
    interrupted_session_id: uuid.UUID  # "ledger": its runner is gone
    stories: tuple[str, ...]  # textkit's stories in table order
    escalated_story: str
    held_story: str
    escalation_id: int

    def row(self, story_id: str) -> int:
        return self.stories.index(story_id)


async def build_world(database: Database) -> World:
    """Write the world into a migrated, empty database; the ids the tests need."""
    graph = _Graph(WAVECheckpointSaver(database))
    async with database.session() as db:
        await _docsite(db)
        await _ledger(db, graph)
        escalation_id = await _textkit(db, graph)
    await graph.write()
    return World(
        session_id=TEXTKIT,
        finished_session_id=DOCSITE,
        interrupted_session_id=LEDGER,
        stories=tuple(story[0] for story in TEXTKIT_STORIES),
        escalated_story="TK-5",
        held_story="TK-4",
        escalation_id=escalation_id,
    )


# -- the three sessions ---------------------------------------------------------------------


async def _textkit(db: Any, graph: _Graph) -> int:
    """The session on screen: eight stories in every state, one escalation waiting."""
    rows = await _session(db, TEXTKIT, "textkit", at(0), TEXTKIT_STORIES)
    run = {sid: _Run(db, graph, row) for sid, row in rows.items()}
    for sid in ("TK-1", "TK-2", "TK-4"):
        await run[sid].start(at(0, 5))
    for sid, begin, files in (
        ("TK-1", 0, ["textkit/slug.py", "tests/test_slug.py"]),
        ("TK-2", 20, ["textkit/words.py", "tests/test_words.py"]),
    ):
        await run[sid].plan(at(0, 12 + begin))
        await run[sid].develop(at(1, begin), files)
        await run[sid].test(at(2, 20 + begin), "3 passed in 0.05s", passed=True)
        await run[sid].finish(at(2, 40 + begin))
    await run["TK-4"].plan(at(0, 30))
    await run["TK-4"].develop(at(2, 10), ["textkit/normalize.py", "tests/test_normalize.py"])
    await run["TK-3"].start(at(3, 25))
    await run["TK-4"].hold(at(3, 40))
    await run["TK-3"].plan(at(3, 40))
    await run["TK-6"].start(at(3, 45))
    await run["TK-6"].plan(at(4, 0))
    await run["TK-5"].start(at(4, 5))
    await run["TK-5"].plan(at(4, 15))
    escalation_id = await run["TK-5"].escalate(at(5, 10))
    await run["TK-6"].develop(at(9, 0), ["textkit/wrap.py", "tests/test_wrap.py"])
    await run["TK-6"].test(at(10, 30), "2 failed, 4 passed in 0.09s", passed=False)
    await run["TK-3"].develop(at(33, 30), ["textkit/case.py", "tests/test_case.py"])
    await run["TK-3"].test(at(36, 0), "1 failed, 5 passed in 0.08s", passed=False)
    await run["TK-6"].fail(at(38, 20))
    await run["TK-8"].start(at(38, 25))
    await run["TK-3"].rework(at(38, 30))
    await run["TK-8"].plan(at(38, 40))
    await run["TK-8"].turn(at(40, 10), "dev", ["read_file"], 2_870)
    await run["TK-8"].tool(at(40, 12), "dev", "read_file", {"path": "README.md"})
    await _total(db, TEXTKIT, rows)
    return escalation_id


async def _ledger(db: Any, graph: _Graph) -> None:
    """This morning's session, cut off: its runner's lease ran out with LG-2 half done."""
    stories = (("LG-1", "Parse bank statements"), ("LG-2", "Categorise payees"),
               ("LG-3", "Monthly report", "LG-2"))  # fmt: skip
    rows = await _session(db, LEDGER, "ledger", at(-90), stories)
    first, second = _Run(db, graph, rows["LG-1"]), _Run(db, graph, rows["LG-2"])
    await first.start(at(-90, 5))
    await second.start(at(-90, 5))
    await first.plan(at(-89, 0))
    await second.plan(at(-88, 30))
    await first.develop(at(-86, 0), ["ledger/statements.py", "tests/test_statements.py"])
    await first.test(at(-84, 0), "3 passed in 0.06s", passed=True)
    await first.finish(at(-83, 0))
    await second.develop(at(-75, 0), ["ledger/payees.py", "tests/test_payees.py"])
    _set(rows["LG-2"], lease_owner=DEAD_OWNER, lease_expires_at=at(-68))
    await _total(db, LEDGER, rows)


async def _docsite(db: Any) -> None:
    """Yesterday's session, finished: every story complete."""
    created = at(6 * 60 + 10, day=-1)
    stories = (("DS-1", "Build the navigation"), ("DS-2", "Search index"), ("DS-3", "Dark mode"))
    rows = await _session(db, DOCSITE, "docsite", created, stories,
                          completed_at=created + timedelta(minutes=38))  # fmt: skip
    for n, row in enumerate(rows.values()):
        tokens = 20_410 + 977 * n
        _set(row, status=StoryStatus.COMPLETE, current_gate=Gate.GATE_7, phase="complete",
             agent="merge", token_count=tokens, cost_usd=tokens * TOKEN_PRICE, iteration=1,
             ac_total=3, ac_passed=3)  # fmt: skip
    await _total(db, DOCSITE, rows, status=SessionStatus.COMPLETED)


async def _session(
    db: Any, session_id: uuid.UUID, name: str, created: datetime, stories: Any, **fields: Any
) -> dict[str, WaveStoryExecution]:
    """A session row and its story rows, all pending; the caller runs them."""
    db.add(
        WaveSession(
            id=session_id, project_name=name, project_path=f"/srv/projects/{name}",
            wave_number=1, status=SessionStatus.IN_PROGRESS, budget_usd=Decimal("5"),
            token_limit=1_000_000, story_count=len(stories), autonomy_level=AutonomyLevel.L2,
            concurrency=3, created_at=created, started_at=created + 5 * S, updated_at=created,
            meta_data={}, **fields,
        )
    )  # fmt: skip
    rows = {}
    for n, (story_id, title, *depends) in enumerate(stories, start=1):
        rows[story_id] = WaveStoryExecution(
            id=uuid.UUID(f"{session_id.hex[:8]}-0000-4000-8000-{n:012x}"), session_id=session_id,
            story_id=story_id, story_title=title, domain=name, status=StoryStatus.PENDING,
            budget_usd=Decimal("1.00"), created_at=created, updated_at=created,
            definition={"id": story_id, "title": title, "depends_on": list(depends)},
        )  # fmt: skip
        db.add(rows[story_id])
    await db.flush()
    return rows


async def _total(
    db: Any, session_id: uuid.UUID, rows: dict[str, WaveStoryExecution], **fields: Any
) -> None:
    """The session's spend and counts, summed from its stories as the runner charges them."""
    stories = rows.values()
    _set(
        await db.get(WaveSession, session_id),
        tokens_used=sum(r.token_count for r in stories),
        actual_cost_usd=sum((r.cost_usd for r in stories), Decimal(0)),
        stories_completed=sum(r.status is StoryStatus.COMPLETE for r in stories),
        stories_failed=sum(r.status is StoryStatus.FAILED for r in stories),
        **fields,
    )
    await db.flush()


def _set(row: Any, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(row, name, value)


# -- one story's run ------------------------------------------------------------------------


@dataclass
class _Graph:
    """The LangGraph checkpoints the domain checkpoints point at, written by the real saver."""

    saver: WAVECheckpointSaver
    pending: list[tuple[str, str, str | None, datetime]] = field(default_factory=list)

    def add(self, thread: str, moment: datetime) -> str:
        parent = next((c for t, c, _, _ in reversed(self.pending) if t == thread), None)
        checkpoint_id = f"1f0c8b2e-{len(self.pending) + 1:04x}-6000-8000-{thread[-12:]}"
        self.pending.append((thread, checkpoint_id, parent, moment))
        return checkpoint_id

    async def write(self) -> None:
        for step, (thread, checkpoint_id, parent, moment) in enumerate(self.pending):
            config: Any = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
            if parent is not None:
                config["configurable"]["checkpoint_id"] = parent
            checkpoint: Any = {**empty_checkpoint(), "id": checkpoint_id, "ts": moment.isoformat()}
            await self.saver.aput(config, checkpoint, {"source": "loop", "step": step}, {})


class _Run:
    """One story's run: each step updates its WAVEState and writes a checkpoint row and a `step`
    event (the payload the board reads), with the agents' own events in between."""

    def __init__(self, db: Any, graph: _Graph, row: WaveStoryExecution) -> None:
        self.db, self.graph, self.row = db, graph, row
        self.parent: int | None = None
        criteria = [AcceptanceCriterion(id=f"AC-{n}", description=f"AC {n}") for n in (1, 2, 3)]
        self.state = WAVEState(
            project_id=row.domain or "", session_id=str(row.session_id), story_id=row.story_id,
            thread_id=str(row.id), domain=row.domain or "", prompt=row.story_title,
            acceptance_criteria=criteria, created_at=row.created_at, updated_at=row.created_at,
            budget=BudgetState(cost_limit_usd=Decimal("1.00")),
            safety=SafetyState(block_threshold=0.7, escalate_threshold=0.85),
        )  # fmt: skip

    async def event(
        self, moment: datetime, kind: str, agent: str | None, /, **payload: Any
    ) -> None:
        row = self.row
        self.db.add(
            WaveEvent(session_id=row.session_id, story_execution_id=row.id, kind=kind, agent=agent,
                      payload={"story": row.story_id, **payload}, created_at=moment)
        )  # fmt: skip
        await self.db.flush()

    async def turn(
        self, moment: datetime, agent: str, tools: list[str], tokens: int, n: int = 1
    ) -> None:
        conversation = f"{self.row.story_id}/{agent}/{n}"
        await self.event(moment, "agent_turn", agent, conversation=conversation, turn=0,
                         tool_calls=tools, tokens=tokens)  # fmt: skip

    async def tool(
        self, moment: datetime, agent: str, tool: str, arguments: Any, **verdict: Any
    ) -> None:
        await self.event(moment, "tool_call", agent, tool=tool, arguments=arguments,
                         **(verdict or ALLOW))  # fmt: skip

    async def step(
        self, moment: datetime, node: str, *, tokens: int = 0, verdicts: Any = (), **update: Any
    ) -> None:
        """One node finished: its verdicts and state update, then what engine/steps.py writes."""
        gates = self.state.gates
        for gate, passed, evidence in verdicts:
            gates = gates.record(gate, passed, evidence, at=moment)
        used = self.state.budget.tokens_used + tokens
        spent = {"tokens_used": used, "cost_usd": used * TOKEN_PRICE}
        budget = self.state.budget.model_copy(update=spent)
        update = {"gates": gates, "budget": budget, "updated_at": moment, **update}
        self.state = state = self.state.model_copy(update=update)
        gate = NODE_GATES.get(node)
        result = state.gates.results.get(gate.value) if gate else None
        kind = CheckpointType.STORY_START if node == "start" else CheckpointType.AGENT_HANDOFF
        if state.phase is Phase.FAILED:
            kind = CheckpointType.ERROR
        elif result is not None:
            kind = CheckpointType.GATE
        thread = str(self.row.id)
        checkpoint = WaveCheckpoint(
            session_id=self.row.session_id, story_execution_id=self.row.id,
            story_id=self.row.story_id, checkpoint_type=kind,
            checkpoint_name=f"{node}: {state.phase.value}",
            gate=gate if kind is CheckpointType.GATE else None, state=state.model_dump(mode="json"),
            parent_checkpoint_id=self.parent, graph_thread_id=thread,
            graph_checkpoint_id=None if node == "start" else self.graph.add(thread, moment),
            created_at=moment,
        )  # fmt: skip
        self.db.add(checkpoint)
        await self.db.flush()
        self.parent = checkpoint.id
        await self.event(
            moment, "step", state.current_agent, node=node, phase=state.phase.value,
            gate=gate.value if gate and result else None, passed=result.passed if result else None,
            evidence=result.evidence[:8] if result else [], tokens=used,
            cost_usd=str(state.budget.cost_usd), checkpoint=checkpoint.id,
            gates={value: r.passed for value, r in state.gates.results.items()},
            safety=state.safety.score, iteration=state.iteration,
            recycles=state.gates.recycle_count, ac_passed=state.ac_passed,
            ac_total=len(state.acceptance_criteria),
        )  # fmt: skip
        _set(
            self.row, token_count=used, cost_usd=state.budget.cost_usd,
            iteration=state.iteration, recycle_count=state.gates.recycle_count,
            ac_total=len(state.acceptance_criteria), ac_passed=state.ac_passed,
            current_gate=next((g for g in Gate if not state.gates.has_passed(g)), Gate.GATE_7),
            phase=state.phase.value, agent=state.current_agent,
            files_created=list(state.files_created),
        )  # fmt: skip

    # -- the stages of the graph, as its nodes record them ---------------------------------

    async def start(self, moment: datetime) -> None:
        _set(self.row, status=StoryStatus.IN_PROGRESS, started_at=moment,
             lease_owner=LIVE_OWNER, lease_expires_at=LIVE_UNTIL)  # fmt: skip
        await self.event(moment, "story_started", None)
        evidence = ["dependencies complete", f"worktree on wave/{self.row.story_id.lower()}"]
        await self.step(moment, "start", verdicts=[(Gate.GATE_0, True, evidence)])

    async def plan(self, moment: datetime) -> None:
        await self.turn(moment, "pm", ["submit_plan"], 3_120)
        plan = [(Gate.GATE_1, True, ["plan with 3 steps", "acceptance criteria fixed"])]
        await self.step(moment + 31 * S, "pm", tokens=3_120, verdicts=plan, plan="1. code 2. tests",
                        phase=Phase.DEVELOPMENT, current_agent="pm")  # fmt: skip

    async def develop(self, moment: datetime, files: list[str]) -> None:
        iteration = self.state.iteration + 1
        await self.turn(moment, "dev", ["write_file"] * len(files), 8_240, iteration)
        for n, name in enumerate(files):
            await self.tool(moment + (2 + n) * S, "dev", "write_file", {"path": name})
        verdicts = [
            (Gate.GATE_2, True, [f"{len(files)} tool calls, each scored"]),
            (Gate.GATE_3, True, [f"AC-{n}: {files[0]}" for n in (1, 2, 3)]),
        ]
        await self.step(moment + 74 * S, "dev", tokens=8_240, verdicts=verdicts,
                        phase=Phase.TESTING, current_agent="dev", iteration=iteration,
                        files_created=files)  # fmt: skip
        await self.step(moment + 75 * S, "safety_gate")  # the gate keeps the agent

    async def test(self, moment: datetime, summary: str, *, passed: bool) -> None:
        argv = ["python", "-m", "pytest", "-q"]
        await self.tool(moment, "qa", "run_command", {"argv": argv})
        await self.event(moment + 6 * S, "test_run", "qa", command=argv,
                         exit_code=int(not passed), summary=summary)  # fmt: skip
        evidence = {f"AC-{n}": [f"test_ac{n}"] for n in (1, 2, 3)} if passed else {}
        await self.step(moment + 7 * S, "qa", verdicts=[(Gate.GATE_4, passed, [summary])],
                        ac_evidence=evidence, current_agent="qa")  # fmt: skip
        if passed:
            await self.step(moment + 8 * S, "supervisor", current_agent="supervisor",
                            phase=Phase.REVIEW)  # fmt: skip
            return
        recycle = {"gate_status": GateStatus.RECYCLE, "recycle_count": 1}
        await self.step(moment + 8 * S, "supervisor", current_agent="supervisor",
                        gates=self.state.gates.model_copy(update=recycle),
                        phase=Phase.DEVELOPMENT)  # fmt: skip

    async def finish(self, moment: datetime) -> None:
        await self.turn(moment, "cto", ["verdict"], 2_610)
        await self.step(moment + 30 * S, "cto", tokens=2_610, current_agent="cto",
                        verdicts=[(Gate.GATE_5, True, ["CTO: GO"])])  # fmt: skip
        await self.step(moment + 34 * S, "merge_prep", current_agent="merge",
                        verdicts=[(Gate.GATE_6, True, ["committed; merges cleanly"])])  # fmt: skip
        await self.step(moment + 38 * S, "merge", current_agent="merge", phase=Phase.COMPLETE,
                        verdicts=[(Gate.GATE_7, True, ["merged into main"])])  # fmt: skip
        sha = hashlib.sha1(self.row.story_id.encode()).hexdigest()[:12]
        _set(self.row, status=StoryStatus.COMPLETE, completed_at=moment + 40 * S,
             lease_owner=None, commit_sha=sha)  # fmt: skip
        await self.event(moment + 40 * S, "story_finished", None, phase="complete", error=None)

    # -- the acts that pause or end a story ------------------------------------------------

    async def escalate(self, moment: datetime) -> int:
        """Dev asks to run `rm -rf build`: the step that pauses it, then the escalation row."""
        sid = self.row.story_id
        await self.turn(moment, "dev", ["run_command"], 4_410)
        await self.tool(moment + 2 * S, "dev", "run_command", RM_BUILD, **RM_VERDICT)
        summary = f'{sid}: dev wants to run run_command {{"argv": ["rm", "-rf", "build"]}}'
        request = {"subject": "action", "kind": "safety", "story": sid, "agent": "dev",
                   "tool": "run_command", "arguments": RM_BUILD, **RM_VERDICT,
                   "summary": summary}  # fmt: skip
        safety = self.state.safety.model_copy(update={"score": 0.75})
        await self.step(moment + 3 * S, "dev", tokens=4_410, phase=Phase.DEVELOPMENT, iteration=1,
                        current_agent="dev", safety=safety, pending_approval=request)  # fmt: skip
        await self.step(moment + 4 * S, "safety_gate")  # the gate keeps the agent
        escalation = WaveEscalation(
            session_id=self.row.session_id, story_execution_id=self.row.id,
            kind=EscalationKind.TOOL_CALL, summary=summary, action=request, score=0.75,
            violations=RM_VERDICT["violations"], graph_thread_id=str(self.row.id),
            interrupt_id="9b1f3c5e7a2d4f6081c3e5a7b9d1f3e5", created_at=moment + 4 * S,
        )  # fmt: skip
        self.db.add(escalation)
        await self.db.flush()
        self.row.phase = "awaiting approval"
        await self.event(moment + 4 * S, "escalation", None, id=escalation.id, kind="tool_call",
                         summary=summary, score=0.75)  # fmt: skip
        return int(escalation.id)

    async def hold(self, moment: datetime) -> None:
        """The operator holds the story; its runner stops it at the next step boundary."""
        sid, reason = self.row.story_id, "requested by ops"
        self.db.add(
            WaveCommand(session_id=self.row.session_id, story_id=sid, verb="hold", reason=reason,
                        issued_by="ops", issued_at=moment, handled_by=LIVE_OWNER,
                        handled_at=moment, outcome=f"{sid} held")
        )  # fmt: skip
        await self.event(moment, "operator_command", None, command=1, verb="hold", reason=reason,
                         by="ops", handled_by=LIVE_OWNER, outcome=f"{sid} held")  # fmt: skip
        _set(self.row, status=StoryStatus.BLOCKED, block_reason=f"held: {reason}",
             lease_owner=None, lease_expires_at=None)  # fmt: skip
        await self.event(moment + S, "story_stopped", None, reason=f"held: {reason}")

    async def fail(self, moment: datetime) -> None:
        await self.turn(moment, "dev", [], 5_020, 2)
        error = "development did not finish: dev ended its turn without calling a tool"
        await self.step(moment + 2 * S, "dev", tokens=5_020, phase=Phase.FAILED, error=error,
                        error_count=1, current_agent="dev", iteration=2)  # fmt: skip
        _set(self.row, status=StoryStatus.FAILED, error=error, lease_owner=None,
             completed_at=moment + 3 * S)  # fmt: skip
        await self.event(moment + 3 * S, "story_failed", None, error=error)

    async def rework(self, moment: datetime) -> None:
        """Dev's second iteration after the recycle, under way."""
        await self.turn(moment, "dev", ["read_file", "edit_file"], 3_980, 2)
        await self.tool(moment + S, "dev", "read_file", {"path": "textkit/case.py"})
        change = {"path": "textkit/case.py", "old": "split('_')", "new": "re.split"}
        await self.tool(moment + 3 * S, "dev", "edit_file", change)
