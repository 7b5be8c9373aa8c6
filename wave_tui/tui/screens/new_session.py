"""The new session dialog: which stories, which project, how to run them. The session starts in
this console's process exactly as `wave run` would start it (the same checks, the same
records); a refusal is one line in the dialog, nothing is written, and the operator may fix the
field and try again."""

from __future__ import annotations

import shlex
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from wave_tui.domain.enums import AutonomyLevel
from wave_tui.errors import UserError, WaveError

GROUP = "new-session"
AUTONOMY = {
    AutonomyLevel.L0: "L0  approve the plan, the review, the merge and every escalation",
    AutonomyLevel.L1: "L1  approve the review and the merge",
    AutonomyLevel.L2: "L2  approve the merge",
    AutonomyLevel.L3: "L3  only escalations (safety, exhausted fix loops, budget)",
}


@dataclass(frozen=True)
class NewSessionRequest:
    """What the operator asked for, each field parsed; the rest is checked by the engine."""

    stories: list[Path]
    project: Path
    script: Path | None
    name: str | None
    budget_usd: Decimal | None
    concurrency: int
    autonomy: AutonomyLevel


def parse_request(fields: Mapping[str, str], autonomy: AutonomyLevel) -> NewSessionRequest:
    """The dialog's text fields as a request; a field that cannot be read is one UserError."""
    try:
        stories = [Path(word).expanduser() for word in shlex.split(fields["stories"])]
    except ValueError as error:  # an unclosed quote
        raise UserError(f"stories: {error}") from None
    if not stories:
        raise UserError("stories: name a story file or a directory of them")
    project = fields["project"].strip()
    if not project:
        raise UserError("project: name the project's git repository")
    script = fields["script"].strip()
    budget = fields["budget"].strip()
    try:
        budget_usd = Decimal(budget) if budget else None
    except InvalidOperation:
        raise UserError(f"budget: not a number of USD: {budget!r}") from None
    if budget_usd is not None and not budget_usd.is_finite():
        raise UserError(f"budget: not a number of USD: {budget!r}")
    concurrency = fields["concurrency"].strip() or "1"
    if not concurrency.isdigit():
        raise UserError(f"concurrency: not a whole number: {concurrency!r}")
    return NewSessionRequest(
        stories=stories,
        project=Path(project).expanduser(),
        script=Path(script).expanduser() if script else None,
        name=fields["name"].strip() or None,
        budget_usd=budget_usd,
        concurrency=int(concurrency),
        autonomy=autonomy,
    )


class NewSessionDialog(ModalScreen[uuid.UUID | None]):
    """Dismisses with the new session's id once it runs, or None when cancelled.

    `start` does the work (the console passes its own, which runs the session in the console's
    process); a WaveError it raises is shown and nothing was written."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", key_display="esc", id="new-session.cancel"),
        Binding("ctrl+s", "start", "Start", id="new-session.start"),
    ]
    AUTO_FOCUS = "#new-session-stories"

    def __init__(
        self,
        start: Callable[[NewSessionRequest], Awaitable[uuid.UUID]],
        *,
        default_budget_usd: Decimal,
        api_key: bool,
        cwd: Path,
    ) -> None:
        super().__init__()
        self._start = start
        self.default_budget_usd = default_budget_usd
        self.api_key = api_key
        self.cwd = cwd
        self._starting = False

    def compose(self) -> ComposeResult:
        model = (
            "empty: the Anthropic API (ANTHROPIC_API_KEY is set)"
            if self.api_key
            else "needed offline: no ANTHROPIC_API_KEY is set"
        )
        with Vertical(id="new-session-dialog", classes="dialog") as dialog:
            dialog.border_title = "New session"
            dialog.border_subtitle = f"paths relative to {self.cwd}"
            yield from _field(
                "stories", "Stories", "story files or directories, separated by spaces"
            )
            yield from _field("project", "Project", "the git repository the stories change")
            yield from _field("script", "Replay script", model)
            yield from _field("name", "Name", "default: the project directory's name")
            yield from _field("budget", "Budget (USD)", f"default: {self.default_budget_usd}")
            yield from _field("concurrency", "Concurrency", "stories run at once; default 1")
            with Horizontal(classes="new-session-row"):
                yield Label("Autonomy", classes="new-session-label")
                yield Select(
                    [(text, level) for level, text in AUTONOMY.items()],
                    value=AutonomyLevel.L2,
                    allow_blank=False,
                    id="new-session-autonomy",
                )
            yield Static(id="new-session-result")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="new-session-cancel")
                yield Button("Start", id="new-session-start", variant="success")

    def fields(self) -> dict[str, str]:
        names = ("stories", "project", "script", "name", "budget", "concurrency")
        return {name: self.query_one(f"#new-session-{name}", Input).value for name in names}

    @on(Input.Submitted)
    @on(Button.Pressed, "#new-session-start")
    def action_start(self) -> None:
        if self._starting:
            self.app.bell()
            return
        autonomy = self.query_one("#new-session-autonomy", Select).value
        assert isinstance(autonomy, AutonomyLevel)
        try:
            request = parse_request(self.fields(), autonomy)
        except UserError as error:
            self._show(str(error), "-error")
            return
        self._starting = True
        self.query_one("#new-session-start", Button).disabled = True
        self._show("starting…", "-running")
        self._run(request)

    @work(exclusive=True, group=GROUP, exit_on_error=False)
    async def _run(self, request: NewSessionRequest) -> None:
        try:
            session_id = await self._start(request)
        except WaveError as error:
            self._failed(str(error))
        else:
            self.dismiss(session_id)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Anything but a WaveError is a bug; show it here rather than end the whole console.
        if event.worker.group == GROUP and event.state is WorkerState.ERROR:
            error = event.worker.error
            self._failed(f"the session did not start: {type(error).__name__}: {error}")

    def _failed(self, message: str) -> None:
        self._starting = False
        self.query_one("#new-session-start", Button).disabled = False
        self._show(message.splitlines()[0] if message else "the session did not start", "-error")

    def _show(self, message: str, state: str) -> None:
        line = self.query_one("#new-session-result", Static)
        line.update(Text(message))
        line.set_classes(state)
        line.display = True

    @on(Button.Pressed, "#new-session-cancel")
    def action_cancel(self) -> None:
        if self._starting:  # the session may be written already: wait for the answer
            self.notify("the session is starting: wait for it", severity="warning")
            return
        self.dismiss(None)


def _field(name: str, label: str, placeholder: str) -> ComposeResult:
    with Horizontal(classes="new-session-row"):
        yield Label(label, classes="new-session-label")
        yield Input(placeholder=placeholder, id=f"new-session-{name}")
