"""The log file: one line per record, never a secret."""

from __future__ import annotations

import logging
from pathlib import Path

from wave_tui.logs import setup_logging

KEY = "sk-ant-api03-" + "Z" * 40


def test_log_lines_land_in_the_data_directory_with_secrets_redacted(tmp_path: Path) -> None:
    root = logging.getLogger("wave_tui")
    before = list(root.handlers)
    try:
        path = setup_logging(tmp_path)
        assert path == tmp_path / "logs" / "wave.log"
        assert setup_logging(tmp_path) is None  # once per process
        log = logging.getLogger("wave_tui.recovery")
        log.info("Starting recovery | session=%s | story=%s | strategy=%s", "s1", "S-1", "skip")
        log.warning("leaked %s in a message", KEY)
        for handler in root.handlers:
            handler.flush()
        lines = path.read_text().splitlines()
    finally:
        for handler in root.handlers[len(before) :]:
            handler.close()
            root.removeHandler(handler)
    assert len(lines) == 2
    assert lines[0].endswith(
        "INFO wave_tui.recovery | Starting recovery | session=s1 | story=S-1 | strategy=skip"
    )
    assert KEY not in lines[1]
    assert "[REDACTED]" in lines[1]
