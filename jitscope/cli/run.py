"""``jitscope run`` and what the headless commands share: printing results, Ctrl-C."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO, TypeVar

from jitscope.debugger import Debugger, Report
from jitscope.debugger.code import code_listing
from jitscope.runtime.deep import Outcome, start_deep_thread
from jitscope.runtime.engine import interrupt_start_up
from jitscope.runtime.session import FormResult, Session, Unsupported
from jitscope.wasm.tools import WasmToolsError

__all__ = ["format_report", "format_results", "interruptible", "run_file"]

T = TypeVar("T")


def format_results(results: list[FormResult], *, fresh_line: bool = True) -> str:
    """What the headless commands print: each form's output, then its value or error, which
    start on a line of their own (``fresh_line``: whether the text goes at a line's start)."""
    text = ""
    for r in results:
        text += r.output
        if r.kind in ("value", "error"):
            if text and not text.endswith("\n") or not text and not fresh_line:
                text += "\n"
            text += (r.text if r.kind == "value" else f"error: {r.text}") + "\n"
    return text


def format_report(report: Report) -> str:
    """A :class:`~jitscope.debugger.Report` as headless text: errors say so."""
    return "".join(
        f"error: {line.text}\n" if line.kind == "error" else f"{line.text}\n"
        for line in report.lines
    )


def run_file(
    session: Session,
    path: Path,
    jit: str,
    threshold: int,
    out: TextIO,
    code: Sequence[str] = (),
) -> int:
    """Evaluate ``path``; then print the code view of each function named in ``code``."""
    try:
        source = path.read_bytes()
    except OSError as e:
        print(f"jitscope: {path}: {e.strerror}", file=sys.stderr)
        return 2
    if jit != "never":
        debugger = Debugger(session)
        report = debugger.set_eager(True) if jit == "eager" else debugger.set_auto(threshold)
        if report.failed:
            print(f"jitscope: {report.lines[0].text}", file=sys.stderr)
            return 2
    results = interruptible(session, lambda: session.eval(source, name=str(path)))
    out.write(format_results(results))
    status = 1 if results and results[-1].kind == "error" else 0
    for name in code:
        try:
            out.write(code_listing(session, name).text())
        except KeyError:
            print(f"jitscope: --code {name}: no function named {name}", file=sys.stderr)
            status = 2
        except (ValueError, WasmToolsError, Unsupported) as e:
            print(f"jitscope: --code {name}: {e}", file=sys.stderr)
            status = 2
    out.flush()
    return status


def open_session(
    wasm: Path | None, time_limit: float | None, files: Path | None, writable: bool = False
) -> Session:
    """A Session, started on a worker thread so that Ctrl-C during a start function or
    ``_initialize`` that never ends is seen (the main thread would be inside wasm): it ends
    the start-up and raises KeyboardInterrupt here.  ``files``: where file ports read (and
    write, if ``writable``)."""
    box: list[Session | BaseException] = []

    def start() -> None:
        try:
            box.append(Session(wasm, time_limit=time_limit, files=files, writable=writable))
        except BaseException as e:  # noqa: BLE001 - re-raised on the caller's thread
            box.append(e)

    worker = threading.Thread(target=start, name="jitscope-start", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.05)
    except KeyboardInterrupt:
        interrupt_start_up()
        worker.join(5)
        if box and isinstance(box[0], Session):
            box[0].close()
        raise
    result = box[0]
    if isinstance(result, BaseException):
        raise result
    return result


def interruptible(
    session: Session, work: Callable[[], T], on_interrupt: Callable[[], None] | None = None
) -> T:
    """Run ``work`` on a thread so Ctrl-C can interrupt the wasm it runs (signals are only
    seen by Python between bytecodes, never inside a wasm call).

    While it runs, SIGINT interrupts the session instead of raising KeyboardInterrupt, so no
    Ctrl-C can land between two lines of this function and lose the session; the interrupt is
    repeated until the work ends, since one that lands before the wasm call starts is lost.
    ``on_interrupt`` replaces the session's interrupt (a Debugger act's cancel, say).
    """
    if threading.current_thread() is not threading.main_thread():
        return work()  # signals reach only the main thread
    outcome = Outcome(work)
    interrupted = threading.Event()

    interrupt = on_interrupt or session.interrupt

    def on_sigint(signum: int, frame: object) -> None:
        interrupted.set()
        interrupt()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        start_deep_thread(outcome, "jitscope-eval")  # the session evaluates on it in place
        while not outcome.done.wait(0.05):
            if interrupted.is_set():
                interrupt()
    finally:
        signal.signal(signal.SIGINT, previous)
    return outcome.result()
