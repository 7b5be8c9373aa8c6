"""The console benchmark at a tiny size: it drives the real dashboard, counts what it measures,
and reports both ways of following a session side by side (no timing is asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.screen import Screen

from bench.tui import MODES, Figures, measure, report

STORIES, RATE, PRESSES = 5, 60.0, 8


@pytest.mark.parametrize("mode", ["local", "attached"])
async def test_the_benchmark_measures_presses_frames_and_events_on_a_busy_dashboard(
    tmp_path: Path, mode: str
) -> None:
    update_screen = Screen._on_timer_update
    figures = await measure(tmp_path, mode, stories=STORIES, rate=RATE, presses=PRESSES)

    assert figures.mode == MODES[mode]
    assert figures.presses == PRESSES
    assert len(figures.key_ms) + figures.missed == PRESSES
    assert figures.key_ms
    assert min(figures.key_ms) > 0
    assert figures.written > 0
    assert figures.written_s > 0
    assert figures.applied > 0
    assert len(figures.lag_ms) == figures.applied
    assert figures.flushes > 0
    assert figures.flush_ms
    assert figures.frames > 0
    assert figures.frame_ms
    assert figures.seconds > 0
    assert figures.cpu_s > 0
    # The patch that times Textual's screen updates is undone once the run ends.
    assert Screen._on_timer_update is update_screen


def test_the_report_puts_both_ways_of_following_side_by_side() -> None:
    local = Figures(MODES["local"], seconds=2.0, written=500, written_s=2.0, applied=480,
                    presses=3, key_ms=[12.0, 30.0, 95.0], flushes=10, frames=30)  # fmt: skip
    attached = Figures(MODES["attached"], seconds=2.0, written=450, written_s=2.0, applied=440,
                       presses=3, missed=1, key_ms=[40.0, 60.0])  # fmt: skip

    text = report([local, attached], STORIES, RATE)

    lines = text.splitlines()
    assert "| measure | local bus | attached (tailing the database) |" in lines
    assert "| events written / s | 250 | 225 |" in lines
    assert "| events taken in by the dashboard / s | 240 | 220 |" in lines
    assert "| key presses (not on screen within 5 s) | 3 (0) | 3 (1) |" in lines
    assert "| **key → screen** | **30 / 95 / 95 ms** | **50 / 60 / 60 ms** |" in lines
    assert "| flushes / s | 5.0 | 0.0 |" in lines
    assert lines[-1] == (
        "The target (issue 6) is a p95 key → screen under 100 ms with at least 200 events/s: "
        "local bus met (95 ms); attached (tailing the database) not met (60 ms)."
    )


def test_the_report_does_not_judge_the_target_below_200_events_a_second() -> None:
    slow = Figures(MODES["local"], seconds=2.0, applied=300, presses=2, key_ms=[20.0, 30.0])

    text = report([slow], STORIES, RATE)

    assert text.endswith("local bus not at that load (150 events/s taken in; p95 30 ms).")
