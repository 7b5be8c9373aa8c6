"""The Dev agent's tools stay inside the worktree; commands time out, cap output, hide secrets."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.process_helpers import wait_until_gone
from wave_tui.workspace import WorkspaceError, WorkspaceTools, matches_glob, run_command


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A worktree-like directory with a .git file, some code, and a secret next door."""
    workspace = tmp_path / "worktree"
    (workspace / "src").mkdir(parents=True)
    (workspace / "src" / "app.py").write_text("print('hi')\n")
    (workspace / ".git").write_text("gitdir: /somewhere/else\n")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "secret.txt").write_text("operator's secret\n")
    return workspace


@pytest.fixture
def tools(root: Path) -> WorkspaceTools:
    return WorkspaceTools(root, forbidden=["secrets/**", "*.pem"], command_timeout=10)


def snapshot(directory: Path) -> set[str]:
    return {str(path.relative_to(directory)) for path in directory.rglob("*")}


async def test_write_then_read_then_list_inside_the_workspace(
    tools: WorkspaceTools, root: Path
) -> None:
    written = await tools.write_file("pkg/sub/module.py", "x = 1\n")

    assert written.ok, written.content
    assert written.files_written == ("pkg/sub/module.py",)
    assert (root / "pkg" / "sub" / "module.py").read_text() == "x = 1\n"
    read = await tools.read_file("./pkg/sub/../sub/module.py")
    assert read.ok
    assert read.content == "x = 1\n"
    listing = await tools.list_files()
    assert listing.content.splitlines() == ["pkg/sub/module.py", "src/app.py"]
    assert (await tools.list_files("src")).content == "src/app.py"


async def test_read_of_a_missing_file_or_directory_is_an_error_not_an_exception(
    tools: WorkspaceTools,
) -> None:
    missing = await tools.read_file("nope.py")
    assert not missing.ok
    assert "does not exist" in missing.content
    directory = await tools.read_file("src")
    assert not directory.ok
    assert "is a directory" in directory.content


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../x", "leaves the workspace"),
        ("src/../../x", "leaves the workspace"),
        ("/etc/passwd", "is absolute"),
        ("/tmp/x", "is absolute"),
        (".git/config", "inside .git"),
        ("src/.git/hooks/pre-commit", "inside .git"),
        ("secrets/api.txt", "forbidden pattern 'secrets/**'"),
        ("secrets/deep/nested.txt", "forbidden pattern 'secrets/**'"),
        ("certs/server.pem", "forbidden pattern '*.pem'"),
        ("key.pem", "forbidden pattern '*.pem'"),
    ],
)
async def test_write_outside_the_rules_is_refused_and_leaves_nothing_behind(
    tools: WorkspaceTools, root: Path, tmp_path: Path, path: str, reason: str
) -> None:
    before = snapshot(tmp_path)

    result = await tools.write_file(path, "pwned\n")

    assert not result.ok
    assert result.content.startswith("refused: ")
    assert reason in result.content
    assert result.files_written == ()
    assert snapshot(tmp_path) == before


async def test_reading_system_files_or_git_internals_is_refused(tools: WorkspaceTools) -> None:
    for path in ("/etc/passwd", "../elsewhere/secret.txt", ".git", "secrets/x", "a.pem"):
        result = await tools.read_file(path)
        assert not result.ok
        assert result.content.startswith("refused: "), path


