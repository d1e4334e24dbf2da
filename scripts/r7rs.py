"""Run the r7rs-benchmarks programs (github.com/ecraven/r7rs-benchmarks) in jitscope's three
modes and in a reference Scheme, and compare their output.

    python scripts/r7rs.py CHECKOUT [--only NAME ...] [--reference "guile --r7rs -q"]

The reference compiles each program first (Guile caches it), so a second run is faster.

CHECKOUT is a work tree of that repository or its git directory (what the fetch tool brings);
nothing of it is kept in this project.  Each benchmark's code is used unchanged (imports
included: jitscope accepts the standard libraries'), each ``(read)`` of its input replaced by
the next datum of ``inputs/NAME.input`` (or of a smaller input below, where the original takes
an interpreter minutes), and a plain driver in place of ``common.scm``'s: it runs the benchmark once and writes the result.  A program
passes in a mode when its output is the reference's.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jitscope.runtime.session import Session

#: The driver in place of common.scm's: one run, the result written.
DRIVER = """
(define (hide r x) x)
(define (this-scheme-implementation-name) "driver")
(define (run-r7rs-benchmark name count thunk ok?)
  (let ((result (thunk)))
    (write result)
    (newline)))
"""

#: Inputs for an interpreter: NAME -> the datums for its (read)s, where the original's are
#: sized for native compilers (the count is ignored by the driver).
SMALLER = {
    "array1": "1 100000 ignored",
    "cpstak": "1 18 12 6 7",
    "ctak": "1 18 12 6 7",
    "earley": "1 9 ignored",
    "equal": "10 10 8 100 200 500 #t",
    "fft": "1 4096 0.0 ignored",
    "fib": "1 25 75025",
    "fibc": "1 18 2584",
    "fibfp": "1 25.0 75025.0",
    "gcbench": "1 14 0",
    "graphs": "1 5 ignored",
    "mperm": "2 7 2 1 ignored",
    "nboyer": "1 2 ignored",
    "sboyer": "1 2 ignored",
    "nqueens": "1 8 92",
    "paraffins": "1 17 ignored",
    "parsing": '10 "inputs/parsing.data" ignored',
    "string": "1 10000 ignored",
    "sumfp": "1 100000.0 ignored",
    "tak": "1 18 12 6 7",
    "takl": "1 (18 17 16 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1) (12 11 10 9 8 7 6 5 4 3 2 1) "
    "(6 5 4 3 2 1) 7",
    "ntakl": "1 (18 17 16 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1) (12 11 10 9 8 7 6 5 4 3 2 1) "
    "(6 5 4 3 2 1) 7",
}


class Checkout:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.work_tree = (path / "src").is_dir()

    def read(self, name: str) -> str:
        if self.work_tree:
            return (self.path / name).read_text()
        return subprocess.run(
            ["git", "--git-dir", str(self.path), "show", f"HEAD:{name}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def names(self) -> list[str]:
        if self.work_tree:
            files = [str(p.relative_to(self.path)) for p in self.path.rglob("*")]
        else:
            files = subprocess.run(
                ["git", "--git-dir", str(self.path), "ls-tree", "-r", "--name-only", "HEAD"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
        return sorted(f for f in files if f.startswith("inputs/"))

    def copy_inputs(self, into: Path) -> None:
        for name in self.names():
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                target.write_text(self.read(name))
            except subprocess.CalledProcessError:
                pass  # a large file the fetched snapshot lists but does not hold


def _datums(text: str) -> list[str]:
    """The top-level datums of an input file (comments dropped), as text."""
    out, depth, start, i = [], 0, None, 0
    while i < len(text):
        c = text[i]
        if c == ";":
            i = text.find("\n", i)
            i = len(text) if i < 0 else i
            continue
        if c == '"':
            end = i + 1
            while text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            if depth == 0:
                out.append(text[i : end + 1])
            i = end + 1
            continue
        if c in "([" or (c == "#" and text[i + 1 : i + 2] == "("):  # a list or a vector
            if depth == 0:
                start = i
            depth += 1
            i += 2 if c == "#" else 1
            continue
        elif c in ")]":
            depth -= 1
            if depth == 0:
                out.append(text[start : i + 1])
        elif not c.isspace() and depth == 0:
            m = re.match(r"[^\s()\[\]\";]+", text[i:])
            assert m
            out.append(m.group())
            i += len(m.group())
            continue
        i += 1
    return out


def program(checkout: Checkout, name: str) -> str:
    """The benchmark's code with its inputs in place of (read) and the plain driver."""
    source = checkout.read(f"src/{name}.scm")
    inputs = _datums(SMALLER.get(name) or checkout.read(f"inputs/{name}.input"))
    reads = iter(inputs)

    def quoted(_m: re.Match[str]) -> str:
        datum = next(reads, "#f")
        return datum if datum[0] in '"#0123456789-+.' else f"'{datum}"

    source = re.sub(r"\(read\)", quoted, source)
    # The driver after the program's imports, which come first.
    imports = re.search(r"^\(import[^;]*?\)\)[ \t]*$", source, flags=re.MULTILINE | re.DOTALL)
    at = imports.end() if imports else 0
    return source[:at] + DRIVER + source[at:] + "\n(run-benchmark)\n"


