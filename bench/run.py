"""`make bench`: run every benchmark in this directory, print the tables and write them to
docs/benchmarks.md with the machine they were measured on."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import checkpoints, control, recovery, safety, tui

SECTIONS = (checkpoints.run, safety.run, recovery.run, control.run, tui.run)
OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def main() -> int:
    machine = (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    parts = [
        "# Benchmarks",
        "",
        "Written by `make bench` (not part of `make test`); every comparison in a table was",
        f"measured in the same run on the same machine. Last run {datetime.now(UTC):%Y-%m-%d} on",
        f"{machine}.",
        "",
    ]
    for section in SECTIONS:
        text = section()
        print(text, flush=True)
        parts += [text, ""]
    OUTPUT.parent.mkdir(exist_ok=True)
    OUTPUT.write_text("\n".join(parts))
    print(f"\nwritten to {OUTPUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
