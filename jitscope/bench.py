"""`jitscope bench`: the interpreter, its JIT and C side by side, in one process and engine.

Programs live in ``bench/programs.scm`` (``; bench: NAME CALL`` lines), and the seed
workbench's own program in ``bench/seed.scm``, run through the seed's ``parse`` and ``eval``
as its harness runs it; their C versions in
``bench/reference.c`` are compiled to wasm with the project's toolchain at -O2 and run in the
same wasmtime engine as the interpreter.  Each column is the median of several runs, and the
three results must agree.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import wasmtime

from jitscope.runtime.deep import run_on_deep_thread
from jitscope.runtime.engine import new_engine
from jitscope.runtime.session import Session
from jitscope.runtime.snapshot import snapshot

BENCH_DIR = Path(__file__).resolve().parent.parent / "bench"

# Scheme call -> the C export and arguments computing the same thing.
C_CALLS = {
    "fib": "fib",
    "tak": "tak",
    "loop": "sum_to",
    "lists": "list_work",
    "higher-order": "closure_work",
    "cpstak": "cpstak",
    "takl": "takl",
    "nqueens": "nqueens",
    "primes": "primes",
    "seed": "seed_fib",
}

#: Programs without a "same calls" C column: cpstak's C makes every call a tail call, as the
#: Scheme does, and without sibling calls its continuations would need a stack per call made.
NO_SAME_CALLS = {"cpstak"}


#: The systems of a program's row, in the order each round runs them.
SYSTEMS = ("interpreted", "jit", "c", "c_same_calls")


@dataclass
class Sample:
    wall: float  # seconds per call
    cpu: float  # this thread's CPU seconds per call


@dataclass
class ProgramResult:
    name: str
    call: str
    result: str
    #: Every sample of every system, in round order (a system missing: no C reference).
    samples: dict[str, list[Sample]]
    #: How the program is run, where it is not a form evaluated at the top level.
    via: str = ""

    def median(self, system: str, kind: str = "wall") -> float | None:
        runs = self.samples.get(system)
        return statistics.median(getattr(r, kind) for r in runs) if runs else None

    @property
    def interpreted(self) -> float:
        return self.median("interpreted") or 0.0

    @property
    def jit(self) -> float:
        return self.median("jit") or 0.0

    @property
    def c(self) -> float | None:
        return self.median("c")

    @property
    def c_same_calls(self) -> float | None:
        return self.median("c_same_calls")

    @property
    def speedup(self) -> float:
        return self.interpreted / self.jit

    @property
    def jit_over_c(self) -> float | None:
        return self.jit / self.c if self.c else None

    @property
    def jit_over_c_same_calls(self) -> float | None:
        return self.jit / self.c_same_calls if self.c_same_calls else None

    @property
    def interp_over_c(self) -> float | None:
        return self.interpreted / self.c if self.c else None


@dataclass
class LinkResult:
    functions: int
    module_bytes: int
    generate: float
    compile: float
    instantiate: float
    patch: float  # grow + fill + every relocation

    @property
    def total(self) -> float:
        return self.generate + self.compile + self.instantiate + self.patch

    @property
    def per_function(self) -> float:
        return self.total / self.functions


@dataclass
class Cost:
    """One long-session cost beside its target (issue 12's): what was measured, side by side."""

    what: str
    measured: str
    target: str
    met: bool


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repeat", type=int, default=5, help="runs per column; the median counts")
    p.add_argument("--only", nargs="*", metavar="NAME", help="run only these programs")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.add_argument("--no-link", action="store_true", help="skip the linking measurements")
    p.add_argument(
        "--no-session",
        action="store_true",
        help="skip the session costs (evaluation, linking at 1,000 functions, start-up, snapshots)",
    )
    p.add_argument("--wasm", type=Path, default=None, help="another build of interplib.wasm")


def parse_programs(text: str) -> dict[str, tuple[str, int]]:
    """NAME -> (CALL, TIMES) from "; bench: NAME CALL [xTIMES]" lines: a short program runs
    TIMES times per measurement, so fixed costs do not swamp it; times are per call."""
    return {
        name: (call, int(times or 1))
        for name, call, times in re.findall(
            r"^; bench: (\S+) (\(.*\))(?: x(\d+))?$", text, re.MULTILINE
        )
    }


#: Every C build's flags: -O2, and tail calls as return_call, as the JIT makes them (cpstak's
#: continuations call each other in tail position).
REFERENCE_FLAGS = ("-O2", "-mtail-call", "-mexec-model=reactor")


def build_reference(source: Path, flags: tuple[str, ...] = ()) -> Path:
    """Compile reference.c once per content and flags, cached beside the user's zig cache."""
    every = (*REFERENCE_FLAGS, *flags)
    digest = hashlib.sha256(source.read_bytes() + " ".join(every).encode()).hexdigest()[:16]
    out = Path.home() / ".cache" / "jitscope" / f"reference-{digest}.wasm"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(f".{os.getpid()}.tmp.wasm")  # test workers may build at once
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ziglang",
                "cc",
                "-target",
                "wasm32-wasi",
                *every,
                str(source),
                "-o",
                str(tmp),
            ],
            check=True,
        )
        tmp.replace(out)
    return out


