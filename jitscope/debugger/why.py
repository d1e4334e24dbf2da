"""Why a function ran interpreted, and how JIT code left its fast path: the counts the module
keeps (InterpReason, ExitKind in native/), in words, for every front end."""

from __future__ import annotations

from jitscope.runtime.session import Session

__all__ = ["exit_lines", "reason_summary", "why_lines"]


def reason_summary(reasons: dict[str, int]) -> str:
    """``not compiled 1,973; unlinked 9``: the reasons that counted, largest first."""
    counted = sorted(((n, r) for r, n in reasons.items() if n), reverse=True)
    return "; ".join(f"{r} {n:,}" for n, r in counted)


def why_lines(session: Session, name: str) -> list[str]:
    """Why ``name`` (the latest function by that name) ran interpreted: its interpreted calls
    by reason, what would change that, and the refusals.  KeyError for no such function."""
    f = session.function(name)
    reasons = session.interp_reasons(f)
    lines = [
        (
            f"{f.name} ({f.span}): {f.interp_calls:,} interpreted calls, {f.jit_calls:,} "
            f"through JIT code; now {f.state}"
        )
    ]
    if not reasons:
        lines.append("  this module does not count why (it has no InterpReason counters)")
    for reason, n in reasons.items():
        if n:
            lines.append(f"  {reason:<22} {n:>12,}")
    if reasons and sum(reasons.values()) != f.interp_calls:  # the module's own books
        lines.append(f"  (the reasons sum to {sum(reasons.values()):,}: the module disagrees)")
    older = [g for g in session.functions() if g.name == f.name and g.id < f.id]
    replaced = [g for g in older if g.module_id or g.jit_calls]
    if replaced:
        g = replaced[-1]
        lines.append(
            f"  a redefinition replaced the {f.name} at {g.span}, which had JIT code "
            f"({g.jit_calls:,} JIT calls): this one starts interpreted"
        )
    if f.state == "candidate":
        lines.append(f"  to run it as JIT code: ,jit {f.name} (or ,auto N)")
    elif f.state.startswith("compiled"):
        lines.append(f"  to run it as JIT code: ,link {f.module_id}")
    failed = session.tier_up_failures
    lines.append(
        "refusals: "
        + (
            "; ".join(f"{n} (auto tier-up failed: {why})" for n, why in failed)
            if failed
            else "none; the JIT compiles every lambda (top-level forms stay interpreted)"
        )
    )
    return lines + exit_lines(session)


def exit_lines(session: Session) -> list[str]:
    """How JIT code left its fast path, kind by kind, in the order they first happened."""
    exits = session.exits()
    if not exits:
        return ["exits from JIT code: none yet"]
    lines = ["exits from JIT code (in the order they first happened):"]
    for e in exits:
        lines.append(f"  {e.first}. {e.kind:<38} {e.count:>10,}×  last at {e.where}")
    return lines
