"""JIT candidates: every function the interpreter knows, its calls and where it stands."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message

from jitscope.runtime.session import FunctionInfo
from jitscope.tui.messages import CodeRequested
from jitscope.tui.model import UiState, fmt_count_fit
from jitscope.tui.pane import Hint, Pane, PaneTable, code_binding
from jitscope.tui.styles import Palette

__all__ = ["CandidatesTable"]

EMPTY = (
    "[b]No functions yet.[/b] Define one in the REPL and call it:\n"
    "  [i](define (fib n) (if (< n 2) 1 (+ (fib (- n 1)) (fib (- n 2)))))[/i]\n"
    "  [i](fib 20)[/i]\n"
    "Functions the interpreter has run become [b]candidates[/b]: [b]space[/b] marks, "
    "[b]j[/b] JITs the marked (or highlighted) ones, [b]a[/b] JITs them all."
)

SEED_ONLY = (
    "[b]This module has no debugger interface.[/b]\n\n"
    "It runs the seed's interface only: evaluation works, and [b]a[/b] compiles and links "
    "every hot function in one go (no per-function view, no stepping)."
)


#: Cells of the count columns.
COUNT_WIDTH = 8


class CandidatesTable(Pane):
    """Functions with their call counters; mark some and JIT just those."""

    TITLE = "Candidates"
    KEY = "F3"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_mark", "Mark", id="candidates.mark", tooltip="mark a function"),
        Binding(
            "j",
            "jit_marked",
            "JIT",
            id="candidates.jit",
            tooltip="JIT the marked (or highlighted) functions",
        ),
        Binding(
            "u",
            "unlink",
            "Unlink",
            id="candidates.unlink",
            tooltip="send a linked function back to the interpreter",
        ),
        Binding("enter", "show", "WAT", id="candidates.show", tooltip="show its WAT"),
        code_binding("candidates"),
        Binding(
            "p",
            "toggle_prelude",
            "Prelude",
            id="candidates.prelude",
            show=False,
            tooltip="show the prelude's library functions nobody has called yet",
        ),
    ]

    class Selected(Message):
        """The user asked to JIT these functions (ids, in table order)."""

        def __init__(self, function_ids: tuple[int, ...]) -> None:
            super().__init__()
            self.function_ids = function_ids

    class UnlinkRequested(Message):
        """Send a linked function back to the interpreter."""

        def __init__(self, function_id: int) -> None:
            super().__init__()
            self.function_id = function_id

    class ShowRequested(Message):
        """Show this function's JIT code in the module view."""

        def __init__(self, function_id: int) -> None:
            super().__init__()
            self.function_id = function_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.marked: set[int] = set()
        self._hidden = 0  # prelude functions not shown
        #: Show the Scheme prelude's library functions even when nothing has called them.
        self.show_prelude = False

    def compose(self) -> ComposeResult:
        yield Hint()
        yield PaneTable(id="candidates-table")

    @property
    def table(self) -> PaneTable:
        return self.query_one(PaneTable)

    def on_mount(self) -> None:
        table = self.table
        # Counts get a fixed width (in full up to 99,999,999, compact beyond): an auto-sized
        # column is measured only after its rows change, and a screen drawn in between showed
        # counts cut short.
        for label, key, width in (
            ("function", "name", None),
            ("interp", "interp", COUNT_WIDTH),
            ("JIT", "jit", COUNT_WIDTH),
            ("state", "state", None),
            ("span", "span", None),
        ):
            table.add_column(label, key=key, width=width)
        super().on_mount()

    def render_state(self, state: UiState) -> None:
        snap = state.view
        if not snap.debugger:
            self.set_empty(SEED_ONLY)
            return
        if not snap.functions:
            self.set_empty(EMPTY)
            return
        shown = [f for f in snap.functions if self._shown(f)]
        self._hidden = len(snap.functions) - len(shown)
        self._update_subtitle()
        if not shown:
            self.set_empty(EMPTY)
            return
        self.set_empty(None)
        live = {f.id for f in shown}
        self.marked &= live
        palette = self.palette
        changed = state.changes.functions
        rows = [(str(f.id), self._cells(f, palette)) for f in shown]
        # The cursor stays where the user left it (j acts on it); a new table starts on the
        # first candidate, the function most worth compiling.
        focus = None
        if self.table.cursor_key is None or self.table.cursor_key not in {k for k, _ in rows}:
            focus = next((str(f.id) for f in shown if f.state == "candidate"), None)
        self.table.rebuild(rows, focus, {str(i) for i in changed}, palette.changed)
        self._update_subtitle()

    def _update_subtitle(self) -> None:
        """The highlighted function's exact counts while the table has focus (a cell may show
        them compact), else how many prelude functions are hidden."""
        fid = self._cursor_id() if self.table.has_focus else None
        f = self.state.view.function(fid) if fid is not None else None
        if f is not None:
            self.border_subtitle = (
                f"{f.name}: {f.interp_calls:,} interpreted · {f.jit_calls:,} JIT calls"
            )
        elif self._hidden:
            self.border_subtitle = f"{self._hidden} prelude functions hidden · p shows"
        else:
            self.border_subtitle = ""

    def on_data_table_row_highlighted(self, event: PaneTable.RowHighlighted) -> None:
        self._update_subtitle()
        self.refresh_bindings()  # the keys follow the highlighted function

    def on_descendant_focus(self) -> None:
        self._update_subtitle()

    def on_descendant_blur(self) -> None:
        self._update_subtitle()

    def _shown(self, f: FunctionInfo) -> bool:
        """User functions always; library (prelude) ones once called or compiled."""
        return (
            self.show_prelude
            or not f.library
            or bool(f.interp_calls or f.jit_calls or f.jit_code or f.pending)
        )

    def _cells(self, f: FunctionInfo, palette: Palette) -> list[object]:
        state_style = {
            "interpreted": palette.muted,
            "candidate": palette.interp,
            "linked": palette.jit,
        }.get(f.state, palette.accent)
        span = f"{f.line}:{f.col}-{f.end_line}:{f.end_col}"
        name = Text("● " if f.id in self.marked else "  ", style=palette.accent)
        name.append(f.name or "λ", style="bold")
        cells: list[object] = [
            name,
            Text(fmt_count_fit(f.interp_calls, COUNT_WIDTH), style=palette.interp, justify="right"),
            Text(fmt_count_fit(f.jit_calls, COUNT_WIDTH), style=palette.jit, justify="right"),
            Text(_state_label(f), style=state_style),
            Text(f"{f.source} {span}", style=palette.muted),
        ]
        return cells

    def _cursor_id(self) -> int | None:
        key = self.table.cursor_key
        return int(key) if key is not None else None

    # ----------------------------------------------------------------------------- actions

    def action_toggle_mark(self) -> None:
        fid = self._cursor_id()
        if fid is None:
            return
        self.marked ^= {fid}
        self.render_state(self.state)
        table = self.table
        if table.cursor_row + 1 < table.row_count:  # like a file manager: mark and move on
            table.move_cursor(row=table.cursor_row + 1, animate=False)

    def action_jit_marked(self) -> None:
        """JIT the marked functions, or the one under the cursor when none is marked."""
        order = [f.id for f in self.state.view.functions]
        ids = tuple(i for i in order if i in self.marked)
        if not ids and (fid := self._cursor_id()) is not None:
            ids = (fid,)
        if ids:
            self.marked.clear()
            self.post_message(self.Selected(ids))

    def action_toggle_prelude(self) -> None:
        self.show_prelude = not self.show_prelude
        self.render_state(self.state)

    def action_unlink(self) -> None:
        if (fid := self._cursor_id()) is not None:
            self.post_message(self.UnlinkRequested(fid))

    def action_code(self) -> None:
        if (fid := self._cursor_id()) is not None:
            self.post_message(CodeRequested(fid))

    def action_show(self) -> None:
        if (fid := self._cursor_id()) is not None:
            self.post_message(self.ShowRequested(fid))

    def on_data_table_row_selected(self, event: PaneTable.RowSelected) -> None:
        # DataTable turns enter (and a click on the cursor row) into RowSelected.
        event.stop()
        self.action_show()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_prelude":
            return True
        if action in ("toggle_mark", "jit_marked", "unlink", "show", "code"):
            # What the highlighted row's function allows (a disabled key looks disabled).
            fid = self._cursor_id()
            f = self.state.view.function(fid) if fid is not None else None
            if f is None:
                return None
            if action == "jit_marked":
                return bool(self.marked) or not (f.jit_code or f.pending) or None
            if action == "unlink":
                return f.state == "linked" or None
            if action in ("show", "code"):
                return bool(f.module_id) or None
        return True


def _state_label(f: FunctionInfo) -> str:
    """The state in few columns: "compiled in module 3" is "pending in jit 3" here, the
    module's name in the Table pane."""
    return f"pending, jit {f.module_id}" if f.pending and not f.jit_code else f.state
