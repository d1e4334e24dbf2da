"""``jitscope tour``: the whole story in one headless run, as the seed's harness told it.

Define fib, run it interpreted, generate a JIT module, take it through every linking step
(each printed with its real effect, the table and the patched ``jitCode`` word read back from
the module), run it again on JIT code, and compare the times.  It works in a pipe and under CI,
on the bundled module or another (``--wasm``, seed-only builds included).
"""

from __future__ import annotations

import statistics
import time
from typing import TextIO

from jitscope.cli.run import format_report
from jitscope.debugger import Debugger
from jitscope.runtime.session import FormResult, Session

__all__ = ["run_tour"]

FIB = "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))"
CALL = "(fib 25)"
ROUNDS = 5


def run_tour(session: Session, out: TextIO) -> int:
    """Tell the story on ``session``; 1 if a step failed (said on ``out``), else 0."""
    out.write(f"jitscope tour on {session.path} ({len(session.wasm_bytes):,} bytes)\n\n")
    out.write(f"1. define fib, then run {CALL} {ROUNDS} times in the interpreter\n")
    [defined] = session.eval(FIB, name="tour.scm")
    if defined.kind == "error":
        out.write(f"   {defined.text}\n")
        return 1
    interp = _rounds(session, out)
    if interp is None:
        return 1
    debugger = Debugger(session)
    if session.debugger:
        fib = session.function("fib")
        out.write(f"   fib: {fib.interp_calls:,} interpreted calls so far, 0 through JIT code\n\n")
        out.write("2. generate a JIT module for fib and link it in, one real step at a time\n")
        slots_before = len(session.table_slots())
        word_before = session.read_u32(fib.jit_code_address)
        report = debugger.generate(["fib"])
        out.write(_indent(format_report(report)))
        while not report.failed and debugger.in_flight():
            report = debugger.step()
            out.write(_indent(format_report(report)))
        if report.failed:
            return 1
        slots_after = len(session.table_slots())
        word_after = session.read_u32(fib.jit_code_address)
        out.write(
            f"   read back: the table grew from {slots_before} to {slots_after} slots; "
            f"fib.jitCode at 0x{fib.jit_code_address:x} went from {word_before} to "
            f"{word_after}, the slot of fib's JIT code\n\n"
        )
    else:  # the seed's interface: one call generates, instantiates and patches
        out.write("\n2. JIT-link fib (this module links as it generates: no steps to show)\n")
        report = debugger.jit(None)
        out.write(_indent(format_report(report)))
        if report.failed:
            return 1
        out.write("\n")
    out.write(f"3. run {CALL} {ROUNDS} times again: calls now enter JIT code\n")
    jit = _rounds(session, out)
    if jit is None:
        return 1
    if session.debugger:
        last_interp, last_jit = session.last_counts.get(session.function("fib").id, (0, 0))
        out.write(
            f"   last run: {last_jit:,} calls through JIT code, {last_interp:,} interpreted\n"
        )
    ratio = statistics.median(interp) / statistics.median(jit)
    out.write(
        f"\ninterpreter {_ms(statistics.median(interp))} vs JIT {_ms(statistics.median(jit))} "
        f"(medians of {ROUNDS} runs, this process): JIT code is {ratio:.1f}× faster\n"
        "next: `jitscope` opens the TUI on the same story (`jitscope repl` for a REPL, "
        "`jitscope help` for the rest)\n"
    )
    return 0


def _rounds(session: Session, out: TextIO) -> list[float] | None:
    times: list[float] = []
    result: FormResult | None = None
    for _ in range(ROUNDS):
        start = time.perf_counter()
        [result] = session.eval(CALL)
        times.append(time.perf_counter() - start)
        if result.kind == "error":
            out.write(f"   {result.text}\n")
            return None
    assert result is not None
    out.write(f"   {CALL} = {result.text} in " + ", ".join(_ms(t) for t in times) + "\n")
    return times


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _indent(text: str) -> str:
    return "".join(f"   {line}\n" for line in text.splitlines())
