"""Memory patches: each relocation a JIT module applies, before and after."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Static

from jitscope.runtime.session import Stage
from jitscope.tui.messages import CodeRequested, MemoryRequested
from jitscope.tui.model import ModuleSnap, PatchSnap, UiState, fmt_addr, redact_hex
from jitscope.tui.pane import Hint, Pane, PaneTable, code_binding, memory_binding, update_static
from jitscope.tui.styles import Palette

__all__ = ["PatchesView"]

EMPTY = (
    "[b]No memory patches yet.[/b] A JIT module links itself in by storing each function's "
    "new table slot into that function's [b]jitCode[/b] field in the interpreter's memory. "
    "Generate a module ([b]j[/b] or [b]a[/b]) to see its patches pending; [b]n[/b] applies "
    "them one step at a time."
)


class PatchesView(Pane):
    """Address, what lives there, value before and after, pending/applied."""

    TITLE = "Patches"
    KEY = "F7"

    BINDINGS: ClassVar[list[BindingType]] = [code_binding("patches"), memory_binding("patches")]

    def _row(self) -> tuple[ModuleSnap, int] | None:
        key = self.query_one(PaneTable).cursor_key
        if key is None:
            return None
        module_id, index = (int(k) for k in key.split(":"))
        mod = self.state.view.module(module_id)
        return (mod, index) if mod is not None and index < len(mod.function_ids) else None

    def action_code(self) -> None:
        row = self._row()
        if row is not None:
            self.post_message(CodeRequested(row[0].function_ids[row[1]]))

    def action_memory(self) -> None:
        row = self._row()
        if row is not None:  # the field the patch writes
            self.post_message(MemoryRequested(row[0].patches[row[1]].address))

    def compose(self) -> ComposeResult:
        yield Hint()
        yield Static(id="patches-summary", classes="summary")
        yield PaneTable(id="patches-table")

    def on_mount(self) -> None:
        table = self.query_one(PaneTable)
        # What the step changed comes first, so narrow panes cut the address, not the values.
        for label, key in (
            ("field", "what"),
            ("before → after", "values"),
            ("state", "state"),
            ("address", "address"),
            ("module", "module"),
        ):
            table.add_column(label, key=key)
        super().on_mount()

    def render_state(self, state: UiState) -> None:
        modules = [m for m in state.view.modules if m.patches]
        if not modules:
            self.set_empty(EMPTY)
            return
        self.set_empty(None)
        palette = self.palette
        changed = state.changes.patches
        names = {s.index: s.name for s in state.view.slots}
        rows = [
            (f"{p.module_id}:{p.index}", self._cells(m, p, palette, names, state))
            for m in modules
            for p in m.patches
        ]
        focus = None
        if changed:
            focus = "{}:{}".format(*min(changed))
        elif (sel := state.module) is not None and sel.patches:
            pending = [p for p in sel.patches if not p.applied]
            target = pending[0] if pending else sel.patches[-1]
            focus = f"{target.module_id}:{target.index}"
        self.query_one(PaneTable).rebuild(
            rows, focus, {f"{mid}:{i}" for mid, i in changed}, palette.changed
        )
        mod = state.module
        summary = ""
        if mod is not None and mod.patches:
            summary = f"module {mod.id}: {mod.patches_applied}/{len(mod.patches)} applied" + (
                f" · next: {mod.next_step}" if mod.next_step else ""
            )
            if state.deterministic:
                summary = redact_hex(summary)
        update_static(self.query_one("#patches-summary", Static), summary)

    def _cells(
        self,
        m: ModuleSnap,
        p: PatchSnap,
        palette: Palette,
        names: dict[int, str],
        state: UiState,
    ) -> list[object]:
        def value(v: int | None) -> Text:
            if v is None:
                return Text("?", style=palette.muted)
            if v == 0:
                return Text("0", style=palette.interp)  # 0: no JIT code, the interpreter
            return Text(str(v), style=palette.jit)

        if p.applied:
            values = Text.assemble(value(p.before), " → ", value(p.after))
        else:  # what it will read and write: the field now, and its slot once filled
            slot = None if m.table_base is None else m.table_base + p.element
            values = Text.assemble(value(p.now), " → ", value(slot))
            values.stylize(palette.muted)
        if p.after is not None and names.get(p.after, p.name) != p.name:
            values.append(f" ({names.get(p.after, '?')})", style=palette.muted)
        return [
            Text(p.label, style="bold"),
            values,
            self._status(m, p, palette),
            Text(fmt_addr(p.address, state.deterministic), style=palette.primary),
            Text(f"jit {m.id}"),
        ]

    @staticmethod
    def _status(m: ModuleSnap, p: PatchSnap, palette: Palette) -> Text:
        """The patch as memory holds it now: a reverted one says what the field holds."""
        if p.status == "pending":
            if m.stage in (Stage.DISCARDED, Stage.FAILED):
                return Text("dropped", style=palette.error)
            return Text("pending", style=palette.interp)
        if p.status == "applied":
            return Text("applied", style=palette.jit)
        return Text(f"{p.status}, now {p.now}", style=palette.muted)
