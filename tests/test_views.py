"""Each story's gate strip: eight cells from its status, the gate it stands at and its verdicts."""

from __future__ import annotations

import pytest

from wave_tui.domain.enums import (
    StoryStatus,
)
from wave_tui.domain.gates import Gate
from wave_tui.engine.views import (
    CURRENT,
    FAILED,
    NOT_REACHED,
    PASSED,
    gate_strip,
)

P, C, F, N = PASSED, CURRENT, FAILED, NOT_REACHED


# -- the gate strip -----------------------------------------------------------------------------


def test_a_complete_story_shows_all_eight_gates_passed_whatever_it_recorded() -> None:
    assert gate_strip(StoryStatus.COMPLETE, None, {}) == (P,) * 8
    assert gate_strip(StoryStatus.COMPLETE, Gate.GATE_4, {"gate-4": False}) == (P,) * 8


@pytest.mark.parametrize("status", [StoryStatus.FAILED, StoryStatus.CANCELLED])
def test_a_story_that_ended_unfinished_shows_failed_at_its_current_gate(
    status: StoryStatus,
) -> None:
    passed = {"gate-0": True, "gate-1": True, "gate-2": True}
    assert gate_strip(status, Gate.GATE_3, passed) == (P, P, P, F, N, N, N, N)
    # Without verdicts (rows only), the gates before the current one were passed to reach it.
    assert gate_strip(status, Gate.GATE_2, {}) == (P, P, F, N, N, N, N, N)


@pytest.mark.parametrize("status", [StoryStatus.FAILED, StoryStatus.CANCELLED])
def test_a_story_that_ended_before_its_first_step_shows_failed_at_gate_0(
    status: StoryStatus,
) -> None:
    assert gate_strip(status, None, {}) == (F, N, N, N, N, N, N, N)


def test_a_running_story_shows_the_gate_it_stands_at_as_current() -> None:
    passed = {"gate-0": True, "gate-1": True, "gate-2": True}
    assert gate_strip(StoryStatus.IN_PROGRESS, Gate.GATE_3, passed) == (P, P, P, C, N, N, N, N)


def test_a_gate_4_fail_shows_failed_while_the_story_goes_back_to_dev() -> None:
    verdicts = {"gate-0": True, "gate-1": True, "gate-2": True, "gate-3": True, "gate-4": False}
    strip = gate_strip(StoryStatus.IN_PROGRESS, Gate.GATE_4, verdicts)
    assert strip == (P, P, P, P, F, N, N, N)


def test_a_story_that_never_started_has_reached_no_gate() -> None:
    assert gate_strip(StoryStatus.PENDING, None, {}) == (N,) * 8
