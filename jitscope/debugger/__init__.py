"""The operations layer: what every front end (TUI, ``repl``, ``run``, ``snapshot``, browser)
asks of a session, and the words it says back.  Below it, :mod:`jitscope.runtime`; above it,
the front ends, which only render."""

from jitscope.debugger.operations import (
    DEFAULT_AUTO_THRESHOLD,
    Debugger,
    Line,
    Report,
    parse_auto_threshold,
)
from jitscope.debugger.scanner import open_depth

__all__ = [
    "DEFAULT_AUTO_THRESHOLD",
    "Debugger",
    "Line",
    "Report",
    "open_depth",
    "parse_auto_threshold",
]
