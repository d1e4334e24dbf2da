"""The help screen: every key, and the story of one JIT module."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

__all__ = ["STORY", "HelpScreen"]

#: The prose of the help; the key tables after it are built from the bindings in force.
STORY = """\
# jitscope

A Scheme interpreter compiled to wasm emits JIT wasm modules at run time. jitscope runs it
under wasmtime and links each module in one real step at a time.

## The story, by keyboard

1. In the REPL type `(define (fib n) (if (< n 2) 1 (+ (fib (- n 1)) (fib (- n 2)))))` ⏎,
   then `(fib 20)` ⏎. *Candidates* now lists `fib` with its interpreted calls.
2. **F3** (or **tab**) to Candidates, **j** JITs the highlighted function (**space** marks
   several first; **a** JITs every candidate). The *Module* pane shows its WAT.
3. **n** takes one step: compile (validate) → instantiate → grow table → fill slots → one
   memory patch per function → linked. *Table* and *Patches* highlight what each step changed.
   **l** runs the remaining steps; **b** drops an unlinked module: back to interpreted.
4. **F2**, **↑** recalls `(fib 20)`, ⏎ runs it again: *Dispatch* shows the calls switch
   from the interpreter to JIT code.
5. **t** turns on auto tier-up: hot functions are linked mid-evaluation and *Dispatch*
   marks the moment (⚡).

Themes: ctrl+p → *Theme*. WAT colours follow the theme.
"""


class HelpScreen(ModalScreen[None]):
    """The story and the keys (as the bindings and the user's keymap have them); any of esc,
    F1 or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "close", "Close", id="help.close"),
    ]

    def __init__(self, key_tables: str = "") -> None:
        super().__init__()
        self.key_tables = key_tables

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog"):
            yield Markdown(STORY + "\n" + self.key_tables)

    def action_close(self) -> None:
        self.dismiss(None)
