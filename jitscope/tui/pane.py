"""What the right-hand panes share: a bound :class:`UiState`, a theme palette, an empty state."""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Collection
from pathlib import Path
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.reactive import reactive
from textual.theme import Theme
from textual.visual import VisualType
from textual.widgets import DataTable, Static
from textual.widgets.data_table import RowDoesNotExist

from jitscope.runtime.files import write_atomic
from jitscope.tui.export import ExportScreen
from jitscope.tui.model import UiState
from jitscope.tui.styles import Palette

__all__ = ["Hint", "Pane", "PaneTable", "code_binding", "update_static"]


def update_static(widget: Static, content: VisualType, *, layout: bool = True) -> None:
    """``widget.update(content)`` unless it already shows that.

    Every Static update with ``layout`` re-lays out the whole screen (tens of ms at 160x48);
    most steps leave most summaries as they were.
    """
    # Content compares by plain text only; its markup also covers the styles.
    key = content.markup if isinstance(content, Content) else content
    if getattr(widget, "_jitscope_shown", None) == key:
        return
    widget._jitscope_shown = key  # type: ignore[attr-defined]
    widget.update(content, layout=layout)


def code_binding(pane: str) -> Binding:
    """The key that opens the code view of the function in a pane's row (id ``pane.code``)."""
    return Binding(
        "c",
        "code",
        "Code",
        id=f"{pane}.code",
        tooltip="the wasm of the function in this row, with the x86-64 Cranelift made of it",
    )


def memory_binding(pane: str) -> Binding:
    """The key that opens the memory inspector at a pane row's address (``pane.memory``)."""
    return Binding(
        "m",
        "memory",
        "Memory",
        id=f"{pane}.memory",
        tooltip="linear memory at this row's address, the record fields named",
    )


class Hint(Static, can_focus=True):
    """A pane's empty state: what to do next.  Focusable, so the pane's keys still apply."""

    DEFAULT_CLASSES = "hint"


def _plain(cell: object) -> str:
    return cell.plain if isinstance(cell, Text | Content) else str(cell)


def _cell_key(cell: object) -> object:
    if isinstance(cell, Text):
        return (cell.plain, str(cell.style), tuple(cell.spans))
    return cell


