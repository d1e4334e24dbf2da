"""``jitscope repl``: lines in, results out; prompts only on a terminal."""

from __future__ import annotations

import signal
import sys
import threading
from typing import TextIO

from jitscope.cli.run import format_report, format_results, interruptible
from jitscope.debugger import Debugger, Report, open_depth, parse_auto_threshold
from jitscope.debugger.code import code_diff, code_listing
from jitscope.debugger.history import History
from jitscope.debugger.memory import memory_words, resolve_address
from jitscope.debugger.stops import stack_lines, stop_lines
from jitscope.debugger.why import exit_lines, reason_summary, why_lines
from jitscope.runtime.breaks import Stop
from jitscope.runtime.session import JitModule, Session, Unsupported
from jitscope.runtime.stack import Stack
from jitscope.wasm.tools import WasmToolsError, print_wat

__all__ = ["HELP", "Repl"]

HELP = """\
Type Scheme forms; a form may span lines. Meta-commands:
  ,candidates          functions the interpreter has run, with call counts
  ,functions [all]     every function: state, span, counters (prelude ones once used,
                       or all of them)
  ,jit [NAME ...]      generate, instantiate and patch a JIT module (all candidates by default)
  ,gen [NAME ...]      generate a module only; then ,step or ,link
  ,step                take the module in flight one step further
  ,link                run the remaining steps of the module in flight
  ,discard             drop the module in flight: its functions stay interpreted
  ,unlink NAME         send a linked function back to the interpreter
  ,auto N | off        tier up functions after N interpreted calls, mid-evaluation
  ,stats               calls entered via the interpreter vs via JIT code (last eval, total),
                       and why the interpreted ones were
  ,why [NAME]          why NAME ran interpreted (calls by reason), refusals, and the exits
                       from JIT code (without NAME: the exits alone)
  ,wat [N]             WAT of JIT module N (default: the latest)
  ,table [all]         the indirect function table (grown slots; 'all' for every slot)
  ,patches [N]         memory patches of module N: address, before, after
  ,code NAME [--wasm-only | --native-only] [--stack] [--offsets] [--diff [N]]
                       NAME's JIT code: each Scheme expression, the wasm it became, and
                       under each wasm instruction the x86-64 Cranelift made of it here;
                       --stack adds wasm's operand stack, --offsets its byte offsets;
                       --diff compares it with the previous generation (or module N)
  ,mem ADDR [WORDS]    words of linear memory at ADDR (0x…, NAME: its function record, or
                       NAME.field), record fields named; * marks words changed since the
                       last ,mem
  ,heap                heap size, live data, collections
  ,break KIND [TARGET] stop the evaluation when: tier-up [NAME] (auto mode), jit-entry
                       [NAME] (first entry through JIT code), enter NAME, patch ADDR|NAME
                       (a patch writes there), error (before the stack unwinds);
                       ,break list, ,break clear [N]
  ,bt                  the call stack: at the stop, else where the last error happened
  ,continue ,step ,abort
                       at a stop: go on, stop at the next event of any kind, or end the
                       evaluation (a pipe cannot answer: its stops print and continue)
  ,snapshot FILE       write a module with the linked JIT code baked in (jitscope FILE resumes)
  ,help                this text
  ,quit                leave (so does end of input)"""


#: ,code's flags: one level left out, and what wasm lines show besides the instruction.
_CODE_FLAGS = ("--wasm-only", "--native-only", "--stack", "--offsets", "--diff")
_CODE_USAGE = ",code NAME [--wasm-only | --native-only] [--stack] [--offsets] [--diff [N]]"


