"""Asking where to write a file (the WAT, a listing, a table, a snapshot)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

__all__ = ["ExportScreen"]


class ExportScreen(ModalScreen[Path | None]):
    """Ask where to write a file (the WAT, a snapshot); dismisses with the path, or None when
    cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="export.cancel")
    ]

    def __init__(self, default: Path, what: str = "Export WAT to file") -> None:
        super().__init__()
        self.default = default
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical(id="export-dialog"):
            yield Label(f"{self.what} ([b]enter[/b] writes, [b]esc[/b] cancels)")
            yield Input(str(self.default), id="export-path")

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        self.dismiss(Path(value).expanduser() if value else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
