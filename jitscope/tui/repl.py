"""The REPL: a multi-line input with history over a scrolling log of results."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.events import Key
from textual.message import Message
from textual.theme import Theme
from textual.timer import Timer
from textual.widgets import RichLog, Static, TextArea

from jitscope.debugger import open_depth
from jitscope.debugger.history import History
from jitscope.runtime.session import FormResult
from jitscope.tui.model import fmt_seconds, redact_hex
from jitscope.tui.styles import Palette

__all__ = ["LogEntry", "ReplInput", "ReplPane"]

WELCOME = (
    "Scheme on {module}. Type a form and press ⏎; an unfinished form continues on the next "
    "line. Try:\n"
    "  (define (fib n) (if (< n 2) 1 (+ (fib (- n 1)) (fib (- n 2)))))\n"
    "  (fib 20)\n"
    "then JIT fib from Candidates (F3, j) and step it in with n. F1 shows every key."
)

# A module with only the seed's interface: its programs are single expressions (the seed's
# own Scheme has letrec, no define), and its JIT links every hot function in one go.
SEED_WELCOME = (
    "Scheme on {module}, which has only the seed's interface: each input is one program. Try:\n"
    "  (letrec ((fib (lambda (n) (if (< n 2) 1 (+ (fib (- n 1)) (fib (- n 2))))))) (fib 20))\n"
    "then press a to compile and link its hot functions in one go (this module cannot stop "
    "between steps), and run it again. F1 shows every key."
)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One line (or block) of the transcript; kept so the log can be redrawn on theme change."""

    kind: str  # input, output, value, definition, void, error, jit, tierup, warning, info
    text: str
    seconds: float | None = None
    note: str = ""  # shown dimmed after the text (an error's kind)


class ReplInput(TextArea):
    """Scheme input: ⏎ evaluates a complete form, continues an open one; ↑/↓ browse history."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "submit",
            "Evaluate",
            key_display="⏎",
            id="repl.evaluate",
            tooltip="evaluate (an unfinished form continues on a new line)",
        ),
        Binding(
            "ctrl+j", "newline", "Newline", id="repl.newline", tooltip="newline without evaluating"
        ),
        Binding(
            "ctrl+r",
            "submit(True)",
            "Run as is",
            id="repl.force",
            show=False,
            tooltip="evaluate as is, even unfinished (the reader reports what is missing)",
        ),
        Binding(
            "ctrl+l", "clear_log", "Clear log", id="repl.clear", show=False, tooltip="clear the log"
        ),
    ]

    class Submitted(Message):
        """A complete input to evaluate."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, history: History, *, id: str | None = None) -> None:
        super().__init__(
            id=id,
            soft_wrap=True,
            tab_behavior="focus",
            show_line_numbers=False,
            compact=True,
            highlight_cursor_line=False,
            placeholder="(define (fib n) …)   ⏎ evaluates",
        )
        self.input_history = history

    async def _on_key(self, event: Key) -> None:
        # TextArea inserts a newline for enter before bindings are consulted; take it first.
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.action_submit()
            return
        await super()._on_key(event)

    def action_submit(self, force: bool = False) -> None:
        text = self.text
        if not text.strip():
            return
        depth = open_depth(text)
        if depth > 0 and not force:
            # An open form: continue it on a new, indented line rather than evaluate.
            self.insert("\n" + "  " * min(depth, 8))
            return
        self.input_history.add(text)
        self.clear()
        self.post_message(self.Submitted(text))

    def action_newline(self) -> None:
        self.insert("\n")

    def action_clear_log(self) -> None:
        for pane in self.ancestors:
            if isinstance(pane, ReplPane):
                pane.clear()

    def _set_entry(self, entry: str) -> None:
        self.load_text(entry)
        self.move_cursor(self.document.end)

    def action_cursor_up(self, select: bool = False) -> None:
        if not select and self.cursor_location[0] == 0:
            entry = self.input_history.previous(self.text)
            if entry is not None:
                self._set_entry(entry)
            return
        super().action_cursor_up(select)

    def action_cursor_down(self, select: bool = False) -> None:
        if not select and self.cursor_location[0] == self.document.line_count - 1:
            entry = self.input_history.next()
            if entry is not None:
                self._set_entry(entry)
            return
        super().action_cursor_down(select)