def run_jitscope(
    text: str, mode: str, wasm: Path | None, files: Path, limit: float
) -> tuple[str, float]:
    start = time.perf_counter()
    with Session(wasm, time_limit=limit, files=files, writable=True) as s:
        if mode == "eager":
            s.set_eager_jit(True)
        elif mode == "auto":
            s.set_auto_jit(100)
        results = s.eval(text, name="program.scm")
    output = "".join(r.output for r in results)
    if results and results[-1].kind == "error":
        r = results[-1]
        output += f"ERROR {r.line}:{r.col}: {r.text}\n"
    return output, time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkout", type=Path)
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--reference", default="guile --r7rs -q")
    ap.add_argument("--modes", nargs="*", default=["never", "eager", "auto"])
    ap.add_argument("--time-limit", type=float, default=60)
    ap.add_argument("--wasm", type=Path, default=None, help="another build of interplib.wasm")
    args = ap.parse_args()
    checkout = Checkout(args.checkout)
    names = sorted(
        Path(n).stem
        for n in checkout.names()
        if n.endswith(".input") and Path(n).stem not in ("common",)
    )
    if args.only:
        names = [n for n in names if n in args.only]
    passed = dict.fromkeys(args.modes, 0)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        checkout.copy_inputs(work)
        (work / "outputs").mkdir()  # where ray and slatex write, as in the suite's own tree
        for name in names:
            text = program(checkout, name)
            path = work / f"{name}.scm"
            path.write_text(text)
            try:
                ref = subprocess.run(
                    [*shlex.split(args.reference), str(path)],
                    capture_output=True,
                    text=True,
                    cwd=work,
                    timeout=120,
                    check=False,
                )
                expected = ref.stdout if ref.returncode == 0 else None
                problem = " ".join(ref.stderr.split())[-80:]  # one line of the table
            except subprocess.TimeoutExpired:
                expected, problem = None, "timed out after 120 s"
            cells = []
            for mode in args.modes:
                out, seconds = run_jitscope(text, mode, args.wasm, work, args.time_limit)
                ok = expected is not None and out == expected
                passed[mode] += ok
                first = out.strip().splitlines()[-1] if out.strip() else "(no output)"
                cells.append(
                    f"{mode} {'ok' if ok else 'FAIL'} {seconds:.2f}s"
                    + ("" if ok else f" [{first[:70]}]")
                )
            ref_note = "" if expected is not None else f"  (reference failed: {problem})"
            print(f"{name:12} " + " | ".join(cells) + ref_note, flush=True)
    print(" ".join(f"{m}: {n}/{len(names)}" for m, n in passed.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
