"""Merge prep (gate-6: committed, merges cleanly) and the merge itself (gate-7)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from wave_tui.agents.common import context_of, failed, output
from wave_tui.agents.context import StoryContext
from wave_tui.domain.enums import AutonomyLevel
from wave_tui.domain.gates import Gate
from wave_tui.domain.state import Phase, WAVEState, utcnow
from wave_tui.workspace import WorkspaceError

AGENT = "merge"


async def merge_prep_node(state: WAVEState, runtime: Runtime[StoryContext]) -> dict[str, Any]:
    ctx = context_of(runtime)
    story = ctx.story
    try:
        sha = await ctx.worktree.commit(f"{story.id}: {story.title}\n\nWAVE story {story.id}")
        # Nothing new to commit: the commit may have been made before a crash took its step.
        head = sha or state.git.commit_hash or await ctx.worktree.head_if_ahead()
        clean = await ctx.worktree.merges_cleanly()
    except WorkspaceError as problem:
        return failed(state, AGENT, f"merge prep: {problem}")
    gates = state.gates.record(
        Gate.GATE_6,
        clean and head is not None,
        [f"committed {head} on {ctx.worktree.branch}", f"merges cleanly: {clean}"],
    )
    update: dict[str, Any] = {
        "current_agent": AGENT,
        "gates": gates,
        "git": state.git.model_copy(
            update={
                "branch": ctx.worktree.branch,
                "commit_hash": head,
                "worktree_path": ctx.worktree.path,
                "has_uncommitted": False,
            }
        ),
        "agent_outputs": output(AGENT, "commit", f"{head} merges cleanly: {clean}"),
        "updated_at": utcnow(),
    }
    if not clean or head is None:
        # A failed gate-6 never goes on to the merge.
        reason = (
            f"{ctx.worktree.branch} conflicts with the base branch"
            if not clean
            else f"nothing committed on {ctx.worktree.branch}: the story changed no file"
        )
        update["phase"] = Phase.HELD
        update["gates"] = gates.model_copy(update={"hold_reason": reason})
    elif ctx.autonomy is not AutonomyLevel.L3:
        update["pending_approval"] = {
            "subject": "merge",
            "next": "merge",
            "summary": f"merge {ctx.worktree.branch} into {ctx.worktree.base_branch}",
        }
    return update


async def merge_node(state: WAVEState, runtime: Runtime[StoryContext]) -> dict[str, Any]:
    ctx = context_of(runtime)
    try:
        sha = await ctx.worktree.merge_into_base(
            f"Merge {ctx.worktree.branch}: {ctx.story.title} (WAVE {ctx.story.id})"
        )
    except WorkspaceError as problem:
        return failed(state, AGENT, f"merge: {problem}")
    return {
        "current_agent": AGENT,
        "phase": Phase.COMPLETE,
        "gates": state.gates.record(
            Gate.GATE_7, True, [f"merged into {ctx.worktree.base_branch} at {sha}"]
        ),
        "git": state.git.model_copy(update={"commit_hash": sha}),
        "agent_outputs": output(AGENT, "merge", f"{ctx.worktree.base_branch} at {sha}"),
        "updated_at": utcnow(),
    }
