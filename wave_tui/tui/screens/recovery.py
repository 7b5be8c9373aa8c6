"""The recovery dialog: choose how one story comes back (a strategy, a gate or a checkpoint), run
the recovery in a worker and show its outcome; a refusal leaves the dialog open to choose again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any, NamedTuple

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, RadioButton, RadioSet, Select, Static
from textual.worker import Worker, WorkerState

from wave_tui.domain.enums import CheckpointType
from wave_tui.domain.gates import GATES, Gate
from wave_tui.engine.describe import short
from wave_tui.errors import WaveError
from wave_tui.recovery.strategy import RecoveryStrategy
from wave_tui.recovery.validation import RecoveryPoint

GROUP = "recovery"
GATE_NAMES = {spec.gate: spec.name for spec in GATES}


@dataclass(frozen=True)
class RecoveryRequest:
    strategy: RecoveryStrategy
    gate: Gate | None
    checkpoint_id: int | None


class Choice(NamedTuple):
    key: str
    label: str
    explanation: str


LAST, GATE, PICK, RESTART, SKIP = "last", "gate", "pick", "restart", "skip"
CHOICES = (
    Choice(LAST, "Resume from last", "the newest valid checkpoint; all progress kept"),
    Choice(
        GATE, "Resume from gate", "a gate's newest valid checkpoint; forked, model asked afresh"
    ),
    Choice(PICK, "Pick a checkpoint", "the row you pick in the table below; forked the same way"),
    Choice(RESTART, "Restart", "from the base branch on a new thread; history kept"),
    Choice(SKIP, "Skip", "the story is cancelled; its dependents are blocked"),
)
LABEL_WIDTH = max(len(choice.label) for choice in CHOICES)
NOTE_WIDTH = 24  # the table's last column; the hint line shows a long problem in full


class RecoveryDialog(ModalScreen[dict[str, Any] | None]):
    """Dismisses with the result dict of a successful recovery, or None when cancelled first.

    `recover` does the work (the console passes the RecoveryManager's `recover_story`, bound to
    the session and story); a WaveError it raises is shown and the operator may choose again.
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", key_display="esc", id="recovery.cancel"),
        Binding("ctrl+s", "confirm", "Recover", id="recovery.confirm"),
    ]
    AUTO_FOCUS = "#recovery-strategy"

    def __init__(
        self,
        story_id: str,
        story_status: str,
        points: Sequence[RecoveryPoint],
        recover: Callable[[RecoveryRequest], Awaitable[dict[str, Any]]],
    ) -> None:
        super().__init__()
        self.story_id = story_id
        self.story_status = story_status
        self.points = sorted(points, key=lambda p: p.checkpoint_id, reverse=True)
        self._by_id = {str(point.checkpoint_id): point for point in self.points}
        self.gates = gates_with_checkpoint(self.points)
        self._recover = recover
        self._choice = LAST
        self._picked: RecoveryPoint | None = None
        self._recovering = False
        self.result: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="recovery-dialog", classes="dialog") as dialog:
            dialog.border_title = f"Recover {self.story_id}"
            yield Static(f"status {self.story_status}", id="recovery-status", markup=False)
            with RadioSet(id="recovery-strategy"):
                for choice in CHOICES:
                    label = Text.assemble(
                        (choice.label.ljust(LABEL_WIDTH), "bold"), "  ", (choice.explanation, "dim")
                    )
                    yield RadioButton(
                        label, value=choice.key == LAST, id=f"recovery-choice-{choice.key}"
                    )
            with Vertical(id="recovery-gate-picker"):
                if self.gates:
                    yield Select(
                        [(f"{gate.value} {GATE_NAMES[gate]}", gate) for gate in self.gates],
                        allow_blank=False,
                        value=self.gates[-1],
                        id="recovery-gate",
                    )
                else:
                    yield Static("no gate has a resumable checkpoint", id="recovery-no-gate")
            yield DataTable[str | Text](
                id="recovery-checkpoints", cursor_type="row", zebra_stripes=True
            )
            yield Static(id="recovery-hint")
            yield Static(id="recovery-result")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="recovery-cancel")
                yield Button("Recover", id="recovery-confirm", variant="warning")

    def on_mount(self) -> None:
        table: DataTable[str | Text] = self.query_one("#recovery-checkpoints", DataTable)
        table.add_columns("id", "type", "gate", "time", "state", "note")
        problem_style = self.app.theme_variables.get("text-error", "red")
        for point in self.points:
            note = point_note(point)
            table.add_row(
                str(point.checkpoint_id),
                point.checkpoint_type.value,
                point.gate.value if point.gate else "",
                local_time(point),
                state_line(point),
                Text(short(note, NOTE_WIDTH), style=problem_style) if point.problem else note,
                key=str(point.checkpoint_id),
            )
        first = next((i for i, point in enumerate(self.points) if point.resumable), 0)
        if self.points:
            table.move_cursor(row=first, animate=False)
            self._picked = self.points[first]
        self._refresh_state()

    # -- choosing -------------------------------------------------------------------------

    @on(RadioSet.Changed, "#recovery-strategy")
    def _chose(self, event: RadioSet.Changed) -> None:
        self._choice = CHOICES[event.index].key
        self._refresh_state()

    @on(DataTable.RowHighlighted, "#recovery-checkpoints")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._picked = self._by_id.get(str(event.row_key.value))
        self._refresh_state()

    @on(DataTable.RowSelected, "#recovery-checkpoints")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self._picked = self._by_id.get(str(event.row_key.value))
        if self._choice != PICK and self.result is None:
            self.query_one(f"#recovery-choice-{PICK}", RadioButton).value = True
        self._refresh_state()

    @on(Select.Changed, "#recovery-gate")
    def _gate_changed(self) -> None:
        self._refresh_state()

    def request(self) -> RecoveryRequest | None:
        """What the current choice asks for; None while it is incomplete."""
        if self._choice == LAST:
            return RecoveryRequest(RecoveryStrategy.RESUME_FROM_LAST, None, None)
        if self._choice == GATE:
            gate = self.query_one("#recovery-gate", Select).value if self.gates else None
            if not isinstance(gate, Gate):
                return None
            return RecoveryRequest(RecoveryStrategy.RESUME_FROM_GATE, gate, None)
        if self._choice == PICK:
            if self._picked is None or not self._picked.resumable:
                return None
            return RecoveryRequest(
                RecoveryStrategy.RESUME_FROM_GATE, None, self._picked.checkpoint_id
            )
        if self._choice == RESTART:
            return RecoveryRequest(RecoveryStrategy.RESTART, None, None)
        return RecoveryRequest(RecoveryStrategy.SKIP, None, None)

    def _refresh_state(self) -> None:
        self.query_one("#recovery-gate-picker").display = self._choice == GATE
        self.query_one("#recovery-checkpoints").set_class(self._choice != PICK, "-idle")
        hint = self._hint()
        self.query_one("#recovery-hint", Static).update(Text(hint))
        self.query_one("#recovery-hint").display = bool(hint)
        confirm = self.query_one("#recovery-confirm", Button)
        if self.result is None:
            confirm.disabled = self._recovering or self.request() is None

    def _hint(self) -> str:
        """About the highlighted checkpoint, while it matters: picking, or moving in the table."""
        table = self.query_one("#recovery-checkpoints", DataTable)
        point = self._picked
        if self.result is not None or (self._choice != PICK and not table.has_focus):
            return ""
        if point is None:
            return "no checkpoint to pick"
        if point.problem:
            return f"checkpoint {point.checkpoint_id} cannot be resumed: {point.problem}"
        if not point.resumable:
            return f"checkpoint {point.checkpoint_id} is the story's start: choose Restart"
        if self._choice != PICK:
            return f"enter: resume from checkpoint {point.checkpoint_id}"
        return f"resume from checkpoint {point.checkpoint_id}"

    def on_descendant_focus(self) -> None:
        self._refresh_state()

    def on_descendant_blur(self) -> None:
        self._refresh_state()

    # -- recovering -----------------------------------------------------------------------

    @on(Button.Pressed, "#recovery-confirm")
    def action_confirm(self) -> None:
        if self.result is not None:
            self.dismiss(self.result)
            return
        request = self.request()
        if self._recovering or request is None:
            self.app.bell()
            return
        self._recovering = True
        self._show("recovering…", "-running")
        self.query_one("#recovery-strategy").disabled = True
        self._refresh_state()
        self._run(request)

    @work(exclusive=True, group=GROUP, exit_on_error=False)
    async def _run(self, request: RecoveryRequest) -> None:
        try:
            result = await self._recover(request)
        except WaveError as exc:
            self._failed(str(exc))
        else:
            self._succeeded(result)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Anything but a WaveError is a bug; show it here rather than end the whole console.
        if event.worker.group == GROUP and event.state is WorkerState.ERROR:
            error = event.worker.error
            self._failed(f"recovery failed unexpectedly: {type(error).__name__}: {error}")

    def _succeeded(self, result: dict[str, Any]) -> None:
        self._recovering = False
        self.result = result
        self._show(result_line(result), "-success")
        self.query_one("#recovery-checkpoints").disabled = True
        confirm = self.query_one("#recovery-confirm", Button)
        confirm.label, confirm.variant, confirm.disabled = "Close", "primary", False
        self.query_one("#recovery-cancel").display = False
        self._refresh_state()
        confirm.focus()

    def _failed(self, message: str) -> None:
        self._recovering = False
        self._show(message, "-error")
        strategy = self.query_one("#recovery-strategy")
        strategy.disabled = False
        self._refresh_state()
        strategy.focus()

    def _show(self, message: str, state: str) -> None:
        line = self.query_one("#recovery-result", Static)
        line.update(Text(message))
        line.set_classes(state)
        line.display = True

    @on(Button.Pressed, "#recovery-cancel")
    def action_cancel(self) -> None:
        if self._recovering:  # cancelling mid-way would leave the operator unsure what happened
            self.notify("recovery is running: wait for its result", severity="warning")
            return
        self.dismiss(self.result)


