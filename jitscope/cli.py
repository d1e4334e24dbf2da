"""Command line: the TUI by default, and headless commands for scripts, tests and pipes.

    jitscope [PATH | --wasm PATH]          open the TUI on a module (the bundled build by default)
    jitscope repl [--wasm PATH]            a REPL on stdin/stdout with , meta-commands
    jitscope run FILE [--jit MODE]         evaluate a file, print each expression's value
    jitscope bench [...]                   interpreter vs JIT vs C, side by side
    jitscope snapshot -o OUT [FILE ...]    bake linked JIT code into one module (resume with
                                           `jitscope OUT`)
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from jitscope import __version__
from jitscope.runtime.session import (
    DEFAULT_TIME_LIMIT,
    EvalError,
    FormResult,
    ModuleLoadError,
    Session,
    Unsupported,
)

#: Interpreted calls after which auto mode compiles a function.
DEFAULT_AUTO_THRESHOLD = 100

SUBCOMMANDS = ("repl", "run", "bench", "snapshot")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        command, rest = argv[0], argv[1:]
    else:
        command, rest = "tui", argv
    parser = _parser(command)
    args = parser.parse_args(rest)
    if command == "tui" and args.path is not None:  # `jitscope PATH` is `jitscope --wasm PATH`
        if args.wasm is not None:
            parser.error("give the module either as PATH or with --wasm, not both")
        args.wasm = args.path
    try:
        if command == "bench":
            from jitscope.bench import run_bench

            return run_bench(args)
        if command == "snapshot":
            from jitscope.snapshot_cli import run

            return run(args)
        session = Session(args.wasm, time_limit=args.time_limit or None)
    except ModuleLoadError as e:
        print(f"jitscope: {e.path}: {e.problem}", file=sys.stderr)
        return 2
    with session:
        if command == "repl":
            return Repl(session, sys.stdout).run(sys.stdin)
        if command == "run":
            return run_file(session, args.file, args.jit, args.threshold, sys.stdout)
        from jitscope.tui.app import JitscopeApp

        JitscopeApp(session).run()
        return 0


def _parser(command: str) -> argparse.ArgumentParser:
    if command == "tui":
        p = argparse.ArgumentParser(
            prog="jitscope",
            description="A terminal debugger for run-time wasm code generation. "
            "Without a subcommand, opens the TUI. Subcommands: repl, run, bench, snapshot "
            "(see jitscope SUBCOMMAND --help).",
        )
        p.add_argument("path", nargs="?", type=Path, help="interplib.wasm to open "
                       "(default: the bundled build)")
        p.add_argument("--version", action="version", version=f"jitscope {__version__}")
    elif command == "bench":
        from jitscope.bench import add_arguments

        p = argparse.ArgumentParser(prog="jitscope bench",
                                    description="Interpreter vs JIT vs C reference.")
        add_arguments(p)
        return p
    elif command == "snapshot":
        from jitscope.snapshot_cli import add_arguments as add_snapshot_arguments

        p = argparse.ArgumentParser(
            prog="jitscope snapshot",
            description="Evaluate FILEs, JIT and link, then write one module with the linked "
            "JIT code, table, memory and globals baked in (static late linking).")
        add_snapshot_arguments(p)
        return p
    else:
        p = argparse.ArgumentParser(prog=f"jitscope {command}")
        if command == "run":
            p.add_argument("file", type=Path, help="Scheme source to evaluate")
            p.add_argument("--jit", choices=("never", "eager", "auto"), default="never",
                           help="never: interpret; eager: compile every function before it "
                           "first runs; auto: tier up hot functions mid-run")
            p.add_argument("--threshold", type=int, default=DEFAULT_AUTO_THRESHOLD,
                           help="interpreted calls before auto mode compiles a function")
    p.add_argument("--wasm", type=Path, default=None, help="another build of interplib.wasm")
    p.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT, metavar="SECONDS",
                   help=f"per evaluation (default {DEFAULT_TIME_LIMIT:g}; 0 for none)")
    return p


def format_results(results: list[FormResult]) -> str:
    """What the headless commands print: each form's output, then its value or error, which
    start on a line of their own."""
    text = ""
    for r in results:
        text += r.output
        if r.kind in ("value", "error"):
            if text and not text.endswith("\n"):
                text += "\n"
            text += (r.text if r.kind == "value" else f"error: {r.text}") + "\n"
    return text


def run_file(session: Session, path: Path, jit: str, threshold: int, out: TextIO) -> int:
    try:
        source = path.read_bytes()
    except OSError as e:
        print(f"jitscope: {path}: {e.strerror}", file=sys.stderr)
        return 2
    if jit == "eager":
        session.eager_jit = True
    elif jit == "auto":
        session.set_auto_jit(threshold)
    results = _interruptible(session, lambda: session.eval(source, name=str(path)))
    out.write(format_results(results))
    out.flush()
    return 1 if results and results[-1].kind == "error" else 0


def _interruptible(session: Session, work: Callable[[], list[FormResult]]) -> list[FormResult]:
    """Run ``work`` on a thread so Ctrl-C can interrupt the wasm it runs (signals are only
    seen by Python between bytecodes, never inside a wasm call)."""
    box: list[list[FormResult] | BaseException] = []
    done = threading.Event()

    def target() -> None:
        try:
            box.append(work())
        except BaseException as e:  # noqa: BLE001 - re-raised on the caller's thread
            box.append(e)
        finally:
            done.set()

    threading.Thread(target=target, name="jitscope-eval", daemon=True).start()
    # An Event, not Thread.join: a join interrupted by Ctrl-C can report a live thread dead.
    while True:
        try:
            if done.wait(0.05):
                break
        except KeyboardInterrupt:
            session.interrupt()
    result = box[0]
    if isinstance(result, BaseException):
        raise result
    return result


def paren_depth(text: str) -> int:
    """Open-minus-close parentheses outside strings, comments and character literals: the
    REPL keeps reading lines while this is positive."""
    depth, i, n = 0, 0, len(text)
    while i < n:
        c = text[i]
        if c == ";":
            while i < n and text[i] != "\n":
                i += 1
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            if i >= n:
                return depth + 1  # inside a string: keep reading
        elif text.startswith("#|", i):
            end = text.find("|#", i + 2)
            if end < 0:
                return depth + 1
            i = end + 1
        elif text.startswith("#\\", i):
            i += 2
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        i += 1
    return depth


HELP = """\
Type Scheme forms; a form may span lines. Meta-commands:
  ,candidates          functions the interpreter has run, with call counts
  ,functions [all]     every function: state, span, counters (prelude ones once used,
                       or all of them)
  ,jit [NAME ...]      generate, instantiate and patch a JIT module (all candidates by default)
  ,gen [NAME ...]      generate a module only; then ,step or ,link
  ,step                take the current module one step further
  ,link                run the current module's remaining steps
  ,discard             drop the current unlinked module: its functions stay interpreted
  ,unlink NAME         send a linked function back to the interpreter
  ,auto N | off        tier up functions after N interpreted calls, mid-evaluation
  ,stats               calls entered via the interpreter vs via JIT code (last eval, total)
  ,wat [N]             WAT of JIT module N (default: the latest)
  ,table [all]         the indirect function table (grown slots; 'all' for every slot)
  ,patches [N]         memory patches of module N: address, before, after
  ,heap                heap size, live data, collections
  ,snapshot FILE       write a module with the linked JIT code baked in (jitscope FILE resumes)
  ,help                this text
  ,quit                leave (so does end of input)"""


class Repl:
    """The headless REPL: lines in, results out; prompts only on a terminal."""

    def __init__(self, session: Session, out: TextIO, *, prompt: bool | None = None) -> None:
        self.session = session
        self.out = out
        self.prompt = sys.stdin.isatty() if prompt is None else prompt
        self.current = None  # the module ,gen made, for ,step and ,link
        self.inputs = 0

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def run(self, lines: TextIO) -> int:
        buffer = ""
        while True:
            if self.prompt:
                self.write("... " if buffer else "> ")
            try:
                line = lines.readline()
            except KeyboardInterrupt:
                self.write("\n")
                buffer = ""
                continue
            if not line:
                break
            if not buffer and line.strip().startswith(","):
                if not self.meta(line.strip()[1:].split()):
                    break
                continue
            buffer += line
            if not buffer.strip():
                buffer = ""
                continue
            if paren_depth(buffer) > 0:
                continue
            self.evaluate(buffer)
            buffer = ""
        if buffer.strip():
            self.evaluate(buffer)
        return 0

    def evaluate(self, source: str) -> None:
        self.inputs += 1
        results = _interruptible(
            self.session, lambda: self.session.eval(source, name=f"<repl {self.inputs}>")
        )
        self.write(format_results(results))

    def meta(self, words: list[str]) -> bool:
        """Run a meta-command; False to quit."""
        if not words:
            return True
        cmd, args = words[0], words[1:]
        handler = getattr(self, f"cmd_{cmd.replace('-', '_')}", None)
        if cmd in ("quit", "q", "exit"):
            return False
        if handler is None:
            self.write(f"error: unknown meta-command ,{cmd} (,help lists them)\n")
            return True
        try:
            handler(args)
        except (EvalError, Unsupported, ValueError) as e:
            self.write(f"error: {e.one_line() if isinstance(e, EvalError) else e}\n")
        except KeyError as e:
            self.write(f"error: no function named {e.args[0]}\n")
        return True

    def cmd_help(self, args: list[str]) -> None:
        self.write(HELP + "\n")

    def cmd_candidates(self, args: list[str]) -> None:
        fs = self.session.candidates()
        if not fs:
            self.write("no candidates: run some code first (functions the interpreter has "
                       "called and that have no JIT code)\n")
        for f in fs:
            self.write(f"{f.name:<20} {f.interp_calls:>12,} calls  {f.span}\n")

    def cmd_functions(self, args: list[str]) -> None:
        everything = args[:1] == ["all"]
        for f in self.session.functions():
            if f.library and not (everything or f.interp_calls or f.jit_calls or f.jit_code):
                continue  # the prelude's library functions once used, or with ,functions all
            self.write(f"{f.id:>4} {f.name:<20} {f.state:<22} interp {f.interp_calls:>12,}  "
                       f"jit {f.jit_calls:>12,}  {f.span}\n")

    def cmd_stats(self, args: list[str]) -> None:
        fs = [f for f in self.session.functions() if f.interp_calls or f.jit_calls]
        if not fs:
            self.write("no calls yet\n")
            return
        self.write(f"{'function':<20} {'last: interp':>14} {'jit':>12}   "
                   f"{'total: interp':>14} {'jit':>12}\n")
        for f in fs:
            li, lj = self.session.last_counts.get(f.id, (0, 0))
            self.write(f"{f.name:<20} {li:>14,} {lj:>12,}   {f.interp_calls:>14,} "
                       f"{f.jit_calls:>12,}\n")

    def _report_module(self, mod) -> None:
        names = ", ".join(mod.names)
        self.write(f"module {mod.id}: {names} ({mod.size:,} bytes) {mod.stage.name.lower()}\n")

    def cmd_jit(self, args: list[str]) -> None:
        mod = self.session.jit(args or None)
        if mod is None:
            self.write("nothing to compile: no candidates (run some code first)\n")
            return
        self._report_module(mod)
        for p in mod.patches:
            self.write(f"  {p.patch.name}.jitCode @ 0x{p.patch.address:x}: {p.before} -> "
                       f"{p.after} (table slot {p.after})\n")

    def cmd_gen(self, args: list[str]) -> None:
        mod = self.session.generate(args or None)
        if mod is None:
            self.write("nothing to compile: no candidates (run some code first)\n")
            return
        self.current = mod
        self._report_module(mod)
        self.write(f"  next: {mod.next_step()}\n")

    def _current(self):
        if self.current is None or self.current.next_step() is None:
            raise ValueError("no module in progress: ,gen one first")
        return self.current

    def cmd_step(self, args: list[str]) -> None:
        mod = self._current()
        done = self.session.step(mod)
        nxt = mod.next_step()
        self.write(f"module {mod.id}: {done} -> {mod.stage.name.lower()}"
                   f"{f'; next: {nxt}' if nxt else ''}\n")

    def cmd_link(self, args: list[str]) -> None:
        mod = self.session.link(self._current())
        self._report_module(mod)

    def cmd_discard(self, args: list[str]) -> None:
        mod = self._current()
        self.session.discard(mod)
        self.write(f"module {mod.id} discarded; {', '.join(mod.names)} stay interpreted\n")
        self.current = None

    def cmd_unlink(self, args: list[str]) -> None:
        for name in args:
            self.session.unlink(name)
            self.write(f"{name}: back to the interpreter\n")

    def cmd_auto(self, args: list[str]) -> None:
        if not args or args[0] == "off":
            self.session.set_auto_jit(None)
            self.write("auto JIT off\n")
            return
        n = int(args[0])
        self.session.set_auto_jit(n)
        self.write(f"auto JIT on: functions tier up after {n} interpreted calls\n")

    def _module_arg(self, args: list[str]):
        mods = self.session.modules
        if not mods:
            raise ValueError("no JIT modules yet: ,jit or ,gen first")
        return self.session.module(int(args[0])) if args else mods[-1]

    def cmd_wat(self, args: list[str]) -> None:
        from jitscope.wasm.tools import print_wat

        self.write(print_wat(self._module_arg(args).data))

    def cmd_patches(self, args: list[str]) -> None:
        mod = self._module_arg(args)
        for p in mod.patches:
            state = "applied" if p.applied else "pending"
            before = "?" if p.before is None else p.before
            after = "?" if p.after is None else p.after
            self.write(f"0x{p.patch.address:08x} {p.patch.name + '.jitCode':<24} "
                       f"{before!s:>6} -> {after!s:<6} {state}\n")

    def cmd_table(self, args: list[str]) -> None:
        slots = self.session.table_slots()
        first = 0 if args[:1] == ["all"] else self.session.initial_table_size
        baked = getattr(self.session, "snapshot_record", None)
        if first and baked is not None and baked.slots:  # JIT code a snapshot linked in
            first = min(first, min(b.slot for b in baked.slots))
        if first:
            self.write(f"slots 0-{first - 1}: main module (,table all lists them)\n")
        for s in slots[first:]:
            mark = "+" if s.grown else " "
            self.write(f"{mark}{s.index:>5} {'(empty)' if s.empty else s.name:<28} {s.owner}\n")

    def cmd_snapshot(self, args: list[str]) -> None:
        from jitscope.runtime.snapshot import SnapshotError, write_snapshot
        from jitscope.snapshot_cli import report

        if len(args) != 1:
            raise ValueError("usage: ,snapshot FILE")
        try:
            snap = write_snapshot(self.session, args[0])
        except SnapshotError as e:
            raise ValueError(f"snapshot: {e}") from None
        except OSError as e:
            raise ValueError(f"{args[0]}: {e.strerror}") from None
        self.write(report(snap, args[0]))

    def cmd_heap(self, args: list[str]) -> None:
        h = self.session.heap_stats()
        self.write(f"heap {h['heap_bytes']:,} bytes, live {h['live_bytes']:,} after "
                   f"{h['collections']} collections, allocated {h['allocated_bytes']:,} in "
                   f"total, limit {h['max_heap_bytes']:,}\n")

