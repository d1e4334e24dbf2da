"""The code view: a JIT function's Scheme source, the wasm it became and the x86-64 Cranelift
made of it (the listing every front end shares, jitscope/debugger/code.py), with a cursor that
lights up the lines of the other levels that belong to the one it is on."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.visual import Visual
from textual.widgets import Input, Static

from jitscope.debugger.code import LEVELS, CodeLine, CodeListing
from jitscope.runtime.files import write_atomic
from jitscope.tui.export import ExportScreen
from jitscope.tui.messages import DiffRequested
from jitscope.tui.styles import highlight_wat

__all__ = ["CodeScreen", "DiffScreen", "ListingView"]

_LEVEL_STYLE = {"scheme": "bold $success", "wasm": "", "x86": "$text-muted"}
_LINKED = "on $primary 25%"  # the lines that belong with the cursor's, at every level
_CURSOR = "on $primary 60%"
_MATCH = "on $warning 30%"


class ListingView(ScrollView, can_focus=True):
    """The listing drawn line by line (the Line API), with a cursor; the levels not shown are
    folded away."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "Up", show=False, id="code.up"),
        Binding("down,j", "move(1)", "Down", show=False, id="code.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="code.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="code.page_down"),
        Binding("home", "move_to(0)", "Top", show=False, id="code.top"),
        Binding("end", "move_to(-1)", "Bottom", show=False, id="code.bottom"),
    ]

    class CursorMoved(Message):
        def __init__(self, line: CodeLine | None) -> None:
            super().__init__()
            self.line = line

    def __init__(self, listing: CodeListing, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.listing = listing
        self.levels = set(LEVELS)
        self.stack = False  # wasm lines show the operand stack after them
        self.offsets = False  # wasm lines show their byte offset
        self.cursor = 0
        self.pattern = ""
        self._shown: list[CodeLine] = []
        self._content: dict[int, Content] = {}
        self._colour()
        self._fold()

    def _colour(self) -> None:
        """Each line as Content: wasm coloured as the Module pane colours WAT (one lexer
        pass), the other levels in their style."""
        lines = self.listing.lines
        wasm = [k for k, line in enumerate(lines) if line.level == "wasm"]
        coloured = highlight_wat("\n".join(lines[k].text for k in wasm)).split(
            "\n", allow_blank=True
        )
        self._content = dict(zip(wasm, coloured, strict=False))
        for k, line in enumerate(lines):
            if k not in self._content:
                self._content[k] = Content.styled(line.text, _LEVEL_STYLE[line.level])

    def _fold(self, keep: CodeLine | None = None) -> None:
        self._shown = [k for k in self.listing.lines if k.level in self.levels]
        self._index = {id(k): n for n, k in enumerate(self.listing.lines)}
        width = max((len(k.text) for k in self._shown), default=0) + 2
        self.virtual_size = Size(width, len(self._shown))
        if keep is not None:  # the same line, or the nearest one still shown
            same = [n for n, k in enumerate(self._shown) if k is keep]
            spots = same or [n for n, k in enumerate(self._shown) if _belongs(k, keep)]
            self.cursor = spots[0] if spots else 0
        self.cursor = min(self.cursor, max(0, len(self._shown) - 1))
        self.refresh()

    @property
    def current(self) -> CodeLine | None:
        return self._shown[self.cursor] if self._shown else None

    def show_extra(self, *, stack: bool | None = None, offsets: bool | None = None) -> None:
        """Show or hide wasm's operand stack and byte offsets."""
        self.stack = self.stack if stack is None else stack
        self.offsets = self.offsets if offsets is None else offsets
        width = max(
            (len(k.shown(stack=self.stack, offsets=self.offsets)) for k in self._shown), default=0
        )
        self.virtual_size = Size(width + 2, len(self._shown))
        self.refresh()

    def toggle(self, level: str) -> bool:
        """Show or fold ``level``; False when it is the last one shown (it stays)."""
        if level in self.levels and len(self.levels) == 1:
            return False
        keep = self.current
        self.levels ^= {level}
        self._fold(keep)
        self._follow()
        return True

    def search(self, query: str, step: int = 1) -> tuple[int, int]:
        """Move to the next (``step`` 1) or previous (-1) line containing ``query``, case
        ignored; (which match, how many), (0, 0) when none."""
        self.pattern = query
        q = query.lower()
        hits = [n for n, k in enumerate(self._shown) if q and q in k.text.lower()]
        self.refresh()
        if not hits:
            return 0, 0
        after = [n for n in hits if (n - self.cursor) * step > 0]
        target = (after[0] if step > 0 else after[-1]) if after else hits[0 if step > 0 else -1]
        self.move_to(target, jump=True)
        return hits.index(target) + 1, len(hits)

    def action_move(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_move_to(self, line: int) -> None:
        self.move_to(line if line >= 0 else len(self._shown) - 1)

    def move_to(self, line: int, *, jump: bool = False) -> None:
        """Put the cursor on ``line``; a ``jump`` (a search) shows it a third of the way down,
        with what led to it above."""
        self.cursor = max(0, min(line, len(self._shown) - 1))
        follow = partial(self._follow, jump)
        follow()
        self.call_after_refresh(follow)  # again once laid out (just after mounting)
        self.refresh()
        self.post_message(self.CursorMoved(self.current))

    def _follow(self, jump: bool = False) -> None:
        height = max(1, self.scrollable_content_region.height)
        top = self.scroll_offset.y
        if jump:
            self.scroll_to(y=max(0, self.cursor - height // 3), animate=False)
        elif self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        n = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if n >= len(self._shown):
            return Strip.blank(width, base)
        line = self._shown[n]
        here = self.current
        back = None
        if n == self.cursor and self.has_focus:
            back = _CURSOR
        elif n == self.cursor or (here is not None and _belongs(line, here)):
            back = _LINKED
        if self.pattern and self.pattern.lower() in line.text.lower() and back is None:
            back = _MATCH
        content = Content(" ")
        if self.offsets and line.level == "wasm":
            at = f"@{line.wasm_offset:<6x} " if line.wasm_offset is not None else " " * 8
            content += Content.styled(at, "$text-muted")
        content += self._content[self._index[id(line)]]
        if self.stack and line.stack:
            pad = max(1, 48 - len(line.text))
            content += Content.styled(" " * pad + f";; {line.stack}", "$text-muted italic")
        if back is not None:  # across the whole width, not just the text
            pad = max(0, scroll_x + width - content.cell_length)
            content = (content + Content(" " * pad)).stylize(back)
        strips = Visual.to_strips(
            self, content, max(1, content.cell_length), 1, self.visual_style, apply_selection=False
        )
        strip = strips[0] if strips else Strip.blank(0)
        return strip.crop_extend(scroll_x, scroll_x + width, base)


def _belongs(line: CodeLine, cursor: CodeLine) -> bool:
    """Whether ``line`` goes with the cursor's: the same wasm instruction (a wasm line and its
    x86), or on a Scheme line, everything its expression made."""
    if cursor.level == "scheme":
        return line.span is not None and line.span == cursor.span
    if line.level == "scheme":
        return line.span is not None and line.span == cursor.span
    return line.wasm_offset is not None and line.wasm_offset == cursor.wasm_offset


class CodeScreen(ModalScreen[None]):
    """One function's listing over the app; esc or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="code.close"),
        Binding("s", "fold('scheme')", "Scheme", id="code.scheme", tooltip="fold Scheme lines"),
        Binding("w", "fold('wasm')", "Wasm", id="code.wasm", tooltip="fold wasm lines"),
        Binding("x", "fold('x86')", "x86-64", id="code.x86", tooltip="fold x86-64 lines"),
        Binding("slash", "search", "Search", id="code.search"),
        Binding("n", "next(1)", "Next", id="code.next", tooltip="next match"),
        Binding("N", "next(-1)", "Prev", show=False, id="code.previous"),
        Binding("e", "export", "Export", id="code.export", tooltip="write text and HTML"),
        Binding("m", "metrics", "Metrics", id="code.metrics", tooltip="show or hide metrics"),
        Binding("t", "stack", "Stack", id="code.stack", tooltip="wasm operand stack types"),
        Binding("o", "offsets", "Offsets", id="code.offsets", tooltip="wasm byte offsets"),
        Binding("d", "diff", "Diff", id="code.diff", tooltip="against the previous generation"),
    ]

    def __init__(self, listing: CodeListing, *, deterministic: bool = False) -> None:
        super().__init__()
        self.listing = listing.redacted() if deterministic else listing
        self.metrics_shown: bool | None = None  # None: as the width suits

    def compose(self) -> ComposeResult:
        c = self.listing
        head = Content.from_markup("[b]$head[/b]", head=c.head)
        with Vertical(id="code-dialog"):
            yield Static(head, id="code-head")
            yield Static("\n".join(c.metrics.lines()), id="code-metrics")
            if c.notice:
                yield Static(c.notice, id="code-notice")
            with Horizontal(id="code-panes"):
                yield Static(self._source(None), id="code-source")
                yield ListingView(c, id="code-body")
            yield Static(self._status(), id="code-status")
            yield Input(placeholder="search the listing", id="code-search")

    def on_mount(self) -> None:
        self.query_one("#code-search").display = False
        self.query_one(ListingView).focus()

    def on_resize(self) -> None:
        # Beside the listing when there is room for both (160 columns), else the listing alone;
        # the metrics too (m shows them at any size).
        wide = self.size.width >= 120
        self.query_one("#code-source").display = bool(self.listing.source_lines) and wide
        if self.metrics_shown is None:
            self.query_one("#code-metrics").display = wide

    def action_metrics(self) -> None:
        metrics = self.query_one("#code-metrics")
        self.metrics_shown = not metrics.display
        metrics.display = self.metrics_shown

    @on(ListingView.CursorMoved)
    def _moved(self, event: ListingView.CursorMoved) -> None:
        self.query_one("#code-source", Static).update(self._source(event.line))

    def _source(self, line: CodeLine | None) -> Content:
        """The function's source, the cursor's expression lit (columns count bytes; the
        JIT's source is ASCII in practice, and a wide character only shifts the light)."""
        c = self.listing
        span = line.span if line is not None else None
        out = []
        for n, text in enumerate(c.source_lines, start=c.first_line):
            # No-break spaces: wrapping would drop the indentation of a line.
            indent = len(text) - len(text.lstrip(" "))
            row = Content(f"{n:<4} ") + Content("\u00a0" * indent + text[indent:])
            if span is not None and span[0] <= n <= span[2]:
                start = span[1] - 1 if n == span[0] else 0
                end = span[3] - 1 if n == span[2] else len(text)
                row = row.stylize(_CURSOR, 5 + start, 5 + end)
            out.append(row)
        return Content("\n").join(out) if out else Content("")

    @property
    def view(self) -> ListingView:
        return self.query_one(ListingView)

    def _status(self, levels: set[str] | None = None, note: str = "") -> str:
        folded = [name for level, name in LEVELS.items() if level not in (levels or LEVELS)]
        shown = "all levels" if not folded else "folded: " + ", ".join(folded)
        return f"{shown} · s w x fold · t stack · o offsets · d diff · / search · e export" + (
            f" · {note}" if note else ""
        )

    def _say(self, note: str = "") -> None:
        self.query_one("#code-status", Static).update(self._status(self.view.levels, note))

    def action_fold(self, level: str) -> None:
        if not self.view.toggle(level):
            self._say(f"{LEVELS[level]} is the last level shown")
            return
        self._say()

    def action_stack(self) -> None:
        self.view.show_extra(stack=not self.view.stack)

    def action_offsets(self) -> None:
        self.view.show_extra(offsets=not self.view.offsets)

    def action_diff(self) -> None:
        self.app.post_message(DiffRequested(self.listing.function))

    def action_search(self) -> None:
        box = self.query_one("#code-search", Input)
        box.display = True
        box.value = self.view.pattern
        box.focus()

    @on(Input.Submitted, "#code-search")
    def _searched(self, event: Input.Submitted) -> None:
        event.input.display = False
        self.view.focus()
        self.find(event.value, 1)

    def action_next(self, step: int) -> None:
        if not self.view.pattern:
            self._say("/ searches first")
            return
        self.find(self.view.pattern, step)

    def find(self, query: str, step: int) -> None:
        which, total = self.view.search(query, step)
        if not query:
            self._say()
        elif total:
            self._say(f"match {which} of {total} for “{query}”")
        else:
            self._say(f"no line contains “{query}”")

    def action_export(self) -> None:
        c = self.listing
        default = Path.cwd() / f"code-{_file_name(c.function)}-module{c.module_id}.txt"

        def done(path: Path | None) -> None:
            if path is None:
                return
            html = path.with_suffix(".html")
            try:
                extra = {"stack": self.view.stack, "offsets": self.view.offsets}
                write_atomic(path, c.text(**extra))
                write_atomic(html, c.html(**extra))
            except OSError as e:
                self.notify(f"Could not write {path}: {e.strerror or e}", severity="error")
            else:
                self._say(f"written to {path} and {html.name}")

        self.app.push_screen(
            ExportScreen(default, "Export the listing (text, and HTML beside it)"), done
        )

    def action_close(self) -> None:
        self.dismiss(None)


class DiffScreen(ModalScreen[None]):
    """Two generations of a function's code, as a unified diff; esc or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="diff.close"),
    ]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        rows = []
        for line in self.text.splitlines():
            style = (
                "bold"
                if line.startswith((";;", "---", "+++"))
                else "$text-success"
                if line.startswith("+")
                else "$text-error"
                if line.startswith("-")
                else "$text-muted"
                if line.startswith("@@")
                else ""
            )
            rows.append(Content.styled(line.replace(" ", "\u00a0"), style))
        with VerticalScroll(id="code-dialog"):
            yield Static(Content("\n").join(rows), id="diff-body")

    def action_close(self) -> None:
        self.dismiss(None)


def _file_name(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name) or "lambda"
