"""What the app's session jobs post back to it (on the UI thread)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from jitscope.runtime.breaks import Stop
from jitscope.runtime.session import FormResult, FunctionInfo
from jitscope.tui.model import ModuleSnap, SessionView, TierUp

if TYPE_CHECKING:
    from jitscope.tui.jobs import Outcome
    from jitscope.tui.repl import LogEntry

__all__ = [
    "CodeRequested",
    "DiffRequested",
    "Evaluated",
    "JitDone",
    "MemoryRequested",
    "Stopped",
    "TieredUp",
]


class Evaluated(Message):
    """An evaluation finished (results include an error form if one failed)."""

    def __init__(
        self,
        source: str,
        results: list[FormResult],
        view: SessionView,
        seconds: float,
        eval_seq: int,
        entries: list[LogEntry] | None = None,
    ) -> None:
        super().__init__()
        #: What else the evaluation brought to the log (a failed auto tier-up, say).
        self.entries = entries or []
        self.source = source
        self.results = results
        self.view = view
        self.seconds = seconds
        self.eval_seq = eval_seq


class JitDone(Message):
    """A JIT job (generate, step, link, discard, unlink, auto) finished."""

    def __init__(self, label: str, outcome: Outcome, view: SessionView) -> None:
        super().__init__()
        self.label = label
        self.outcome = outcome
        self.view = view


class TieredUp(Message):
    """Auto mode linked a module in the middle of an evaluation (which is still running)."""

    def __init__(
        self, event: TierUp, module: ModuleSnap, functions: tuple[FunctionInfo, ...]
    ) -> None:
        super().__init__()
        self.event = event
        self.module = module
        self.functions = functions


class CodeRequested(Message):
    """Open the code view (wasm and x86-64) of this function (from any pane's row)."""

    def __init__(self, function_id: int) -> None:
        super().__init__()
        self.function_id = function_id


class DiffRequested(Message):
    """Compare the latest generation of this function's JIT code with the one before."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class MemoryRequested(Message):
    """Open the memory inspector at this address (a patched field, a function's record)."""

    def __init__(self, address: int) -> None:
        super().__init__()
        self.address = address


class Stopped(Message):
    """The evaluation stopped at a breakpoint; ``view`` is the session at that moment."""

    def __init__(self, stop: Stop, view: SessionView) -> None:
        super().__init__()
        self.at = stop  # not `stop`: Message.stop() stops its bubbling
        self.view = view
