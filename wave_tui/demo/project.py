"""Lay out the demo project as a fresh git repository, and locate the shipped stories and script.

Everything is read from files next to this module, so an installed package finds them too.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from wave_tui.errors import UserError
from wave_tui.workspace.git import git

_HERE = Path(__file__).resolve().parent
TEMPLATE_DIR = _HERE / "template"

# Template files are stored under names that packaging and type checkers leave alone: a dotfile
# would not be shipped, and `.py` files importing `textkit` would be checked as wave_tui modules.
_TEMPLATE_SUFFIX = ".tmpl"
_RENAMES = {"gitignore": ".gitignore"}
_NOT_COPIED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
_FIRST_COMMIT = "textkit: the WAVE demo project"


class DemoProjectError(UserError):
    """The demo project cannot be created where the operator asked."""


def demo_stories_dir() -> Path:
    """The folder of demo story files (DEMO-1 … DEMO-4), for `load_stories`."""
    return _HERE / "stories"


def demo_script_path() -> Path:
    """The replay script that answers every agent turn of the demo stories."""
    return _HERE / "script.yaml"


async def create_demo_project(target: Path) -> Path:
    """Copy the demo project into `target` (new or empty) and commit it on `main`.

    Returns the project's resolved path. The commit uses WAVE's own git identity, so no global
    git configuration is needed.
    """
    target = await asyncio.to_thread(_copy_template, target)
    # git() signs nothing and runs no hook: a global configuration cannot make this prompt or fail.
    await git("init", "--quiet", "--initial-branch=main", cwd=target)
    await git("add", "--all", cwd=target)
    await git("commit", "--quiet", "-m", _FIRST_COMMIT, cwd=target)
    return target


def _copy_template(target: Path) -> Path:
    """Copy the template to `target` under the files' real names; the resolved target."""
    target = target.expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise DemoProjectError(f"{target} is a file; give a new or empty directory for the demo")
    if target.is_dir() and any(target.iterdir()):
        raise DemoProjectError(f"{target} is not empty; give a new or empty directory for the demo")
    try:
        shutil.copytree(TEMPLATE_DIR, target, ignore=_NOT_COPIED, dirs_exist_ok=True)
    except OSError as error:
        reason = getattr(error, "strerror", None) or error
        raise DemoProjectError(f"cannot create the demo project in {target}: {reason}") from None
    for path in sorted(target.rglob("*")):
        if path.is_file() and path.suffix == _TEMPLATE_SUFFIX:
            path.rename(path.with_suffix(""))
    for stored, real in _RENAMES.items():
        (target / stored).rename(target / real)
    return target
