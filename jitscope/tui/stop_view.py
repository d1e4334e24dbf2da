"""The Stack view: where the evaluation stopped, and its call stack, with the keys that answer
the stop (continue, step to the next event, abort).  Shown only while stopped."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from jitscope.runtime.breaks import Stop

__all__ = ["StopPanel"]


class StopPanel(Vertical):
    """Docked under the REPL while an evaluation is stopped."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "answer('continue')", "Continue", id="stop.continue", tooltip="go on"),
        Binding(
            "s",
            "answer('step')",
            "Step to next",
            id="stop.step",
            tooltip="go on, and stop at the next event of any kind (a call, a tier-up, a "
            "patch, an error)",
        ),
        Binding(
            "a",
            "answer('abort')",
            "Abort",
            id="stop.abort",
            tooltip="end the evaluation (its definitions and JIT code stay), as esc",
        ),
    ]

    class Answered(Message):
        def __init__(self, answer: str) -> None:
            super().__init__()
            self.answer = answer

    def compose(self) -> ComposeResult:
        yield Static(id="stop-headline")
        yield DataTable(id="stop-stack", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.border_title = "Stopped · Stack"
        table = self.query_one(DataTable)
        table.add_columns("#", "frame", "tier", "where", "source")
        self.display = False

    def show(self, stop: Stop) -> None:
        self.query_one("#stop-headline", Static).update(stop.headline())
        table = self.query_one(DataTable)
        table.clear()
        for k, f in enumerate(stop.stack.frames):
            table.add_row(str(k), f.call(), f.tier or "—", f.where, f.text)
        hidden = stop.stack.omitted
        if hidden:
            table.add_row("…", f"{hidden:,} outer frames not read", "", "", "")
        if stop.stack.note:
            table.add_row("", stop.stack.note, "", "", "")
        self.border_subtitle = "c continue · s step · a abort"
        self.display = True
        table.focus()

    def hide(self) -> None:
        self.display = False

    def action_answer(self, answer: str) -> None:
        self.post_message(self.Answered(answer))
