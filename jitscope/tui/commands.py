"""The command palette: every jitscope action by name, only those that apply now."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from jitscope.tui.candidates import CandidatesTable
from jitscope.tui.messages import CodeRequested, MemoryRequested
from jitscope.tui.model import fmt_count
from jitscope.tui.module_view import ModuleView
from jitscope.tui.repl import ReplPane

if TYPE_CHECKING:
    from jitscope.tui.app import JitscopeApp

__all__ = ["JitscopeCommands", "PaletteCommand", "palette_commands"]


@dataclass(frozen=True, slots=True)
class PaletteCommand:
    name: str
    help: str
    callback: Callable[[], object]


class JitscopeCommands(Provider):
    """Offers :meth:`JitscopeApp.palette_commands`, which knows what applies right now."""

    def _commands(self) -> list[PaletteCommand]:
        return cast("JitscopeApp", self.app).palette_commands()

    async def discover(self) -> Hits:
        for c in self._commands():
            yield DiscoveryHit(c.name, c.callback, help=c.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for c in self._commands():
            if (score := matcher.match(c.name)) > 0:
                yield Hit(score, matcher.highlight(c.name), c.callback, help=c.help)


def palette_commands(app: JitscopeApp) -> list[PaletteCommand]:
    """Every action, named for the command palette; only those that apply now."""
    c: list[PaletteCommand] = []
    snap = app.state.view
    target = app.step_target()
    if target is not None and not app.busy:
        c += [
            PaletteCommand(
                f"Step module {target.id}: {target.next_step}",
                "take the next real step in wasmtime",
                app.step,
            ),
            PaletteCommand(
                f"Link module {target.id} (run to the end)",
                "run every remaining step",
                lambda: app.step(to_end=True),
            ),
            PaletteCommand(
                f"Back to interpreted (discard module {target.id})",
                "drop the unlinked module; its functions become candidates",
                app.discard_module,
            ),
        ]
    if not app.busy and snap.debugger:
        c.append(
            PaletteCommand(
                "Write a snapshot (static link) to a file…",
                "one module with the linked JIT code baked in (F8)",
                app.action_snapshot,
            )
        )
    if not app.busy:
        c.append(
            PaletteCommand(
                "JIT all candidates",
                "generate one module for every candidate",
                lambda: app.generate(None),
            )
        )
        for f in snap.functions:
            if f.state == "candidate":
                c.append(
                    PaletteCommand(
                        f"JIT {f.name}",
                        f"generate a module for {f.name} alone",
                        partial(app.generate, (f.id,)),
                    )
                )
            if f.module_id and not f.library:
                c.append(
                    PaletteCommand(
                        f"Code view of {f.name}",
                        "its Scheme, wasm and x86-64 side by side (c)",
                        partial(app.post_message, CodeRequested(f.id)),
                    )
                )
                c.append(
                    PaletteCommand(
                        f"Memory at {f.name}.jitCode",
                        "its record, the field the patch writes (m in Patches)",
                        partial(app.post_message, MemoryRequested(f.jit_code_address)),
                    )
                )
            if f.state == "linked":
                c.append(
                    PaletteCommand(
                        f"Unlink {f.name}",
                        "send its calls back to the interpreter",
                        partial(app.unlink, f.id),
                    )
                )
        if snap.debugger:
            for threshold in (100, 1000, 10000):
                c.append(
                    PaletteCommand(
                        f"Auto tier-up on at {threshold:,} calls",
                        "hot functions are JIT-linked mid-evaluation",
                        partial(app.set_auto, threshold),
                    )
                )
            if app.auto_on:
                c.append(
                    PaletteCommand(
                        "Auto tier-up off", "stay interpreted", lambda: app.set_auto(None)
                    )
                )
    if app.busy == "eval":
        c.append(PaletteCommand("Interrupt evaluation", "esc", app.action_interrupt))
    for m in snap.modules:
        c.append(
            PaletteCommand(
                f"View {m.title}",
                f"{m.state}, {fmt_count(m.size)} bytes",
                partial(app.show_module, m.id),
            )
        )
    view = app.query_one(ModuleView)
    for name in view.function_names():
        c.append(
            PaletteCommand(
                f"Go to func ${name}",
                "in the module view",
                partial(app.show_in_selected_module, name),
            )
        )
    if snap.modules:
        c.append(
            PaletteCommand(
                "Export WAT to a file", "atomic write of the shown module", view.action_export
            )
        )
    for name, cls in app.PANES:
        pane = app.query_one(f"#{name}", cls)
        if pane.check_action("save_table", ()):
            c.append(
                PaletteCommand(
                    f"Save the {cls.TITLE} table to a file…",
                    "CSV, or aligned text for a .txt name (ctrl+s in the pane)",
                    pane.action_save_table,
                )
            )
    c.append(PaletteCommand("Focus REPL", "F2", lambda: app.action_focus_pane("repl")))
    for i, (name, cls) in enumerate(app.PANES):
        c.append(
            PaletteCommand(f"Focus {cls.TITLE}", f"F{3 + i}", partial(app.action_focus_pane, name))
        )
    candidates = app.query_one(CandidatesTable)
    c += [
        PaletteCommand(
            ("Hide" if candidates.show_prelude else "Show") + " uncalled prelude functions",
            "the Scheme prelude's library functions in Candidates (p)",
            candidates.action_toggle_prelude,
        ),
        PaletteCommand("Clear REPL log", "ctrl+l", app.query_one(ReplPane).clear),
        PaletteCommand("Help", "F1: keys and the story", app.action_help),
    ]
    return c