#: The C column that makes the calls the Scheme makes: at -O2 clang turns one of fib's two
#: recursive calls into a loop (a sibling call), which the Scheme version does not do.
SAME_CALLS_FLAGS = ("-fno-optimize-sibling-calls",)


class Reference:
    """The C programs, instantiated in the session's engine."""

    def __init__(self, session: Session, path: Path) -> None:
        self.store = wasmtime.Store(session.engine)
        self.store.set_wasi(wasmtime.WasiConfig())
        self.store.set_epoch_deadline(1 << 62)
        linker = wasmtime.Linker(session.engine)
        linker.define_wasi()
        module = wasmtime.Module.from_file(session.engine, str(path))
        exports = linker.instantiate(self.store, module).exports(self.store)
        self.funcs = {n: f for n, f in exports.items() if isinstance(f, wasmtime.Func)}
        self.funcs["_initialize"](self.store)

    def call(self, name: str, args: list[int]) -> int:
        result = self.funcs[name](self.store, *args)
        assert isinstance(result, int)
        return result


def _timed(run: Callable[[], object], times: int) -> tuple[Sample, object]:
    wall, cpu = time.perf_counter(), time.thread_time()
    value = run()
    return Sample((time.perf_counter() - wall) / times, (time.thread_time() - cpu) / times), value


def _scheme_runner(session: Session, call: str, times: int) -> Callable[[], str]:
    """One measurement: the call (TIMES times in one form); its printed value."""
    form = (
        call
        if times == 1
        else f"(let rep ((i {times}) (r #f)) (if (= i 0) r (rep (- i 1) {call})))"
    )

    def run() -> str:
        [r] = session.eval(form)
        if r.kind != "value":
            raise RuntimeError(f"{call}: {r.text}")
        return r.text

    return run


def _seed_runner(session: Session, program: int) -> Callable[[], str]:
    """One measurement: the seed's ``eval`` of a program ``parse`` made once; its value."""

    def run() -> str:
        r = session.eval_program(program)
        if r.kind != "value":
            raise RuntimeError(f"the seed's program: {r.text}")
        return r.text

    return run


def _c_runner(ref: Reference, export: str, args: list[int], times: int) -> Callable[[], str]:
    def run() -> str:
        value = 0
        for _ in range(times):
            value = ref.call(export, args)
        return str(value)

    return run


def _references(session: Session) -> dict[str, Reference]:
    refs: dict[str, Reference] = {}
    for system, flags in (("c", ()), ("c_same_calls", SAME_CALLS_FLAGS)):
        try:
            refs[system] = Reference(session, build_reference(BENCH_DIR / "reference.c", flags))
        except (OSError, subprocess.CalledProcessError, wasmtime.WasmtimeError) as e:
            print(f"jitscope bench: no {system} reference ({e})", file=sys.stderr)
    return refs


