"""`python -m wave_tui` is the `wave` command."""

from wave_tui.cli import main

raise SystemExit(main())
