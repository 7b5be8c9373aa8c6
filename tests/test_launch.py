"""Building a session's runner as `wave resume` and the console do: the session's own model, its
project's policy, the caller's lease owner and bus; on both databases."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from tests.engine_helpers import (
    cto_turn,
    dev_turns,
    make_project,
    pm_turn,
    write_script,
    write_story,
)
from wave_tui.config import Settings
from wave_tui.db import Database
from wave_tui.domain.enums import AutonomyLevel, SessionStatus
from wave_tui.domain.story import load_stories
from wave_tui.engine.events import EventBus
from wave_tui.engine.launch import run_meta, runner_for_session
from wave_tui.engine.sessions import create_session
from wave_tui.errors import NotFoundError, UserError
from wave_tui.llm import ReplayProvider, ReplayScript
from wave_tui.safety.rule_guard import RuleGuard


async def _session(bus: EventBus, tmp_path: Path, script: Path) -> uuid.UUID:
    """One story on a project with a policy file, started with the replay `script`."""
    project = make_project(tmp_path / "project")
    (project / "wave-policy.toml").write_text('deny = ["bash(npm publish*)"]\n')
    provider = ReplayProvider(ReplayScript.load(script))
    return await create_session(
        bus, load_stories([write_story(tmp_path / "story.yaml")]), project,
        budget_usd=Decimal(5), token_limit=100_000, story_budget_usd=Decimal(2),
        autonomy=AutonomyLevel.L3, run_meta=run_meta(provider, script),
    )  # fmt: skip


def _script(path: Path) -> Path:
    conversations = {"S-1/pm/1": pm_turn(), "S-1/dev/1": dev_turns("x * 2"),
                     "S-1/cto/1": cto_turn()}  # fmt: skip
    return write_script(path, conversations)


async def test_a_session_s_runner_replays_the_script_the_session_was_started_with(
    database: Database, tmp_path: Path, settings: Settings
) -> None:
    bus = EventBus(database)
    session_id = await _session(bus, tmp_path, _script(tmp_path / "script.yaml"))

    runner = await runner_for_session(
        database, session_id, settings, owner="console-1", on_escalation="reject", bus=bus
    )

    assert (runner.owner, runner.bus, runner.session_id) == ("console-1", bus, session_id)
    assert isinstance(runner.guard, RuleGuard)
    assert runner.guard.policy is not None  # the project's wave-policy.toml
    assert await runner.start() is SessionStatus.COMPLETED
    assert isinstance(runner.provider, ReplayProvider)
    assert runner.provider.calls == ["S-1/pm/1#0", "S-1/dev/1#0", "S-1/dev/1#1", "S-1/cto/1#0"]


async def test_a_session_whose_script_is_gone_is_refused_naming_the_file_unless_one_is_given(
    database: Database, tmp_path: Path, settings: Settings
) -> None:
    script = _script(tmp_path / "script.yaml")
    session_id = await _session(EventBus(database), tmp_path, script)
    script.unlink()

    with pytest.raises(UserError, match=re.escape(f"replay script {script.resolve()} is gone")):
        await runner_for_session(database, session_id, settings, owner="console-1")

    other = _script(tmp_path / "other.yaml")
    runner = await runner_for_session(
        database, session_id, settings, owner="console-1", script=other
    )
    assert isinstance(runner.provider, ReplayProvider)
    assert runner.bus.database is database  # a bus of its own on the same database


async def test_an_unknown_session_is_not_found(database: Database, settings: Settings) -> None:
    missing = uuid.uuid4()
    with pytest.raises(NotFoundError, match=str(missing)):
        await runner_for_session(database, missing, settings, owner="console-1")
