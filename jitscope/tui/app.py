"""The jitscope app: a REPL beside views of the live session, and keys that link JIT code in.

Threading: wasmtime allows one thread per Store at a time, so every Session call runs in the
``session`` worker group, one job at a time (the app refuses a second job while one runs, and a
lock makes sure of it). Each job ends by copying a :class:`SessionView` out of the session and
posting it back in a message; panes render only from that view. The one exception is auto
tier-up: the session calls :meth:`JitscopeApp._on_tier_up` on the evaluating thread, which is
the session's owner at that moment, so it may read the session and post what it saw.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import ClassVar, TypeVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical
from textual.css.query import NoMatches
from textual.events import DescendantFocus
from textual.reactive import reactive
from textual.theme import Theme
from textual.widgets import Footer, Tab, Tabs

from jitscope.debugger import DEFAULT_AUTO_THRESHOLD, Debugger, Report
from jitscope.debugger.code import CodeSource, code_diff, code_source, listing_of
from jitscope.debugger.history import History, default_history_path
from jitscope.debugger.memory import MemWord, memory_words
from jitscope.debugger.stops import stack_lines
from jitscope.runtime.breaks import Stop
from jitscope.runtime.session import (
    FunctionInfo,
    JitModule,
    Session,
)
from jitscope.runtime.stack import Stack
from jitscope.tui.candidates import CandidatesTable
from jitscope.tui.code_view import CodeScreen, DiffScreen
from jitscope.tui.commands import JitscopeCommands, PaletteCommand, palette_commands
from jitscope.tui.dispatch import DispatchView
from jitscope.tui.export import ExportScreen
from jitscope.tui.help import HelpScreen
from jitscope.tui.jobs import Job, Outcome, outcome_of
from jitscope.tui.keys import (
    KeyGroup,
    binding_ids,
    default_keymap_path,
    help_tables,
    load_keymap,
)
from jitscope.tui.memory_view import MemoryScreen
from jitscope.tui.messages import (
    CodeRequested,
    DiffRequested,
    Evaluated,
    JitDone,
    MemoryRequested,
    Stopped,
    TieredUp,
)
from jitscope.tui.model import (
    Changes,
    ModuleSnap,
    SessionView,
    TierUp,
    UiState,
    diff,
    fmt_count,
    jit_code_fields,
    record_history,
    take_view,
    view_module,
)
from jitscope.tui.module_view import ModuleView
from jitscope.tui.pane import Pane
from jitscope.tui.patches import PatchesView
from jitscope.tui.pipeline import PipelineStrip
from jitscope.tui.repl import LogEntry, ReplInput, ReplPane
from jitscope.tui.settings import default_settings_path, load_theme, save_theme
from jitscope.tui.stop_view import StopPanel
from jitscope.tui.table_slots import TableSlotsView
from jitscope.wasm.tools import WasmToolsError

__all__ = ["JitscopeApp"]

#: Right-hand panes in tab (and grid) order: (id, class).
PANES: tuple[tuple[str, type[Pane]], ...] = (
    ("candidates", CandidatesTable),
    ("module", ModuleView),
    ("dispatch", DispatchView),
    ("table", TableSlotsView),
    ("patches", PatchesView),
)

_UNSET = object()


T = TypeVar("T")


def changed_panes(changes: Changes) -> set[str]:
    """The panes whose rows the last step changed (their tabs are marked)."""
    return {
        name
        for name, changed in (
            ("candidates", changes.functions),
            ("module", changes.modules),
            ("dispatch", changes.counts),
            ("table", changes.slots),
            ("patches", changes.patches),
        )
        if changed
    }


class PaneTabs(Tabs):
    """The tab bar over the right-hand panes (hidden when the screen has room for all)."""


class Workspace(Vertical):
    """The right-hand side; its keys drive the JIT pipeline wherever focus is within it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "n", "app.step", "Step", id="jit.step", tooltip="next step of the selected JIT module"
        ),
        Binding("l", "app.link", "Link", id="jit.link", tooltip="link: run every remaining step"),
        Binding(
            "b",
            "app.discard",
            "Back",
            id="jit.discard",
            tooltip="back to interpreted: discard the unlinked module",
        ),
        Binding("a", "app.jit_all", "JIT all", id="jit.all", tooltip="JIT all candidates"),
        Binding("t", "app.toggle_auto", "Auto", id="jit.auto", tooltip="auto tier-up on / off"),
    ]

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        # Focus moved into a pane (tab key, click): bring its tab forward.
        for pane in event.widget.ancestors_with_self:
            if isinstance(pane, Pane) and pane.id:
                app = self.app
                if isinstance(app, JitscopeApp):
                    app.activate_pane(pane.id)
                return


