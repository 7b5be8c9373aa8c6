"""Where the `wave` command's log lines go: `<data dir>/logs/wave.log`, one line per record,
secrets redacted before they are written. Stderr stays for the command's own output and its
one-line errors."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from wave_tui.domain.redaction import redact_text

FORMAT = "%(asctime)s %(levelname)s %(name)s | %(message)s"
_MARK = "_wave_handler"


class RedactingFilter(logging.Filter):
    """A log line never carries a secret: the formatted message is redacted in place."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        return True


def setup_logging(data_dir: Path) -> Path | None:
    """Log INFO and up to the log file (rotated at 5 MB, 3 kept); once per process."""
    root = logging.getLogger("wave_tui")
    if any(getattr(handler, _MARK, False) for handler in root.handlers):
        return None
    path = data_dir / "logs" / "wave.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=5_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        return None  # an unwritable data directory must not stop the command
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter())
    setattr(handler, _MARK, True)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path
