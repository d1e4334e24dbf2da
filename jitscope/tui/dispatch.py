"""Dispatch: per function, calls entered through the interpreter vs through JIT code."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Static

from jitscope.runtime.session import FunctionInfo
from jitscope.tui.model import EvalCounts, UiState, fmt_count, fmt_seconds
from jitscope.tui.pane import Hint, Pane, PaneTable, update_static
from jitscope.tui.styles import Palette

__all__ = ["DispatchView", "sparkline", "split_bar"]

EMPTY = (
    "[b]No calls yet.[/b] Evaluate something in the REPL. Each function's calls are counted "
    "where they enter: through the interpreter or through JIT code, for the last evaluation "
    "and in total. JIT a function and run it again to watch the split move."
)

SEED_ONLY = (
    "[b]Calls are not counted here.[/b] This module has only the seed's interface: the "
    "interpreter's counters are not visible to the host, so the split between interpreted "
    "and JIT calls cannot be shown. Its evaluations and JIT modules still run."
)

BAR_WIDTH = 12  # as wide as its column header
TIMELINE_WIDTH = 24
_SPARKS = "▁▂▃▄▅▆▇█"


def split_bar(interp: int, jit: int, palette: Palette, width: int = BAR_WIDTH) -> Text:
    """``width`` cells: interpreter share in one colour, JIT share in the other."""
    total = interp + jit
    if total == 0:
        return Text("·" * width, style=palette.muted)
    n_jit = round(width * jit / total)
    if jit and n_jit == 0:
        n_jit = 1  # a single JIT call must still show
    if interp and n_jit == width:
        n_jit = width - 1
    bar = Text()
    bar.append("█" * (width - n_jit), style=palette.interp)
    bar.append("█" * n_jit, style=palette.jit)
    return bar


def sparkline(history: tuple[EvalCounts, ...], function_id: int, palette: Palette) -> Text:
    """One cell per evaluation: the JIT share of this function's calls (blank: not called)."""
    out = Text()
    for entry in history:
        interp, jit = entry.counts.get(function_id, (0, 0))
        if interp + jit == 0:
            out.append(" ")
            continue
        share = jit / (interp + jit)
        out.append(
            _SPARKS[round(share * (len(_SPARKS) - 1))],
            style=palette.jit if share >= 0.5 else palette.interp,
        )
    return out


def _timeline(interp: int, jit: int) -> list[str | tuple[str, str]]:
    """One function's calls in the last evaluation, in order: interpreted until the ⚡,
    JIT code after it (auto mode links mid-evaluation, so every later call is a JIT call)."""
    total = interp + jit
    if total == 0:
        return []
    x = min(TIMELINE_WIDTH - 1, TIMELINE_WIDTH * interp // total)
    return [
        ("━" * x, "$text-warning"),
        ("⚡", "bold $text-success"),
        ("━" * (TIMELINE_WIDTH - 1 - x), "$text-success"),
    ]


class DispatchView(Pane):
    """Where calls went: a split bar per function for the last evaluation, totals, history."""

    TITLE = "Dispatch"
    KEY = "F5"

    def compose(self) -> ComposeResult:
        yield Hint()
        yield Static(id="dispatch-summary", classes="summary")
        yield PaneTable(id="dispatch-table", cursor=False)  # a cursor row would hide the bars

    def on_mount(self) -> None:
        table = self.query_one(PaneTable)
        for label, key in (
            ("function", "name"),
            ("interp ▸ JIT", "bar"),
            ("per eval", "history"),
            ("interp", "interp"),
            ("JIT", "jit"),
            ("Σ interp", "total_interp"),
            ("Σ JIT", "total_jit"),
            ("why interpreted (Σ)", "why"),
        ):
            table.add_column(label, key=key)
        super().on_mount()

    def render_state(self, state: UiState) -> None:
        snap = state.view
        if not snap.debugger:
            self.set_empty(SEED_ONLY)
            return
        called = [f for f in snap.functions if f.interp_calls or f.jit_calls]
        if not called and not state.tier_ups:
            self.set_empty(EMPTY)
            return
        self.set_empty(None)
        palette = self.palette
        rows = [(str(f.id), self._cells(f, state, palette)) for f in called]
        self.query_one(PaneTable).rebuild(rows)
        update_static(self.query_one("#dispatch-summary", Static), self._summary(state))

    def _cells(self, f: FunctionInfo, state: UiState, palette: Palette) -> list[object]:
        interp, jit = state.view.last_counts.get(f.id, (0, 0))
        name = Text(f.name or "λ", style="bold")
        if f.jit_code:
            name.append(" ⚡", style=palette.jit)
        return [
            name,
            split_bar(interp, jit, palette, BAR_WIDTH),
            sparkline(state.history, f.id, palette),
            Text(fmt_count(interp), style=palette.interp, justify="right"),
            Text(fmt_count(jit), style=palette.jit, justify="right"),
            Text(fmt_count(f.interp_calls), justify="right"),
            Text(fmt_count(f.jit_calls), justify="right"),
            Text(state.view.reasons.get(f.id, ""), style=palette.muted),
        ]

    def _summary(self, state: UiState) -> Content:
        counts = state.view.last_counts
        interp = sum(i for i, _ in counts.values())
        jit = sum(j for _, j in counts.values())
        parts: list[str | tuple[str, str]] = []
        if state.stopped:
            parts.append(("this evaluation so far (stopped): ", "bold"))
        elif state.history:
            parts.append((f"last evaluation (#{state.history[-1].seq}): ", "bold"))
        if state.stopped or state.history:
            if interp + jit:
                share = 100 * jit / (interp + jit)
                parts += [
                    (fmt_count(interp), "$text-warning"),
                    " interpreted · ",
                    (fmt_count(jit), "$text-success"),
                    f" JIT ({share:.0f}%)",
                ]
            else:
                parts.append("no calls")
        if state.running == "eval" and not state.stopped:
            parts += ["  ", ("running…", "$text-muted italic")]
        last_seq = state.history[-1].seq if state.history else 0
        # Tier-ups of the last evaluation (or of the running one, as they arrive).
        recent = [t for t in state.tier_ups if t.eval_seq >= last_seq]
        finished = state.running != "eval"
        for t in recent[-3:]:
            parts += ["\n", ("⚡ ", "bold $text-success"), (t.name, "bold")]
            if finished and t.eval_seq == last_seq:
                parts += [" interp ", *_timeline(*counts.get(t.function_id, (0, 0))), " JIT"]
            calls = fmt_count(t.interp_calls)
            parts += [
                "\n  ",
                f"linked as module {t.module_id} after {calls} interpreted calls, ",
                (fmt_seconds(t.at, state.deterministic), "$text-accent"),
                " into the evaluation",
            ]
        exits = state.view.exits
        if exits:
            parts += ["\n", ("exits from JIT code: ", "bold")]
            parts.append(
                " · ".join(f"{e.kind} {fmt_count(e.count)}× (last {e.where})" for e in exits[:3])
            )
            if len(exits) > 3:
                parts.append(f" · and {len(exits) - 3} more (,why)")
        if state.auto_threshold is not None:
            threshold = fmt_count(state.auto_threshold)
            parts += ["\n", (f"auto tier-up on: at {threshold} interpreted calls", "$text-muted")]
        return Content.assemble(*parts)