async def test_symlink_pointing_outside_cannot_be_written_or_read_through(
    tools: WorkspaceTools, root: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    (root / "outside").symlink_to(elsewhere)
    (root / "leak.txt").symlink_to(elsewhere / "secret.txt")

    write = await tools.write_file("outside/x", "pwned\n")
    overwrite = await tools.write_file("leak.txt", "pwned\n")
    nested = await tools.write_file("outside/new/dir/x", "pwned\n")
    read = await tools.read_file("leak.txt")

    for result in (write, overwrite, nested, read):
        assert not result.ok
        assert "outside the workspace" in result.content
    assert sorted(p.name for p in elsewhere.iterdir()) == ["secret.txt"]
    assert (elsewhere / "secret.txt").read_text() == "operator's secret\n"


async def test_symlink_inside_the_workspace_into_a_forbidden_directory_is_refused(
    tools: WorkspaceTools, root: Path
) -> None:
    (root / "secrets").mkdir()
    (root / "innocent").symlink_to(root / "secrets")

    result = await tools.write_file("innocent/token.txt", "x")

    assert not result.ok
    assert "forbidden pattern 'secrets/**'" in result.content
    assert list((root / "secrets").iterdir()) == []


async def test_listing_hides_git_and_forbidden_files(tools: WorkspaceTools, root: Path) -> None:
    (root / "secrets").mkdir()
    (root / "secrets" / "db.txt").write_text("x")
    (root / "server.pem").write_text("x")
    (root / "empty").mkdir()

    listing = await tools.list_files(".")

    assert listing.content.splitlines() == ["empty/", "src/app.py"]


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("secrets/a.txt", "secrets/**", True),
        ("secrets/a/b.txt", "secrets/**", True),
        ("secrets", "secrets/**", False),
        ("src/secrets.py", "secrets/**", False),
        ("a/b/c.pem", "*.pem", True),
        ("a/b/c.pem.txt", "*.pem", False),
        ("config/prod/db.yml", "config/**/db.yml", True),
        ("config/db.yml", "config/**/db.yml", True),
        ("migrations/0001.py", "migrations", True),
        ("src/app.py", "src/*.py", True),
        ("src/sub/app.py", "src/*.py", False),
        (".env", ".env", True),
        ("web/.env", ".env", True),
    ],
)
def test_forbidden_globs_match_like_gitignore_with_double_star(
    path: str, pattern: str, expected: bool
) -> None:
    assert matches_glob(path, pattern) is expected


async def test_tool_specs_describe_four_tools_for_the_messages_api(tools: WorkspaceTools) -> None:
    specs = tools.tool_specs()

    assert [spec["name"] for spec in specs] == [
        "write_file",
        "read_file",
        "list_files",
        "run_command",
    ]
    for spec in specs:
        assert spec["description"]
        assert spec["input_schema"]["type"] == "object"
    specs[0]["input_schema"]["required"].append("mutated")
    assert "mutated" not in tools.tool_specs()[0]["input_schema"]["required"]


async def test_dispatch_runs_a_tool_and_refuses_bad_calls_without_raising(
    tools: WorkspaceTools, root: Path
) -> None:
    written = await tools.dispatch("write_file", {"path": "a.txt", "content": "A"})
    assert written.ok
    assert (root / "a.txt").read_text() == "A"

    bad_calls: dict[tuple[str, str], dict[str, Any]] = {
        ("delete_everything", "unknown tool 'delete_everything'"): {},
        ("write_file", "missing argument(s) content"): {"path": "b.txt"},
        ("write_file", "argument 'content' must be a string"): {"path": "b.txt", "content": 3},
        ("read_file", "unexpected argument(s) mode"): {"path": "a.txt", "mode": "rb"},
        ("run_command", "argument 'argv' must be a list of strings"): {"argv": "rm -rf /"},
        ("run_command", "argument 'timeout' must be a number"): {"argv": ["ls"], "timeout": "9"},
    }
    for (name, reason), arguments in bad_calls.items():
        result = await tools.dispatch(name, arguments)
        assert not result.ok
        assert reason in result.content, result.content
    assert not (root / "b.txt").exists()


async def test_tool_run_command_reports_exit_code_and_output_in_the_workspace(
    tools: WorkspaceTools, root: Path
) -> None:
    result = await tools.dispatch("run_command", {"argv": ["sh", "-c", "pwd; ls src; exit 4"]})

    assert not result.ok
    assert result.exit_code == 4
    assert "exit code 4" in result.content
    assert str(root) in result.content
    assert "app.py" in result.content
    assert (await tools.run_command(["true"])).ok


async def test_tool_run_command_timeout_is_capped_by_the_operator_setting(root: Path) -> None:
    tools = WorkspaceTools(root, command_timeout=0.5)

    result = await tools.run_command(["sleep", "30"], timeout=600)

    assert result.timed_out
    assert not result.ok
    assert "timed out" in result.content


