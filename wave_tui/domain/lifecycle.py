"""Which status changes sessions and stories may make; everything else is a bug or bad input."""

from __future__ import annotations

from collections.abc import Mapping

from wave_tui.domain.enums import SessionStatus, StoryStatus
from wave_tui.errors import InvalidTransitionError

_S = SessionStatus
SESSION_TRANSITIONS: Mapping[SessionStatus, frozenset[SessionStatus]] = {
    _S.PENDING: frozenset({_S.IN_PROGRESS, _S.FAILED, _S.CANCELLED}),
    # A crashed or failed session goes back to in_progress when it is recovered.
    _S.IN_PROGRESS: frozenset({_S.COMPLETED, _S.FAILED, _S.CANCELLED}),
    _S.FAILED: frozenset({_S.IN_PROGRESS, _S.CANCELLED}),
    _S.COMPLETED: frozenset(),
    _S.CANCELLED: frozenset(),
}

_T = StoryStatus
_LIVE = frozenset({_T.PENDING, _T.IN_PROGRESS, _T.BLOCKED, _T.REVIEW})
STORY_TRANSITIONS: Mapping[StoryStatus, frozenset[StoryStatus]] = {
    _T.PENDING: frozenset({_T.IN_PROGRESS, _T.BLOCKED, _T.FAILED, _T.CANCELLED}),
    _T.IN_PROGRESS: frozenset(
        {_T.PENDING, _T.BLOCKED, _T.REVIEW, _T.COMPLETE, _T.FAILED, _T.CANCELLED}
    ),
    _T.BLOCKED: frozenset({_T.PENDING, _T.IN_PROGRESS, _T.FAILED, _T.CANCELLED}),
    _T.REVIEW: frozenset({_T.IN_PROGRESS, _T.BLOCKED, _T.COMPLETE, _T.FAILED, _T.CANCELLED}),
    _T.FAILED: frozenset({_T.PENDING, _T.IN_PROGRESS, _T.CANCELLED}),
    # Finished stories only move again when the operator asks for a restart.
    _T.COMPLETE: frozenset({_T.PENDING}),
    _T.CANCELLED: frozenset({_T.PENDING}),
}

UNFINISHED_STORY_STATUSES: frozenset[StoryStatus] = _LIVE | {_T.FAILED}
TERMINAL_SESSION_STATUSES: frozenset[SessionStatus] = frozenset({_S.COMPLETED, _S.CANCELLED})


def check_session_transition(what: str, current: SessionStatus, target: SessionStatus) -> None:
    if target not in SESSION_TRANSITIONS[current]:
        raise InvalidTransitionError(f"{what} is {current}; it cannot become {target}")


def check_story_transition(what: str, current: StoryStatus, target: StoryStatus) -> None:
    if target not in STORY_TRANSITIONS[current]:
        raise InvalidTransitionError(f"{what} is {current}; it cannot become {target}")
