"""The code view: a JIT function's wasm, each instruction followed by the x86-64 Cranelift
made of it (the listing every front end shares, jitscope/debugger/code.py)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from jitscope.debugger.code import CodeListing

__all__ = ["CodeScreen"]


class CodeScreen(ModalScreen[None]):
    """One function's listing over the app; esc or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="code.close"),
    ]

    def __init__(self, listing: CodeListing) -> None:
        super().__init__()
        self.listing = listing

    def compose(self) -> ComposeResult:
        c = self.listing
        head = (
            f"{c.function} in module {c.module_id}: {c.wasm_instructions} wasm instructions, "
            f"{c.native_instructions} x86-64 instructions ({c.native_bytes:,} bytes)"
            + (f" — {c.notice}" if c.notice else "")
        )
        body = Text()
        for line in c.lines:
            # x86-64 lines (under the wasm instruction they came from) are set apart.
            body.append(line + "\n", style="dim" if "│" in line else "")
        with VerticalScroll(id="code-dialog"):
            yield Static(Text(head, style="bold"), id="code-head")
            yield Static(body, id="code-body")

    def action_close(self) -> None:
        self.dismiss(None)