class PaneTable(DataTable[object]):
    """A row-cursor table that keeps its cursor on the same row key across rebuilds."""

    _signature: object = None
    _changed_rows: frozenset[int] | set[int] = frozenset()
    _changed_style: Style | None = None

    def __init__(self, *, id: str | None = None, cursor: bool = True) -> None:
        super().__init__(
            id=id, cursor_type="row" if cursor else "none", zebra_stripes=False, show_cursor=False
        )

    # A blurred cursor row would repaint its cells in one colour, hiding the highlights and
    # bars the panes draw; show the cursor only while the user is moving it.
    def on_focus(self) -> None:
        self.show_cursor = True

    def on_blur(self) -> None:
        self.show_cursor = False

    def on_resize(self) -> None:
        # A pane that shrinks (the Stack panel docks under them all at a stop) keeps its
        # cursor row, the one the last step moved it to, in view.
        if self.cursor_type != "none" and self.row_count:
            self.move_cursor(row=self.cursor_row, animate=False)

    def _get_row_style(self, row_index: int, base_style: Style) -> Style:
        # The highlight as a row style covers the cell padding too, not just each cell's text.
        style = super()._get_row_style(row_index, base_style)
        if row_index in self._changed_rows and self._changed_style is not None:
            style = style + self._changed_style
        return style

    def rebuild(
        self,
        rows: list[tuple[str, list[object]]],
        focus_key: str | None = None,
        changed: Collection[str] = (),
        changed_style: Style | None = None,
    ) -> None:
        """Replace all rows; keep the cursor on its row, or move it to ``focus_key``.

        Rows in ``changed`` are drawn with ``changed_style`` (the last step's highlight) across
        their full width; the cursor, when shown, is drawn over it.
        """
        keep = None
        if self.row_count and 0 <= self.cursor_row < self.row_count:
            keep = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        target = focus_key or keep
        # Most steps change one or two panes; a table whose rows are as they were is left
        # alone, so it is not measured and repainted again.
        signature = (
            [(key, [_cell_key(c) for c in cells]) for key, cells in rows],
            frozenset(changed),
            target,
            str(changed_style),
        )
        if signature == self._signature:
            return
        self._signature = signature
        self.clear()
        self._changed_rows = {i for i, (key, _) in enumerate(rows) if key in changed}
        self._changed_style = changed_style
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if target is not None:
            with contextlib.suppress(RowDoesNotExist):  # the row went away: leave the cursor
                self.move_cursor(row=self.get_row_index(target), animate=False)

    @property
    def cursor_key(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def table_text(self, *, csv_format: bool) -> str:
        """What the table shows, as CSV or as aligned text (the cells' plain text)."""
        header = [
            str(c.label.plain if hasattr(c.label, "plain") else c.label)
            for c in self.ordered_columns
        ]
        rows = [[_plain(cell) for cell in self.get_row_at(k)] for k in range(self.row_count)]
        if csv_format:
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows([header, *rows])
            return out.getvalue()
        widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
        return "".join(
            "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() + "\n"
            for r in [header, *rows]
        )


class Pane(Vertical):
    """A view of runtime state; re-renders whenever the app's state (or the theme) changes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+s",
            "save_table",
            "Save table",
            show=False,  # in the help and the palette: the footer keeps the story's keys
            id="pane.save_table",
            tooltip="write the pane's table as CSV (or .txt: aligned text)",
        ),
    ]

    DEFAULT_CLASSES = "pane"
    #: Shown in the pane's border and in the tab bar.
    TITLE = ""
    #: F-key that focuses the pane (shown in the border title).
    KEY = ""

    state: reactive[UiState] = reactive(UiState, init=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = f"{self.TITLE} [dim]{self.KEY}[/]" if self.KEY else self.TITLE

    @property
    def palette(self) -> Palette:
        return Palette.from_variables(self.app.theme_variables)

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        self.render_state(self.state)

    def _theme_changed(self, _theme: Theme) -> None:
        self.render_state(self.state)

    def watch_state(self, state: UiState) -> None:
        self.render_state(state)

    def render_state(self, state: UiState) -> None:
        """Bring the widgets in line with ``state``; subclasses implement it."""

    def set_empty(self, message: str | None) -> None:
        """Show ``message`` (what to do next) instead of the pane's body, or the body if None."""
        hint = self.query_one(Hint)
        if message is None:
            self.remove_class("-empty")
        else:
            update_static(hint, message)
            self.add_class("-empty")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save_table":
            return bool(self.query(PaneTable)) or None
        return True

    def action_save_table(self) -> None:
        tables = self.query(PaneTable)
        if not tables:
            return
        table = tables.first()
        name = self.TITLE.lower() or "table"

        def done(path: Path | None) -> None:
            if path is None:
                return
            text = table.table_text(csv_format=path.suffix.lower() != ".txt")
            try:
                write_atomic(path, text)
            except OSError as e:
                self.notify(f"Could not write {path}: {e.strerror or e}", severity="error")
            else:
                self.notify(f"{self.TITLE} written to {path} ({table.row_count} rows)")

        self.app.push_screen(
            ExportScreen(Path.cwd() / f"{name}.csv", f"Save {self.TITLE} (.csv, or .txt)"), done
        )

    def focus_body(self) -> None:
        """Focus the pane's main widget (its table, its scroller, or the empty-state hint)."""
        for widget in self.query("*"):
            shown = all(w.display for w in widget.ancestors_with_self if w is not self)
            if widget.focusable and shown:
                widget.focus()
                return

    def contains_focus(self) -> bool:
        focused = self.screen.focused
        return focused is not None and (focused is self or self in focused.ancestors)
