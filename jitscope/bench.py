"""`jitscope bench`: the interpreter, its JIT and C side by side, in one process and engine.

Programs live in ``bench/programs.scm`` (``; bench: NAME CALL`` lines); their C versions in
``bench/reference.c`` are compiled to wasm with the project's toolchain at -O2 and run in the
same wasmtime engine as the interpreter.  Each column is the median of several runs, and the
three results must agree.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import wasmtime

from jitscope.runtime.session import Session

BENCH_DIR = Path(__file__).resolve().parent.parent / "bench"

# Scheme call -> the C export and arguments computing the same thing.
C_CALLS = {
    "fib": "fib",
    "tak": "tak",
    "loop": "sum_to",
    "lists": "list_work",
    "higher-order": "closure_work",
}


@dataclass
class ProgramResult:
    name: str
    call: str
    result: str
    interpreted: float
    jit: float
    c: float | None

    @property
    def speedup(self) -> float:
        return self.interpreted / self.jit

    @property
    def jit_over_c(self) -> float | None:
        return self.jit / self.c if self.c else None

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


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repeat", type=int, default=5, help="runs per column; the median counts")
    p.add_argument("--only", nargs="*", metavar="NAME", help="run only these programs")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.add_argument("--no-link", action="store_true", help="skip the linking measurements")
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


def build_reference(source: Path) -> Path:
    """Compile reference.c once per content, cached beside the user's zig cache."""
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    out = Path.home() / ".cache" / "jitscope" / f"reference-{digest}.wasm"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp.wasm")
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ziglang",
                "cc",
                "-target",
                "wasm32-wasi",
                "-O2",
                "-mexec-model=reactor",
                str(source),
                "-o",
                str(tmp),
            ],
            check=True,
        )
        tmp.replace(out)
    return out


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


def _median_time(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _median_scheme(session: Session, call: str, times: int, repeat: int) -> tuple[float, str]:
    """Median of the form's own time (compiling and running it in wasm), which leaves out the
    session's bookkeeping around it; per call when the form runs the call several times."""
    form = (
        call
        if times == 1
        else f"(let rep ((i {times}) (r #f)) (if (= i 0) r (rep (- i 1) {call})))"
    )
    durations, value = [], ""
    for _ in range(repeat):
        [r] = session.eval(form)
        if r.kind != "value":
            raise RuntimeError(f"{call}: {r.text}")
        durations.append(r.seconds / times)
        value = r.text
    return statistics.median(durations), value


def run_programs(wasm: Path | None, repeat: int, only: list[str] | None) -> list[ProgramResult]:
    source = (BENCH_DIR / "programs.scm").read_text()
    programs = parse_programs(source)
    results = []
    for name, (call, times) in programs.items():
        if only and name not in only:
            continue
        with Session(wasm, time_limit=None) as s:
            s.eval(source, name="bench/programs.scm")
            interp, value = _median_scheme(s, call, times, repeat)
            s.jit()
            jit, jit_value = _median_scheme(s, call, times, repeat)
            c_time = None
            try:
                ref = Reference(s, build_reference(BENCH_DIR / "reference.c"))
            except (OSError, subprocess.CalledProcessError, wasmtime.WasmtimeError) as e:
                print(f"jitscope bench: no C reference ({e})", file=sys.stderr)
            else:
                args = [int(a) for a in call.strip("()").split()[1:]]

                def run_c(a=args, r=ref, f=C_CALLS[name], n=times):
                    for _ in range(n):
                        value = r.call(f, a)
                    return value

                c_time, c_value = _median_time(run_c, repeat)
                c_time /= times
                if str(c_value) != value:
                    raise RuntimeError(f"{name}: C computed {c_value}, Scheme {value}")
            if jit_value != value:
                raise RuntimeError(f"{name}: JIT computed {jit_value}, interpreter {value}")
            results.append(ProgramResult(name, call, value, interp, jit, c_time))
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


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def _fmt_ratio(r: float | None) -> str:
    return "—" if r is None else f"{r:,.1f}×"


def format_table(programs: list[ProgramResult], links: list[LinkResult]) -> str:
    lines = [
        "| program | interpreted | JIT | C reference | JIT speed-up | JIT / C | interp / C |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for p in programs:
        lines.append(
            f"| `{p.call}` | {_fmt_time(p.interpreted)} | {_fmt_time(p.jit)} | "
            f"{_fmt_time(p.c)} | {_fmt_ratio(p.speedup)} | {_fmt_ratio(p.jit_over_c)} | "
            f"{_fmt_ratio(p.interp_over_c)} |"
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
    return "\n".join(lines)


def run_bench(args: argparse.Namespace) -> int:
    programs = run_programs(args.wasm, args.repeat, args.only)
    links = [] if args.no_link else run_linking(args.wasm)
    if args.json:
        print(
            json.dumps(
                {
                    "programs": [
                        asdict(p)
                        | {
                            "speedup": p.speedup,
                            "jit_over_c": p.jit_over_c,
                            "interp_over_c": p.interp_over_c,
                        }
                        for p in programs
                    ],
                    "linking": [asdict(r) | {"per_function": r.per_function} for r in links],
                },
                indent=2,
            )
        )
    else:
        print(format_table(programs, links))
    return 0