async def test_run_command_returns_exit_code_and_interleaved_output(tmp_path: Path) -> None:
    result = await run_command(
        ["sh", "-c", "echo out; echo err >&2; echo out2; exit 3"], cwd=tmp_path, timeout=10
    )

    assert result.exit_code == 3
    assert not result.timed_out
    assert result.output.splitlines() == ["out", "err", "out2"]
    assert result.argv == ("sh", "-c", "echo out; echo err >&2; echo out2; exit 3")
    assert result.duration_s >= 0


async def test_run_command_caps_output_and_says_how_much_was_cut(tmp_path: Path) -> None:
    script = "print('HEAD'); print('x' * 100_000); print('TAIL')"
    result = await run_command(
        [sys.executable, "-c", script], cwd=tmp_path, timeout=10, output_cap=1_000
    )

    assert result.exit_code == 0
    assert result.output.startswith("HEAD")
    assert result.output.rstrip().endswith("TAIL")
    assert "[… 99011 bytes cut]" in result.output
    assert len(result.output) < 1_100


async def test_run_command_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    script = "sleep 100 & echo $! > bg.pid; sleep 100"

    result = await run_command(["sh", "-c", script], cwd=tmp_path, timeout=1)

    assert result.timed_out
    assert result.exit_code != 0
    assert "timed out after 1s" in result.output
    assert result.duration_s < 10
    background = int((tmp_path / "bg.pid").read_text())
    assert await wait_until_gone(background)


async def test_run_command_leaves_no_background_child_running_after_it_exits(
    tmp_path: Path,
) -> None:
    result = await run_command(
        ["sh", "-c", "sleep 100 & echo $! > bg.pid; exit 0"], cwd=tmp_path, timeout=10
    )

    assert result.exit_code == 0
    assert result.duration_s < 5
    assert await wait_until_gone(int((tmp_path / "bg.pid").read_text()))


async def test_run_command_of_a_missing_program_exits_127_with_one_line(tmp_path: Path) -> None:
    result = await run_command(["no-such-program-wave", "--help"], cwd=tmp_path, timeout=10)

    assert result.exit_code == 127
    assert result.output == "no-such-program-wave: command not found"
    assert not result.timed_out


async def test_child_environment_hides_the_operators_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secrets = {
        "ANTHROPIC_API_KEY": "sk-ant-secret-value-1234",
        "WAVE_ANTHROPIC_API_KEY": "sk-ant-other",
        "GITHUB_TOKEN": "ghp_x",
        "AWS_SECRET_ACCESS_KEY": "aws",
        "DB_PASSWORD": "hunter2",
        "DATABASE_URL": "postgresql://u:pw@h/db",
        "WAVE_DATABASE_URL": "postgresql://u:pw@h/db",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HARMLESS_SETTING", "visible")

    result = await run_command(["env"], cwd=tmp_path, timeout=10, env={"EXTRA": "given"})

    names = {line.split("=", 1)[0] for line in result.output.splitlines()}
    assert names.isdisjoint(secrets)
    assert "sk-ant" not in result.output
    assert "HARMLESS_SETTING=visible" in result.output.splitlines()
    assert "EXTRA=given" in result.output.splitlines()
    assert "PATH" in names
    assert os.environ["ANTHROPIC_API_KEY"] == "sk-ant-secret-value-1234"


async def test_cancelling_a_running_command_kills_its_process_group(tmp_path: Path) -> None:
    task = asyncio.create_task(
        run_command(
            ["sh", "-c", "sleep 100 & echo $! > bg.pid; sleep 100"], cwd=tmp_path, timeout=60
        )
    )
    pid_file = tmp_path / "bg.pid"
    for _ in range(100):
        if pid_file.exists() and pid_file.read_text().strip():
            break
        await asyncio.sleep(0.05)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await wait_until_gone(int(pid_file.read_text()))


async def test_run_command_of_a_file_that_is_not_executable_exits_126(tmp_path: Path) -> None:
    (tmp_path / "script.sh").write_text("echo hi\n")

    result = await run_command(["./script.sh"], cwd=tmp_path, timeout=10)

    assert result.exit_code == 126
    assert result.output == "./script.sh: Permission denied"


async def test_run_command_in_a_missing_directory_is_a_workspace_error(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="does not exist"):
        await run_command(["true"], cwd=tmp_path / "gone", timeout=10)
