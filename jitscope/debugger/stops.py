"""Breakpoints as every front end sets them (``,break …``), and a stop as they show it."""

from __future__ import annotations

import re

from jitscope.debugger.memory import resolve_address
from jitscope.runtime.breaks import BREAK_KINDS, Stop
from jitscope.runtime.session import Session
from jitscope.runtime.stack import Stack

__all__ = ["BREAK_USAGE", "break_command", "stack_lines", "stop_lines"]

BREAK_USAGE = (
    "usage: ,break tier-up [NAME] | jit-entry [NAME] | enter NAME | patch ADDR|NAME[.field]"
    " | error | list | clear [N]"
)


def break_command(session: Session, words: list[str]) -> list[tuple[str, str]]:
    """Run ``,break WORDS``; its lines as (kind, text).  Raises ValueError with a usage line
    when the words make no breakpoint."""
    if not words or words == ["list"]:
        if not session.breakpoints:
            return [("info", "no breakpoints (,break KIND … sets one)")]
        return [("info", f"breakpoint {b.number}: {b.describe()}") for b in session.breakpoints]
    kind, rest = words[0], words[1:]
    if kind == "clear":
        if not rest:
            n = len(session.breakpoints)
            session.clear_breakpoints()
            return [("info", f"cleared {n} breakpoint{'s' if n != 1 else ''}")]
        try:
            bp = session.remove_breakpoint(int(rest[0]))
        except (ValueError, KeyError):
            raise ValueError(f"no breakpoint {rest[0]} (,break list shows them)") from None
        return [("info", f"cleared breakpoint {bp.number}: {bp.describe()}")]
    if kind not in BREAK_KINDS or len(rest) > 1:
        raise ValueError(BREAK_USAGE)
    target = rest[0] if rest else None
    address = None
    if kind == "patch":
        if target is None:
            raise ValueError(BREAK_USAGE)
        # A function's name alone means the word its patch writes.
        named = not re.fullmatch(r"0x[0-9a-fA-F]+|\d+", target) and "." not in target
        address = resolve_address(session, f"{target}.jitCode" if named else target)
        target = None
    elif kind == "error" and target is not None:
        raise ValueError(BREAK_USAGE)
    bp = session.add_breakpoint(kind, target, address)
    lines = [("info", f"breakpoint {bp.number}: stops when {bp.when()}")]
    if target and not any(f.name == target for f in session.functions()):
        lines.append(("warning", f"no function named {target} yet: it applies once one is"))
    if kind in ("tier-up", "patch") and session.auto_threshold is None:
        lines.append(("warning", "auto tier-up is off, so nothing tiers up on its own: ,auto N"))
    return lines


def stop_lines(stop: Stop, most: int = 12) -> list[str]:
    return [stop.headline(), *stack_lines(stop.stack, most)]


def stack_lines(stack: Stack, most: int = 40) -> list[str]:
    return ["  " + line for line in stack.lines(most)]
