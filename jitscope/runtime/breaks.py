"""Breakpoints and the stops they make: what a front end sets, and what it is handed when the
evaluating thread stops inside the module (see Session.on_stop)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jitscope.runtime.stack import Stack

__all__ = ["BREAK_KINDS", "Breakpoint", "Stop"]

#: Each kind, and what stops there.
BREAK_KINDS = {
    "tier-up": "a function (the one named, or any) tiers up in auto mode: after its link",
    "jit-entry": "a function (named, or any) is entered through its JIT code for the first time",
    "enter": "the named function is entered, interpreted or JIT",
    "patch": "a patch writes the given address (during an evaluation: auto tier-up)",
    "error": "a Scheme error is raised, before the stack unwinds",
}


@dataclass(frozen=True, slots=True)
class Breakpoint:
    number: int
    kind: str  # a key of BREAK_KINDS
    function: str | None = None  # tier-up, jit-entry, enter: None for any function
    address: int | None = None  # patch

    def when(self) -> str:
        """When it stops, in words."""
        who = self.function or "any function"
        return {
            "tier-up": f"{who} tiers up (auto mode), once its module is linked",
            "jit-entry": f"{who} is entered through its JIT code for the first time",
            "enter": f"{who} is entered, interpreted or JIT",
            "patch": f"a patch writes 0x{self.address or 0:x} (auto tier-up, mid-evaluation)",
            "error": "a Scheme error is raised, before the stack unwinds",
        }[self.kind]

    def describe(self) -> str:
        if self.kind == "patch":
            return f"patch 0x{self.address or 0:x}"
        return f"{self.kind} {self.function}" if self.function else self.kind


@dataclass(frozen=True, slots=True)
class Stop:
    """Where an evaluation stopped: the breakpoint (None after a step), what happened, the
    call stack at that moment, and the calls the evaluation has made so far."""

    kind: str  # a breakpoint kind; "enter" after a step stops at the next call
    message: str
    breakpoint: Breakpoint | None
    stack: Stack
    #: Per function id: (interpreted calls, JIT calls) since the evaluation began.
    counts: Mapping[int, tuple[int, int]]

    def headline(self) -> str:
        why = (
            f"breakpoint {self.breakpoint.number} ({self.breakpoint.describe()})"
            if (self.breakpoint)
            else "step"
        )
        return f"stopped at {why}: {self.message}"