def run_programs(
    wasm: Path | None,
    repeat: int,
    only: list[str] | None,
    progress: Callable[[str], None] | None = None,
) -> list[ProgramResult]:
    """Each program on every system, the systems interleaved round by round (so a slow
    moment of the machine hits them alike): an interpreting session, a JIT-linked one and
    the C references, all in one engine.  Every system must compute the same value."""
    source = (BENCH_DIR / "programs.scm").read_text()
    seed = (BENCH_DIR / "seed.scm").read_text()
    seeds = parse_programs(seed)
    programs = parse_programs(source) | seeds
    say = progress or (lambda _line: None)

    def runner(s: Session, name: str) -> Callable[[], str]:
        if name in seeds:
            return _seed_runner(s, s.parse_program(seed))
        s.eval(source, name="bench/programs.scm")
        call, times = programs[name]
        return _scheme_runner(s, call, times)

    results = []
    for name, (call, times) in programs.items():
        if only and name not in only:
            continue
        with Session(wasm, time_limit=None) as interp, Session(wasm, time_limit=None) as jit:
            runners = {"interpreted": runner(interp, name), "jit": runner(jit, name)}
            runners["jit"]()  # a run first, so that there are candidates
            jit.jit()
            args = [int(a) for a in call.strip("()").split()[1:]]
            for system, ref in _references(interp).items():
                if not (system == "c_same_calls" and name in NO_SAME_CALLS):
                    runners[system] = _c_runner(ref, C_CALLS[name], args, times)
            samples: dict[str, list[Sample]] = {system: [] for system in runners}
            values: dict[str, object] = {}
            for k in range(repeat):
                for system, run in runners.items():
                    sample, values[system] = _timed(run, times)
                    samples[system].append(sample)
                say(
                    f"{name}: round {k + 1}/{repeat}  "
                    + "  ".join(f"{sy} {_fmt_time(samples[sy][-1].wall)}" for sy in runners)
                )
            expected = values["interpreted"]
            for system, value in values.items():
                if value != expected:
                    raise RuntimeError(f"{name}: {system} computed {value}, interpreter {expected}")
            via = "the seed's program, through its parse and eval" if name in seeds else ""
            results.append(ProgramResult(name, call, str(expected), samples, via))
    return results


def run_linking(wasm: Path | None, sizes=(1, 10, 100)) -> list[LinkResult]:
    """Time each stage of linking one module of N small functions."""
    results = []
    for n in sizes:
        with Session(wasm, time_limit=None) as s:
            s.eval(
                "".join(
                    f"(define (f{i} x) (if (< x 1) {i} (+ (f{i} (- x 1)) x)))" for i in range(n)
                )
            )
            s.eval("".join(f"(f{i} 3)" for i in range(n)))
            mod = s.generate()
            assert mod is not None
            s.link(mod)
            t = mod.timings
            results.append(
                LinkResult(
                    n,
                    mod.size,
                    t["generate"],
                    t["compile"],
                    t["instantiate"],
                    t.get("grow", 0) + t.get("fill", 0) + t.get("patch", 0),
                )
            )
    return results


def _median_seconds(run: Callable[[], object], times: int) -> float:
    return statistics.median(_timed(run, 1)[0].wall for _ in range(times))


def _in_child(script: str, runs: int = 3) -> float:
    """The median of what ``script``, run in a fresh Python ``runs`` times, prints (seconds)."""
    return statistics.median(
        float(
            subprocess.run(
                [sys.executable, "-c", script],
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            ).stdout.split()[-1]
        )
        for _ in range(runs)
    )


def _cold_compile(data: bytes, times: int = 3) -> float:
    """Compiling ``data`` in a fresh engine with the sessions' settings: no cache helps."""
    return _median_seconds(lambda: wasmtime.Module(new_engine(), data), times)


