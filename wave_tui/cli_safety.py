"""`wave safety check` and `wave safety rules`: the safety layer from the command line.

No database and no model provider are touched, so it starts quickly: `check` scores one action
the way a run would and exits 0 whatever the verdict (2 only for bad input).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from wave_tui.config import Settings
from wave_tui.domain.story import Story, load_stories
from wave_tui.errors import UserError
from wave_tui.safety import SafetyContext, SafetyEvaluation, Thresholds, evaluate_tool_call
from wave_tui.safety.rule_guard import load_policy
from wave_tui.safety.rules import REGISTRY


def add_parsers(commands: Any) -> None:
    safety = commands.add_parser("safety", help="score an action; list the safety rules")
    safety_commands = safety.add_subparsers(title="commands", metavar="COMMAND", required=True)
    check = safety_commands.add_parser(
        "check",
        help="score one tool call with the safety layer, exactly as a run would",
        description="Prints the evaluation and exits 0 whatever it says; 2 for bad input.",
    )
    check.add_argument("--tool", required=True, metavar="NAME", help="e.g. bash, write_file")
    check.add_argument("--args", required=True, metavar="JSON", help='e.g. \'{"command": "ls"}\'')
    check.add_argument("--context", default="", metavar="TEXT", help="what the action is for")
    check.add_argument("--story", type=Path, metavar="FILE", help="judge within this story's rules")
    check.add_argument("--story-id", metavar="ID", help="the story, when FILE holds several")
    check.add_argument(
        "--worktree", type=Path, metavar="DIR", help="relative paths are inside it (default: .)"
    )
    check.add_argument("--policy", type=Path, metavar="FILE", help="default: ./wave-policy.toml")
    check.add_argument("--json", action="store_true", help="print the evaluation as JSON")
    check.set_defaults(offline=cmd_safety_check)

    rules = safety_commands.add_parser("rules", help="list every built-in rule id")
    rules.add_argument("--json", action="store_true", help="print one JSON list")
    rules.set_defaults(offline=cmd_safety_rules)


# -- safety check ----------------------------------------------------------------------------


def cmd_safety_check(args: argparse.Namespace, settings: Settings) -> int:
    try:
        arguments = json.loads(args.args)
    except json.JSONDecodeError as error:
        raise UserError(f"--args is not valid JSON: {error}") from None
    if not isinstance(arguments, dict):
        raise UserError('--args must be a JSON object, e.g. \'{"command": "ls"}\'')
    worktree = (args.worktree or Path.cwd()).expanduser().resolve()
    context = _context(args, worktree)
    policy_path = args.policy if args.policy is not None else settings.policy_path(worktree)
    if args.policy is not None and not args.policy.is_file():
        raise UserError(f"--policy {args.policy}: no such file")
    policy = load_policy(policy_path)
    thresholds = Thresholds.of(settings)
    started = time.perf_counter()
    evaluation = evaluate_tool_call(
        args.tool, arguments, context, policy=policy, thresholds=thresholds
    )
    elapsed_ms = (time.perf_counter() - started) * 1000
    if args.json:
        print(json.dumps({**evaluation.as_dict(), "elapsed_ms": round(elapsed_ms, 3)}))
    else:
        print(_describe(evaluation, elapsed_ms))
    return 0


def _context(args: argparse.Namespace, worktree: Path) -> SafetyContext:
    if args.story is None:
        if args.story_id:
            raise UserError("--story-id needs --story FILE")
        return SafetyContext(text=args.context, worktree=PurePosixPath(worktree))
    story = _one_story(load_stories([args.story]), args.story_id, args.story)
    text = "\n".join(part for part in (args.context, f"story {story.id}: {story.title}") if part)
    return SafetyContext.for_story(story, worktree, text=text)


def _one_story(stories: Sequence[Story], wanted: str | None, source: Path) -> Story:
    if wanted is not None:
        for story in stories:
            if story.id == wanted:
                return story
        known = ", ".join(story.id for story in stories)
        raise UserError(f"--story-id {wanted}: not in {source} (it has {known})")
    if len(stories) != 1:
        known = ", ".join(story.id for story in stories)
        raise UserError(
            f"{source} holds {len(stories)} stories ({known}): pick one with --story-id"
        )
    return stories[0]


def _describe(evaluation: SafetyEvaluation, elapsed_ms: float) -> str:
    limits = evaluation.thresholds
    lines = [
        f"{evaluation.decision.value.upper()}  score {evaluation.score:.2f}  "
        f"(block below {limits.block:.2f}, review below {limits.escalate:.2f})",
        f"decided by: {evaluation.decided_by or 'no rule fired'} ({evaluation.layer} layer)",
    ]
    if evaluation.violations:
        lines.append("violations:")
        lines += [f"  - {violation}" for violation in evaluation.violations]
    if evaluation.risks:
        lines.append("risks:")
        lines += [f"  - {risk}" for risk in evaluation.risks]
    if evaluation.waived:
        lines.append("waived by policy: " + ", ".join(f.rule.id for f in evaluation.waived))
    lines.append(f"reasoning: {evaluation.reasoning}")
    lines.append(f"checked in {elapsed_ms:.1f} ms")
    return "\n".join(lines)


def cmd_safety_rules(args: argparse.Namespace, settings: Settings) -> int:
    rules = list(REGISTRY)
    if args.json:
        print(json.dumps([
            {"id": r.id, "principle": r.principle, "severity": str(r.severity), "score": r.score,
             "risk": r.risk}
            for r in rules
        ]))  # fmt: skip
        return 0
    width = max(len(rule.id) for rule in rules)
    for rule in rules:
        print(f"{rule.id:<{width}}  {rule.severity:<8}  {rule.principle:<34}  {rule.risk}")
    return 0


def main(argv: Sequence[str]) -> int:
    """`wave safety …` without loading the rest of the CLI (the entry point routes here)."""
    from wave_tui.cli_common import PROG, Parser, fail, output_closed
    from wave_tui.config import load_settings
    from wave_tui.errors import WaveError

    parser = Parser(prog=PROG)
    add_parsers(parser.add_subparsers(title="commands", metavar="COMMAND", required=True))
    try:
        args = parser.parse_args(["safety", *argv])
        settings = load_settings()
        return int(args.offline(args, settings))
    except WaveError as exc:
        return fail(str(exc), exc.exit_code)
    except BrokenPipeError:
        return output_closed()
    except OSError as exc:
        return fail(str(exc), 1)
