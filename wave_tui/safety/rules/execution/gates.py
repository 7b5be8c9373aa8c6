"""Quality gates and WAVE's own audit trail: test and lint runs whose failure is swallowed,
test suites left out, commit hooks uninstalled, an agent deciding its own escalation.

Each defeats a check the operator relies on without changing a line of the story's code.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from wave_tui.safety.context import SafetyContext
from wave_tui.safety.findings import Finding
from wave_tui.safety.rules.execution.catalogue import (
    MASKED_FAILURE,
    SELF_APPROVE,
    SKIP_HOOKS,
    SKIPPED_TESTS,
    WAVE_DATABASE,
)
from wave_tui.safety.rules.execution.common import Checker, show, split_args, word_set
from wave_tui.safety.rules.execution.interpreters import PYTHON, invocation
from wave_tui.safety.shell import SimpleCommand

_GATE_PROGRAMS = word_set("pytest py.test mypy ruff flake8 pylint black isort pyright bandit tox")
_GATE_PROGRAMS |= word_set("nox eslint tsc jest vitest mocha")
_GATE_TARGETS = word_set("test tests check lint ci verify typecheck")
_SUCCESS_SAYERS = frozenset({("true",), (":",), ("exit", "0"), ("return", "0")})
_ADMITS_FAILURE = re.compile(r"fail|error|broke|red\b|not ok|problem|✗|❌", re.I)
_TEST_ROOT = re.compile(r"^(\./)?(tests?|tests?/\*+|\*|tests?/\*\*/\*\.py|test_\*\.py)/?$")


def _gate_module(cmd: SimpleCommand) -> str:
    """The program a quality gate runs: itself, or the module of `python -m MODULE`."""
    if re.match(r"^(python|pypy)[0-9.]*$", cmd.program):
        return invocation(PYTHON, cmd.argv[1:]).module or ""
    return cmd.program


def _is_gate(cmd: SimpleCommand) -> bool:
    args = cmd.argv[1:]
    if _gate_module(cmd) in _GATE_PROGRAMS:
        return True
    if cmd.program == "make":
        return bool(set(split_args(args, word_set("-C -f -j")).operands) & _GATE_TARGETS)
    if cmd.program in ("npm", "pnpm", "yarn", "bun"):
        return args[:1] == ("test",) or (args[:1] == ("run",) and set(args[1:2]) <= _GATE_TARGETS)
    checks = {"go": ("test", "vet"), "cargo": ("test", "clippy"), "pre-commit": ("run",)}
    return bool(args) and args[0] in checks.get(cmd.program, ())


def masked_gate(cmd: SimpleCommand) -> list[Finding]:
    """`pytest || true`, `make test; exit 0`, `ruff check --exit-zero`: the run looks green
    whatever it found. A fallback that says the run failed (`|| echo "tests failed"`) is not
    masking; a pipe into `tail` or `tee` is ordinary and not judged."""
    if not _is_gate(cmd):
        return []
    found: list[Finding] = []
    fallback = cmd.followed_by
    says_fine = fallback in _SUCCESS_SAYERS or (
        fallback[:1] in (("echo",), ("printf",))
        and not _ADMITS_FAILURE.search(" ".join(fallback[1:]))
    )
    swallowed = cmd.connector == "||" and says_fine
    swallowed |= cmd.connector == ";" and fallback in _SUCCESS_SAYERS
    if swallowed:
        found.append(MASKED_FAILURE.finding(f"{show(cmd)} {cmd.connector} {shlex.join(fallback)}"))
    elif "--exit-zero" in cmd.argv:
        found.append(MASKED_FAILURE.finding(show(cmd)))
    if _gate_module(cmd) in ("pytest", "py.test") and _leaves_tests_out(cmd.argv[1:]):
        found.append(SKIPPED_TESTS.finding(show(cmd)))
    return found


def _leaves_tests_out(args: Sequence[str]) -> bool:
    """`--ignore=tests` leaves the suite out; `--deselect tests/test_x.py` a whole module.
    Deselecting one test (`file.py::test_name`) is everyday work and stays allowed."""
    parsed = split_args(args, word_set("--ignore --ignore-glob --deselect"))
    ignored = parsed.value("--ignore", "--ignore-glob")
    deselected = parsed.value("--deselect")
    return any(_TEST_ROOT.match(p) for p in ignored) or any("::" not in p for p in deselected)


def _pre_commit(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    return [SKIP_HOOKS.finding(show(cmd))] if "uninstall" in cmd.argv[1:2] else []


def _wave(cmd: SimpleCommand, ctx: SafetyContext) -> list[Finding]:
    """An agent never decides its own escalations, nor touches WAVE's database."""
    operands = split_args(cmd.argv[1:], word_set("--database --db --config -c")).operands
    if "--help" in cmd.argv or "-h" in cmd.argv:
        return []
    if operands[:1] in (("approve",), ("reject",)):
        return [SELF_APPROVE.finding(show(cmd))]
    if operands[:1] == ("db",) and operands[1:2] != ("upgrade",):
        return [WAVE_DATABASE.finding(show(cmd))]
    return []


# The programs this module judges, by name.
CHECKERS: dict[str, Checker] = {
    "pre-commit": _pre_commit,
    "wave": _wave,
}
