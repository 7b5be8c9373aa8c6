"""What the agents are told, and the tools through which they give their structured answers.

Every decision an agent makes arrives as a tool call with a JSON schema (a plan, a finished
change, a review verdict): nothing is read out of free text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wave_tui.domain.story import AcceptanceCriterion, Story

SUBMIT_PLAN: dict[str, Any] = {
    "name": "submit_plan",
    "description": "Submit the implementation plan and the acceptance criteria it will satisfy.",
    "input_schema": {
        "type": "object",
        "properties": {
            "plan": {"type": "string", "description": "numbered steps, files to touch"},
            "acceptance_criteria": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"id": {"type": "string"}, "description": {"type": "string"}},
                    "required": ["id", "description"],
                },
            },
        },
        "required": ["plan", "acceptance_criteria"],
    },
}

FINISH: dict[str, Any] = {
    "name": "finish",
    "description": "Declare the change complete, mapping every acceptance criterion to the code.",
    "input_schema": {
        "type": "object",
        "properties": {
            "summary": {"type": "string"},
            "ac_mapping": {
                "type": "object",
                "description": "AC id -> where the code (and its test) satisfies it",
                "additionalProperties": {"type": "string"},
            },
        },
        "required": ["summary", "ac_mapping"],
    },
}

SUBMIT_REVIEW: dict[str, Any] = {
    "name": "submit_review",
    "description": "Give the review verdict: GO to merge, HOLD to pause for a human, KILL to stop.",
    "input_schema": {
        "type": "object",
        "properties": {
            "decision": {"type": "string", "enum": ["GO", "HOLD", "KILL"]},
            "reason": {"type": "string"},
        },
        "required": ["decision", "reason"],
    },
}

PM_SYSTEM = (
    "You are the PM agent of WAVE. Turn the story into a short, concrete implementation plan and "
    "fix its acceptance criteria. Keep the story's criteria and their ids; add none the story "
    "does not imply. Answer by calling submit_plan."
)
DEV_SYSTEM = (
    "You are the Dev agent of WAVE. Implement the plan inside your workspace with the tools "
    "given: write the code and tests (name each test after the criterion it proves, e.g. "
    "test_ac_1_...), run the tests, fix what fails. Stay inside the story's file constraints. "
    "When done, call finish with an ac_mapping for every acceptance criterion."
)
CTO_SYSTEM = (
    "You are the CTO agent of WAVE. Review the finished change against the story, the plan and "
    "the QA evidence. Call submit_review with GO, HOLD (needs a human) or KILL (abandon)."
)


def criteria_text(criteria: Sequence[AcceptanceCriterion]) -> str:
    return "\n".join(f"- {ac.id}: {ac.description}" for ac in criteria) or "- (none given)"


def story_text(story: Story) -> str:
    parts = [f"Story {story.id}: {story.title}", "", story.prompt.strip()]
    rules = story.files
    for label, globs in (
        ("may create", rules.create),
        ("may modify", rules.modify),
        ("must never touch", rules.forbidden),
    ):
        if globs:
            parts.append(f"Files it {label}: {', '.join(globs)}")
    return "\n".join(parts)


def pm_opening(story: Story) -> str:
    return (
        f"{story_text(story)}\n\nAcceptance criteria:\n{criteria_text(story.acceptance_criteria)}"
    )


def dev_opening(
    story: Story,
    plan: str,
    criteria: Sequence[AcceptanceCriterion],
    iteration: int,
    failing_output: str,
) -> str:
    text = (
        f"{story_text(story)}\n\nPlan:\n{plan}\n\nAcceptance criteria:\n{criteria_text(criteria)}"
    )
    if iteration > 1:
        text += (
            f"\n\nThis is attempt {iteration}. QA ran the tests on your previous attempt and "
            f"they failed:\n{failing_output[-6000:]}\nFix the cause, then call finish."
        )
    return text


def cto_opening(
    story: Story, plan: str, summary: str, evidence: dict[str, list[str]], qa_summary: str
) -> str:
    lines = [f"- {ac}: {', '.join(tests) or 'no test names it'}" for ac, tests in evidence.items()]
    return (
        f"{story_text(story)}\n\nPlan:\n{plan}\n\nDev summary:\n{summary}\n\n"
        f"QA: {qa_summary}\nEvidence per acceptance criterion:\n" + "\n".join(lines)
    )
