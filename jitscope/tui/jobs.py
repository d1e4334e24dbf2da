"""Session jobs: what one runs, and what it did (for the log and the panes)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from jitscope.debugger import Report
from jitscope.runtime.session import FormResult, Session
from jitscope.tui.repl import LogEntry

__all__ = ["Job", "Outcome", "outcome_of"]


@dataclass(slots=True)
class Outcome:
    """What a session job did, for the log and the panes."""

    entries: list[LogEntry] = field(default_factory=list)
    results: list[FormResult] | None = None  # set by evaluations
    select: int | None = None  # module to select afterwards
    auto: bool | None = None  # auto tier-up switched on/off (None: unchanged)


@dataclass(frozen=True, slots=True)
class Job:
    kind: str  # "eval" or "jit"
    label: str  # shown while it runs
    run: Callable[[Session], Outcome]
    eval_seq: int = 0
    source: str = ""  # what an evaluation evaluates


def outcome_of(report: Report) -> Outcome:
    """A debugger report as the log and the panes take it."""
    return Outcome(
        [LogEntry(line.kind, line.text, line.seconds) for line in report.lines],
        select=report.module.id if report.module is not None else None,
        auto=report.auto,
    )
