"""QA's verdict comes from a real pytest run: its exit code and its JUnit report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from wave_tui.agents.qa_report import ac_evidence, parse_junit, uncovered


def _pytest(project: Path, tests: str) -> tuple[int, Path]:
    (project / "tests").mkdir(parents=True, exist_ok=True)
    (project / "tests" / "test_feature.py").write_text(tests)
    report = project / "report.xml"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result.returncode, report


def test_a_green_run_maps_acceptance_criteria_to_passing_tests(tmp_path: Path) -> None:
    code, report_path = _pytest(
        tmp_path,
        "def test_ac_1_lowercases():\n    assert 'A'.lower() == 'a'\n\n"
        "def test_ac_2_joins_words():\n    assert '-'.join(['a', 'b']) == 'a-b'\n\n"
        "def test_helper():\n    assert True\n",
    )
    report = parse_junit(report_path, code)
    assert report.succeeded
    assert (report.passed, report.failed) == (3, 0)
    evidence = ac_evidence(report, ["AC-1", "AC-2", "AC-3"])
    assert evidence["AC-1"] == ["tests/test_feature.py::test_ac_1_lowercases"]
    assert evidence["AC-2"] == ["tests/test_feature.py::test_ac_2_joins_words"]
    assert uncovered(evidence) == ["AC-3"]


def test_a_failing_run_is_red_with_the_failure_message(tmp_path: Path) -> None:
    code, report_path = _pytest(
        tmp_path,
        "def test_ac_1_counts():\n    assert len('a b'.split()) == 3, 'counted 2 words'\n",
    )
    report = parse_junit(report_path, code)
    assert not report.succeeded
    assert report.failed == 1
    (failure,) = report.failures()
    assert failure.name.endswith("test_ac_1_counts")
    assert "counted 2 words" in failure.message
    assert ac_evidence(report, ["AC-1"]) == {"AC-1": []}  # a failing test is no evidence


def test_no_tests_or_no_report_is_never_a_pass(tmp_path: Path) -> None:
    code, report_path = _pytest(tmp_path, "")
    assert code == 5  # pytest: no tests collected
    assert not parse_junit(report_path, code).succeeded
    missing = parse_junit(tmp_path / "nowhere.xml", 0)
    assert not missing.succeeded
    assert "no test report" in missing.summary()


def test_ac_ids_match_whole_numbers_only(tmp_path: Path) -> None:
    code, report_path = _pytest(tmp_path, "def test_ac_12_big():\n    assert True\n")
    evidence = ac_evidence(parse_junit(report_path, code), ["AC-1", "AC-12"])
    assert evidence == {"AC-1": [], "AC-12": ["tests/test_feature.py::test_ac_12_big"]}
