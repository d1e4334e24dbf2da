"""The debugger's acts, said once for every front end.

The TUI, ``jitscope repl``, ``run``, ``snapshot`` and the browser mode all drive a session
through a :class:`Debugger`: each act runs the real session operation and returns a
:class:`Report` whose lines say what happened in the same words everywhere.  Failures come back
as error lines, never as exceptions: the session carries on.  Call it from the thread that
owns the session (a front end's worker).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from jitscope.debugger.stops import break_command
from jitscope.runtime.session import EvalError, JitModule, Session, Stage, Unsupported
from jitscope.runtime.snapshot import Snapshot, SnapshotError, write_snapshot

__all__ = [
    "DEFAULT_AUTO_THRESHOLD",
    "MAX_AUTO_THRESHOLD",
    "Debugger",
    "Line",
    "Report",
    "parse_auto_threshold",
]

#: Interpreted calls after which auto mode tiers a function up (every front end's default).
DEFAULT_AUTO_THRESHOLD = 1000

#: The module counts calls in 64 bits but compares the threshold as a u32.
MAX_AUTO_THRESHOLD = (1 << 31) - 1


@dataclass(frozen=True, slots=True)
class Line:
    """One thing a report says: kind is "jit", "info", "warning" or "error"."""

    kind: str
    text: str
    seconds: float | None = None


@dataclass(slots=True)
class Report:
    """What an act did: its lines, and the module it was about (to select it in a view)."""

    lines: list[Line] = field(default_factory=list)
    module: JitModule | None = None
    auto: bool | None = None  # auto tier-up switched on (True) or off (False)

    def add(self, kind: str, text: str, seconds: float | None = None) -> Report:
        self.lines.append(Line(kind, text, seconds))
        return self

    @property
    def failed(self) -> bool:
        return any(line.kind == "error" for line in self.lines)


def parse_auto_threshold(text: str) -> int:
    """A threshold as typed (``,auto N``, ``--threshold N``); ValueError with a usage line."""
    try:
        n = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise ValueError(
            f"usage: ,auto N | off (N a whole number of calls, not {text!r})"
        ) from None
    if not 1 <= n <= MAX_AUTO_THRESHOLD:
        raise ValueError(f"usage: ,auto N | off (N from 1 to {MAX_AUTO_THRESHOLD:,}, not {n:,})")
    return n


def _message(e: BaseException) -> str:
    if isinstance(e, EvalError):
        return e.one_line()
    if isinstance(e, KeyError):
        return f"no function named {e.args[0]}"
    return str(e)


_FAILURES = (EvalError, Unsupported, ValueError, KeyError)


class _Cancelled(Exception):
    """Debugger.cancel() reached an act between two steps."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class Debugger:
    """The acts of a debugger over one session: JIT, step, link, discard, unlink, auto
    tier-up, snapshot."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._cancel = threading.Event()
        self._failures_seen = 0  # of session.tier_up_failures, already reported

    def cancel(self) -> None:
        """Stop the act that is running at its next step (from any thread, a signal handler
        included): a module it was linking is discarded, so nothing is left half-linked."""
        self._cancel.set()

    # ------------------------------------------------------------------------- helpers

    def in_flight(self) -> list[JitModule]:
        """Modules generated and not yet linked, discarded or failed."""
        return [m for m in self.session.modules if m.next_step() is not None]

    def _seed_only(self, what: str) -> ValueError:
        return ValueError(
            f"{self.session.path.name} has only the seed's interface: its JIT module patches "
            f"itself in when instantiated, so {what}; ,jit generates and links in one go"
        )

    def _target(self, module_id: int | None) -> JitModule:
        if not self.session.debugger:
            raise self._seed_only("no step can be taken on its own")
        if module_id is not None:
            mod = self.session.module(module_id)
            if mod.next_step() is None:
                raise ValueError(f"module {mod.id} is {mod.stage.name.lower()}: no step left")
            return mod
        flying = self.in_flight()
        if not flying:
            raise ValueError("no JIT module in flight: generate one first")
        return flying[-1]

    def _guarded(self, verb: str, act: Callable[[Report], None]) -> Report:
        report = Report()
        self._cancel.clear()  # a cancel meant for an act that had ended
        try:
            act(report)
        except _FAILURES as e:
            report.add("error", f"{verb}: {_message(e)}")
        except _Cancelled as c:
            report.add("warning", f"{verb}: cancelled {c.what}")
        finally:
            self._cancel.clear()
        return report

    def _check_cancel(self, mod: JitModule) -> None:
        """Before a step of ``mod``: if cancelled, discard it and stop the act."""
        if not self._cancel.is_set():
            return
        self.session.discard(mod)
        raise _Cancelled(
            f"before module {mod.id} was linked: discarded, {self._names(mod)} stay interpreted"
        )

    @staticmethod
    def _names(mod: JitModule, most: int = 6) -> str:
        """The module's functions, the first few by name when there are many."""
        names = mod.names
        if len(names) > most:
            return f"{', '.join(names[: most - 1])} and {len(names) - most + 1:,} more"
        return ", ".join(names) or "its functions"

    # ------------------------------------------------------------------------- acts

    def generate(self, functions: list[int | str] | None = None) -> Report:
        """Generate a module (in wasm) for these functions, or every candidate; not linked."""

        def act(report: Report) -> None:
            if not self.session.debugger:
                raise self._seed_only("it cannot be generated without being linked")
            mod = _made(report, self.session.generate(functions), functions)
            if mod is None:
                return
            report.add(
                "jit",
                f"module {mod.id} generated for {self._names(mod)} "
                f"({mod.size:,} bytes) — next: {mod.next_step()}",
                mod.timings.get("generate"),
            )

        return self._guarded("generate", act)

    def step(self, module_id: int | None = None, *, to_end: bool = False) -> Report:
        """One step of a module in flight (the newest by default), or every step left."""

        def act(report: Report) -> None:
            mod = self._target(module_id)
            report.module = mod
            while mod.next_step() is not None:
                if to_end:
                    self._check_cancel(mod)
                started = time.perf_counter()
                try:
                    what = self.session.step(mod)
                except EvalError as e:
                    report.add(
                        "error",
                        f"module {mod.id}: {e.message} — discarded, "
                        f"{self._names(mod)} stay interpreted",
                    )
                    return
                nxt = mod.next_step()
                report.add(
                    "jit",
                    f"module {mod.id}: {what}" + (f" — next: {nxt}" if nxt else ""),
                    time.perf_counter() - started,
                )
                if mod.stage is Stage.LINKED:
                    report.add(
                        "jit",
                        f"module {mod.id} linked: calls to {self._names(mod)} now enter JIT code",
                    )
                if not to_end:
                    return

        return self._guarded("step", act)

    def link(self, module_id: int | None = None) -> Report:
        """Every step left of a module in flight."""
        return self.step(module_id, to_end=True)

    def jit(self, functions: list[int | str] | None = None) -> Report:
        """Generate, instantiate and patch in one go (a seed-only module's only way)."""

        def act(report: Report) -> None:
            if functions and not self.session.debugger:
                raise ValueError(
                    f"{self.session.path.name} has only the seed's interface, whose JIT "
                    "compiles every hot function: ,jit takes no names here"
                )
            started = time.perf_counter()
            if self.session.debugger:  # one step at a time, so that a cancel can come between
                mod = _made(report, self.session.generate(functions), functions)
                while mod is not None and mod.next_step() is not None:
                    self._check_cancel(mod)
                    self.session.step(mod)
            else:
                mod = _made(report, self.session.jit(functions), functions)
            if mod is None:
                return
            report.add(
                "jit",
                f"module {mod.id}: {self._names(mod)} ({mod.size:,} bytes) linked",
                time.perf_counter() - started,
            )
            for p in mod.patches:
                report.add(
                    "jit",
                    f"  {p.patch.name}.jitCode @ 0x{p.patch.address:x}: "
                    f"{p.before} -> {p.after} (table slot {p.after})",
                )

        return self._guarded("jit", act)

    def discard(self, module_id: int | None = None) -> Report:
        """Give up on a module in flight: its functions become candidates again."""

        def act(report: Report) -> None:
            mod = self._target(module_id)
            report.module = mod
            undone = self.session.discard(mod)
            report.add("jit", f"module {mod.id} discarded: {self._names(mod)} back to interpreted")
            for ps, now in undone:
                field = f"{ps.patch.name}.jitCode @ 0x{ps.patch.address:x}"
                if now == ps.before:
                    report.add("jit", f"  patch undone: {field} {ps.after} -> {now}")
                else:
                    report.add("error", f"  {field} still holds {now} (was {ps.before})")
            if undone and mod.table_base is not None:
                first, last = mod.table_base, mod.table_base + len(mod.names) - 1
                slots = f"slot {first}" if first == last else f"slots {first}-{last}"
                report.add(
                    "jit", f"  table {slots} keep its code, dead: no function dispatches there"
                )

        return self._guarded("discard", act)

    def unlink(self, function: int | str) -> Report:
        """Send a linked function's calls back to the interpreter."""

        def act(report: Report) -> None:
            f = self.session.function(function)
            if f.state != "linked":
                raise ValueError(f"{f.name} is not linked ({f.state})")
            self.session.unlink(f.id)
            report.add("jit", f"{f.name} unlinked: its calls go through the interpreter again")

        return self._guarded("unlink", act)

    def tier_up_report(self) -> Report:
        """Auto tier-ups that failed since the last call: call after each evaluation."""
        report = Report()
        failures = self.session.tier_up_failures
        for name, why in failures[self._failures_seen :]:
            report.add("warning", f"auto tier-up of {name} failed ({why}): it stays interpreted")
        self._failures_seen = len(failures)
        return report

    def set_eager(self, on: bool) -> Report:
        """JIT-eager: every new function compiled and linked before its form runs."""

        def act(report: Report) -> None:
            self.session.set_eager_jit(on)
            report.add(
                "jit",
                "eager JIT on: every new function is linked before its form runs"
                if on
                else "eager JIT off",
            )

        return self._guarded("eager", act)

    def set_auto(self, threshold: int | None) -> Report:
        """Auto tier-up after ``threshold`` interpreted calls, or off (None)."""

        def act(report: Report) -> None:
            if threshold is not None and not 1 <= threshold <= MAX_AUTO_THRESHOLD:
                raise ValueError(f"the threshold must be from 1 to {MAX_AUTO_THRESHOLD:,}")
            self.session.set_auto_jit(threshold)
            report.auto = threshold is not None
            if threshold is None:
                report.add("jit", "auto tier-up off")
            else:
                report.add(
                    "jit",
                    f"auto tier-up on: functions are JIT-linked after "
                    f"{threshold:,} interpreted calls, mid-evaluation",
                )

        return self._guarded("auto", act)

    def breakpoint(self, words: list[str]) -> Report:
        """``,break WORDS``: set, list or clear breakpoints (see debugger/stops.py)."""

        def act(report: Report) -> None:
            for kind, text in break_command(self.session, words):
                report.add(kind, text)

        return self._guarded("break", act)

    def snapshot(self, path: Path | str) -> tuple[Report, Snapshot | None]:
        """Static linking: write the live program, linked JIT code included, as one module."""
        written: list[Snapshot] = []

        def act(report: Report) -> None:
            try:
                snap = write_snapshot(self.session, path)
            except SnapshotError as e:
                raise ValueError(str(e)) from None
            except OSError as e:
                raise ValueError(f"{path}: {e.strerror or e}") from None
            written.append(snap)
            report.add("jit", f"wrote {path}: {snap.summary()}", snap.seconds)

        return self._guarded("snapshot", act), (written[0] if written else None)


def _made(
    report: Report, mod: JitModule | None, functions: list[int | str] | None
) -> JitModule | None:
    """The module made, now the report's; or None, and the report says why nothing was."""
    if mod is None:
        report.add(
            "warning",
            "nothing to compile: run a function first, so that it becomes a candidate"
            if functions is None
            else "nothing to compile: those functions are already compiled or linked",
        )
        return None
    report.module = mod
    return mod