class ReplPane(Vertical):
    """Transcript above, input below; evaluation itself runs in the app's session worker."""

    DEFAULT_CLASSES = "pane"

    def __init__(
        self,
        history: History,
        *,
        module_name: str = "interplib.wasm",
        seed_only: bool = False,
        deterministic: bool = False,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.border_title = "REPL [dim]F2[/]"
        self.input_history = history
        self.deterministic = deterministic
        welcome = SEED_WELCOME if seed_only else WELCOME
        self.entries: list[LogEntry] = [LogEntry("info", welcome.format(module=module_name))]
        self._running_since: float | None = None
        self._stopped = False  # the running evaluation waits at a breakpoint
        self._running_label = ""
        self._ticker: Timer | None = None

    def compose(self) -> ComposeResult:
        yield RichLog(
            id="repl-log", wrap=True, markup=False, highlight=False, auto_scroll=True, min_width=16
        )
        yield Static(id="repl-status")
        repl_input = ReplInput(self.input_history, id="repl-input")
        repl_input.cursor_blink = not self.deterministic  # a blinking cursor breaks snapshots
        yield repl_input

    @property
    def input(self) -> ReplInput:
        return self.query_one(ReplInput)

    @property
    def log_widget(self) -> RichLog:
        return self.query_one(RichLog)

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        self._redraw()
        self._update_status()

    def _theme_changed(self, _theme: Theme) -> None:
        self._redraw()

    def on_resize(self) -> None:
        # RichLog wraps when a line is written; rewrap the transcript at the new width.
        self.call_after_refresh(self._redraw)

    # ----------------------------------------------------------------------------- log

    def _redraw(self) -> None:
        log = self.log_widget
        log.clear()
        palette = Palette.from_variables(self.app.theme_variables)
        for entry in self.entries:
            log.write(self._render_entry(entry, palette))

    def add(self, entry: LogEntry) -> None:
        self.entries.append(entry)
        del self.entries[:-2000]  # the log is a transcript, not an archive
        self.log_widget.write(
            self._render_entry(entry, Palette.from_variables(self.app.theme_variables))
        )

    def transcript(self) -> str:
        """The log as plain text, one entry per line (wrapping aside): what tests read."""
        palette = Palette.from_variables(self.app.theme_variables)
        return "\n".join(self._render_entry(e, palette).plain for e in self.entries)

    def clear(self) -> None:
        self.entries.clear()
        self.log_widget.clear()

    def _render_entry(self, entry: LogEntry, p: Palette) -> Text:
        if self.deterministic and entry.kind not in ("input", "output", "value"):
            entry = LogEntry(entry.kind, redact_hex(entry.text), entry.seconds, entry.note)
        t = Text()
        elapsed = (
            f"  {fmt_seconds(entry.seconds, self.deterministic)}"
            if entry.seconds is not None
            else ""
        )
        if entry.kind == "input":
            lines = entry.text.split("\n")
            t.append("› ", style=p.accent)
            t.append(lines[0], style="bold")
            for line in lines[1:]:
                t.append("\n  " + line, style="bold")
        elif entry.kind == "output":
            t.append(entry.text.rstrip("\n"))
        elif entry.kind == "value":
            t.append("⇒ ", style=p.jit)
            t.append(entry.text, style="bold")
            t.append(elapsed, style=p.muted)
        elif entry.kind == "definition":
            t.append("✓ ", style=p.jit)
            t.append(entry.text, style="bold")
            t.append(" defined", style=p.muted)
            t.append(elapsed, style=p.muted)
        elif entry.kind == "void":
            t.append("✓", style=p.jit)
            t.append(elapsed, style=p.muted)
        elif entry.kind == "error":
            t.append("✗ " + entry.text, style=p.error)
            if entry.note:
                t.append(f"  ({entry.note})", style=p.muted)
            t.append(elapsed, style=p.muted)
        elif entry.kind == "jit":
            t.append("⚙ ", style=p.primary)
            t.append(entry.text, style=p.primary)
            t.append(elapsed, style=p.muted)
        elif entry.kind == "tierup":
            t.append("⚡ " + entry.text, style=p.jit)
        elif entry.kind == "warning":
            t.append("⚠ " + entry.text, style=p.interp)
        else:
            t.append(entry.text, style=p.muted)
        return t

    def log_input(self, text: str) -> None:
        self.add(LogEntry("input", text))

    def log_results(self, results: list[FormResult]) -> None:
        for r in results:
            if r.output:
                self.add(LogEntry("output", r.output))
            if r.kind == "error" and r.error is not None:
                kind = r.error.kind
                note = "" if kind in ("error", r.error.message) else f"{kind} error"
                self.add(LogEntry("error", r.error.one_line(), r.seconds, note))
            else:
                self.add(LogEntry(r.kind, r.text, r.seconds))

    # ----------------------------------------------------------------------------- status

    def set_running(self, label: str | None) -> None:
        """Show that a worker is busy (with ``label``), or idle when None."""
        if label:
            self._running_label = label
            self._running_since = time.perf_counter()
            if self._ticker is None and not self.deterministic:
                self._ticker = self.set_interval(0.2, self._update_status)
        else:
            self._running_since = None
            if self._ticker is not None:
                self._ticker.stop()
                self._ticker = None
        self.query_one("#repl-status").set_class(bool(label), "-running")
        self._update_status()

    def set_stopped(self, stopped: bool) -> None:
        """Show that the running evaluation waits at a breakpoint."""
        self._stopped = stopped
        self._update_status()

    def _update_status(self) -> None:
        status = self.query_one("#repl-status", Static)
        if self._stopped:
            status.update(
                "⏸ stopped: [b],continue[/b] [b],step[/b] [b],abort[/b]",
                layout=False,
            )
        elif self._running_since is not None:
            elapsed = fmt_seconds(time.perf_counter() - self._running_since, self.deterministic)
            status.update(
                f"⏳ {self._running_label}… {elapsed} — [b]esc[/b] interrupts", layout=False
            )  # one line, always
        else:
            status.update(
                "[dim]⏎ evaluate · ctrl+j newline · ↑↓ history · tab → panes[/]", layout=False
            )
