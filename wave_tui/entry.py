"""The `wave` console script: `wave safety …` skips loading the engine, the database and the SDK
so a check answers fast; everything else goes to the full CLI."""

from __future__ import annotations

import sys


def main() -> int:
    argv = sys.argv[1:]
    if argv[:1] == ["safety"] and not {"-h", "--help"} & set(argv[1:2]):
        from wave_tui.cli_safety import main as safety_main

        return safety_main(argv[1:])
    from wave_tui.cli import main as cli_main

    return cli_main(argv)
