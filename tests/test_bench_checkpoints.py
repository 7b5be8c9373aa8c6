"""The checkpoint benchmark at a tiny size: both savers run the same workload to the same state,
and the table reports every measure with its verdicts (no timing is asserted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import checkpoints


async def test_both_savers_end_the_workload_alike_and_every_measure_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "PASSES": 3,
        "THREADS": 3,
        "CONCURRENT_PASSES": 2,
        "GET_CALLS": 3,
        "LIST_RUNS": 2,
        "PUT_WRITES_CALLS": 3,
    }.items():
        monkeypatch.setattr(checkpoints, name, value)

    results = await checkpoints.measure_all(tmp_path, None)

    assert [r.name for r in results] == [
        "AsyncSqliteSaver (default durability)",
        "AsyncSqliteSaver sync",
        "ours SQLite sync",
        "ours SQLite (default durability)",
    ]
    # 3 passes of 10 nodes: each pass writes a checkpoint before and after its input, and one
    # per node.
    assert {r.checkpoints for r in results} == {3 * 12}
    for figures in results:
        assert figures.final["step"] == 30
        assert len(figures.final["messages"]) == 30
        assert figures.size > 0
        assert figures.concurrent_size > 0
        assert min(figures.step_median, figures.list_all, figures.get_latest) > 0
        assert figures.put_writes > 0
    table = checkpoints.table(results)
    lines = table.splitlines()
    assert len(lines) == 2 + 10
    assert all(line.count("|") == len(results) + 5 for line in lines)
    assert "alist of those 36 checkpoints" in table
    # Each target row carries a verdict.
    assert sum(line.endswith(("| yes |", "| **no** |")) for line in lines) == 3
