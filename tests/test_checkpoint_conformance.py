"""LangGraph's checkpointer conformance suite against WAVECheckpointSaver, on both backends."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.report import CapabilityReport

from wave_tui.checkpoint import WAVECheckpointSaver
from wave_tui.db import Database


async def _run_suite(database: Database) -> CapabilityReport:
    @checkpointer_test(name=f"WAVECheckpointSaver[{database.url.get_backend_name()}]")
    async def factory() -> AsyncGenerator[WAVECheckpointSaver, None]:
        # A new saver per capability suite, as the suite asks; all share the migrated database.
        yield WAVECheckpointSaver(database)

    return await validate(factory)


def _failures(report: CapabilityReport) -> str:
    lines = [
        f"{name}: {failure}"
        for name, result in report.results.items()
        for failure in result.failures
    ]
    missing = [name for name, result in report.results.items() if not result.detected]
    return "\n".join([*lines, f"not detected: {missing}"])


async def test_the_saver_passes_every_base_capability_of_the_conformance_suite(
    database: Database,
) -> None:
    report = await _run_suite(database)
    assert report.passed_all_base(), _failures(report)


async def test_the_saver_also_passes_delete_for_runs_copy_thread_and_prune(
    database: Database,
) -> None:
    report = await _run_suite(database)
    extended = {name: report.results[name] for name in ("delete_for_runs", "copy_thread", "prune")}
    assert all(result.detected for result in extended.values()), _failures(report)
    assert report.passed_all(), _failures(report)
    assert report.conformance_level() == "FULL"