class Repl:
    """The headless REPL over a :class:`~jitscope.debugger.Debugger`."""

    def __init__(
        self,
        session: Session,
        out: TextIO,
        *,
        prompt: bool | None = None,
        history: History | None = None,
    ) -> None:
        """``history``: line editing with readline and this history (a terminal's REPL);
        without it, lines are read as they come (a pipe's, byte for byte)."""
        self.session = session
        self.debugger = Debugger(session)
        self.out = out
        self._seen_memory: dict[int, int] = {}  # what ,mem last read at each address
        self.prompt = sys.stdin.isatty() if prompt is None else prompt
        self.history = history
        self.inputs = 0
        self._reading = False
        self._at_line_start = True  # what was written last ended a line
        self._lines: TextIO = sys.stdin  # what run() reads, a stop's prompt too
        self._stopped: Stop | None = None  # the stop being answered
        self._answer = ""  # what ,continue / ,step / ,abort said at it
        self._quit = False  # ,quit at a stop: abort, then leave
        self._failed: Stack | None = None  # where the last error happened
        session.on_stop = self._on_stop

    def write(self, text: str) -> None:
        if text:
            self._at_line_start = text.endswith("\n")
        self.out.write(text)
        self.out.flush()

    def report(self, report: Report) -> None:
        self.write(format_report(report))

    def run(self, lines: TextIO) -> int:
        """Read and evaluate until end of input or ,quit.  Ctrl-C while reading drops the
        typed input; during an evaluation it interrupts it; anywhere else it is ignored, so
        no Ctrl-C ends the session."""
        self._lines = lines
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, self._on_sigint) if main else None
        try:
            return self._loop(lines)
        finally:
            if main:
                signal.signal(signal.SIGINT, previous)

    def _on_sigint(self, signum: int, frame: object) -> None:
        if self._reading:
            raise KeyboardInterrupt

    def _readline(self, lines: TextIO, prompt: str) -> str | None:
        """The next line ("" at the end), or None after Ctrl-C."""
        self._reading = True
        try:
            if self.history is not None:  # readline edits the line and recalls history
                try:
                    return input(prompt) + "\n"
                except EOFError:
                    return ""
            if self.prompt:
                self.out.write(prompt)
                self.out.flush()
            return lines.readline()
        except KeyboardInterrupt:
            return None
        finally:
            self._reading = False

    def _start_history(self) -> None:
        if self.history is None:
            return
        import readline

        self.history.load()
        if self.history.warning:
            self.write(f"warning: {self.history.warning}\n")
        readline.clear_history()
        for entry in self.history.entries:
            if "\n" not in entry:  # readline recalls lines; a form over lines stays whole
                readline.add_history(entry)

    def _remember(self, entry: str) -> None:
        if self.history is not None:
            self.history.add(entry)
            try:
                self.history.save()
            except OSError as e:
                self.write(f"warning: history not saved: {e.strerror or e}\n")

    def _loop(self, lines: TextIO) -> int:
        buffer = ""
        self._start_history()
        while True:
            # The user's ⏎ ends the prompt's line: not tracked by write().
            line = self._readline(lines, "... " if buffer else "> ")
            if line is None:
                self.write("\n")
                buffer = ""
                continue
            if not line:
                break
            if not buffer and line.strip().startswith(","):
                self._remember(line)
                if not self.meta(line.strip()[1:].split()):
                    break
                continue
            buffer += line
            if not buffer.strip():
                buffer = ""
                continue
            if open_depth(buffer) > 0:
                continue
            source, buffer = buffer, ""
            self._remember(source)
            self.evaluate(source)
            if self._quit:
                return 0
        if buffer.strip():
            self.evaluate(buffer)
        return 0

    def evaluate(self, source: str) -> None:
        self.inputs += 1
        results = interruptible(
            self.session, lambda: self.session.eval(source, name=f"<repl {self.inputs}>")
        )
        self.write(format_results(results, fresh_line=self._at_line_start))
        self.report(self.debugger.tier_up_report())
        failed = results[-1].error if results and results[-1].kind == "error" else None
        if failed is not None:
            self._failed = failed.stack

    def _on_stop(self, stop: Stop) -> str:
        """At a stop, on the evaluating thread: show it; on a terminal, read commands until
        one answers it.  A pipe cannot answer, so its stops continue."""
        if not self._at_line_start:
            self.write("\n")
        self.write("".join(line + "\n" for line in stop_lines(stop)))
        if not self.prompt:
            self.write("(continuing: no terminal to answer the stop)\n")
            return "continue"
        self._stopped, self._answer = stop, ""
        try:
            while not self._answer:
                line = self._readline(self._lines, "stop> ")
                if line is None:  # Ctrl-C
                    return "abort"
                if not line:  # end of input: nobody is left to answer
                    self._quit = True
                    return "abort"
                text = line.strip()
                if not text:
                    continue
                if not text.startswith(","):
                    self.write(
                        "stopped: evaluate after ,continue or ,abort (the evaluation in "
                        "progress holds the interpreter); commands like ,bt and ,mem work\n"
                    )
                    continue
                if not self.meta(text[1:].split()):  # ,quit
                    self._quit = True
                    return "abort"
            return self._answer
        finally:
            self._stopped = None

    def meta(self, words: list[str]) -> bool:
        """Run a meta-command; False to quit."""
        if not words:
            return True
        cmd, args = words[0], words[1:]
        if cmd in ("quit", "q", "exit"):
            return False
        handler = getattr(self, f"cmd_{cmd.replace('-', '_')}", None)
        if not self._at_line_start:  # what a command says starts on a line of its own
            self.write("\n")
        if handler is None:
            self.write(f"error: unknown meta-command ,{cmd} (,help lists them)\n")
            return True
        try:
            # Ctrl-C cancels an act at its next step (a half-linked module is discarded).
            interruptible(self.session, lambda: handler(args), self.debugger.cancel)
        except (ValueError, Unsupported) as e:  # usage, or what this module cannot do
            self.write(f"error: {e}\n")
        return True

    # ------------------------------------------------------------------------- acts

    def cmd_jit(self, args: list[str]) -> None:
        self.report(self.debugger.jit(list(args) or None))

    def cmd_gen(self, args: list[str]) -> None:
        self.report(self.debugger.generate(list(args) or None))

    def cmd_step(self, args: list[str]) -> None:
        if self._stopped is not None:  # at a stop: to the next event
            self._answer_stop("step")
            return
        self.report(self.debugger.step())

    def cmd_link(self, args: list[str]) -> None:
        self.report(self.debugger.link())

    def cmd_discard(self, args: list[str]) -> None:
        self.report(self.debugger.discard())

    def cmd_unlink(self, args: list[str]) -> None:
        if not args:
            raise ValueError("usage: ,unlink NAME ...")
        for name in args:
            self.report(self.debugger.unlink(name))

    def cmd_auto(self, args: list[str]) -> None:
        if len(args) != 1:
            raise ValueError("usage: ,auto N | off")
        threshold = None if args[0] == "off" else parse_auto_threshold(args[0])
        self.report(self.debugger.set_auto(threshold))

    def cmd_break(self, args: list[str]) -> None:
        self.report(self.debugger.breakpoint(args))

    def _answer_stop(self, answer: str) -> None:
        if self._stopped is None:
            raise ValueError(f",{answer}: nothing is stopped (,break sets a breakpoint)")
        self._answer = answer

    def cmd_continue(self, args: list[str]) -> None:
        self._answer_stop("continue")

    cmd_c = cmd_continue

    def cmd_abort(self, args: list[str]) -> None:
        self._answer_stop("abort")

    def cmd_bt(self, args: list[str]) -> None:
        stack = self._stopped.stack if self._stopped is not None else self._failed
        if stack is None:
            self.write("no stack: nothing is stopped, and no error has happened yet\n")
            return
        self.write("".join(line + "\n" for line in stack_lines(stack)))

    def cmd_snapshot(self, args: list[str]) -> None:
        if len(args) != 1:
            raise ValueError("usage: ,snapshot FILE")
        report, _ = self.debugger.snapshot(args[0])
        self.report(report)

    # ------------------------------------------------------------------------- views

    def cmd_help(self, args: list[str]) -> None:
        self.write(HELP + "\n")

    def cmd_candidates(self, args: list[str]) -> None:
        self.session.require_debugger("listing candidates")
        fs = self.session.candidates()
        if not fs:
            self.write(
                "no candidates: run some code first (functions the interpreter has "
                "called and that have no JIT code)\n"
            )
        for f in fs:
            self.write(f"{f.name:<20} {f.interp_calls:>12,} calls  {f.span}\n")

    def cmd_functions(self, args: list[str]) -> None:
        self.session.require_debugger("listing functions")
        everything = args[:1] == ["all"]
        for f in self.session.functions():
            if f.library and not (everything or f.interp_calls or f.jit_calls or f.jit_code):
                continue  # the prelude's library functions once used, or with ,functions all
            self.write(
                f"{f.id:>4} {f.name:<20} {f.state:<22} interp {f.interp_calls:>12,}  "
                f"jit {f.jit_calls:>12,}  {f.span}\n"
            )

    def cmd_stats(self, args: list[str]) -> None:
        self.session.require_debugger("counting calls")
        fs = [f for f in self.session.functions() if f.interp_calls or f.jit_calls]
        if not fs:
            self.write("no calls yet\n")
            return
        self.write(
            f"{'function':<20} {'last: interp':>14} {'jit':>12}   "
            f"{'total: interp':>14} {'jit':>12}\n"
        )
        for f in fs:
            li, lj = self.session.last_counts.get(f.id, (0, 0))
            why = reason_summary(self.session.interp_reasons(f))
            self.write(
                f"{f.name:<20} {li:>14,} {lj:>12,}   {f.interp_calls:>14,} {f.jit_calls:>12,}"
                + (f"   interpreted: {why}" if why else "")
                + "\n"
            )

    def cmd_mem(self, args: list[str]) -> None:
        if not 1 <= len(args) <= 2 or (len(args) == 2 and not args[1].isdigit()):
            raise ValueError("usage: ,mem ADDRESS|NAME|NAME.field [WORDS]")
        self.session.require_debugger("the memory inspector")
        address = resolve_address(self.session, args[0])
        count = int(args[1]) if len(args) == 2 else 8
        if not 1 <= count <= 4096:
            raise ValueError("WORDS: from 1 to 4096")
        for word in memory_words(self.session, address, count, self._seen_memory):
            self.write(word.line() + "\n")

    def cmd_why(self, args: list[str]) -> None:
        if len(args) > 1:
            raise ValueError("usage: ,why [NAME]")
        self.session.require_debugger("the reasons for interpreted calls")
        if not args:
            self.write("".join(line + "\n" for line in exit_lines(self.session)))
            return
        try:
            lines = why_lines(self.session, args[0])
        except KeyError:
            raise ValueError(f"no function named {args[0]}") from None
        self.write("".join(line + "\n" for line in lines))

    def _module_arg(self, args: list[str]) -> JitModule:
        mods = self.session.modules
        if not mods:
            raise ValueError("no JIT modules yet: ,jit or ,gen first")
        if not args:
            return mods[-1]
        try:
            return self.session.module(int(args[0]))
        except ValueError:
            raise ValueError(
                f"no JIT module {args[0]} (modules: {', '.join(str(m.id) for m in mods)})"
            ) from None

    def cmd_wat(self, args: list[str]) -> None:
        try:
            self.write(print_wat(self._module_arg(args).data))
        except WasmToolsError as e:
            raise ValueError(f"wasm-tools: {e.message}") from None

    def cmd_patches(self, args: list[str]) -> None:
        mod = self._module_arg(args)
        if not self.session.debugger:
            self.write(
                f"module {mod.id} patched itself in when instantiated: the seed's interface "
                "does not list its patches\n"
            )
        for p, now in zip(mod.patches, self.session.patch_values(mod), strict=True):
            before = "?" if p.before is None else p.before
            after = "?" if p.after is None else p.after
            status = p.status(now)
            if status in ("reverted", "replaced"):
                status += f" (now {now})"
            self.write(
                f"0x{p.patch.address:08x} {p.patch.name + '.jitCode':<24} "
                f"{before!s:>6} -> {after!s:<6} {status}\n"
            )

    def cmd_code(self, args: list[str]) -> None:
        against: int | None = None
        if "--diff" in args[:-1] and args[args.index("--diff") + 1].isdigit():
            against = int(args.pop(args.index("--diff") + 1))
        names = [a for a in args if not a.startswith("--")]
        flags = set(args) - set(names)
        levels = flags & {"--wasm-only", "--native-only"}
        if len(names) != 1 or not flags <= set(_CODE_FLAGS) or len(levels) > 1:
            raise ValueError(f"usage: {_CODE_USAGE}")
        self.session.require_debugger("the code view")
        try:
            if "--diff" in flags:
                self.write(code_diff(self.session, names[0], against))
                return
            listing = code_listing(
                self.session,
                names[0],
                wasm="--native-only" not in flags,
                native="--wasm-only" not in flags,
            )
        except KeyError:
            raise ValueError(f"no function named {names[0]}") from None
        except WasmToolsError as e:
            raise ValueError(f"wasm-tools: {e.message}") from None
        self.write(listing.text(stack="--stack" in flags, offsets="--offsets" in flags))

    def cmd_table(self, args: list[str]) -> None:
        slots = self.session.table_slots()
        first = 0 if args[:1] == ["all"] else self.session.initial_table_size
        baked = self.session.snapshot_record
        if first and baked is not None and baked.slots:  # JIT code a snapshot linked in
            first = min(first, min(b.slot for b in baked.slots))
        if first:
            self.write(f"slots 0-{first - 1}: main module (,table all lists them)\n")
        for s in slots[first:]:
            mark = "+" if s.grown else " "
            dead = f" (dead: {s.dead})" if s.dead else " (reused)" if s.reused else ""
            self.write(
                f"{mark}{s.index:>5} {'(empty)' if s.empty else s.name:<28} {s.owner}{dead}\n"
            )

    def cmd_heap(self, args: list[str]) -> None:
        h = self.session.heap_stats()
        self.write(
            f"heap {h['heap_bytes']:,} bytes, live {h['live_bytes']:,} after "
            f"{h['collections']} collections, allocated {h['allocated_bytes']:,} in "
            f"total, limit {h['max_heap_bytes']:,}\n"
        )