def gates_with_checkpoint(points: Sequence[RecoveryPoint]) -> list[Gate]:
    """The gates `resume_from_gate` can go back to, in gate order."""
    found = {
        point.gate
        for point in points
        if point.checkpoint_type is CheckpointType.GATE and point.gate and point.resumable
    }
    return sorted(found, key=lambda gate: gate.number)


def point_note(point: RecoveryPoint) -> str:
    if point.problem:
        return f"invalid: {point.problem}"
    return "" if point.resumable else "start"


def state_line(point: RecoveryPoint) -> str:
    """'gate-3 · dev · AC 1/2 · iter 1': where the story stood."""
    s = point.summary
    if s is None:
        return ""
    return f"{s.current_gate} · {s.phase} · AC {s.ac_passed}/{s.ac_total} · iter {s.iteration}"


def local_time(point: RecoveryPoint) -> str:
    created = point.created_at
    if created.tzinfo is None:  # stored as UTC; a naive value is UTC too
        created = created.replace(tzinfo=UTC)
    return created.astimezone().strftime("%H:%M:%S")


def result_line(result: dict[str, Any]) -> str:
    """'DEMO-2 in_progress from checkpoint 17 (resume_from_gate) in 0.014 s'."""
    checkpoint = result.get("checkpoint_id")
    origin = f" from checkpoint {checkpoint}" if checkpoint is not None else ""
    seconds = float(result.get("recovery_time_seconds") or 0.0)
    return (
        f"{result.get('story_id')} {result.get('status')}{origin} "
        f"({result.get('strategy')}) in {seconds:.3f} s"
    )
