"""The generated module: WAT (wasm-tools print, pygments-coloured) with a size header."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.theme import Theme
from textual.visual import Visual
from textual.widgets import Input, Select, Static

from jitscope.debugger.code import redact_addresses
from jitscope.runtime.files import write_atomic
from jitscope.runtime.session import Stage
from jitscope.tui.export import ExportScreen
from jitscope.tui.model import ModuleSnap, UiState, fmt_count
from jitscope.tui.pane import Hint, Pane, update_static
from jitscope.tui.styles import function_lines, highlight_wat
from jitscope.wasm import tools
from jitscope.wasm.sections import sections as wasm_sections

__all__ = ["ModuleView", "WatView"]

EMPTY = (
    "[b]No JIT module yet.[/b] Run a function in the REPL, then in Candidates (F3) press "
    "[b]j[/b] to JIT the highlighted or marked functions, or [b]a[/b] to JIT all candidates. "
    "The module's WAT appears here; [b]n[/b] steps it in, [b]l[/b] links it at once."
)


class WatView(ScrollView, can_focus=True):
    """WAT drawn line by line (the Line API): only visible lines are rendered, so a module of
    thousands of lines scrolls, and the screen around it re-lays out, as fast as a short one."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: list[Content] = []
        self._marked: int | None = None
        self._strips: dict[int, Strip] = {}
        self._want_top: int | None = None  # a scroll asked for before the view had a size
        self._scroll_tries = 0

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, _theme: Theme) -> None:
        self._strips.clear()  # the lines' $variables resolve to other colours now
        self.refresh()

    def show(self, lines: list[Content], marked: int | None = None) -> None:
        """Display ``lines``; ``marked`` (0-based) gets a highlighted background."""
        self._lines = [Content(" ") + line for line in lines]
        self._marked = marked
        self._strips.clear()
        width = max((line.cell_length for line in self._lines), default=0) + 1
        self.virtual_size = Size(width, len(self._lines))
        self.refresh()

    def show_from(self, top: int) -> None:
        """Scroll line ``top`` to the top: now if the view has its size, else as soon as it
        gets one (a pane that was just shown is laid out later, and a scroll before that
        would stop at 0)."""
        self._want_top = top
        self._scroll_tries = 0
        self._scroll_wanted()

    def on_resize(self) -> None:
        self._scroll_wanted()

    @property
    def scroll_pending(self) -> bool:
        """A scroll asked for before layout has not landed yet."""
        return self._want_top is not None

    def _scroll_wanted(self) -> None:
        # Until it lands: before layout the view's height (so its scroll range) is not known,
        # and on a busy machine the first refreshes may come before it is.
        if self._want_top is None:
            return
        if self.scrollable_content_region.height > 0:
            self.scroll_to(x=0, y=self._want_top, animate=False, immediate=True)
            if self.scroll_offset.y == min(self._want_top, self.max_scroll_y):
                self._want_top = None
                return
        self._scroll_tries += 1
        if self._scroll_tries <= 50:  # about a second of frames, then a resize retries it
            self.set_timer(0.02, self._scroll_wanted)

    @property
    def line_count(self) -> int:
        return len(self._lines)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if index >= len(self._lines):
            return Strip.blank(width, base)
        strip = self._strips.get(index)
        if strip is None:
            line = self._lines[index]
            if index == self._marked:
                line = line.stylize("on $accent 30%")
            rendered = Visual.to_strips(
                self, line, max(1, line.cell_length), 1, self.visual_style, apply_selection=False
            )
            strip = rendered[0] if rendered else Strip.blank(0)
            self._strips[index] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, base)


