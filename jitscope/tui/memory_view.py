"""The memory inspector over the app: words of linear memory around an address, the fields
of the records jitscope knows named (jitscope/debugger/memory.py)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from jitscope.debugger.memory import MemWord

__all__ = ["MemoryScreen"]


class MemoryScreen(ModalScreen[None]):
    """Words of linear memory around an address (jitscope/debugger/memory.py); r reads them
    again, marking what changed, + shows more; esc or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="memory.close"),
        Binding("r", "reread", "Read again", id="memory.reread"),
        Binding("plus", "more", "More words", id="memory.more"),
    ]

    class Reread(Message):
        def __init__(self, screen: MemoryScreen) -> None:
            super().__init__()
            self.screen = screen

    def __init__(self, address: int, words: list[MemWord]) -> None:
        super().__init__()
        self.address = address
        self.words = words
        self.count = len(words)

    def compose(self) -> ComposeResult:
        with Vertical(id="code-dialog"):
            yield Static(
                Content.from_markup(
                    "[b]memory at 0x$a[/b] · r read again (* marks changes) · + more · esc close",
                    a=f"{self.address:x}",
                ),
                id="memory-head",
            )
            with VerticalScroll():
                yield Static(self._body(), id="memory-body")

    def _body(self) -> Content:
        rows = [
            Content.styled(
                w.line().replace(" ", "\u00a0"), "bold $text-warning" if w.changed else ""
            )
            for w in self.words
        ]
        return Content("\n").join(rows)

    def show(self, words: list[MemWord]) -> None:
        self.words = words
        self.query_one("#memory-body", Static).update(self._body())

    def action_reread(self) -> None:
        self.app.post_message(self.Reread(self))

    def action_more(self) -> None:
        self.count = min(4096, self.count * 2)
        self.app.post_message(self.Reread(self))

    def action_close(self) -> None:
        self.dismiss(None)
