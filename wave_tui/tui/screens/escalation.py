"""The escalation dialog: one action waiting for the operator, its safety score and why, decided
with a key: approve, reject with a reason, or leave it for later."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from wave_tui.engine.describe import short
from wave_tui.engine.views import EscalationView
from wave_tui.tui.screens.confirm import ReasonDialog

READONLY_NOTICE = "read-only console: decisions are off"
KEY_PREFIX = "escalation."
# Tools whose arguments are a command line: shown as one, not as JSON.
SHELL_TOOLS = frozenset({"run_command", "bash", "shell", "sh", "exec"})
KEYS = (
    Binding("y", "approve", "approve", id="escalation.approve"),
    Binding("n", "reject", "reject", id="escalation.reject"),
    Binding("escape", "later", "later", key_display="esc", id="escalation.later"),
)


@dataclass(frozen=True)
class Decision:
    approved: bool
    reason: str


class EscalationDialog(ModalScreen[Decision | None]):
    """Dismisses with Decision(True, "") on approve, Decision(False, reason) on a reasoned
    reject, None when left for later. A read-only console shows it but decides nothing."""

    BINDINGS: ClassVar[list[BindingType]] = [*KEYS]

    def __init__(
        self,
        escalation: EscalationView,
        *,
        block_threshold: float,
        escalate_threshold: float,
        readonly: bool = False,
        waiting: int = 1,
    ) -> None:
        super().__init__()
        self.escalation = escalation
        self._block = block_threshold
        self._escalate = escalate_threshold
        self._readonly = readonly
        self._waiting = waiting

    def compose(self) -> ComposeResult:
        esc = self.escalation
        with Vertical(id="escalation-dialog", classes="dialog") as dialog:
            dialog.border_title = f"Escalation #{esc.id} · {esc.kind}"
            yield Static(self._header(), id="escalation-header")
            with VerticalScroll(id="escalation-body"):
                yield Static(esc.summary, id="escalation-summary", markup=False)
                if esc.tool is not None:
                    yield Static(Content.styled(esc.tool, "bold"), id="escalation-tool")
                    yield Static(action_syntax(esc.tool, esc.arguments), id="escalation-action")
                yield Static(self._score_text(), id="escalation-score", classes=self._score_class())
                yield Static(self._findings(), id="escalation-findings")
            if self._readonly:
                yield Static(READONLY_NOTICE, id="escalation-readonly")
            yield Static(id="escalation-keys")

    def on_mount(self) -> None:
        self.query_one("#escalation-keys", Static).update(self._keys_line())

    # -- the keys -------------------------------------------------------------------------

    def action_approve(self) -> None:
        if self._refused():
            return
        self.dismiss(Decision(True, ""))

    def action_reject(self) -> None:
        if self._refused():
            return
        dialog = ReasonDialog(
            "Reject",
            f"Reject {describe_action(self.escalation)}?",
            "Reject",
            destructive=False,
        )
        self.app.push_screen(dialog, self._rejected)

    def action_later(self) -> None:
        self.dismiss(None)

    def _rejected(self, reason: str | None) -> None:
        if reason is not None:  # None: the operator backed out of rejecting; stay open
            self.dismiss(Decision(False, reason))

    def _refused(self) -> bool:
        if self._readonly:
            self.notify(READONLY_NOTICE, severity="warning")
        return self._readonly

    # -- what it shows --------------------------------------------------------------------

    def _header(self) -> Content:
        esc = self.escalation
        parts = [f"story {esc.story_id or '—'}", f"agent {esc.agent or '—'}", esc.kind]
        if self._waiting > 1:
            parts.append(f"{self._waiting} waiting")
        return Content(" · ".join(parts))

    def _score_text(self) -> Content:
        score = self.escalation.score
        shown = "—" if score is None else f"{score:.2f}"
        return Content.assemble(
            ("safety score ", "bold"),
            shown,
            f"  (blocked below {self._block:.2f}, escalated below {self._escalate:.2f})",
        )

    def _score_class(self) -> str:
        score = self.escalation.score
        if score is None:
            return "-unknown"
        if score < self._block:
            return "-blocked"
        return "-escalated" if score < self._escalate else "-allowed"

    def _findings(self) -> Content:
        esc = self.escalation
        parts: list[str | Content | tuple[str, str]] = []
        for title, lines in (("violated principles", esc.violations), ("risks", esc.risks)):
            if lines:
                parts.append((f"{title}\n", "bold"))
                parts.extend(f"  • {line}\n" for line in lines)
        if esc.reasoning:
            parts.extend([("reasoning\n", "bold"), f"  {esc.reasoning}"])
        return Content.assemble(*parts).rstrip()

    def _keys_line(self) -> Content:
        """The dialog's own footer, from the active bindings so that a remapped key shows."""
        active = {
            binding.id: binding
            for binding in (entry.binding for entry in self.active_bindings.values())
            if binding.id and binding.id.startswith(KEY_PREFIX)
        }
        shown = [
            Content.assemble((self.app.get_key_display(binding), "bold"), " ", binding.description)
            for binding in (active.get(str(key.id)) for key in KEYS)
            if binding is not None
        ]
        return Content("   ").join(shown)


def action_syntax(tool: str, arguments: Mapping[str, Any]) -> Syntax:
    """A command line as bash (`run_command` takes an argv list), anything else as JSON."""
    command = shell_line(tool, arguments)
    if command is not None:
        return Syntax(command, "bash", theme="ansi_dark", word_wrap=True)
    text = json.dumps(dict(arguments), indent=2, ensure_ascii=False, default=str)
    return Syntax(text, "json", theme="ansi_dark", word_wrap=True)


def shell_line(tool: str, arguments: Mapping[str, Any]) -> str | None:
    if tool not in SHELL_TOOLS:
        return None
    argv, command = arguments.get("argv"), arguments.get("command")
    if isinstance(argv, list) and argv and all(isinstance(arg, str) for arg in argv):
        return shlex.join(argv)
    return command if isinstance(command, str) else None


def describe_action(escalation: EscalationView) -> str:
    """The action in a few words, for the reject question."""
    story = f" of {escalation.story_id}" if escalation.story_id else ""
    if escalation.tool is None:
        return f"{escalation.kind}{story}: {escalation.summary}"
    line = shell_line(escalation.tool, escalation.arguments)
    shown = f"`{short(line, 60)}`" if line else escalation.tool
    return f"{shown}{story}"
