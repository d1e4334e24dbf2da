"""``jitscope snapshot``: evaluate, JIT and link, then bake the linked code into one module.

    jitscope snapshot -o fib-jit.wasm [--wasm PATH] [--jit MODE] [FILE.scm ...]
    jitscope fib-jit.wasm                 resumes there: definitions, heap and JIT code in place

The logic is :mod:`jitscope.runtime.snapshot`; this module only drives a session through the
files and reports.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path
from typing import TextIO

from jitscope.cli import add_threshold_argument, add_time_limit_argument, add_writable_argument
from jitscope.cli.run import format_results, interruptible, open_session
from jitscope.debugger import Debugger
from jitscope.runtime.session import ModuleLoadError

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "files",
        nargs="*",
        type=Path,
        metavar="FILE.scm",
        help="Scheme sources to evaluate first, in order",
    )
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        help="the snapshot module to write (replaced atomically)",
    )
    p.add_argument(
        "--wasm",
        type=Path,
        default=None,
        help="the module to start from: another build of interplib.wasm, or an "
        "earlier snapshot (linking stacks)",
    )
    p.add_argument(
        "--jit",
        choices=("candidates", "eager", "auto", "never"),
        default="candidates",
        help="candidates (default): after the files ran, compile and link every "
        "function the interpreter called; eager: compile every function before it "
        "first runs; auto: tier up hot functions mid-run; never: bake only what is "
        "linked already",
    )
    add_threshold_argument(p)
    add_time_limit_argument(p)
    add_writable_argument(p)
    p.add_argument(
        "-q", "--quiet", action="store_true", help="do not print the files' output and values"
    )


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    sources = []
    for path in args.files:
        try:
            sources.append((path, path.read_bytes()))
        except OSError as e:
            print(f"jitscope: {path}: {e.strerror}", file=sys.stderr)
            return 2
    try:
        # The programs read files beside the first of them, as `jitscope run` does.
        files = args.files[0].resolve().parent if args.files else Path.cwd()
        session = open_session(args.wasm, args.time_limit or None, files, args.writable)
    except ModuleLoadError as e:
        print(f"jitscope: {e.path}: {e.problem}", file=sys.stderr)
        return 2
    with session:
        debugger = Debugger(session)
        if args.jit in ("eager", "auto"):
            report = (
                debugger.set_eager(True)
                if args.jit == "eager"
                else debugger.set_auto(args.threshold)
            )
            if report.failed:
                print(f"jitscope: {report.lines[0].text}", file=sys.stderr)
                return 2
        for path, source in sources:
            results = interruptible(session, partial(session.eval, source, name=str(path)))
            if not args.quiet:
                out.write(format_results(results))
            if results and results[-1].kind == "error":
                print(f"jitscope: {path}: evaluation failed; no snapshot written", file=sys.stderr)
                return 1
        if args.jit == "candidates" and session.debugger:
            report = debugger.jit()
            if report.failed:
                print(f"jitscope: {report.lines[0].text}", file=sys.stderr)
                return 1
            if report.module is not None and not args.quiet:
                out.write(report.lines[0].text + "\n")
        report, snap = debugger.snapshot(args.output)
        if snap is None:
            print(f"jitscope: {report.lines[0].text}", file=sys.stderr)
            return 1
        out.write(report.lines[0].text + "\n")
        out.flush()
    return 0
