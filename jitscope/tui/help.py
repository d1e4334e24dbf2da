"""The help screen: every key, and the story of one JIT module."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

__all__ = ["HELP", "HelpScreen"]

HELP = """\
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

## Anywhere

| key | does |
|---|---|
| F1 | this help |
| ctrl+p | command palette: every action, by name |
| F2 … F7 | REPL · Candidates · Module · Dispatch · Table · Patches |
| tab / shift+tab | next / previous pane |
| esc | interrupt the running evaluation |
| F8 | write a snapshot: the program with its linked JIT code as one module (static linking) |
| ctrl+q | quit |

## REPL input

| key | does |
|---|---|
| ⏎ | evaluate (an unfinished form continues on a new line) |
| ctrl+j | newline without evaluating |
| ctrl+r | evaluate as is, even unfinished (the reader reports what is missing) |
| ↑ / ↓ | history (kept across runs) |
| ctrl+l | clear the log |

## Right-hand panes

| key | does |
|---|---|
| n | next step of the selected JIT module |
| l | link: run every remaining step |
| b | back to interpreted: discard the unlinked module |
| a | JIT all candidates |
| t | auto tier-up on / off |

**Candidates:** space mark · j JIT marked (or highlighted) · u unlink · ⏎ show its WAT ·
p show the prelude's library functions nobody has called yet.
**Module:** [ / ] previous / next module · g go to function · w write the WAT to a file.

Themes: ctrl+p → *Theme*. WAT colours follow the theme.
"""


class HelpScreen(ModalScreen[None]):
    """Keys and the story; any of esc, F1 or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "close", "Close", id="help.close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog"):
            yield Markdown(HELP)

    def action_close(self) -> None:
        self.dismiss(None)