class JitscopeApp(App[None]):
    """REPL, candidates, module WAT, table slots, memory patches and dispatch over one Session."""

    CSS_PATH = "jitscope.tcss"
    TITLE = "jitscope"
    COMMANDS = App.COMMANDS | {JitscopeCommands}
    # As Textual documents them (its own annotation makes a ClassVar here a type error).
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-narrow"),
        (100, "-medium"),
        (140, "-wide"),
    ]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]  # noqa: RUF012

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", id="app.help", tooltip="this help"),
        # Step and link wherever focus is (n and l type into the REPL there).
        Binding(
            "f10",
            "step",
            "Step",
            show=False,
            priority=True,
            id="app.step",
            tooltip="next step of the JIT module in flight, wherever focus is",
        ),
        Binding(
            "f9",
            "link",
            "Link",
            show=False,
            priority=True,
            id="app.link",
            tooltip="link the JIT module in flight, wherever focus is",
        ),
        Binding(
            "f8",
            "snapshot",
            "Snapshot",
            show=False,
            id="app.snapshot",
            tooltip="write a snapshot: the program with its linked JIT code as one module "
            "(static linking)",
        ),
        Binding(
            "escape",
            "interrupt",
            "Interrupt",
            id="app.interrupt",
            tooltip="interrupt the running evaluation",
        ),
        Binding(
            "ctrl+c",
            "interrupt",
            "Interrupt",
            show=False,
            priority=True,
            id="app.interrupt-ctrl-c",
            tooltip="interrupt the running evaluation, as esc",
        ),
        Binding("ctrl+q", "quit", "Quit", priority=True, id="app.quit", tooltip="quit"),
        Binding(
            "f2",
            "focus_pane('repl')",
            "REPL",
            show=False,
            priority=True,
            id="app.repl",
            tooltip="focus the REPL",
        ),
        *(
            Binding(
                f"f{3 + i}",
                f"focus_pane('{name}')",
                cls.TITLE,
                show=False,
                priority=True,
                id=f"app.{name}",
                tooltip=f"focus {cls.TITLE}",
            )
            for i, (name, cls) in enumerate(PANES)
        ),
    ]

    PANES = PANES

    state: reactive[UiState] = reactive(UiState, init=False)

    def __init__(
        self,
        session: Session,
        *,
        history_path: Path | None | object = _UNSET,
        keymap_path: Path | None | object = _UNSET,
        settings_path: Path | None | object = _UNSET,
        deterministic: bool = False,
        auto_threshold: int = DEFAULT_AUTO_THRESHOLD,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.session = session
        self.debugger = Debugger(session)
        self.deterministic = deterministic
        self.auto_threshold = auto_threshold
        path = default_history_path() if history_path is _UNSET else history_path
        self.history = History(path if isinstance(path, Path) else None)
        keys = default_keymap_path() if keymap_path is _UNSET else keymap_path
        self.keymap_path = keys if isinstance(keys, Path) else None
        settings = default_settings_path() if settings_path is _UNSET else settings_path
        self.settings_path = settings if isinstance(settings, Path) else None
        self._lock = threading.Lock()  # held by whichever thread is using the session
        self._seen_memory: dict[int, int] = {}  # what the memory inspector last read, by address
        self._busy = ""  # kind of the running job, "" when idle
        self._busy_label = ""  # what it is doing, for the "busy" warning
        self._active_pane = "candidates"  # the pane in front in tab mode
        self._auto_on = False  # auto tier-up switched on
        self._keys_signature: tuple[object, ...] = ()  # what the footer was last built for
        self._seq = 0
        self._eval_seq = 0
        self._eval_started = 0.0
        self._eval_before: dict[int, int] = {}
        self._history_warned = False
        self.keymap: dict[str, str] = {}
        self.set_reactive(JitscopeApp.state, UiState(deterministic=deterministic))
        session.on_tier_up = self._on_tier_up
        session.on_stop = self._on_stop
        # While stopped, the evaluating thread waits on this for what to do: an answer
        # ("continue", "step", "abort") or a read to run for the UI, as the session's owner.
        self._stop_requests: queue.Queue[tuple[str, Callable[[], object] | None]] = queue.Queue()
        self._stopped: Stop | None = None
        self._stop_waiting = threading.Event()  # the evaluating thread waits at a stop
        self._failure_stack: Stack | None = None  # where the last error happened

    def _keep_theme(self, theme: Theme) -> None:
        problem = save_theme(self.settings_path, theme.name)
        if problem:
            self.notify(problem, severity="warning")

    # ----------------------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield ReplPane(
                self.history,
                module_name=self.session.path.name,
                seed_only=not self.session.debugger,
                deterministic=self.deterministic,
                id="repl",
            )
            with Workspace(id="workspace"):
                yield PipelineStrip(id="pipeline").data_bind(JitscopeApp.state)
                yield PaneTabs(
                    *(Tab(f"{cls.TITLE} {cls.KEY}", id=f"tab-{name}") for name, cls in PANES),
                    id="pane-tabs",
                )
                with Container(id="panes"):
                    for name, cls in PANES:
                        yield cls(id=name).data_bind(JitscopeApp.state)
        yield StopPanel(id="stop")
        yield Footer(id="footer")

    def on_mount(self) -> None:
        theme, problem = load_theme(self.settings_path)
        if theme in self.available_themes:
            self.theme = theme
        elif theme is not None:
            problem = f"{self.settings_path}: no theme called {theme!r}; using {self.theme}"
        if problem:
            self.notify(problem, severity="warning", timeout=8)
        self.theme_changed_signal.subscribe(self, self._keep_theme)
        keymap, warning = load_keymap(self.keymap_path, self._binding_ids())
        self.keymap = keymap
        if keymap:
            self.set_keymap(keymap)
        if warning:
            self.notify(warning, severity="warning", timeout=10)
        self.history.load()
        repl = self.query_one(ReplPane)
        if self.history.warning:
            repl.add(LogEntry("warning", self.history.warning))
            self.notify(self.history.warning, severity="warning", timeout=8)
        for problem in self.session.warnings:
            repl.add(LogEntry("warning", f"{self.session.path.name}: {problem}"))
        # Nothing else runs yet, so the UI thread may read the session for the first screen.
        self._apply_view(self._take_view(), select=None)
        self._show_active_pane()
        repl.input.focus()

    def on_resize(self) -> None:
        # Tighter key spacing where width is short, so the step keys stay in view.
        self.query_one(Footer).compact = self.size.width < 120
        self._show_active_pane()

    @property
    def grid_mode(self) -> bool:
        """All five panes on screen at once (the -wide -tall layout in jitscope.tcss)."""
        return self.size.width >= 140 and self.size.height >= 36

    def activate_pane(self, name: str) -> None:
        """Bring ``name`` forward (it matters when the panes are tabbed)."""
        self._active_pane = name
        # In the grid every pane shows anyway; restyling two pane subtrees on each focus
        # change would cost more than the rest of the switch, so wait for a resize.
        if not self.grid_mode:
            self._show_active_pane()

    def _show_active_pane(self) -> None:
        name = self._active_pane
        for pane_name, _ in PANES:
            self.query_one(f"#{pane_name}").set_class(pane_name == name, "-active")
        tabs = self.query_one(PaneTabs)
        if tabs.active != f"tab-{name}":
            with tabs.prevent(Tabs.TabActivated):
                tabs.active = f"tab-{name}"

    def watch_state(self, state: UiState) -> None:
        # In tab mode the other panes are hidden: their tabs say which ones the step changed.
        changed = changed_panes(state.changes)
        for name, cls in PANES:
            mark = " ★" if name in changed else ""
            with contextlib.suppress(NoMatches):  # before the tab bar is composed
                self.query_one(f"#tab-{name}", Tab).label = f"{cls.TITLE} {cls.KEY}{mark}"

    @on(Tabs.TabActivated, "#pane-tabs")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        if event.tab.id:
            self.activate_pane(event.tab.id.removeprefix("tab-"))

    @property
    def auto_on(self) -> bool:
        return self._auto_on

    @property
    def busy(self) -> str:
        """What the session worker is doing ("eval", "jit"), "" when idle."""
        return self._busy

    def pane(self, name: str) -> Pane:
        return self.query_one(f"#{name}", Pane)

    # ----------------------------------------------------------------------------- state

    def _take_view(self) -> SessionView:
        self._seq += 1
        return take_view(self.session, self._seq)

    def _apply_view(
        self,
        view: SessionView,
        *,
        select: int | None,
        history_counts: bool = False,
        eval_seq: int = 0,
        seconds: float = 0.0,
    ) -> None:
        old = self.state
        selected = select if select is not None else old.selected_module
        if view.module(selected) is None:
            selected = view.modules[-1].id if view.modules else None
        history = old.history
        if history_counts:
            history = record_history(history, eval_seq, view.last_counts, seconds)
        self.state = replace(
            old,
            view=view,
            changes=diff(old.view, view),
            selected_module=selected,
            history=history,
            running=self._busy,
            stopped=self._stopped is not None,
            auto_threshold=self.auto_threshold if self._auto_on else None,
        )
        self._refresh_keys()

    def _refresh_keys(self) -> None:
        """Refresh the footer, but only when what check_action answers can have changed:
        the footer rebuilds all its keys, which costs more than the rest of a step."""
        snap = self.state.view
        target = self.step_target()
        # A JIT job lasts milliseconds: not worth two footer rebuilds; an evaluation shows esc.
        signature = (
            self._busy == "eval",
            target is not None,
            bool(snap.functions),
            bool(snap.modules),
        )
        if signature != self._keys_signature:
            self._keys_signature = signature
            self.refresh_bindings()

    def _set_busy(self, kind: str, label: str = "") -> None:
        self._busy = kind
        self.query_one(ReplPane).set_running(label or None)
        self._refresh_keys()

    # ----------------------------------------------------------------------------- jobs

    def _start(self, job: Job) -> bool:
        if self._busy:
            self.notify(
                f"Busy: {self._busy_label}. Wait, or press esc to interrupt an evaluation.",
                severity="warning",
            )
            return False
        self._busy_label = job.label
        self._set_busy(job.kind, job.label)
        self._session_job(job)
        return True

    @work(thread=True, exclusive=True, group="session", exit_on_error=False)
    def _session_job(self, job: Job) -> None:
        started = time.perf_counter()
        with self._lock:
            try:
                if job.kind == "eval":
                    self._eval_before = {f.id: f.interp_calls for f in self.session.functions()}
                    self._eval_started = time.perf_counter()  # tier-up times count from here
                outcome = job.run(self.session)
                if job.kind == "eval":  # what auto tier-up tried and undid on the way
                    outcome.entries += outcome_of(self.debugger.tier_up_report()).entries
            except Exception as e:  # noqa: BLE001 -- a bug below us: report it, keep the session
                outcome = Outcome([LogEntry("error", f"internal error in {job.label}: {e!r}")])
            try:
                view = self._take_view()
            except Exception as e:  # noqa: BLE001 -- as above: the app must not die of it
                outcome.entries.append(LogEntry("error", f"internal error reading state: {e!r}"))
                view = self.state.view
        seconds = time.perf_counter() - started
        if job.kind == "eval":
            self.post_message(
                Evaluated(
                    job.source, outcome.results or [], view, seconds, job.eval_seq, outcome.entries
                )
            )
        else:
            self.post_message(JitDone(job.label, outcome, view))

    def _on_tier_up(self, mod: JitModule) -> None:
        """Runs on the evaluating thread (which owns the session) right after a tier-up."""
        functions = tuple(self.session.functions())
        fid = mod.function_ids[0] if mod.function_ids else -1
        now = next((f.interp_calls for f in functions if f.id == fid), 0)
        event = TierUp(
            at=time.perf_counter() - self._eval_started,
            name=mod.names[0] if mod.names else "?",
            module_id=mod.id,
            interp_calls=now - self._eval_before.get(fid, 0),
            eval_seq=self._eval_seq,
            function_id=fid,
        )
        self.post_message(
            TieredUp(event, view_module(mod, jit_code_fields(functions), auto=True), functions)
        )

    def _on_stop(self, stop: Stop) -> str:
        """Runs on the evaluating thread, inside the module's host callback: show the live
        state, then wait for the user's answer, running the reads the UI asks for meanwhile."""
        self._stop_waiting.set()
        try:
            self.post_message(Stopped(stop, self._take_view()))
            while True:
                answer, read = self._stop_requests.get()
                if read is None:
                    return answer
                read()
        finally:
            self._stop_waiting.clear()

    def on_unmount(self) -> None:
        # An app that closes at a stop must not leave its evaluating thread waiting.
        if self._stop_waiting.is_set():
            self._stop_requests.put(("abort", None))

    def _as_owner(self, read: Callable[[], T]) -> T:
        """Run ``read`` on the stopped evaluating thread (the session's owner) and wait."""
        done = threading.Event()
        box: list[T] = []
        error: list[BaseException] = []

        def run() -> None:
            try:
                box.append(read())
            except BaseException as e:  # noqa: BLE001 -- handed back to the UI thread
                error.append(e)
            finally:
                done.set()

        self._stop_requests.put(("read", run))
        done.wait()
        if error:
            raise error[0]
        return box[0]

    @on(Stopped)
    def _stopped_at(self, message: Stopped) -> None:
        self._stopped = message.at
        self.query_one(ReplPane).add(LogEntry("warning", message.at.headline()))
        self.query_one(ReplPane).set_stopped(True)
        self._apply_view(replace(message.view, last_counts=dict(message.at.counts)), select=None)
        self.query_one(StopPanel).show(message.at)
        self._refresh_keys()

    @on(StopPanel.Answered)
    def _answered(self, message: StopPanel.Answered) -> None:
        self.answer_stop(message.answer)

    def answer_stop(self, answer: str) -> bool:
        """Continue, step or abort the stopped evaluation; False if nothing is stopped."""
        if self._stopped is None:
            return False
        self._stopped = None
        self.state = replace(self.state, stopped=False)
        self.query_one(StopPanel).hide()
        self.query_one(ReplPane).set_stopped(False)
        self.query_one(ReplPane).add(
            LogEntry(
                "info",
                {
                    "continue": "continuing…",
                    "step": "stepping to the next event…",
                    "abort": "aborting…",
                }[answer],
            )
        )
        self._stop_requests.put((answer, None))
        self.query_one(ReplInput).focus()
        self._refresh_keys()
        return True

    @property
    def stopped(self) -> Stop | None:
        """The stop being looked at, None while nothing is stopped."""
        return self._stopped

    @on(Evaluated)
    def _evaluated(self, message: Evaluated) -> None:
        self._busy = ""
        failed = message.results[-1].error if message.results else None
        self._failure_stack = failed.stack if failed is not None else None
        self.query_one(ReplPane).set_running(None)
        self.query_one(ReplPane).log_results(message.results)
        for entry in message.entries:
            self.query_one(ReplPane).add(entry)
        select = None
        current = message.view.module(self.state.selected_module)
        tiered = [t.module_id for t in self.state.tier_ups if t.eval_seq == message.eval_seq]
        if tiered and (current is None or not current.in_flight):
            select = tiered[-1]
        self._apply_view(
            message.view,
            select=select,
            history_counts=True,
            eval_seq=message.eval_seq,
            seconds=message.seconds,
        )

    @on(JitDone)
    def _jit_done(self, message: JitDone) -> None:
        self._busy = ""
        repl = self.query_one(ReplPane)
        repl.set_running(None)
        for entry in message.outcome.entries:
            repl.add(entry)
        if message.outcome.auto is not None:
            self._auto_on = message.outcome.auto
        self._apply_view(message.view, select=message.outcome.select)

    @on(TieredUp)
    def _tiered_up(self, message: TieredUp) -> None:
        old = self.state
        modules = tuple(m for m in old.view.modules if m.id != message.module.id)
        view = replace(old.view, functions=message.functions, modules=(*modules, message.module))
        t = message.event
        self.state = replace(
            old,
            view=view,
            changes=diff(old.view, view),
            tier_ups=(*old.tier_ups, t)[-50:],
            running=self._busy,
        )
        self.query_one(ReplPane).add(
            LogEntry(
                "tierup",
                f"auto tier-up: {t.name} linked as module {t.module_id} after "
                f"{fmt_count(t.interp_calls)} interpreted calls",
                t.at,
            )
        )

    # ----------------------------------------------------------------------------- REPL

    @on(ReplInput.Submitted)
    def _submitted(self, event: ReplInput.Submitted) -> None:
        if not self._evaluate(event.text):
            repl = self.query_one(ReplPane)
            repl.input.load_text(event.text)  # keep what was typed
            repl.input.move_cursor(repl.input.document.end)

    def _evaluate(self, source: str) -> bool:
        if source.lstrip().startswith(","):
            self._save_history()
            self.query_one(ReplPane).log_input(source)
            self._meta(source.split())
            return True
        if self._stopped is not None:
            self.notify(
                "Stopped at a breakpoint: c continues, s steps, a or esc aborts (then evaluate).",
                severity="warning",
            )
            return False
        if self._busy:
            self.notify(f"Busy: {self._busy_label}. Press esc to interrupt.", severity="warning")
            return False
        self._save_history()
        self.query_one(ReplPane).log_input(source)
        self._eval_seq += 1

        def run(session: Session) -> Outcome:
            return Outcome(results=session.eval(source))

        return self._start(Job("eval", "evaluating", run, self._eval_seq, source))

    def _meta(self, words: list[str]) -> None:
        """The REPL's commands: ,break …, ,bt and a stop's answers (the panes and keys do the
        rest)."""
        repl = self.query_one(ReplPane)
        cmd, args = words[0][1:], words[1:]
        if cmd == "bt":
            stack = self._stopped.stack if self._stopped is not None else self._failure_stack
            if stack is None:
                repl.add(
                    LogEntry("info", "no stack: nothing is stopped, and no error has happened yet")
                )
            else:
                repl.add(LogEntry("info", "\n".join(stack_lines(stack))))
            return
        answers = {"continue": "continue", "c": "continue", "step": "step", "abort": "abort"}
        if cmd in answers:
            if not self.answer_stop(answers[cmd]):
                repl.add(LogEntry("info", "nothing is stopped: ,break sets a breakpoint"))
            return
        if cmd != "break":
            repl.add(
                LogEntry(
                    "error",
                    f"the REPL here takes Scheme, ,break …, ,bt, ,continue, ,step and ,abort;"
                    f" not ,{cmd} (F1 lists the keys)",
                )
            )
            return
        if self._stopped is not None:  # the stopped thread owns the session: it sets them
            report = self._as_owner(lambda: self.debugger.breakpoint(args))
            for entry in outcome_of(report).entries:
                repl.add(entry)
            return
        self._act("break", lambda d: d.breakpoint(args))

    def _save_history(self) -> None:
        try:
            self.history.save()
        except OSError as e:
            if not self._history_warned:
                self._history_warned = True
                self.notify(f"History not saved: {e}", severity="warning")

    def evaluate(self, source: str) -> bool:
        """Evaluate ``source`` as if typed into the REPL (tests, scripts and the palette)."""
        if self._busy:
            return False
        self.history.add(source)
        return self._evaluate(source)

    # ----------------------------------------------------------------------------- JIT jobs

    def step_target(self) -> ModuleSnap | None:
        """The module the stepping keys act on: the selected one if unlinked, else the newest
        unlinked one."""
        snap = self.state.view
        mod = snap.module(self.state.selected_module)
        if mod is not None and mod.in_flight:
            return mod
        flying = snap.in_flight
        return flying[-1] if flying else None

    def _act(self, label: str, act: Callable[[Debugger], Report]) -> bool:
        """Run one debugger act as a session job; its report goes to the log."""

        def run(session: Session) -> Outcome:
            return outcome_of(act(self.debugger))

        return self._start(Job("jit", label, run))

    def generate(self, functions: tuple[int, ...] | None) -> bool:
        """Generate a JIT module for these function ids (None: every candidate)."""
        ids: list[int | str] | None = list(functions) if functions is not None else None
        if not self.state.view.debugger:  # the seed's interface links as it generates
            return self._act("JIT-linking", lambda d: d.jit(None))
        return self._act("generating", lambda d: d.generate(ids))

    def step(self, *, to_end: bool = False) -> bool:
        target = self.step_target()
        if target is None:
            self.notify(
                "No JIT module in flight: JIT something first (j or a).", severity="warning"
            )
            return False
        mid = target.id
        return self._act("linking" if to_end else "stepping", lambda d: d.step(mid, to_end=to_end))

    def action_snapshot(self) -> None:
        """Static linking: write the live program, linked JIT code included, as one module."""
        if self._busy:
            self.notify(f"Busy: {self._busy_label}.", severity="warning")
            return

        def chosen(path: Path | None) -> None:
            if path is not None:
                self.write_snapshot(path)

        self.push_screen(
            ExportScreen(Path.cwd() / "snapshot.wasm", "Write a snapshot (static link) to"),
            chosen,
        )

    def write_snapshot(self, path: Path) -> bool:
        return self._act("writing a snapshot", lambda d: d.snapshot(path)[0])

    def discard_module(self) -> bool:
        target = self.step_target()
        if target is None:
            self.notify("No unlinked module to discard.", severity="warning")
            return False
        mid = target.id
        return self._act("discarding", lambda d: d.discard(mid))

    def unlink(self, function_id: int) -> bool:
        f = self.state.view.function(function_id)
        if f is None or f.state != "linked":
            self.notify(f"{f.name if f else 'That function'} is not linked.", severity="warning")
            return False
        return self._act("unlinking", lambda d: d.unlink(function_id))

    def set_auto(self, threshold: int | None) -> bool:
        if not self.state.view.debugger:
            self.notify("Auto tier-up needs the debugger interface.", severity="warning")
            return False
        if threshold is not None:
            self.auto_threshold = threshold
        return self._act("setting auto mode", lambda d: d.set_auto(threshold))

    # ----------------------------------------------------------------------------- actions

    def action_step(self) -> None:
        self.step()

    def action_link(self) -> None:
        self.step(to_end=True)

    def action_discard(self) -> None:
        self.discard_module()

    def action_jit_all(self) -> None:
        self.generate(None)

    def action_toggle_auto(self) -> None:
        self.set_auto(None if self._auto_on else self.auto_threshold)

    def action_interrupt(self) -> None:
        if self.answer_stop("abort"):
            return
        if self._busy == "eval":
            self.session.interrupt()  # thread-safe: bumps the engine epoch
            self.query_one(ReplPane).add(LogEntry("info", "interrupting…"))
        elif self._busy == "jit":
            self.debugger.cancel()  # at its next step; a half-linked module is discarded
            self.query_one(ReplPane).add(LogEntry("info", "cancelling…"))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(help_tables(self.key_groups(), self.keymap)))

    def key_groups(self) -> list[KeyGroup]:
        """The help's key tables, from the bindings of each part of the app."""
        return [
            KeyGroup(
                "Anywhere",
                self.BINDINGS,
                (
                    ("ctrl+p", "command palette: every action, by name"),
                    ("tab / shift+tab", "next / previous pane"),
                ),
            ),
            KeyGroup("REPL input", ReplInput.BINDINGS, (("↑ / ↓", "history (kept across runs)"),)),
            KeyGroup("Right-hand panes", Workspace.BINDINGS),
            KeyGroup("Candidates", CandidatesTable.BINDINGS),
            KeyGroup("Module", ModuleView.BINDINGS),
            KeyGroup("Table", TableSlotsView.BINDINGS),
            KeyGroup("Patches", PatchesView.BINDINGS),
            KeyGroup("Stopped at a breakpoint", StopPanel.BINDINGS),
        ]

    def _binding_ids(self) -> set[str]:
        return {i for g in self.key_groups() for i in binding_ids(g.bindings)}

    def action_focus_pane(self, name: str) -> None:
        if name == "repl":
            self.query_one(ReplInput).focus()
            return
        self.activate_pane(name)
        self.call_after_refresh(self.pane(name).focus_body)

    async def action_quit(self) -> None:
        self.answer_stop("abort")
        if self._busy == "eval":
            self.session.interrupt()  # or exit would wait for the evaluation's time limit
        self.exit()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "interrupt":
            return self._busy in ("eval", "jit")
        if action in ("step", "link", "discard"):
            return (not self._busy and self.step_target() is not None) or None
        if action == "jit_all":
            return not self._busy or None
        if action == "toggle_auto":
            return (not self._busy and self.state.view.debugger) or None
        return True

    # ----------------------------------------------------------------------------- pane messages

    @on(CandidatesTable.Selected)
    def _jit_selected(self, event: CandidatesTable.Selected) -> None:
        self.generate(event.function_ids)

    @on(CandidatesTable.UnlinkRequested)
    def _unlink(self, event: CandidatesTable.UnlinkRequested) -> None:
        self.unlink(event.function_id)

    @on(CandidatesTable.ShowRequested)
    def _show(self, event: CandidatesTable.ShowRequested) -> None:
        f = self.state.view.function(event.function_id)
        if f is None or not f.module_id or self.state.view.module(f.module_id) is None:
            self.notify("Not compiled yet: j JITs it.", severity="information")
            return
        self.show_module(f.module_id, f.name)

    @on(CodeRequested)
    def _code(self, event: CodeRequested) -> None:
        f = self.state.view.function(event.function_id)
        if f is None or not f.module_id:
            self.notify("No JIT code yet: j JITs it.", severity="information")
            return
        try:
            src = code_source(self.session, f)
        except ValueError as e:
            self.notify(f"No code view: {e}", severity="information")
            return
        self._build_code(src, f, self.session.source_texts())

    @on(MemoryRequested)
    def _memory(self, event: MemoryRequested) -> None:
        words = self._read_words(event.address, 8)
        if words is not None:
            self.push_screen(MemoryScreen(event.address, words))

    @on(MemoryScreen.Reread)
    def _memory_again(self, event: MemoryScreen.Reread) -> None:
        words = self._read_words(event.screen.address, event.screen.count)
        if words is not None:
            event.screen.show(words)

    def _read_words(self, address: int, count: int) -> list[MemWord] | None:
        """Memory words, read here only while no job holds the session (one thread uses a
        store at a time), or by the stopped evaluating thread."""

        def read() -> list[MemWord]:
            return memory_words(self.session, address, count, self._seen_memory)

        stopped = self._stopped is not None
        if not stopped and not self._lock.acquire(blocking=False):
            self.notify(
                f"Busy: {self._busy_label}. Read memory when it is done.", severity="warning"
            )
            return None
        try:
            return self._as_owner(read) if stopped else read()
        except ValueError as e:
            self.notify(f"No memory view: {e}", severity="warning")
            return None
        finally:
            if not stopped:
                self._lock.release()

    @on(DiffRequested)
    def _diff(self, event: DiffRequested) -> None:
        self.show_code_diff(event.name)

    def show_code_diff(self, name: str) -> bool:
        """Compare the latest generation of ``name``'s JIT code with the one before (a job:
        it reads the session's functions)."""

        def run(session: Session) -> Outcome:
            try:
                text = code_diff(session, name)
            except (ValueError, WasmToolsError) as e:
                return Outcome([LogEntry("info", f"No diff: {e}")])
            self.call_from_thread(self.push_screen, DiffScreen(text))
            return Outcome()

        return self._start(Job("jit", f"comparing generations of {name}", run))

    @work(thread=True, exclusive=True, group="code", exit_on_error=False)
    def _build_code(self, src: CodeSource, f: FunctionInfo, sources: dict[int, str]) -> None:
        # Reads the module alone (its bytes and compiled code), never the session's store.
        try:
            listing = listing_of(src, f, sources)
        except (ValueError, WasmToolsError) as e:
            self.call_from_thread(self.notify, f"No code view: {e}", severity="warning")
            return
        self.call_from_thread(
            self.push_screen, CodeScreen(listing, deterministic=self.deterministic)
        )

    def show_in_selected_module(self, function: str) -> None:
        self.show_module(self.state.selected_module or 0, function)

    def show_module(self, module_id: int, function: str | None = None) -> None:
        """Select ``module_id`` in the module view (and step target), optionally jump."""
        self.state = replace(self.state, selected_module=module_id)
        self._refresh_keys()
        self.action_focus_pane("module")
        if function:
            self.query_one(ModuleView).jump_to(function)

    @on(ModuleView.ModuleChosen)
    def _module_chosen(self, event: ModuleView.ModuleChosen) -> None:
        self.state = replace(self.state, selected_module=event.module_id)
        self._refresh_keys()

    @on(ModuleView.Exported)
    def _exported(self, event: ModuleView.Exported) -> None:
        if event.error:
            self.notify(f"Could not write {event.path}: {event.error}", severity="error")
        else:
            self.notify(f"WAT written to {event.path}")
            self.query_one(ReplPane).add(LogEntry("info", f"WAT written to {event.path}"))

    def palette_commands(self) -> list[PaletteCommand]:
        """Every action, named for the command palette; only those that apply now."""
        return palette_commands(self)
