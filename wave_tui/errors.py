"""Typed errors with messages an operator can act on; the CLI maps each to a line and exit code."""

from __future__ import annotations

EXIT_USAGE = 2
EXIT_OPERATIONAL = 1


def first_line(error: BaseException) -> str:
    """The first line of what went wrong: a driver's own message (`orig`) when a database
    library wrapped it, without the statement and parameters the wrapper appends."""
    original = getattr(error, "orig", None) or error
    return (str(original).strip().splitlines() or [type(original).__name__])[0]


class WaveError(Exception):
    """Base of every error wave_tui raises on purpose. `exit_code` is what the CLI exits with."""

    exit_code = EXIT_OPERATIONAL


class UserError(WaveError):
    """Bad input the user can fix: a value, an id, a path. Nothing was changed."""

    exit_code = EXIT_USAGE


class ConfigError(UserError):
    """A configuration value (flag, environment variable, .env entry) is invalid."""


class NotFoundError(UserError):
    """A session, story, checkpoint or escalation that the caller named does not exist."""


class InvalidTransitionError(UserError):
    """A status change the lifecycle does not allow, such as completing a cancelled session."""


class LeaseHeldError(WaveError):
    """Another live process owns the story; running it here too would duplicate work."""


class LeaseLostError(WaveError):
    """The caller no longer owns the lease it tried to renew or release."""


class DatabaseError(WaveError):
    """The database could not be reached or used (server down, disk full, file unreadable)."""
