"""The pipeline strip: the stages of linking one JIT module, and where it stands."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from jitscope.runtime.session import Stage
from jitscope.tui.model import ModuleSnap, PipelineStep, UiState, redact_hex

__all__ = ["PipelineStrip"]

_MARK = {"done": "✓", "next": "▶", "todo": "·", "failed": "✗", "dropped": "–"}
_STYLE = {
    "done": "$text-success",
    "next": "bold $block-cursor-foreground on $block-cursor-background",
    "todo": "$text-muted",
    "failed": "bold $text-error",
    "dropped": "$text-muted strike",
}
# Patch chips beyond this many are summarised, or the strip would not fit.
MAX_PATCH_CHIPS = 6


class PipelineStrip(Widget):
    """generate → compile (validate) → instantiate → grow table → fill slots → patches → linked."""

    DEFAULT_CLASSES = "pipeline"
    state: reactive[UiState] = reactive(UiState, init=False)

    def render(self) -> Content:
        state = self.state
        mod = state.module
        width = self.size.width or 80
        auto = (
            Content.styled(f"auto ≥{state.auto_threshold:,}", "$text-accent")
            if state.auto_threshold is not None
            else Content.styled("auto off", "$text-muted")
        )
        if mod is None:
            if not state.view.debugger:
                first = Content.styled(
                    "seed-only module: a JIT-links every hot function in one go", "$text-muted"
                )
            else:
                first = Content.styled(
                    "no JIT module yet — run a function, then j (JIT selected) or a (JIT all)",
                    "$text-muted",
                )
            second = Content.styled("t toggles auto tier-up", "$text-muted")
        else:
            first = self._strip(mod, width)
            second = self._status(mod, state.deterministic, state.view.debugger)
        pad = width - second.cell_length - auto.cell_length
        line2 = second + " " * pad + auto if pad >= 2 else second
        return Content("\n").join([first, line2])

    def _strip(self, mod: ModuleSnap, width: int) -> Content:
        """The chips, with long labels if they fit, else short ones, else patches folded."""
        head = Content.styled(f"module {mod.id} ", "bold")
        steps = mod.pipeline()
        line = head
        for steps_, long in ((steps, True), (steps, False), (self._fold(steps, 1), False)):
            line = head + Content(" → ").join(self._chips(steps_, long))
            if line.cell_length <= width:
                break
        return line

    @staticmethod
    def _status(mod: ModuleSnap, deterministic: bool, counted: bool) -> Content:
        if mod.next_step:
            step = redact_hex(mod.next_step) if deterministic else mod.next_step
            return Content.assemble(
                ("next: ", "$text-muted"),
                (step, "bold"),
                ("   n step · l link all · b back to interpreted", "$text-muted"),
            )
        if mod.error:
            return Content.styled(f"failed: {mod.error}", "$text-error")
        parts: list[str | tuple[str, str]] = [(f"module {mod.id} {mod.state}", "bold")]
        gone = [p.name for p in mod.patches if p.status != "applied"]
        if mod.stage is Stage.LINKED and gone:
            which = "all its functions" if len(gone) == len(mod.patches) else ", ".join(gone)
            parts.append(
                (f"  — {which} unlinked since: calls go to the interpreter", "$text-muted")
            )
        elif mod.stage is Stage.LINKED:
            where = (
                "Dispatch (F5) shows the calls switch to JIT"
                if counted
                else "its calls enter JIT code"
            )
            parts.append((f"  — run it again: {where}", "$text-muted"))
        elif mod.stage is Stage.DISCARDED:
            parts.append(("  — its functions are candidates again", "$text-muted"))
        return Content.assemble(*parts)

    @staticmethod
    def _fold(steps: list[PipelineStep], most: int = MAX_PATCH_CHIPS) -> list[PipelineStep]:
        """Summarise a run of more than ``most`` patch steps into one chip."""
        patches = [s for s in steps if s.key.startswith("patch:")]
        if len(patches) <= most:
            return steps
        done = sum(s.state == "done" for s in patches)
        state = next((s.state for s in patches if s.state != "done"), "done")
        chip = PipelineStep(
            "patches", f"patches {done}/{len(patches)}", f"p{done}/{len(patches)}", state
        )
        out = [s for s in steps if not s.key.startswith("patch:")]
        out.insert(len(out) - 1, chip)
        return out

    @staticmethod
    def _chips(steps: list[PipelineStep], long: bool) -> list[Content]:
        return [
            Content.styled(f"{_MARK[s.state]} {s.label if long else s.short}", _STYLE[s.state])
            for s in PipelineStrip._fold(steps)
        ]
