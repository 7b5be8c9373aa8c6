"""`python -m wave_tui` is the `wave` command."""

from wave_tui.entry import main

raise SystemExit(main())
