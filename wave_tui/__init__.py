"""wave_tui: a terminal console for WAVE runs of LLM agents through eight quality gates."""

__version__ = "0.1.0"
