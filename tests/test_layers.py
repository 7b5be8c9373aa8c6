"""The layering the architecture promises: only wave_tui/tui may import textual."""

from __future__ import annotations

import ast
from pathlib import Path

import wave_tui

PACKAGE = Path(wave_tui.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_the_tui_imports_textual() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "tui" not in path.relative_to(PACKAGE).parts[:1]
        and any(name == "textual" or name.startswith("textual.") for name in _imports(path))
    ]
    assert offenders == []


def test_the_domain_layer_does_no_io() -> None:
    forbidden = ("sqlalchemy", "alembic", "wave_tui.db", "wave_tui.config", "wave_tui.cli")
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            name for name in _imports(path) if name.startswith(forbidden)
        )
        for path in (PACKAGE / "domain").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}
