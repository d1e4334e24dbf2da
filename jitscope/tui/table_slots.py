"""The indirect function table: who owns each slot, which ones growth added."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Static

from jitscope.runtime.session import TableSlot
from jitscope.tui.messages import CodeRequested, MemoryRequested
from jitscope.tui.model import UiState
from jitscope.tui.pane import Hint, Pane, PaneTable, code_binding, memory_binding, update_static
from jitscope.tui.styles import Palette

__all__ = ["TableSlotsView"]


class TableSlotsView(Pane):
    """``__indirect_function_table`` slot by slot; the last step's slots highlighted."""

    TITLE = "Table"
    KEY = "F6"

    BINDINGS: ClassVar[list[BindingType]] = [code_binding("table"), memory_binding("table")]

    def _function_id(self) -> int | None:
        """The function whose JIT code the highlighted slot holds (a module of this session)."""
        key = self.query_one(PaneTable).cursor_key
        view = self.state.view
        slot = next((s for s in view.slots if str(s.index) == key), None)
        if slot is None or not slot.owner.startswith("jit ") or not slot.owner[4:].isdigit():
            self.notify("That slot holds no JIT function of a module here.", severity="warning")
            return None
        mod = view.module(int(slot.owner[4:]))
        if mod is None or slot.name not in mod.names:
            return None
        return mod.function_ids[mod.names.index(slot.name)]

    def action_code(self) -> None:
        fid = self._function_id()
        if fid is not None:
            self.post_message(CodeRequested(fid))

    def action_memory(self) -> None:
        fid = self._function_id()
        f = self.state.view.function(fid) if fid is not None else None
        if f is not None:  # its record, from the jitCode field the slot's patch wrote
            self.post_message(MemoryRequested(f.jit_code_address))

    def compose(self) -> ComposeResult:
        yield Hint()
        yield Static(id="slots-summary", classes="summary")
        yield PaneTable(id="slots-table")

    def on_mount(self) -> None:
        table = self.query_one(PaneTable)
        for label, key in (
            ("slot", "index"),
            ("function", "name"),
            ("owner", "owner"),
            ("", "status"),
        ):
            table.add_column(label, key=key)
        super().on_mount()

    def render_state(self, state: UiState) -> None:
        snap = state.view
        if not snap.slots:
            self.set_empty("[b]The table is empty.[/b]\n\nNothing is loaded yet.")
            return
        self.set_empty(None)
        palette = self.palette
        changed = state.changes.slots
        rows = [(str(s.index), self._cells(s, palette, s.index in changed)) for s in snap.slots]
        table = self.query_one(PaneTable)
        # Unless the user is moving through the table, keep the action in view: the slots
        # the step changed, else the newest (grown) ones at the bottom.
        focus = None
        if not table.has_focus:
            focus = str(max(changed)) if changed else str(snap.slots[-1].index)
        table.rebuild(rows, focus, {str(i) for i in changed}, palette.changed)
        grown = sum(s.grown for s in snap.slots)
        empty = sum(s.empty for s in snap.slots)
        summary = f"{len(snap.slots)} slots · {snap.initial_table_size} from the main module"
        if grown:
            summary += f" · {grown} grown"
        if empty:
            summary += f" · {empty} empty"
        if changed:
            summary += f" · [b reverse] ★ {len(changed)} changed [/]"
        update_static(self.query_one("#slots-summary", Static), summary)

    def _cells(self, s: TableSlot, palette: Palette, changed: bool) -> list[object]:
        if s.empty:
            name = Text("∅ empty", style=palette.muted)
        else:
            name = Text(s.name or "(unnamed)", style="bold" if s.owner.startswith("jit") else "")
        owner_style = (
            palette.muted
            if s.dead
            else palette.jit
            if s.owner.startswith("jit")
            else (palette.accent if s.owner == "host" else palette.muted)
        )
        status = []
        if s.grown:
            status.append("grown")
        if s.dead:
            status.append(f"dead ({s.dead})")
        elif s.reused:
            status.append("reused")
        if changed:
            status.append("★")
        cells: list[object] = [
            Text(str(s.index), justify="right"),
            name,
            Text(s.owner or "—", style=owner_style),
            Text(" ".join(status), style=palette.accent if s.grown else palette.muted),
        ]
        return cells
