"""What a real test run proved: counts and failures from pytest's JUnit XML, evidence per AC.

Pass or fail comes from the exit code and this report, never from words in an LLM reply.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class CaseResult:
    name: str  # "tests/test_slug.py::test_ac_1_lowercases"
    outcome: str  # passed, failed, error, skipped
    message: str = ""


@dataclass(frozen=True, slots=True)
class RunReport:
    exit_code: int
    cases: tuple[CaseResult, ...] = field(default_factory=tuple)
    report_found: bool = True

    @property
    def passed(self) -> int:
        return self._count("passed")

    @property
    def failed(self) -> int:
        return self._count("failed") + self._count("error")

    @property
    def succeeded(self) -> bool:
        """Green only when pytest exited 0 and its report shows tests that ran and none failed."""
        return self.exit_code == 0 and self.report_found and self.passed > 0 and self.failed == 0

    def failures(self) -> list[CaseResult]:
        return [case for case in self.cases if case.outcome in {"failed", "error"}]

    def summary(self) -> str:
        if not self.report_found:
            return f"exit code {self.exit_code}, no test report was written"
        return f"{self.passed} passed, {self.failed} failed (exit code {self.exit_code})"

    def _count(self, outcome: str) -> int:
        return sum(1 for case in self.cases if case.outcome == outcome)


def parse_junit(path: Path, exit_code: int) -> RunReport:
    """Read pytest's `--junitxml` file; a missing or broken file is a failed run, not a pass."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return RunReport(exit_code, (), report_found=False)
    return RunReport(exit_code, tuple(_case(element) for element in root.iter("testcase")))


def _case(element: ET.Element) -> CaseResult:
    module = element.get("classname", "").replace(".", "/")
    name = f"{module}.py::{element.get('name', '')}" if module else element.get("name", "")
    for outcome in ("failure", "error", "skipped"):
        child = element.find(outcome)
        if child is not None:
            message = (child.get("message") or child.text or "").strip().splitlines()
            label = {"failure": "failed", "error": "error", "skipped": "skipped"}[outcome]
            return CaseResult(name, label, message[0] if message else "")
    return CaseResult(name, "passed")


def ac_evidence(report: RunReport, ac_ids: Iterable[str]) -> dict[str, list[str]]:
    """For each acceptance criterion, the passing tests that name it (`AC-2` ~ `test_ac_2_...`)."""
    evidence: dict[str, list[str]] = {}
    for ac_id in ac_ids:
        token = re.sub(r"[^a-z0-9]+", "_", ac_id.lower()).strip("_")
        pattern = re.compile(rf"(?<![a-z0-9]){re.escape(token)}(?![0-9])")
        evidence[ac_id] = [
            case.name
            for case in report.cases
            if case.outcome == "passed" and pattern.search(case.name.lower())
        ]
    return evidence


def uncovered(evidence: Mapping[str, list[str]]) -> list[str]:
    return [ac_id for ac_id, tests in evidence.items() if not tests]
