"""The `wave` command as a user runs it: a real process, real files, exit codes and streams."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from wave_tui import __version__
from wave_tui.db import Database, SessionRepository, StoryExecutionRepository, head_revision


def wave(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wave_tui", *args], capture_output=True, text=True, timeout=120
    )


def _one_line_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("wave: error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


async def _seed(path: Path) -> list[str]:
    database = Database(f"sqlite+aiosqlite:///{path}")
    await database.upgrade()
    ids = []
    async with database.session() as db:
        first = await SessionRepository(db).create("older-project", 1)
        ids.append(str(first.id))
    await asyncio.sleep(0.01)
    async with database.session() as db:
        second = await SessionRepository(db).create("newer-project", 2, story_count=1)
        await SessionRepository(db).start_session(second.id)
        story = await StoryExecutionRepository(db).create(second.id, "S-1", "crashed story")
        await StoryExecutionRepository(db).start_execution(story.id)
        ids.append(str(second.id))
    await database.dispose()
    return ids


def test_sessions_json_on_an_empty_database_is_an_empty_list(tmp_path: Path) -> None:
    result = wave("--db", str(tmp_path / "wave.db"), "sessions", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


SESSION = "6f1a0000-0000-0000-0000-000000000000"


@pytest.mark.parametrize(
    "command",
    [
        ["stats"],
        ["backup"],
        ["escalations"],
        ["approve", "1"],
        ["status", SESSION],
        ["checkpoints", SESSION],
        ["hold", SESSION],
        ["kill", SESSION, "--reason", "x"],
        ["resume", SESSION, "--headless"],
        ["attach", SESSION],
        ["prune"],
        ["vacuum"],
    ],
    ids=lambda command: command[0],
)
def test_a_command_on_a_database_that_does_not_exist_creates_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "typo" / "wave.db"
    line = _one_line_error(wave(*command, "--db", str(missing)), 2)
    assert line == f"wave: error: no database at {missing}: `wave run` or `wave demo` creates one"
    assert not missing.parent.exists()


def test_sessions_json_lists_newest_first_with_the_documented_fields(tmp_path: Path) -> None:
    older, newer = asyncio.run(_seed(tmp_path / "wave.db"))
    result = wave("sessions", "--json", "--db", str(tmp_path / "wave.db"))
    assert result.returncode == 0, result.stderr
    sessions = json.loads(result.stdout)
    assert [s["id"] for s in sessions] == [newer, older]
    required = {
        "id", "project_name", "wave_number", "status", "story_count", "stories_completed",
        "stories_failed", "budget_usd", "actual_cost_usd", "created_at",
    }  # fmt: skip
    assert required <= set(sessions[0])
    assert sessions[0]["status"] == "in_progress"
    assert sessions[1]["project_name"] == "older-project"
    assert isinstance(sessions[0]["budget_usd"], float)


def test_sessions_resumable_and_the_human_table(tmp_path: Path) -> None:
    _older, newer = asyncio.run(_seed(tmp_path / "wave.db"))
    db = str(tmp_path / "wave.db")
    resumable = json.loads(wave("--db", db, "sessions", "--resumable", "--json").stdout)
    assert [s["id"] for s in resumable] == [newer]
    table = wave("--db", db, "sessions")
    assert table.returncode == 0
    header, *rows = table.stdout.splitlines()
    assert header.split()[:4] == ["ID", "PROJECT", "WAVE", "STATUS"]
    assert [row.split()[1] for row in rows] == ["newer-project", "older-project"]
    # No subcommand: for now, `wave` shows the sessions list.
    assert wave("--db", db).stdout == table.stdout


@pytest.mark.parametrize("url", ["mysql://user@host/db", "definitely not a url", "sqlite://"])
def test_a_bad_database_url_is_one_line_exit_2_and_touches_nothing(
    tmp_path: Path, url: str
) -> None:
    line = _one_line_error(wave("--database-url", url, "sessions", "--json"), 2)
    assert "database URL" in line
    assert not (tmp_path / "data").exists()


def test_invalid_configuration_is_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONSTITUTIONAL_ESCALATE_THRESHOLD", "1.5")
    line = _one_line_error(wave("sessions"), 2)
    assert "CONSTITUTIONAL_ESCALATE_THRESHOLD" in line
    assert not (tmp_path / "data").exists()


def test_usage_errors_are_one_line_exit_2() -> None:
    assert "invalid choice" in _one_line_error(wave("frobnicate"), 2)
    assert "unrecognized arguments: --bogus" in _one_line_error(wave("sessions", "--bogus"), 2)


def test_an_unreachable_server_is_an_operational_failure_without_the_password() -> None:
    line = _one_line_error(
        wave("--database-url", "postgresql://wave:s3cret@127.0.0.1:9/wave", "sessions"), 1
    )
    assert "s3cret" not in line
    assert "127.0.0.1:9" in line


def test_an_unusable_database_path_is_one_line_exit_1(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    line = _one_line_error(wave("--db", str(blocker / "wave.db"), "sessions"), 1)
    assert "cannot open the database" in line


def test_version_and_help() -> None:
    version = wave("--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"wave {__version__}")
    help_text = wave("--help")
    assert help_text.returncode == 0
    for command in ("sessions", "stats", "db", "backup", "--database-url", "--db"):
        assert command in help_text.stdout


def test_stats_json_is_one_document(tmp_path: Path) -> None:
    asyncio.run(_seed(tmp_path / "wave.db"))
    result = wave("--db", str(tmp_path / "wave.db"), "stats", "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["sessions"] == 2
    assert stats["stories_by_status"] == {"in_progress": 1}
    assert stats["resumable_sessions"] == 1
    assert stats["database"] == str(tmp_path / "wave.db")


def test_db_upgrade_creates_and_reports_the_schema(tmp_path: Path) -> None:
    result = wave("--db", str(tmp_path / "new" / "wave.db"), "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert f"schema revision {head_revision()} (head)" in result.stdout
    assert (tmp_path / "new" / "wave.db").exists()


def test_backup_writes_a_timestamped_copy_and_never_overwrites(tmp_path: Path) -> None:
    asyncio.run(_seed(tmp_path / "wave.db"))
    result = wave("--db", str(tmp_path / "wave.db"), "backup")
    assert result.returncode == 0, result.stderr
    copy = Path(result.stdout.strip())
    assert copy.parent == tmp_path / "backups"
    assert copy.name.startswith("wave-")
    assert copy.suffix == ".db"
    with sqlite3.connect(copy) as connection:
        names = {row[0] for row in connection.execute("SELECT project_name FROM wave_sessions")}
    assert names == {"older-project", "newer-project"}
    assert not list(copy.parent.glob("*.partial"))

    chosen = tmp_path / "chosen.db"
    assert wave("--db", str(tmp_path / "wave.db"), "backup", str(chosen)).returncode == 0
    assert chosen.exists()
    line = _one_line_error(wave("--db", str(tmp_path / "wave.db"), "backup", str(chosen)), 2)
    assert "never overwrites" in line


@pytest.mark.postgres
def test_backup_on_postgresql_points_to_pg_dump(postgres_url: str) -> None:
    line = _one_line_error(wave("--database-url", postgres_url, "backup"), 2)
    assert "pg_dump" in line


def test_run_refuses_bad_stories_and_a_missing_script_before_touching_anything(
    tmp_path: Path,
) -> None:
    (tmp_path / "bad.yaml").write_text("id: X-1\nprompt: no title\n")
    project = tmp_path / "project"
    project.mkdir()
    db = str(tmp_path / "wave.db")
    line = _one_line_error(wave("--db", db, "run", str(tmp_path / "bad.yaml"), "--project",
                                str(project)), 2)  # fmt: skip
    assert "bad.yaml" in line
    assert "title" in line
    (tmp_path / "ok.yaml").write_text("id: X-1\ntitle: t\nprompt: p\n")
    line = _one_line_error(wave("--db", db, "run", str(tmp_path / "ok.yaml"), "--project",
                                str(project)), 2)  # fmt: skip
    assert "--script" in line
    assert not (tmp_path / "wave.db").exists()