class ModuleView(Pane):
    """WAT of the selected JIT module, with function names; pick a module, jump to a function."""

    TITLE = "Module"
    KEY = "F4"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "left_square_bracket",
            "cycle(-1)",
            "Prev",
            id="module.previous",
            tooltip="previous module",
        ),
        Binding(
            "right_square_bracket", "cycle(1)", "Next", id="module.next", tooltip="next module"
        ),
        Binding("g", "goto", "Go to func", id="module.goto", tooltip="go to a function"),
        Binding("w", "export", "Write WAT", id="module.export", tooltip="write the WAT to a file"),
        Binding("slash", "search", "Search", id="module.search", tooltip="search the WAT"),
        # While a search is on (n and N step otherwise: the actions skip without one).
        Binding("n", "search_next(1)", "Next match", show=False, id="module.next_match"),
        Binding("N", "search_next(-1)", "Prev match", show=False, id="module.previous_match"),
        Binding("escape", "end_search", "End search", show=False, id="module.end_search"),
    ]

    class ModuleChosen(Message):
        """The user picked another module to view (and to step)."""

        def __init__(self, module_id: int) -> None:
            super().__init__()
            self.module_id = module_id

    class Exported(Message):
        """The WAT was written to ``path`` (or failed with ``error``)."""

        def __init__(self, path: Path, error: str | None = None) -> None:
            super().__init__()
            self.path = path
            self.error = error

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        # module id -> (real WAT text, shown lines, {function: line}) or an error string
        self._wat: dict[int, tuple[str, list[Content], dict[str, int]] | str] = {}
        self._loading: set[int] = set()
        self._shown: tuple[int, int | None] | None = None  # (module, marked line) on screen
        self._positioned: set[int] = set()  # modules already scrolled to their first function
        self._pending_jump: tuple[int, str] | None = None
        self._options: list[tuple[str, int]] = []
        self.marked_line: int | None = None
        self.search_text = ""  # the search on, "" for none

    def compose(self) -> ComposeResult:
        yield Hint()
        with Vertical(id="module-body"):
            with Horizontal(id="module-header"):
                yield Select[int]([], prompt="module", compact=True, id="module-select")
                yield Static(id="module-info")
            yield Static(id="module-sections")
            yield WatView(id="wat")
            yield Input(placeholder="search the WAT (enter finds, esc ends)", id="wat-search")

    def on_mount(self) -> None:
        self.query_one("#wat-search").display = False
        super().on_mount()

    # ----------------------------------------------------------------------------- rendering

    def render_state(self, state: UiState) -> None:
        snap = state.view
        mod = state.module
        if not snap.modules or mod is None:
            self.set_empty(EMPTY)
            return
        self.set_empty(None)
        select = self.query_one("#module-select", Select)
        options = [(m.title, m.id) for m in snap.modules]
        with self.prevent(Select.Changed):
            if options != self._options:
                select.set_options(options)
                self._options = options
            select.value = mod.id
        update_static(self.query_one("#module-info", Static), self._info(mod, state), layout=False)
        update_static(self.query_one("#module-sections", Static), self._sections(mod))
        self._show_wat(mod, state.deterministic)

    def _info(self, mod: ModuleSnap, state: UiState) -> Content:
        style = "$text-success" if mod.stage is Stage.LINKED else "$text-warning"
        if mod.stage in (Stage.FAILED, Stage.DISCARDED):
            style = "$text-error"
        if mod.id in state.changes.modules:
            style += " reverse"
        parts: list[str | tuple[str, str]] = [(f" {mod.state} ", style)]
        if mod.auto:
            parts += [" · ", ("auto tier-up", "$text-accent")]
        if mod.error:
            parts += [" · ", (mod.error, "$text-error")]
        return Content.assemble(*parts)

    def _sections(self, mod: ModuleSnap) -> Content:
        try:
            sections = wasm_sections(mod.data)
        except ValueError as e:
            return Content.styled(f"sections: {e}", "$text-error")
        parts: list[str | tuple[str, str]] = [(f"{fmt_count(mod.size)} bytes:", "bold")]
        for s in sections:
            parts.append(("  ", ""))
            parts.append((s.name, "$text-muted" if s.id != 10 else "$text-primary bold"))
            parts.append((f" {fmt_count(s.size)}", "$text-warning"))
        return Content.assemble(*parts)

    def _show_wat(self, mod: ModuleSnap, deterministic: bool) -> None:
        view = self.query_one(WatView)
        entry = self._wat.get(mod.id)
        if entry is None:
            if mod.id not in self._loading:
                self._loading.add(mod.id)
                self._load_wat(mod.id, mod.data, deterministic)
            view.show([Content.styled("printing WAT with wasm-tools…", "$text-muted italic")])
            self._shown = None
            return
        if isinstance(entry, str):
            message = f"wasm-tools could not print module {mod.id}:\n{entry}"
            view.show(Content.styled(message, "$text-error").split("\n"))
            self._shown = None
            return
        if mod.id not in self._positioned:
            # First sight of a module: show its code, not the type section at the top.
            self._positioned.add(mod.id)
            if mod.names and self.jump_to(mod.names[0], mark=False):
                return
        key = (mod.id, self.marked_line)
        if self._shown != key:
            view.show(entry[1], self.marked_line)
            self._shown = key

    @work(thread=True, group="wat")
    def _load_wat(self, module_id: int, data: bytes, deterministic: bool) -> None:
        # wasm-tools runs as a subprocess and pygments is slow-ish: both off the UI thread.
        # Neither touches the Session, so this may overlap a session worker.
        try:
            text = tools.print_wat(data)
        except Exception as e:  # noqa: BLE001 -- WasmToolsError, OSError, a missing binary: show it
            result: tuple[str, list[Content], dict[str, int]] | str = str(e)
        else:
            shown = redact_addresses(text) if deterministic else text
            lines = highlight_wat(shown.rstrip("\n")).split("\n", allow_blank=True)
            result = (text, lines, function_lines(text))
        self.app.call_from_thread(self._wat_loaded, module_id, result)

    def _wat_loaded(
        self, module_id: int, result: tuple[str, list[Content], dict[str, int]] | str
    ) -> None:
        self._wat[module_id] = result
        self._loading.discard(module_id)
        if (pending := self._pending_jump) is not None and pending[0] == module_id:
            self._pending_jump = None
            self.jump_to(pending[1])
            return
        self.render_state(self.state)

    # ----------------------------------------------------------------------------- queries

    @property
    def loading_wat(self) -> bool:
        """True while wasm-tools is printing some module's WAT."""
        return bool(self._loading)

    def wat_text(self, module_id: int | None = None) -> str | None:
        """The WAT of a module (the selected one by default) once printed."""
        mid = self.state.selected_module if module_id is None else module_id
        entry = self._wat.get(mid) if mid is not None else None
        return entry[0] if isinstance(entry, tuple) else None

    def function_names(self) -> list[str]:
        mid = self.state.selected_module
        entry = self._wat.get(mid) if mid is not None else None
        return list(entry[2]) if isinstance(entry, tuple) else []

    def jump_to(self, name: str, *, mark: bool = True) -> bool:
        """Scroll to ``(func $name`` and mark that line; False if it is not in this module."""
        mid = self.state.selected_module
        entry = self._wat.get(mid) if mid is not None else None
        if mid is not None and entry is None:
            self._pending_jump = (mid, name)  # still printing: jump when it arrives
            return True
        if not isinstance(entry, tuple) or name not in entry[2]:
            return False
        line = entry[2][name]
        self.marked_line = line if mark else None
        self.render_state(self.state)
        self.query_one(WatView).show_from(max(0, line - 1))
        return True

    # ----------------------------------------------------------------------------- actions

    @on(Select.Changed, "#module-select")
    def _chosen(self, event: Select.Changed) -> None:
        event.stop()
        if isinstance(event.value, int) and event.value != self.state.selected_module:
            self.marked_line = None
            self.post_message(self.ModuleChosen(event.value))

    def action_cycle(self, delta: int) -> None:
        ids = [m.id for m in self.state.view.modules]
        if not ids:
            return
        current = self.state.selected_module
        index = ids.index(current) if current in ids else len(ids) - 1
        self.marked_line = None
        self.post_message(self.ModuleChosen(ids[(index + delta) % len(ids)]))

    def action_search(self) -> None:
        box = self.query_one("#wat-search", Input)
        box.display = True
        box.value = self.search_text
        box.focus()

    @on(Input.Submitted, "#wat-search")
    def _searched(self, event: Input.Submitted) -> None:
        event.stop()
        event.input.display = False
        self.search_text = event.value.strip()
        self.query_one(WatView).focus()
        self.find(1, from_start=True)

    def action_search_next(self, step: int) -> None:
        if not self.search_text:
            raise SkipAction()  # n and N are the app's then (n steps the module)
        self.find(step)

    def action_end_search(self) -> None:
        if not self.search_text:
            raise SkipAction()
        self.search_text = ""
        self.border_subtitle = ""

    def find(self, step: int, *, from_start: bool = False) -> tuple[int, int]:
        """Mark the next (``step`` 1) or previous (-1) line with the search text, case
        ignored; (which match, how many), (0, 0) when none.  The pane's subtitle says so."""
        mid = self.state.selected_module
        entry = self._wat.get(mid) if mid is not None else None
        query = self.search_text.lower()
        if not query or not isinstance(entry, tuple):
            return 0, 0
        hits = [n for n, line in enumerate(entry[1]) if query in line.plain.lower()]
        if not hits:
            self.border_subtitle = f"no line has “{self.search_text}”"
            return 0, 0
        here = -1 if from_start or self.marked_line is None else self.marked_line
        after = [n for n in hits if (n - here) * step > 0]
        target = (after[0] if step > 0 else after[-1]) if after else hits[0 if step > 0 else -1]
        self.marked_line = target
        self.render_state(self.state)
        view = self.query_one(WatView)
        self.call_after_refresh(view.scroll_to, x=0, y=max(0, target - 3), animate=False)
        which = hits.index(target) + 1
        self.border_subtitle = f"match {which} of {len(hits)}: “{self.search_text}” · n N · esc"
        return which, len(hits)

    def action_goto(self) -> None:
        names = self.function_names()
        if not names:
            self.notify("No WAT to search yet.", severity="warning")
            return
        self.app.search_commands(
            [(f"func ${n}", lambda n=n: self.jump_to(n), "jump to its definition") for n in names],
            placeholder="Jump to function…",
        )

    def action_export(self) -> None:
        mid = self.state.selected_module
        text = self.wat_text()
        if mid is None or text is None:
            self.notify("No WAT to export yet.", severity="warning")
            return

        def done(path: Path | None) -> None:
            if path is None:
                return
            try:
                write_atomic(path, text)
            except OSError as e:
                self.post_message(self.Exported(path, e.strerror or str(e)))
            else:
                self.post_message(self.Exported(path))

        self.app.push_screen(ExportScreen(Path.cwd() / f"jit-module-{mid}.wat"), done)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("cycle", "goto", "export", "search"):
            return bool(self.state.view.modules) or None
        return True