#: A second process opening a session (the compile cache warm) and painting the TUI's first
#: screen, timed from its first line.
_OPEN_SESSION = """import time
from jitscope.runtime.session import Session
t = time.perf_counter()
with Session({path!r}):
    print(time.perf_counter() - t)
"""
_FIRST_PAINT = """import time; t = time.perf_counter()
import asyncio
from jitscope.runtime.session import Session
from jitscope.tui.app import JitscopeApp
async def paint():
    with Session({path!r}) as s:
        async with JitscopeApp(s).run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            print(time.perf_counter() - t)
asyncio.run(paint())
"""


def run_session_costs(
    wasm: Path | None, progress: Callable[[str], None] | None = None
) -> list[Cost]:
    """Issue 12's targets measured in one run: evaluation after many functions, linking at
    1,000 functions, start-up against a cold compile, a snapshot's compile against the plain
    module's."""
    say = progress or (lambda _line: None)
    costs = []
    say("session costs: evaluation")
    with Session(wasm, time_limit=None) as s:
        path = s.path
        plain = path.read_bytes()
        trivial = partial(s.eval, "(+ 1 2)")
        before = _median_seconds(trivial, 200)
        per_form = _median_seconds(partial(s.eval, "(+ 1 2)" * 1000), 5) / 1000
        s.eval("".join(f"(define (g{i} x) (+ x {i}))" for i in range(2000)))
        s.eval("".join(f"(g{i} 1)" for i in range(2000)))
        after = _median_seconds(trivial, 200)
        costs += [
            Cost(
                "`(+ 1 2)` after 2,000 more functions",
                f"{_fmt_time(after)} against {_fmt_time(before)}: {after / before:.2f}×",
                "within 1.5×",
                after <= 1.5 * before,
            ),
            Cost(
                "a form's whole cost, 1,000 in one evaluation (bounds the host's share)",
                f"{per_form * 1000:.3f} ms",
                "host overhead under 0.3 ms",
                per_form < 0.3e-3,
            ),
        ]
    say("session costs: linking 100 and 1,000 functions")
    small, large = run_linking(wasm, sizes=(100, 1000))
    costs.append(
        Cost(
            "linking, per function at 1,000 (at 100)",
            f"{large.per_function * 1000:.3f} ms ({small.per_function * 1000:.3f} ms); "
            f"patch {large.patch / large.functions * 1e6:.1f} µs "
            f"({small.patch / small.functions * 1e6:.1f} µs)",
            "under 1 ms, and linear",
            large.per_function < 1e-3 and large.per_function <= 1.25 * small.per_function,
        )
    )
    say("session costs: a snapshot")
    with Session(wasm, time_limit=None) as s:
        s.eval((BENCH_DIR / "programs.scm").read_text(), name="bench/programs.scm")
        s.eval("(fib 20) (list-work 1000 3)")
        s.jit()
        snap = snapshot(s.capture())
    say("session costs: start-up")
    cold = _cold_compile(plain)
    opened = _in_child(_OPEN_SESSION.format(path=str(path)))
    painted = _in_child(_FIRST_PAINT.format(path=str(path)))
    snap_cold = _cold_compile(snap.data)
    costs += [
        Cost(
            "`Session()` in a second process",
            f"{_fmt_time(opened)} against a cold compile of {_fmt_time(cold)}: "
            f"{opened / cold:.2f}×",
            "under 1/5 of a cold compile",
            opened < cold / 5,
        ),
        Cost(
            "the TUI's first paint in a second process (imports included)",
            _fmt_time(painted),
            "under 1 s",
            painted < 1.0,
        ),
        Cost(
            f"compiling a snapshot ({snap.segments:,} data segments, {len(snap.data):,} bytes)",
            f"{_fmt_time(snap_cold)} against {_fmt_time(cold)} for the plain module: "
            f"{snap_cold / cold:.2f}×",
            "as fast as a fresh start (within 1.25×)",
            snap_cold <= 1.25 * cold,
        ),
    ]
    return costs


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def _fmt_ratio(r: float | None) -> str:
    return "—" if r is None else f"{r:,.1f}×"


