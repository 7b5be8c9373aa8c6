"""The operator console: the sessions screen, one dashboard per session, and the dialogs.

The app runs the sessions this process started (`wave run`, `wave demo`, a recovery from the
console) as tasks in its own event loop; it watches any other session by tailing the database.
Every operator act (hold, resume, kill, stop, a decision, a recovery) goes through the database,
so it works the same on a session another process runs.
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from wave_tui.config import Settings
from wave_tui.db import Database, EscalationRepository
from wave_tui.db.types import utcnow
from wave_tui.domain.enums import EscalationStatus
from wave_tui.engine.events import EventBus
from wave_tui.engine.live import LiveSession
from wave_tui.engine.views import EscalationView, StoryView
from wave_tui.errors import WaveError
from wave_tui.recovery import RecoveryManager
from wave_tui.tui import keys
from wave_tui.tui.screens.dashboard import DashboardScreen
from wave_tui.tui.screens.new_session import NewSessionRequest
from wave_tui.tui.screens.sessions import SessionsScreen
from wave_tui.tui.widgets import cells

HERE = Path(__file__).parent


class WaveApp(App[int]):
    TITLE = "wave"
    CSS_PATH = [HERE / "app.tcss", HERE / "dialogs.tcss"]
    BINDINGS = keys.bindings(keys.APP_KEYS)
    COMMAND_PALETTE_BINDING = "ctrl+p"
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        session_id: uuid.UUID | None = None,
        live: LiveSession | None = None,
        bus: EventBus | None = None,
        readonly: bool = False,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        """`live`: a session this process runs (the app starts it). `bus`: the bus on which this
        process publishes `session_id`'s events (without it, a session not run here is tailed
        from the database). `now`: the clock the header's elapsed time is read from."""
        super().__init__()
        self.database = database
        self.settings = settings
        self.readonly = readonly
        self.operator = settings.operator_name
        self.now = now
        self.start_session = session_id or (live.session_id if live else None)
        self.live: dict[uuid.UUID, LiveSession] = {}
        self.buses: dict[uuid.UUID, EventBus] = {}
        if live is not None:
            self.live[live.session_id] = live
            self.buses[live.session_id] = live.bus
        if bus is not None and session_id is not None:
            self.buses[session_id] = bus
        self._bus: EventBus | None = None
        # The lease owner of each session this console runs (one per session, kept for its life).
        self._owners: dict[uuid.UUID, str] = {}
        self.detached: list[uuid.UUID] = []  # sessions handed to a background process on quit
        if settings.keymap:
            self.set_keymap(settings.keymap)

    @property
    def bus(self) -> EventBus:
        """For commands on sessions this process does not run: written to the database only."""
        if self._bus is None:
            self._bus = EventBus(self.database)
        return self._bus

    async def on_mount(self) -> None:
        # Everything imported so far lives as long as the app: out of the collector's way; and
        # fewer, larger young collections. A full collection of a long session's events stalls
        # a frame by 100-300 ms (measured in bench/tui.py); this makes them rarer.
        gc.freeze()
        gc.set_threshold(10_000, 50, 50)
        await self.push_screen(SessionsScreen())
        for live in self.live.values():
            await live.start()
        if self.start_session is not None:
            await self.push_screen(DashboardScreen(self.start_session))

    # -- navigation -------------------------------------------------------------------------

    def open_dashboard(self, session_id: uuid.UUID) -> None:
        self.push_screen(DashboardScreen(session_id))

    def action_help(self) -> None:
        from wave_tui.tui.screens.help import HelpScreen

        groups = [keys.APP_KEYS, *self._screen_keys(self.screen)]
        sections = keys.help_sections(groups, self._keymap, readonly=self.readonly)
        self.push_screen(HelpScreen(sections))

    def _screen_keys(self, screen: Screen[Any]) -> list[tuple[keys.Key, ...]]:
        if isinstance(screen, DashboardScreen):
            return [keys.DASHBOARD_KEYS]
        if isinstance(screen, SessionsScreen):
            return [keys.SESSIONS_KEYS]
        from wave_tui.tui.screens.story import STORY_KEYS, StoryScreen

        return [STORY_KEYS] if isinstance(screen, StoryScreen) else []

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette offers every action of the screen, by its name."""
        for group in [keys.APP_KEYS, *self._screen_keys(screen)]:
            for key in group:
                if not key.palette or (self.readonly and key.mutating):
                    continue
                shown = self._keymap.get(key.id) or key.key_display or key.key
                target = self if key in keys.APP_KEYS else screen
                yield SystemCommand(
                    f"{key.description}",
                    f"{key.section} · key {shown}",
                    _runner(target, key.action),
                )
        yield from super().get_system_commands(screen)

    # -- steering ---------------------------------------------------------------------------

    def send_command(
        self, session_id: uuid.UUID, verb: str, story: str | None, reason: str | None = None
    ) -> None:
        if self.readonly:
            self.notify("read-only console: commands are off", severity="warning")
            return
        self._command(session_id, verb, story, reason)

    @work(group="commands", name="operator command", exit_on_error=False)
    async def _command(
        self, session_id: uuid.UUID, verb: str, story: str | None, reason: str | None
    ) -> None:
        from wave_tui.engine.control import issue_command

        live = self.live.get(session_id)
        result = await issue_command(
            live.bus if live else self.bus,
            session_id,
            verb,
            issued_by=self.operator,
            story_id=story,
            reason=reason,
        )
        if verb == "unhold" and live is not None and not live.running and story is not None:
            await live.start()  # the session had ended with the story held: run it again
        self.notify(result.summary(), title=verb)

    def open_escalation(self, escalation: EscalationView, *, waiting: int) -> None:
        from wave_tui.tui.screens.escalation import Decision, EscalationDialog

        def decided(decision: Decision | None) -> None:
            if decision is not None:
                self._decide(escalation, decision.approved, decision.reason)

        self.push_screen(
            EscalationDialog(
                escalation,
                block_threshold=self.settings.constitutional_block_threshold,
                escalate_threshold=self.settings.constitutional_escalate_threshold,
                readonly=self.readonly,
                waiting=waiting,
            ),
            decided,
        )

    @work(group="commands", name="escalation decision", exit_on_error=False)
    async def _decide(self, escalation: EscalationView, approved: bool, reason: str) -> None:
        status = EscalationStatus.APPROVED if approved else EscalationStatus.REJECTED
        async with self.database.session() as db:
            await EscalationRepository(db).decide(
                escalation.id, status, self.operator, reason or None
            )
        word = "approved" if approved else "rejected"
        self.notify(f"escalation {escalation.id} ({escalation.story_id}) {word} by {self.operator}")

    # -- new sessions -----------------------------------------------------------------------

    def new_session(self) -> None:
        """The new session dialog; the session it starts runs in this process."""
        if self.readonly:
            self.notify("read-only console: commands are off", severity="warning")
            return
        from wave_tui.tui.screens.new_session import NewSessionDialog

        def started(session_id: uuid.UUID | None) -> None:
            if session_id is not None:
                self.open_dashboard(session_id)

        dialog = NewSessionDialog(
            self._start_session,
            default_budget_usd=self.settings.default_cost_limit_usd,
            api_key=self.settings.anthropic_api_key is not None,
            cwd=Path.cwd(),
        )
        self.push_screen(dialog, started)

    async def _start_session(self, request: NewSessionRequest) -> uuid.UUID:
        """`wave run` from the console: the same checks (a refusal writes nothing), the same
        records, and the runner in this event loop. Its escalations wait for the operator."""
        from wave_tui.engine import launch

        prepared = await asyncio.to_thread(
            launch.prepare_session,
            self.settings,
            request.stories,
            request.project,
            choice="replay" if request.script else None,
            script=request.script,
        )
        for warning in await launch.interrupted_warnings(self.database, request.project):
            self.notify(warning, title="new session", severity="warning", timeout=20)
        bus = EventBus(self.database)
        runner = await launch.new_session_runner(
            bus,
            self.settings,
            prepared,
            request.project,
            name=request.name,
            budget_usd=request.budget_usd,
            autonomy=request.autonomy,
            concurrency=request.concurrency,
        )
        live = LiveSession.of(runner)
        self.live[runner.session_id] = live
        self.buses[runner.session_id] = bus
        await live.start()
        self.notify(f"session {runner.session_id} started", title="new session")
        return runner.session_id

    # -- recovery ---------------------------------------------------------------------------

    def open_recovery(self, session_id: uuid.UUID, story: StoryView) -> None:
        self._open_recovery(session_id, story)

    @work(group="recovery", name="recovery points", exit_on_error=False)
    async def _open_recovery(self, session_id: uuid.UUID, story: StoryView) -> None:
        from wave_tui.tui.screens.recovery import RecoveryDialog, RecoveryRequest

        manager = self._recovery_manager(session_id)
        points = await manager.find_recovery_points(session_id, story.story_id)

        async def recover(request: RecoveryRequest) -> dict[str, Any]:
            result = await manager.recover_story(
                session_id, story.story_id, request.strategy, request.gate, request.checkpoint_id
            )
            await self._run_here(session_id, story.story_id)
            return result

        status = cells.status(story.status, story.block_reason).plain
        self.push_screen(RecoveryDialog(story.story_id, status, points, recover))

    def recover_session(self, session_id: uuid.UUID) -> None:
        self._recover_session(session_id)

    @work(group="recovery", name="recover session", exit_on_error=False)
    async def _recover_session(self, session_id: uuid.UUID) -> None:
        manager = self._recovery_manager(session_id)
        outcome = await manager.recover_session(session_id)
        await self._run_here(session_id, None)
        recovered = ", ".join(item["story_id"] for item in outcome["recovered"]) or "none"
        failed = "; ".join(f"{f['story_id']}: {f['error']}" for f in outcome["failed"])
        self.notify(
            f"recovered {recovered} in {outcome['recovery_time_seconds']:.3f} s"
            + (f"; not recovered: {failed}" if failed else ""),
            title="recovery",
            severity="warning" if failed else "information",
        )
        self.open_dashboard(session_id)

    def _recovery_manager(self, session_id: uuid.UUID) -> RecoveryManager:
        live = self.live.get(session_id)
        return RecoveryManager(
            self.database,
            owner=live.owner if live else self._owner(session_id),
            worktrees=self.settings.data_dir / "worktrees",
            operator=self.operator,
        )

    def _owner(self, session_id: uuid.UUID) -> str:
        from wave_tui.recovery.leases import new_owner

        return self._owners.setdefault(session_id, new_owner())

    async def _run_here(self, session_id: uuid.UUID, story: str | None) -> None:
        """A recovered story runs in this process: the live runner takes it back, or the
        session's own runner (its provider, its replay script) starts here."""
        live = self.live.get(session_id)
        if live is None:
            from wave_tui.engine.launch import runner_for_session

            owner = self._owner(session_id)

            async def factory() -> Any:
                return await runner_for_session(
                    self.database, session_id, self.settings, owner=owner
                )

            live = LiveSession(EventBus(self.database), session_id, owner, factory)
            self.live[session_id] = live
            self.buses[session_id] = live.bus
        if story is None:
            await live.start()
        else:
            await live.readmit(story)

    # -- leaving ----------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """ctrl+q quits the same careful way as q."""
        self.action_quit_console()

    def action_quit_console(self) -> None:
        running = {sid: live for sid, live in self.live.items() if live.running}
        if not running:
            self.exit(0)
            return
        from wave_tui.tui.screens.quit import QuitDialog

        count = sum(len(live.active_stories) for live in running.values()) or len(running)

        def chosen(choice: str | None) -> None:
            if choice is not None:
                self._leave(choice)

        only = str(next(iter(running))) if len(running) == 1 else None
        self.push_screen(QuitDialog(count, can_continue=True, session=only), chosen)

    @work(group="leaving", name="hold and quit", exclusive=True, exit_on_error=False)
    async def _leave(self, choice: str) -> None:
        running = [live for live in self.live.values() if live.running]
        self.notify(
            "holding: each story stops at its next step boundary (a test run in flight finishes "
            "first); its checkpoints are kept",
            title="quitting",
            timeout=30,
        )
        reason = f"console closed by {self.operator}"
        await asyncio.gather(*(live.hold_all(reason) for live in running))
        if choice == "detach":
            for live in running:
                self.detached.append(live.session_id)
                detach(live.session_id, self.database)
        self.exit(0)

    # -- failures ---------------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed worker becomes one line on screen; the console stays up."""
        if event.state is not WorkerState.ERROR or event.worker.error is None:
            return
        error = event.worker.error
        message = str(error) if isinstance(error, WaveError) else f"{type(error).__name__}: {error}"
        self.notify(
            message.splitlines()[0] if message else type(error).__name__,
            title=event.worker.name,
            severity="error",
            timeout=10,
        )


def _runner(target: Any, action: str) -> Callable[[], Any]:
    async def run() -> None:
        await target.run_action(action)

    return run


def detach(session_id: uuid.UUID, database: Database) -> None:
    """A `wave resume` of the session in a background process of its own, which outlives the
    console; its output goes to the log directory. A PostgreSQL URL (it may hold a password)
    goes through the environment, never the command line."""
    from wave_tui.config import load_settings

    logs = load_settings().data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    where: list[str] = []
    if database.sqlite_path is not None:
        where = ["--db", str(database.sqlite_path)]
    else:
        env["WAVE_DATABASE_URL"] = database.url.render_as_string(hide_password=False)
    argv = [sys.executable, "-m", "wave_tui", *where, "resume", str(session_id), "--headless",
            "--on-escalation", "wait"]  # fmt: skip
    with (logs / f"resume-{session_id}.log").open("ab") as out:
        subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env, start_new_session=True
        )