def format_table(
    programs: list[ProgramResult], links: list[LinkResult], costs: Sequence[Cost] = ()
) -> str:
    lines = [
        (
            "Medians per call, wall time (thread CPU time in brackets). C: clang -O2; "
            "C, same calls: also -fno-optimize-sibling-calls, so it makes the calls the Scheme makes."
        ),
        "",
        (
            "| program | interpreted | JIT | C | C, same calls | JIT speed-up | JIT / C | "
            "JIT / C same calls |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in programs:

        def cell(system: str, p: ProgramResult = p) -> str:
            wall, cpu = p.median(system), p.median(system, "cpu")
            return "—" if wall is None else f"{_fmt_time(wall)} ({_fmt_time(cpu)})"

        lines.append(
            f"| `{p.call}`{', ' + p.via if p.via else ''} | {cell('interpreted')} | {cell('jit')} | {cell('c')} | "
            f"{cell('c_same_calls')} | {_fmt_ratio(p.speedup)} | {_fmt_ratio(p.jit_over_c)} | "
            f"{_fmt_ratio(p.jit_over_c_same_calls)} |"
        )
    if links:
        lines += [
            "",
            (
                "| functions | module bytes | bytes / function | generate | compile | "
                "instantiate | patch | per function |"
            ),
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in links:
            lines.append(
                f"| {r.functions} | {r.module_bytes:,} | {r.module_bytes // r.functions:,} | "
                f"{_fmt_time(r.generate)} | {_fmt_time(r.compile)} | "
                f"{_fmt_time(r.instantiate)} | {_fmt_time(r.patch)} | "
                f"{r.per_function * 1000:.3f} ms |"
            )
    if costs:
        lines += ["", "| session cost | measured | target | met |", "|---|---|---|---|"]
        lines += [
            f"| {c.what} | {c.measured} | {c.target} | {'yes' if c.met else 'NO'} |" for c in costs
        ]
    return "\n".join(lines)


def run_bench(args: argparse.Namespace) -> int:
    def progress(line: str) -> None:
        print(f"jitscope bench: {line}", file=sys.stderr, flush=True)

    def measure() -> tuple[list[ProgramResult], list[LinkResult], list[Cost]]:
        programs = run_programs(args.wasm, args.repeat, args.only, progress)
        if not args.no_link:
            progress("linking modules of 1, 10 and 100 functions")
        links = [] if args.no_link else run_linking(args.wasm)
        costs = [] if args.no_session else run_session_costs(args.wasm, progress)
        return programs, links, costs

    # On a thread sessions evaluate on in place: thread CPU time is the evaluations', and no
    # hand-off is timed.
    programs, links, costs = run_on_deep_thread(measure, "jitscope-bench")
    if args.json:
        print(
            json.dumps(
                {
                    "programs": [
                        {
                            "name": p.name,
                            "call": p.call,
                            "via": p.via,
                            "result": p.result,
                            "median": {sy: p.median(sy) for sy in p.samples},
                            "median_cpu": {sy: p.median(sy, "cpu") for sy in p.samples},
                            "samples": {
                                sy: [asdict(x) for x in runs] for sy, runs in p.samples.items()
                            },
                            "speedup": p.speedup,
                            "jit_over_c": p.jit_over_c,
                            "jit_over_c_same_calls": p.jit_over_c_same_calls,
                            "interp_over_c": p.interp_over_c,
                        }
                        for p in programs
                    ],
                    "linking": [asdict(r) | {"per_function": r.per_function} for r in links],
                    "session_costs": [asdict(c) for c in costs],
                },
                indent=2,
            )
        )
    else:
        print(format_table(programs, links, costs))
    return 0
