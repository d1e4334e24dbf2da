"""One live interplib.wasm instance and the JIT modules linked into it.

A :class:`Session` is what every front end drives: ``jitscope repl``, ``run``, ``bench`` and the
TUI.  It evaluates Scheme, lists functions and their dispatch counters, and takes a JIT module
through its life one real step at a time: generate (in wasm), compile (wasmtime, which
validates), instantiate (against the main module's memory and table), grow the table, fill
the new slots, apply each relocation, linked.  Every step runs wasm code; Python only watches.
"""

from __future__ import annotations

import hashlib
import os
import stat
import struct
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, Self, TypeVar

import wasmtime

from jitscope.runtime.abi import Abi, interface_problems
from jitscope.runtime.breaks import BREAK_KINDS, Breakpoint, Stop
from jitscope.runtime.deep import DeepStackThread
from jitscope.runtime.engine import Ticker, compiled_main
from jitscope.runtime.layout import EXIT_WORDS, REASON_WORDS, Layout, LayoutError, read_layout
from jitscope.runtime.sites import JitSite, jit_site, trap_kind
from jitscope.runtime.stack import (
    JIT_MODULE_NAME,
    RawFrame,
    Stack,
    StackFrame,
    WasmFrame,
    merge_stack,
)
from jitscope.runtime.stdio import OutputCapture, define_wasi
from jitscope.runtime.types import (
    Capture,
    CapturedModule,
    CapturedSlot,
    FormResult,
    FunctionInfo,
    JitExit,
    JitModule,
    PatchState,
    Stage,
    TableSlot,
)
from jitscope.wasm.custom import (
    PATCH_SECTION,
    SNAPSHOT_SECTION,
    SnapshotRecord,
    parse_patches,
    parse_snapshot_record,
)
from jitscope.wasm.elements import element_slots
from jitscope.wasm.names import function_names, without_module_name
from jitscope.wasm.sections import custom_section, header_problem

__all__ = [
    "BUNDLED_WASM",
    "Capture",
    "CapturedModule",
    "CapturedSlot",
    "EvalError",
    "FormResult",
    "FunctionInfo",
    "JitModule",
    "ModuleLoadError",
    "Session",
    "Stage",
    "TableSlot",
    "Unsupported",
]

T = TypeVar("T")

BUNDLED_WASM = Path(__file__).resolve().parent.parent / "data" / "interplib.wasm"

#: Seconds one evaluation may run before it is interrupted.
DEFAULT_TIME_LIMIT = 60.0

#: How many of the innermost Scheme frames a call stack reads (with their arguments).
STACK_FRAMES = 40

#: Distinct compiled JIT modules kept for reuse (each ~36 KB while no instance holds it).
JIT_CODE_KEPT = 64

#: The source name of library functions defined by the module's Scheme prelude.
PRELUDE_SOURCE = "<prelude>"


class ModuleLoadError(Exception):
    """The module cannot be used: missing, not wasm, corrupt, or lacking the interface."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


class Unsupported(Exception):
    """The loaded module lacks the debugger interface this operation needs."""


class EvalError(Exception):
    """An evaluation failed: a Scheme error, a trap, or an interrupt.  The session carries on."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        source: str = "",
        line: int = 0,
        col: int = 0,
        function: str = "",
        backtrace: Sequence[str] = (),
        stack: Stack | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.source = source
        self.line = line
        self.col = col
        self.function = function
        self.backtrace = list(backtrace)
        #: The call stack when it failed (innermost first), where it could be read.
        self.stack = stack
        #: (source id, line, col) of a Scheme error, for its stack.
        self.position: tuple[int, int, int] | None = None

    @property
    def where(self) -> str:
        """``source:line:col`` (as far as known) and the enclosing Scheme function."""
        place = ":".join(str(p) for p in (self.source, self.line, self.col) if p)
        if self.function and self.function != "toplevel":
            place = f"{place} (in {self.function})" if place else f"in {self.function}"
        return place

    def one_line(self) -> str:
        where = self.where
        return f"{where}: {self.message}" if where else self.message


class _Raised(Exception):
    """Raised by the throw_error import to unwind wasm; carries nothing, the module has it."""


class _Interrupted(Exception):
    """An interrupt that arrived before the wasm call it was meant for."""


def _weak(ref: weakref.ReferenceType[Session], method: str) -> Callable[..., None]:
    """A host function calling ``method`` of a Session it holds weakly: wasmtime-py keeps
    host functions in a process-wide slab until their Store goes, and a bound method would
    keep the Session (and Store) alive."""

    def hook(*args: int) -> None:
        session = ref()
        if session is not None:
            getattr(session, method)(*args)

    return hook


def _throw_error(ref: weakref.ReferenceType[Session]) -> Callable[[], None]:
    """The throw_error import: an error breakpoint stops first, then wasm unwinds."""
    raised = _weak(ref, "_error_raised")

    def throw() -> None:
        raised()
        raise _Raised()

    return throw


class Session:
    """A live interplib.wasm instance: evaluate, inspect, JIT, link."""

    def __init__(
        self,
        wasm: Path | str | None = None,
        *,
        time_limit: float | None = DEFAULT_TIME_LIMIT,
        files: Path | None = None,
        writable: bool = False,
    ) -> None:
        """``files``: the directory a program's file ports read in; none without.  A program
        writes files there only if ``writable`` (never outside it)."""
        self.path = Path(wasm) if wasm is not None else BUNDLED_WASM
        self.time_limit = time_limit
        data = _read_module_file(self.path)
        #: The module as loaded; ``jitscope snapshot`` builds on it.
        self.wasm_bytes = data
        #: What ``jitscope snapshot`` baked into this module, if it is a snapshot.
        self.snapshot_record = _snapshot_record(self.path, data)

        try:
            self.engine, self.main_module = compiled_main(self.path, data)
        except wasmtime.WasmtimeError as e:
            raise ModuleLoadError(self.path, f"not a valid wasm module: {_first_line(e)}") from e
        self.store = wasmtime.Store(self.engine)
        self._output = OutputCapture()
        wasi = wasmtime.WasiConfig()
        if files is not None:  # file ports open only in there (and write only if allowed)
            wasi.preopen_dir(str(files), ".", fs_mutable=writable)
        self.store.set_wasi(wasi)
        self.store.set_epoch_deadline(1 << 62)

        self.debugger, problems = interface_problems(self.main_module.exports)
        if problems:
            raise ModuleLoadError(self.path, "; ".join(problems))
        # Every call into wasm runs on a thread with room for the wasm stack (runtime/deep.py).
        self._deep = DeepStackThread("jitscope-wasm")
        linker = wasmtime.Linker(self.engine)
        define_wasi(linker, self._output, writable)
        linker.define_func(
            "env", "throw_error", wasmtime.FuncType([], []), _throw_error(weakref.ref(self))
        )
        self._ticker = Ticker(self.engine)
        self._limit_depth = 0  # nesting of _time_limited blocks
        instance = self._start_up(
            "instantiating",
            lambda: self._deep.run_helper(
                partial(linker.instantiate, self.store, self.main_module)
            ),
        )
        #: Typed calls into the instance (its exports were checked above).
        self.abi = Abi(self.store, instance, self._deep.run_helper)
        self.memory: wasmtime.Memory = self.abi.memory
        self.table: wasmtime.Table = self.abi.table
        self._stack_pointer: wasmtime.Global | None = self.abi.stack_pointer
        if self.abi.has("_initialize"):
            self._start_up("initialising", self.abi.initialize)

        # The module's own description of the records the session reads (dbg_layout).
        self._layout: Layout | None = None
        if self.debugger:
            self._layout = self._start_up(
                "reading its layout",
                lambda: read_layout(self.abi.layout(), self._read, self._read_cstring),
            )
            self._f_pending = self._layout.flag("F_PENDING")
            self._f_library = self._layout.flag("F_LIBRARY")
            self._f_rest = self._layout.flag("F_REST")
            self._state_address = self._start_up("reading its state", self.abi.state)

        #: What the module carries that could not be read, each a sentence: the session
        #: works without it (front ends show these once, at start).
        self.warnings: list[str] = []
        self._main_names = self._optional("name section", function_names, data) or {}
        self._main_slots = self._optional("element section", element_slots, data) or {}
        self.initial_table_size = self.table.size(self.store)
        self.modules: list[JitModule] = []
        # Compiled JIT code by what it is (its bytes without the module's name): generating
        # the same functions again, as link/unlink cycles do, instantiates the code compiled
        # the first time.  A store keeps every instance's code until it drops, so compiling
        # afresh would grow the process by ~36 KB a cycle.
        self._jit_code: OrderedDict[bytes, tuple[wasmtime.Module, int]] = OrderedDict()
        self._slot_owner: dict[int, tuple[str, str]] = {}
        # Slots whose JIT code no function dispatches to any more, and why; the next module
        # that fits in a run of them fills them instead of growing the table.
        self._dead_slots: dict[int, str] = {}
        self._reused_slots: set[int] = set()
        self._reserved: dict[int, str] = {}  # dead slots a module in flight will fill
        self._sources: dict[int, str] = {}
        self._source_texts: dict[int, str] = {}  # what each source said, for the code view
        # Read now: source_texts() must not touch the store (front ends call it any time).
        self._prelude_text = self._read_prelude()
        if self.snapshot_record is not None:
            for b in self.snapshot_record.slots:
                self._slot_owner[b.slot] = (b.name, f"jit {b.module_id} (snapshot)")
            self._sources.update(self.snapshot_record.sources)
            self._source_texts.update(self.snapshot_record.texts)
        self._func_static: dict[int, tuple[str, str, int, int, int, int, int]] = {}
        self._func_addr: dict[int, int] = {}
        self._sweeps_seen = 0  # DebugState.funcSweeps when the caches above were last valid
        self._interrupt = threading.Event()
        self._auto_threshold: int | None = None
        self._tierup_events: list[tuple[float, str, int]] = []
        self._hook_slot: int | None = None
        self._running = False
        self._module_ptrs: dict[int, int] = {}  # module id -> its JitModule struct in memory
        #: Called on the evaluating thread right after auto mode linked a module.
        self.on_tier_up: Callable[[JitModule], None] | None = None
        #: Auto tier-ups that failed, as (function name, why): each was undone, and the
        #: evaluation went on with the function interpreted.  Front ends report new ones.
        self.tier_up_failures: list[tuple[str, str]] = []
        self._eager_jit = False  # compile every new lambda before its form runs
        #: Where evaluations stop (see add_breakpoint).
        self.breakpoints: list[Breakpoint] = []
        self._next_break = 1
        #: Called on the evaluating thread at each stop, the module suspended in the host
        #: callback: it may read the session, and returns "continue", "step" (stop at the
        #: next event of any kind) or "abort" (end the evaluation).  None: every stop
        #: continues, and is kept in ``stops`` for the front end to show.
        self.on_stop: Callable[[Stop], str] | None = None
        self.stops: list[Stop] = []  # the latest few
        self._stepping = False
        self._break_slot: int | None = None
        self._flagged: dict[int, int] = {}  # function id -> F_BREAK_* bits set on it
        self._flags_seen = 0  # functions whose break bits follow the breakpoints
        self._here: wasmtime.Func | None = None  # traps on purpose: wasm's live frames
        self._error_frames: list[WasmFrame] = []  # live frames at the last Scheme error
        #: Per function id: (interpreted calls, JIT calls) during the last eval(), for the
        #: functions that were called.
        self.last_counts: dict[int, tuple[int, int]] = {}
        self._counts_base: dict[int, tuple[int, int]] = {}
        self._eager_seen = 0  # functions the eager mode has looked at
        #: Functions that have had JIT code: the only ones whose JIT counter can move.
        self._jit_ids: set[int] = (
            self._start_up(
                "reading its functions", lambda: {f.id for f in self.functions() if f.jit_code}
            )
            if self.debugger
            else set()
        )

    # ----------------------------------------------------------------------------- plumbing

    def _optional(self, what: str, parse: Callable[[bytes], T], data: bytes) -> T | None:
        """A part of the module the session can do without: None and a warning if corrupt."""
        try:
            return parse(data)
        except (ValueError, IndexError, UnicodeDecodeError) as e:
            self.warnings.append(f"its {what} is corrupt ({e}): functions are shown by index")
            return None

    @contextmanager
    def _time_limited(self) -> Iterator[None]:
        """Wasm called in the block ends at the time limit or an interrupt (an epoch tick).
        Blocks nest: the outermost one holds the deadline (an evaluation's covers the helper
        calls of its tier-ups)."""
        self._limit_depth += 1
        if self._limit_depth == 1:
            self.store.set_epoch_deadline(1)
            if self.time_limit:
                self._ticker.arm(self.time_limit)
        try:
            yield
        finally:
            self._limit_depth -= 1
            if self._limit_depth == 0:
                self._ticker.disarm()
                self.store.set_epoch_deadline(1 << 62)

    def _start_up(self, what: str, call: Callable[[], T]) -> T:
        """Start-up wasm (the start function, ``_initialize``) under the time limit; any
        failure is a ModuleLoadError.  (Another session's interrupt on the shared engine
        also ends it.)"""
        try:
            with self._time_limited():
                return call()
        except wasmtime.Trap as e:
            if e.trap_code != wasmtime.TrapCode.INTERRUPT:
                problem = f"traps while {what}: {_first_line(e)}"
            elif self._ticker.fired:
                problem = f"still {what} after the time limit of {self.time_limit:g} s"
            else:
                problem = f"interrupted while {what}"
        except (wasmtime.WasmtimeError, _Raised) as e:
            problem = (
                f"cannot be instantiated: {_first_line(e)}"
                if what == "instantiating"
                else f"fails while {what}: {_first_line(e)}"
            )
        except LayoutError as e:
            problem = str(e)
        except (ValueError, IndexError, KeyError, struct.error) as e:
            # The module's records, read from memory, are not what it described.
            problem = f"fails while {what}: {e}"
        except EvalError as e:  # a helper call (say dbg_func) trapped or ran past the limit
            problem = f"fails while {what}: {e.message}"
        self._ticker.stop()  # no session: no thread left waiting for one
        self._deep.close()
        raise ModuleLoadError(self.path, problem)

    def _call(self, call: Callable[[], T]) -> T:
        """Call into wasm, under the time limit (a helper of a foreign module can loop too);
        a Scheme error comes back as EvalError."""
        saved = self._stack_pointer.value(self.store) if self._stack_pointer else None
        try:
            with self._time_limited():
                return call()
        except _Raised:
            raise self._module_error() from None
        except wasmtime.Trap as e:
            raise self._trap_error(e, self._wasm_frames(e)) from None
        finally:
            if saved is not None and self._stack_pointer is not None:
                self._stack_pointer.set_value(self.store, saved)

    def _read(self, address: int, size: int) -> bytes:
        return bytes(self.memory.read(self.store, address, address + size))

    def read_memory(self, address: int, size: int) -> bytes:
        """``size`` bytes of linear memory from ``address`` (ValueError outside it)."""
        if address < 0 or size < 0 or address + size > self.memory_bytes():
            raise ValueError(f"0x{address:x}+{size} lies outside linear memory")
        return self._read(address, size)

    def read_cstring(self, address: int, limit: int = 256) -> str:
        """The NUL-terminated string at ``address`` (at most ``limit`` bytes)."""
        return self._read_cstring(address, limit)

    def read_u32(self, address: int) -> int:
        return int.from_bytes(self._read(address, 4), "little")

    def read_u64(self, address: int) -> int:
        return int.from_bytes(self._read(address, 8), "little")

    def _read_cstring(self, address: int, limit: int = 4096) -> str:
        out = bytearray()
        while len(out) < limit:
            chunk = self._read(
                address + len(out), min(256, self.memory.data_len(self.store) - address - len(out))
            )
            if not chunk:
                break
            nul = chunk.find(0)
            if nul >= 0:
                out += chunk[:nul]
                break
            out += chunk
        return out.decode("utf-8", "replace")

    def _write_bytes(self, data: bytes) -> int:
        ptr = self._call(lambda: self.abi.allocate_bytes(len(data) + 1))
        if not 0 < ptr <= self.memory.data_len(self.store) - len(data) - 1:
            raise EvalError(
                "error", f"allocateBytes({len(data) + 1}) returned 0x{ptr:x}, outside its memory"
            )
        self.memory.write(self.store, data + b"\0", ptr)
        return ptr

    def _take_output(self) -> str:
        return self._output.take()

    def source_name(self, src: int) -> str:
        """The name a source was evaluated under; source 0 is the module's Scheme prelude."""
        return self._sources.get(src, f"<input {src}>" if src else PRELUDE_SOURCE)

    def source_texts(self) -> dict[int, str]:
        """The text of every source evaluated here, by source id (0: the prelude); a copy."""
        return {0: self._prelude_text, **self._source_texts}

    def prelude(self) -> str:
        """The text of the module's Scheme prelude (source 0), or "" if it has none."""
        return self._prelude_text

    def _read_prelude(self) -> str:
        if not self.abi.has("dbg_prelude"):
            return ""
        return self._read_cstring(self.abi.prelude(), limit=1 << 20)

    def _module_error(self) -> EvalError:
        if not self.debugger:
            return EvalError(
                "error",
                "the program signalled an error (no details: "
                "this module lacks the debugger interface)",
            )
        ptr = self.abi.error()
        kind, line, col, src, msg, fn = self.layout.error.unpack(
            self._read(ptr, self.layout.error.size)
        )
        error = EvalError(
            self.layout.error_word(kind),
            self._read_cstring(msg),
            source=self.source_name(src) if line else "",  # line 0: no position known
            line=line,
            col=col,
            function=self._read_cstring(fn) if fn else "",
        )
        error.position = (src, line, col) if line else None
        return error

    def _trap_error(self, trap: wasmtime.Trap, wasm: list[WasmFrame]) -> EvalError:
        """The error a trap is, ``wasm`` its frames (_wasm_frames)."""
        frames = [f.func_name or f"<func {f.func_index}>" for f in wasm]
        code = trap.trap_code
        if code == wasmtime.TrapCode.INTERRUPT:
            if self._interrupt.is_set():
                return EvalError("interrupted", "interrupted", backtrace=frames)
            return EvalError(
                "timeout", f"time limit of {self.time_limit:g} s exceeded", backtrace=frames
            )
        if code == wasmtime.TrapCode.STACK_OVERFLOW:
            return EvalError(
                "stack",
                "stack exhausted: recursion too deep for the wasm call stack",
                backtrace=frames,
            )
        site = self._jit_site(wasm)
        return EvalError(
            "trap",
            f"wasm trap: {_trap_reason(trap)}" + (f" {site.describe()}" if site else ""),
            backtrace=frames,
        )

    def _jit_site(self, wasm: list[WasmFrame]) -> JitSite | None:
        """Where in JIT code a trap happened (its innermost frame in a JIT module)."""
        for frame in wasm:
            if frame.module_name.startswith(JIT_MODULE_NAME):
                mod = self._frame_module(frame.module_name)
                if mod is None:
                    return None
                return jit_site(
                    mod.id,
                    mod.data,
                    frame.func_index,
                    frame.offset,
                    self._sources,
                    self._source_texts,
                )
        return None

    def _run(self, call: Callable[[], T]) -> T:
        """Run an evaluating call under the time limit; on failure restore the module."""
        saved = self._stack_pointer.value(self.store) if self._stack_pointer else None
        self._running = True
        try:
            with self._time_limited():
                if self._interrupt.is_set():  # it came before the deadline was set: not lost
                    raise _Interrupted
                return call()
        except _Interrupted:
            error = EvalError("interrupted", "interrupted")
        except _Raised:
            error = self._module_error()
            error.stack = self._failure_stack(self._error_frames, error)
        except wasmtime.Trap as e:
            wasm = self._wasm_frames(e)
            error = self._trap_error(e, wasm)
            error.stack = self._failure_stack(wasm, error)
        except EvalError as e:  # a stop was aborted
            error = e
        finally:
            self._running = False
            self._error_frames = []
        if saved is not None and self._stack_pointer is not None:
            self._stack_pointer.set_value(self.store, saved)
        if self.debugger:
            self.abi.reset()
        raise error

    def interrupt(self) -> None:
        """End the running evaluation (from any thread) with an 'interrupted' error."""
        self._interrupt.set()
        self.engine.increment_epoch()

    @property
    def running(self) -> bool:
        return self._running

    # ----------------------------------------------------------------------------- evaluation

    def eval(self, source: str | bytes, *, name: str | None = None) -> list[FormResult]:
        """Evaluate every form of ``source`` in the persistent top level.

        Stops at the first failing form; its result has kind "error".  Definitions, linked JIT
        code, table and heap stay as they were before that form.  An :meth:`interrupt` from
        the moment it is called ends it (one that comes before its wasm runs included).
        """
        return self._evaluating(partial(self._eval, source, name))

    def _evaluating(self, call: Callable[[], T]) -> T:
        """``call`` on the deep thread, ended by :meth:`interrupt` from the moment it is asked."""
        try:
            return self._deep.run(call, self.interrupt)
        finally:
            self._interrupt.clear()

    def _eval(self, source: str | bytes, name: str | None) -> list[FormResult]:
        # surrogateescape: bytes a caller decoded that way go back to the reader as they were.
        data = (
            source.encode("utf-8", "surrogateescape") if isinstance(source, str) else bytes(source)
        )
        start = time.perf_counter()
        try:
            ptr = self._write_bytes(data)
        except EvalError as e:  # the module's allocator failed (or ran past the time limit)
            return [self._failure(e, start)]
        if not self.debugger:
            return self._seed_eval(ptr, start)
        try:
            count = self._run(lambda: self.abi.read(ptr, len(data)))
        except EvalError as e:
            self._forget_freed_functions()
            src = self._state().source
            self._sources[src] = name or f"<input {src}>"
            if e.line:  # a read error has a position; an interrupt or a trap does not
                e.source = self._sources[src]
            return [
                FormResult(
                    "error",
                    e.one_line(),
                    self._take_output(),
                    time.perf_counter() - start,
                    e.line,
                    e.col,
                    e,
                )
            ]
        finally:
            self._call(lambda: self.abi.free_bytes(ptr))
        self._forget_freed_functions()
        state = self._state()
        self._sources[state.source] = name or f"<input {state.source}>"
        self._source_texts[state.source] = data.decode("utf-8", "surrogateescape")
        fp = self.layout.form_pos
        positions = self._read(state.formPos, fp.size * state.formCount)
        results = []
        # Only functions the interpreter enters (the module lists them) and those with JIT code
        # can count calls: their counters are read, not every function's.
        jit_before = {fid: self._counters(fid) for fid in self._jit_ids}
        self._counts_base = jit_before  # a stop counts the calls so far from here
        for k in range(count):
            line, col, _, _ = fp.unpack(positions[k * fp.size : (k + 1) * fp.size])
            start = time.perf_counter()
            try:
                top = self._run(partial(self.abi.compile_form, k))
                if self._flagged or self._needs_flags():
                    self._sync_break_flags(self._flags_seen)
                if self._eager_jit:
                    self._jit_new_functions()
                kind = self._run(partial(self.abi.run_form, top))
            except EvalError as e:
                results.append(
                    FormResult(
                        "error",
                        e.one_line(),
                        self._take_output(),
                        time.perf_counter() - start,
                        line,
                        col,
                        e,
                    )
                )
                break
            seconds = time.perf_counter() - start
            state = self._state()
            text = self._read(state.result, state.resultLength).decode("utf-8", "replace")
            kind_name = ("value", "definition", "void")[kind]
            results.append(FormResult(kind_name, text, self._take_output(), seconds, line, col))
        self.last_counts = self._counts_since(jit_before)
        return results

    def _forget_freed_functions(self) -> None:
        """A read may have freed the lambdas nothing can call any more (see sweepFuncs in
        native/debugger.h): then what is kept of functions by id is read again."""
        at = self.layout.debug_state.offsets.get("funcSweeps")  # a module that frees none
        sweeps = self.read_u32(self._state_address + at) if at is not None else 0
        if sweeps != self._sweeps_seen:
            self._sweeps_seen = sweeps
            self._func_addr.clear()
            self._func_static.clear()
            self._flagged = {
                fid: want for fid, want in self._flagged.items() if self._func_address(fid)
            }

    def _state(self) -> Any:
        """The module's DebugState: what the last read and run left (see native/debugger.h)."""
        rec = self.layout.debug_state
        return rec.unpack(self._read(self._state_address, rec.size))

    def _u64s(self, fid: int, *fields: str) -> tuple[int, ...]:
        """Fields of function ``fid``'s record (u64 counters), read in one go."""
        off = self.layout.func.offsets
        rec = self._read(self._func_address(fid), max(off[f] for f in fields) + 8)
        return tuple(int.from_bytes(rec[off[f] : off[f] + 8], "little") for f in fields)

    def _counters(self, fid: int) -> tuple[int, int]:
        """(interpreted calls, JIT calls) of function ``fid`` now."""
        interp, jit = self._u64s(fid, "interpCalls", "jitCalls")
        return interp, jit

    def _counts_since(self, jit_before: dict[int, tuple[int, int]]) -> dict[int, tuple[int, int]]:
        """Calls per function since the evaluation began: the touched list's functions, from
        their counters at first entry, and those with JIT code, from ``jit_before``."""
        t = self.layout.touched
        count, ids_ptr = t.unpack(self._read(self._state().touched, t.size))
        ids = struct.unpack(f"<{count}I", self._read(ids_ptr, 4 * count)) if count else ()
        counts = {}
        for fid in ids:  # their counters now and at first entry, in one read each
            interp, jit, ti, tj = self._u64s(
                fid, "interpCalls", "jitCalls", "touchInterp", "touchJit"
            )
            bi, bj = jit_before.get(fid, (ti, tj))
            counts[fid] = (interp - bi, jit - bj)
        for fid in self._jit_ids.difference(ids):
            interp, jit = self._counters(fid)
            bi, bj = jit_before.get(fid, (0, 0))
            counts[fid] = (interp - bi, jit - bj)
        return counts

    def _func_address(self, i: int) -> int:
        # A Func never moves: its address is asked for once (a call into wasm costs far more
        # than the read, and the prelude makes dozens of functions).
        addr = self._func_addr.get(i)
        if addr is None:
            addr = self._func_addr[i] = self.abi.func(i)
        return addr

    def _jit_new_functions(self) -> None:
        count = self.abi.func_count()
        new = [self._function(i) for i in range(self._eager_seen, count)]
        self._eager_seen = count
        fresh = [f.id for f in new if f is not None and f.state in ("interpreted", "candidate")]
        if fresh:
            mod = self.generate(fresh)
            if mod is not None:
                self.link(mod)

    def _failure(self, e: EvalError, start: float) -> FormResult:
        return FormResult(
            "error", e.one_line(), self._take_output(), time.perf_counter() - start, error=e
        )

    def parse_program(self, source: str) -> int:
        """The seed's interface: ``source`` parsed once, for :meth:`eval_program` (the
        workbench's harness parses its program once and evaluates it again and again); a
        syntax error raises :class:`EvalError`."""
        return self._evaluating(partial(self._parse, source))

    def _parse(self, source: str) -> int:
        ptr = self._write_bytes(source.encode())
        try:
            return self._run(lambda: self.abi.parse(ptr))
        finally:
            self._call(lambda: self.abi.free_bytes(ptr))

    def eval_program(self, program: int) -> FormResult:
        """The seed's ``eval`` of a :meth:`parse_program` result: its value and output."""
        return self._evaluating(partial(self._eval_program, program, time.perf_counter()))

    def _seed_eval(self, ptr: int, start: float) -> list[FormResult]:
        try:
            program = self._run(lambda: self.abi.parse(ptr))
        except EvalError as e:
            return [self._failure(e, start)]
        return [self._eval_program(program, start)]

    def _eval_program(self, program: int, start: float) -> FormResult:
        try:
            self._run(lambda: self.abi.eval(program, 1 << 20))
        except EvalError as e:
            return self._failure(e, start)
        output = self._take_output()
        seconds = time.perf_counter() - start
        # The result is the last line, after whatever the program displayed without a newline.
        head, marker, value = output.rstrip("\n").rpartition("result: ")
        if not marker or "\n" in value:
            head, value = output, ""
        return FormResult("value", value, head, seconds)

    # ----------------------------------------------------------------------------- functions

    def require_debugger(self, what: str) -> None:
        if not self.debugger:
            raise Unsupported(f"{what} needs the debugger interface, which {self.path.name} lacks")

    def functions(self) -> list[FunctionInfo]:
        """Every lambda compiled so far and still callable, in definition order, with live
        counters (the module frees those nothing can call: their ids are gone)."""
        if not self.debugger:
            return []
        count = self.abi.func_count()
        return [f for i in range(count) if (f := self._function(i)) is not None]

    def _function(self, i: int) -> FunctionInfo | None:
        addr = self._func_address(i)
        if not addr:
            return None
        (
            jit_code,
            nparams,
            flags,
            fid,
            interp_calls,
            jit_calls,
            name_ptr,
            line,
            col,
            end_line,
            end_col,
            src,
            module_id,
            _nlocals,
        ) = self.layout.func.unpack(self._read(addr, self.layout.func.size))
        static = self._func_static.get(i)
        if static is None:
            static = (
                self._read_cstring(name_ptr),
                self.source_name(src),
                line,
                col,
                end_line,
                end_col,
                nparams,
            )
            self._func_static[i] = static
        name, source, line, col, end_line, end_col, nparams = static
        return FunctionInfo(
            fid,
            name,
            source,
            line,
            col,
            end_line,
            end_col,
            nparams,
            interp_calls,
            jit_calls,
            addr + self.layout.func.offsets["jitCode"],
            jit_code,
            module_id,
            bool(flags & self._f_pending) and not jit_code,
            bool(flags & self._f_library),
            bool(flags & self._f_rest),
        )

    @property
    def layout(self) -> Layout:
        """The record layouts the module described at load (debugger interface only)."""
        if self._layout is None:
            raise Unsupported(f"{self.path.name} lacks the debugger interface")
        return self._layout

    def _func_id(self, func_addr: int) -> int:
        return self.read_u32(func_addr + self.layout.func.offsets["id"])

    def function(self, name_or_id: str | int) -> FunctionInfo:
        """The most recent function called ``name`` (or with that id)."""
        if isinstance(name_or_id, int):
            count = self.abi.func_count() if self.debugger else 0
            found = self._function(name_or_id) if 0 <= name_or_id < count else None
            if found is None:
                raise KeyError(name_or_id)
            return found
        fs = self.functions()
        for f in reversed(fs):
            if f.name == name_or_id:
                return f
        raise KeyError(name_or_id)

    def candidates(self) -> list[FunctionInfo]:
        return [f for f in self.functions() if f.state == "candidate"]

    # ----------------------------------------------------------------------------- JIT modules

    def generate(self, functions: Iterable[int | str] | None = None) -> JitModule | None:
        """Generate (in wasm) a module for these functions, or for every candidate.

        Returns None when there is nothing to compile.  The patch is not run.
        """
        ids = (
            []
            if functions is None
            else [f if isinstance(f, int) else self.function(f).id for f in functions]
        )
        if not self.debugger:
            raise Unsupported(
                f"generating without linking needs the debugger interface, which "
                f"{self.path.name} lacks: jit() generates and links in one go"
            )
        start = time.perf_counter()
        if ids:
            buf = self._call(lambda: self.abi.allocate_bytes(4 * len(ids)))
            self.memory.write(self.store, b"".join(i.to_bytes(4, "little") for i in ids), buf)
        else:
            buf = 0
        try:
            ptr = self._call(lambda: self.abi.jit(buf, len(ids)))
        finally:
            if buf:
                self._call(lambda: self.abi.free_bytes(buf))
        if not ptr:
            return None
        data_ptr, size, mid, nfuncs, funcs_ptr = self.layout.jit_module.unpack(
            self._read(ptr, self.layout.jit_module.size)
        )
        data = self._read(data_ptr, size)
        func_addrs = [self.read_u32(funcs_ptr + 4 * i) for i in range(nfuncs)]
        function_ids = [self._func_id(a) for a in func_addrs]
        self._module_ptrs[mid] = ptr
        section = custom_section(data, PATCH_SECTION)
        patches = parse_patches(section) if section is not None else []
        names = [p.name for p in patches]
        mod = JitModule(mid, data, function_ids, names, [PatchState(p) for p in patches])
        mod.timings["generate"] = time.perf_counter() - start
        self.modules.append(mod)
        return mod

    def module(self, module_id: int) -> JitModule:
        for m in self.modules:
            if m.id == module_id:
                return m
        raise ValueError(f"no JIT module {module_id}")

    def step(self, mod: JitModule) -> str:
        """Take ``mod`` one step further; returns what was done.  Raises EvalError on failure,
        after which the module is discarded and its functions stay interpreted."""
        what = mod.next_step()
        if what is None:
            raise ValueError(f"module {mod.id} is {mod.stage.name.lower()}: no step left")
        start = time.perf_counter()
        patched: PatchState | None = None
        try:
            if mod.stage is Stage.GENERATED:
                try:
                    mod.module = self._compile_jit(mod)
                except wasmtime.WasmtimeError as e:
                    raise EvalError(
                        "jit", f"module {mod.id} does not compile: {_first_line(e)}"
                    ) from None
                mod.stage = Stage.COMPILED
                key = "compile"
            elif mod.stage is Stage.COMPILED:
                try:
                    assert mod.module is not None
                    mod.instance = self._instantiate_jit(mod.module)
                    mod.functions = {
                        n: f
                        for n, f in mod.instance.exports(self.store).items()
                        if isinstance(f, wasmtime.Func)
                    }
                    mod.export_identities = {n: _func_identity(f) for n, f in mod.functions.items()}
                except (wasmtime.WasmtimeError, wasmtime.Trap) as e:
                    raise EvalError(
                        "jit", f"module {mod.id} cannot be instantiated: {_first_line(e)}"
                    ) from None
                mod.stage = Stage.INSTANTIATED
                mod.reuse_base = self._reserve_dead_slots(len(mod.names))
                key = "instantiate"
            elif mod.stage is Stage.INSTANTIATED:
                mod.table_size_before = self.table.size(self.store)
                if mod.reuse_base is not None:
                    base = mod.reuse_base
                    self._module_call(mod, "use_slots", base)
                    for i in range(base, base + len(mod.names)):
                        del self._reserved[i]
                        self._reused_slots.add(i)
                else:
                    base = self._module_call(mod, "grow_table")
                key = "grow"  # the table step, grown or reused
                mod.table_base = base
                for p in mod.patches:
                    self._slot_owner[base + p.patch.element] = (p.patch.name, f"jit {mod.id}")
                mod.stage = Stage.TABLE_GROWN
            elif mod.stage is Stage.TABLE_GROWN:
                self._module_call(mod, "fill_table")
                mod.stage = Stage.SLOTS_FILLED
                key = "fill"
            else:
                k = mod.patches_applied
                ps = mod.patches[k]
                ps.before = self.read_u32(ps.patch.address)
                self._module_call(mod, "apply_reloc", k)
                ps.after = self.read_u32(ps.patch.address)
                patched = ps
                mod.patches_done += 1
                if mod.patches_done == len(mod.patches):
                    mod.stage = Stage.LINKED
                    self._jit_ids.update(mod.function_ids)
                    self._free_module(mod.id)
                    # Its helpers are not called again, and the store keeps the instance:
                    # wasmtime-py's wrappers would cost ~7 KB a module for nothing.
                    mod.instance, mod.functions = None, {}
                key = "patch"
        except EvalError as e:
            self._fail_module(mod, e.message)
            raise
        mod.timings[key] = mod.timings.get(key, 0.0) + time.perf_counter() - start
        if patched is not None and self._running:
            self._patch_written(mod, patched)
        return what

    def _instantiate_jit(self, module: wasmtime.Module) -> wasmtime.Instance:
        """Instantiate a JIT module against this instance's memory and table, its only
        imports."""
        linker = wasmtime.Linker(self.engine)
        linker.define(self.store, "env", "memory", self.memory)
        linker.define(self.store, "env", "__indirect_function_table", self.table)
        return self._deep.run_helper(partial(linker.instantiate, self.store, module))

    def _module_call(self, mod: JitModule, name: str, *args: int) -> int:
        fn = mod.functions.get(name)
        if fn is None:
            raise EvalError("jit", f"module {mod.id}: exports no function {name}")
        try:
            result = self._deep.run_helper(partial(fn, self.store, *args))
            return result if isinstance(result, int) else 0
        except wasmtime.Trap as e:
            if e.trap_code == wasmtime.TrapCode.INTERRUPT:  # an interrupt or the time limit
                raise self._trap_error(e, self._wasm_frames(e)) from None
            if name == "grow_table":
                raise EvalError("jit", f"module {mod.id}: the function table cannot grow") from None
            raise EvalError("jit", f"module {mod.id}: {name} trapped: {_first_line(e)}") from None

    def _fail_module(self, mod: JitModule, message: str) -> None:
        mod.error = message
        self.discard(mod)
        mod.stage = Stage.FAILED

    def link(self, mod: JitModule) -> JitModule:
        """Run every remaining step."""
        while mod.next_step() is not None:
            self.step(mod)
        return mod

    def jit(self, functions: Iterable[int | str] | None = None) -> JitModule | None:
        """Generate, compile, instantiate and patch in one go."""
        if not self.debugger:
            return self._seed_jit()
        mod = self.generate(functions)
        return self.link(mod) if mod else None

    def _seed_jit(self) -> JitModule | None:
        """The seed's path: jitModule() and an instantiation whose start function patches."""
        ptr = self._call(lambda: self.abi.jit_module())
        if not ptr:
            return None
        data = self._read(
            self._call(lambda: self.abi.module_data(ptr)),
            self._call(lambda: self.abi.module_size(ptr)),
        )
        self._call(lambda: self.abi.free_module(ptr))
        mod = JitModule(len(self.modules) + 1, data, [], [], [])
        before = self.table.size(self.store)
        mod.module = wasmtime.Module(self.engine, data)
        mod.instance = self._instantiate_jit(mod.module)
        mod.table_size_before, mod.table_base = before, before
        names = function_names(data)
        for i in range(before, self.table.size(self.store)):
            name = names.get(i - before, f"func {i - before}")  # no name section
            self._slot_owner[i] = (name, f"jit {mod.id}")
            mod.names.append(name)
        mod.stage = Stage.LINKED
        self.modules.append(mod)
        return mod

    def _reserve_dead_slots(self, n: int) -> int | None:
        """The first of ``n`` dead slots in a row, taken out of the dead ones; or None."""
        dead = sorted(self._dead_slots)
        for k in range(len(dead) - n + 1):
            if dead[k + n - 1] - dead[k] == n - 1:  # n in a row
                base = dead[k]
                for i in range(base, base + n):
                    self._reserved[i] = self._dead_slots.pop(i)
                return base
        return None

    def discard(self, mod: JitModule) -> list[tuple[PatchState, int]]:
        """Give up on an unlinked module: the patches it applied are undone and its functions
        become candidates again.  Returns each applied patch with its field's value now, read
        back from memory."""
        if mod.stage is Stage.LINKED:
            raise ValueError(f"module {mod.id} is linked; unlink its functions instead")
        ptr = self._module_ptrs.get(mod.id)
        if ptr and self.debugger:
            self._call(lambda: self.abi.discard(ptr))
            self._free_module(mod.id)
        if mod.stage is Stage.INSTANTIATED and mod.reuse_base is not None:
            for i in range(mod.reuse_base, mod.reuse_base + len(mod.names)):
                self._dead_slots[i] = self._reserved.pop(i)  # not taken after all
        if mod.stage >= Stage.TABLE_GROWN and mod.table_base is not None:
            for i in range(mod.table_base, mod.table_base + len(mod.names)):
                self._dead_slots[i] = "discarded"
        if mod.stage < Stage.INSTANTIATED:
            mod.module = None  # compiled, never instantiated: the cache may keep it, or not
        mod.stage = Stage.DISCARDED
        return [(ps, now) for ps, now in zip(mod.patches, self.patch_values(mod)) if ps.applied]

    def _compile_jit(self, mod: JitModule) -> wasmtime.Module:
        """``mod``'s code compiled, or the same code compiled for an earlier module (then
        wasm's frames in it carry that module's name: see _frame_module)."""
        key = hashlib.sha256(without_module_name(mod.data)).digest()
        hit = self._jit_code.get(key)
        if hit is not None:
            self._jit_code.move_to_end(key)
            module, mod.compiled_as = hit
            return module
        module = wasmtime.Module(self.engine, mod.data)
        mod.compiled_as = mod.id
        self._jit_code[key] = (module, mod.id)
        if len(self._jit_code) > JIT_CODE_KEPT:
            self._jit_code.popitem(last=False)
        return module

    def compiled(self, mod: JitModule) -> wasmtime.Module | None:
        """``mod``'s compiled code for the code view: None if it never got past generation (a
        discarded module's code is compiled again, or found in the cache)."""
        if mod.module is None and "compile" in mod.timings:
            return self._compile_jit(mod)
        return mod.module

    def _frame_module(self, module_name: str) -> JitModule | None:
        """The JIT module a wasm frame named ``module_name`` runs in.  Modules that share one
        compile carry the first one's name; of those, the latest linked one runs (their code
        is the same)."""
        if not module_name.startswith(JIT_MODULE_NAME):
            return None
        try:
            named = int(module_name.removeprefix(JIT_MODULE_NAME))
        except ValueError:
            return None
        sharing = [m for m in self.modules if (m.compiled_as or m.id) == named]
        linked = [m for m in sharing if m.stage is Stage.LINKED]
        candidates = linked or sharing
        return candidates[-1] if candidates else None

    def _wasm_frames(self, trap: wasmtime.Trap) -> list[WasmFrame]:
        """wasm's frames, innermost first, each JIT frame named after the module it runs in."""
        named: dict[str, str] = {}  # a deep stack repeats few names: resolve each once

        def running(name: str) -> str:
            if name not in named:
                mod = self._frame_module(name)
                named[name] = f"{JIT_MODULE_NAME}{mod.id}" if mod else name
            return named[name]

        return [
            WasmFrame(
                running(f.module_name or ""), f.func_index, f.func_name or "", f.module_offset
            )
            for f in trap.frames or []
        ]

    def _free_module(self, module_id: int) -> None:
        """Free the module's copy of a JIT module (its bytes and function list) once no step
        needs it: the host keeps its own copy of the bytes."""
        ptr = self._module_ptrs.pop(module_id, None)
        if ptr:
            self._call(lambda: self.abi.free_module(ptr))

    def patch_values(self, mod: JitModule) -> list[int]:
        """Each of the module's patched fields (a function's jitCode) as it is now."""
        return [self.read_u32(ps.patch.address) for ps in mod.patches]

    def unlink(self, function: int | str) -> None:
        """Send calls of a linked function back to the interpreter."""
        self.require_debugger("unlinking")
        f = self.function(function)
        if f.jit_code:
            self._dead_slots[f.jit_code] = "unlinked"
        self._call(lambda: self.abi.unlink(f.id))

    # ----------------------------------------------------------------------------- tier-up

    def set_eager_jit(self, on: bool) -> None:
        """JIT-eager: compile and link every new lambda before its form runs."""
        self.require_debugger("eager JIT")
        self._eager_jit = on

    def set_auto_jit(self, threshold: int | None) -> None:
        """Tier up on its own: a function entered ``threshold`` times by the interpreter is
        compiled and linked mid-evaluation.  None turns it off."""
        self.require_debugger("auto JIT")
        if threshold is None:
            self._call(lambda: self.abi.set_tierup(0, 0))
            self._auto_threshold = None
            return
        if self._hook_slot is None:
            hook = wasmtime.Func(
                self.store,
                wasmtime.FuncType([wasmtime.ValType.i32()], []),
                _weak(weakref.ref(self), "_tier_up"),
            )
            self._hook_slot = self.table.grow(self.store, 1, hook)
            self._slot_owner[self._hook_slot] = ("tier-up hook", "host")
        self._auto_threshold = threshold
        slot = self._hook_slot
        self._call(lambda: self.abi.set_tierup(slot, threshold))

    @property
    def auto_threshold(self) -> int | None:
        """Auto tier-up's threshold, None while it is off."""
        return self._auto_threshold

    @contextmanager
    def auto_jit_paused(self) -> Iterator[int | None]:
        """Auto tier-up off for the block; yields the host hook's table slot if it was on."""
        threshold = self._auto_threshold
        if threshold is None:
            yield None
            return
        self._call(lambda: self.abi.set_tierup(0, 0))
        try:
            yield self._hook_slot
        finally:
            self._call(lambda: self.abi.set_tierup(self._hook_slot or 0, threshold))

    def _tier_up(self, func_addr: int) -> None:
        """The auto tier-up hook, called by the interpreter mid-evaluation.  A tier-up that
        fails is undone and the evaluation goes on interpreted; an interrupt (or the time
        limit) undoes it too, then ends the evaluation as it should."""
        fid = self._func_id(func_addr)
        mod: JitModule | None = None
        try:
            mod = self.generate([fid])
            if mod is None:
                return
            self.link(mod)
        except EvalError as e:
            # Cleaning up runs wasm: past an interrupt the evaluation's deadline has passed.
            self.store.set_epoch_deadline(1 << 62)
            try:
                if mod is not None and mod.stage < Stage.LINKED:
                    self.discard(mod)  # undoes the patches it applied
                elif mod is None:
                    # Interrupted inside generate: the function may be marked as compiled
                    # into a module the host never saw; make it a candidate again.
                    self._call(lambda: self.abi.unlink(fid))
                if e.kind not in ("interrupted", "timeout") and not self._interrupt.is_set():
                    self._call(lambda: self.abi.tierup_failed(fid))  # not on every call again
            finally:
                self.store.set_epoch_deadline(1)
            if e.kind in ("interrupted", "timeout") or self._interrupt.is_set():
                raise
            name = self.function(fid).name
            self.tier_up_failures.append((name, e.message))
            return
        self._tierup_events.append((time.perf_counter(), mod.names[0], mod.id))
        if self.on_tier_up is not None:
            self.on_tier_up(mod)
        name = mod.names[0] if mod.names else "?"
        bp = self._matching("tier-up", name)
        if bp is not None or self._stepping:
            calls = self.function(fid).interp_calls
            self._stop(
                "tier-up",
                f"{name} tiered up after {calls:,} interpreted calls: module {mod.id} linked",
                bp,
            )

    @property
    def tier_up_events(self) -> list[tuple[float, str, int]]:
        return list(self._tierup_events)

    # ----------------------------------------------------------------------------- breakpoints

    def add_breakpoint(
        self, kind: str, function: str | None = None, address: int | None = None
    ) -> Breakpoint:
        """Stop evaluations at ``kind`` (see BREAK_KINDS) of ``function`` (None: any; "enter"
        needs one) or, for "patch", at a write of ``address``.  ValueError if it makes no
        sense."""
        self.require_debugger("breakpoints")
        if kind not in BREAK_KINDS:
            raise ValueError(f"no breakpoint kind {kind!r}: one of {', '.join(BREAK_KINDS)}")
        if kind == "enter" and not function:
            raise ValueError("an enter breakpoint needs a function name")
        if kind == "patch":
            if address is None or not 0 <= address < self.memory_bytes():
                raise ValueError("a patch breakpoint needs an address inside linear memory")
            function = None
        elif kind == "error":
            function = None
        bp = Breakpoint(self._next_break, kind, function, address if kind == "patch" else None)
        self._next_break += 1
        self.breakpoints.append(bp)
        self._sync_break_flags(0)
        return bp

    def remove_breakpoint(self, number: int) -> Breakpoint:
        """KeyError if there is no breakpoint ``number``."""
        bp = next((b for b in self.breakpoints if b.number == number), None)
        if bp is None:
            raise KeyError(number)
        self.breakpoints.remove(bp)
        self._sync_break_flags(0)
        return bp

    def clear_breakpoints(self) -> None:
        self.breakpoints = []
        self._stepping = False
        self._sync_break_flags(0)

    def _matching(self, kind: str, name: str) -> Breakpoint | None:
        return next(
            (b for b in self.breakpoints if b.kind == kind and b.function in (None, name)), None
        )

    def _needs_flags(self) -> bool:
        return any(b.kind in ("enter", "jit-entry") for b in self.breakpoints)

    def _sync_break_flags(self, start: int) -> None:
        """Set the F_BREAK_* bits the breakpoints ask for on functions ``start`` on (clear
        those they no longer ask for), and arm the module's entry check to match."""
        enter = self._layout.flag("F_BREAK_ENTER") if self._layout else 0
        jit_entry = self._layout.flag("F_BREAK_JIT_ENTRY") if self._layout else 0
        count = self._call(self.abi.func_count)
        flags_at = self.layout.func.offsets["flags"]
        for fid in range(start, count):
            f = self._function(fid)
            if f is None:
                continue
            name = f.name
            want = 0
            for b in self.breakpoints:
                if b.kind == "enter" and b.function == name:
                    want |= enter
                elif b.kind == "jit-entry" and b.function in (None, name):
                    want |= jit_entry
            if want == self._flagged.get(fid, 0):
                continue
            address = self._func_address(fid) + flags_at
            flags = (self.read_u32(address) & ~(enter | jit_entry)) | want
            self.memory.write(self.store, flags.to_bytes(4, "little"), address)
            if want:
                self._flagged[fid] = want
            else:
                self._flagged.pop(fid, None)
        self._flags_seen = count
        self._arm_breaks()

    def _arm_breaks(self) -> None:
        flagged = self._layout.constants.get("BreakArm.BREAK_FLAGGED", 0) if self._layout else 0
        any_entry = self._layout.constants.get("BreakArm.BREAK_ANY_ENTRY", 0) if self._layout else 0
        armed = (flagged if self._flagged else 0) | (any_entry if self._stepping else 0)
        if not armed and self._break_slot is None:
            return
        if self._break_slot is None:
            hook = wasmtime.Func(
                self.store,
                wasmtime.FuncType([wasmtime.ValType.i32(), wasmtime.ValType.i32()], []),
                _weak(weakref.ref(self), "_break_entry"),
            )
            self._break_slot = self.table.grow(self.store, 1, hook)
            self._slot_owner[self._break_slot] = ("breakpoint hook", "host")
        slot = self._break_slot
        self._call(lambda: self.abi.set_breaks(slot, armed))

    @contextmanager
    def _breaks_paused(self) -> Iterator[None]:
        """No break bits and no armed check in memory for the block (a snapshot's copy)."""
        if not self._flagged and not self._stepping:
            yield
            return
        kept, self.breakpoints, stepping = self.breakpoints, [], self._stepping
        self._stepping = False
        self._sync_break_flags(0)
        try:
            yield
        finally:
            self.breakpoints, self._stepping = kept, stepping
            self._sync_break_flags(0)

    def _break_entry(self, func_addr: int, jit: int) -> None:
        """The module's entry hook: a flagged function (or any, after a step) is entered."""
        f = self.function(self._func_id(func_addr))
        bp = self._matching("enter", f.name)
        if bp is None and jit:
            bp = self._matching("jit-entry", f.name) if f.jit_calls == 0 else None
        if bp is None and not self._stepping:
            return
        if jit:
            first = " for the first time" if f.jit_calls == 0 else ""
            what = f"{f.name} entered through its JIT code{first} (module {f.module_id})"
            entering = None
        else:
            what = f"{f.name} entered, interpreted"
            entering = StackFrame(f.name, "interpreter", f"{f.source}:{f.line}:{f.col}", "", None)
        self._stop("jit-entry" if bp and bp.kind == "jit-entry" else "enter", what, bp, entering)

    def _error_raised(self) -> None:
        """The throw_error import, before wasm unwinds: the error's stack, and its stop."""
        if not self.debugger or not self._running:
            return
        if self._jit_nest():  # JIT frames only wasm knows of: read them while they live
            self._error_frames = self._live_wasm_frames()
        bp = self._matching("error", "")
        if bp is None and not self._stepping:
            return
        e = self._module_error()
        self._stop("error", f"{e.kind} error: {e.one_line()}", bp, at=e.position)

    def _patch_written(self, mod: JitModule, ps: PatchState) -> None:
        written = range(ps.patch.address, ps.patch.address + 4)  # the jitCode word
        bp = next((b for b in self.breakpoints if b.kind == "patch" and b.address in written), None)
        if bp is None and not self._stepping:
            return
        self._stop(
            "patch",
            f"module {mod.id} patched {ps.patch.name}.jitCode @ 0x{ps.patch.address:x}: "
            f"{ps.before} -> {ps.after}",
            bp,
        )

    def _stop(
        self,
        kind: str,
        message: str,
        bp: Breakpoint | None,
        entering: StackFrame | None = None,
        *,
        at: tuple[int, int, int] | None = None,
    ) -> None:
        """Stop here, inside a host callback: the front end looks around (with the time limit
        lifted), then continues, steps or aborts; after a stop the evaluation has its whole
        time limit again."""
        stack = self.live_stack(at)
        if entering is not None:
            stack = Stack((entering, *stack.frames), stack.omitted, stack.note)
        stop = Stop(kind, message, bp, stack, self._counts_since(self._counts_base))
        self.stops = [*self.stops[-9:], stop]
        self._ticker.disarm()
        self.store.set_epoch_deadline(1 << 62)
        try:
            with self._deep.parked():
                answer = self.on_stop(stop) if self.on_stop is not None else "continue"
        finally:
            self.store.set_epoch_deadline(1)
            if self.time_limit:
                self._ticker.arm(self.time_limit)
        self._stepping = answer == "step"
        self._arm_breaks()
        if answer == "abort" or self._interrupt.is_set():
            raise EvalError("interrupted", f"aborted at a stop: {message}")

    # ----------------------------------------------------------------------------- call stack

    def live_stack(self, at: tuple[int, int, int] | None = None) -> Stack:
        """The call stack now: call it from inside a stop (on the evaluating thread)."""
        return self._stack(self._live_wasm_frames(), at)

    def _failure_stack(self, wasm: list[WasmFrame], e: EvalError) -> Stack | None:
        if not self.debugger:
            return None
        try:
            return self._stack(wasm, e.position)
        except (EvalError, ValueError, struct.error):
            return None  # the module's frame list is not what it described

    def _stack(self, wasm: list[WasmFrame], at: tuple[int, int, int] | None) -> Stack:
        raw, omitted = self._raw_frames()
        modules = {m.id: m.data for m in self.modules}
        return merge_stack(
            raw, self._jit_nest(), wasm, modules, self._sources, self._source_texts, at, omitted
        )

    def _live_wasm_frames(self) -> list[WasmFrame]:
        if self._here is None:
            module = wasmtime.Module(self.engine, '(module (func (export "here") unreachable))')
            here = wasmtime.Instance(self.store, module, []).exports(self.store)["here"]
            assert isinstance(here, wasmtime.Func)
            self._here = here
        try:
            self._here(self.store)
        except wasmtime.Trap as e:
            return self._wasm_frames(e)[1:]  # without `here` itself
        return []

    def _state_pointer(self, field: str) -> int:
        return self.read_u32(self._state_address + self.layout.debug_state.offsets[field])

    def _jit_nest(self) -> int:
        if "jitNest" not in self.layout.debug_state.offsets:
            return 0
        return self.read_u32(self._state_pointer("jitNest"))

    def _raw_frames(self) -> tuple[list[RawFrame], int]:
        """The innermost STACK_FRAMES of the module's frame list, outermost first, and how
        many frames are left out."""
        frame = self.layout.records.get("Frame")
        node = self.layout.records.get("Node")
        if frame is None or node is None:
            return [], 0
        depth = self.read_u32(self._state_pointer("frameDepth"))
        recorded = min(depth, self.layout.constants.get("Limit.MAX_FRAMES", 0))
        first = max(0, recorded - STACK_FRAMES)
        base = self._state_pointer("frames")
        data = self._read(base + first * frame.size, (recorded - first) * frame.size)
        closure_type = self.layout.constants.get("ObjType.T_CLOSURE", -1)
        out = []
        for k in range(recorded - first):
            fp, at, nest = frame.unpack(data[k * frame.size : (k + 1) * frame.size])
            function, args = "", None
            closure = self.read_u64(fp - 8)
            if closure & 7 == 1 and self.read_u32(closure - 1) & 0x7FFFFFFF == closure_type:
                f = self.function(self._func_id(self.read_u32(closure - 1 + 8)))
                function = f.name
                args = tuple(self._write_value(self.read_u64(fp + 8 * i)) for i in range(f.nparams))
            where = None
            if at:
                line, col, src = node.unpack(self._read(at, node.size))
                where = (src, line, col)
            out.append(RawFrame(function, args, where, nest))
        return out, depth - recorded + first

    def _write_value(self, value: int) -> str:
        return self._read_cstring(self._call(lambda: self.abi.write(value, 60)))

    # ----------------------------------------------------------------------------- views

    def table_slots(self) -> list[TableSlot]:
        """Every slot of the indirect function table, named from the binaries."""
        slots = []
        for i in range(self.table.size(self.store)):
            # wasmtime-py hands back a Val, not None, for a null funcref
            empty = not isinstance(self.table.get(self.store, i), wasmtime.Func)
            grown = i >= self.initial_table_size
            if i in self._slot_owner:
                name, owner = self._slot_owner[i]
            elif i in self._main_slots:
                name, owner = self._main_names.get(self._main_slots[i], "?"), "main"
            else:
                name, owner = "", ""
            slots.append(
                TableSlot(
                    i,
                    name if not empty else "",
                    owner if not empty else "",
                    empty,
                    grown,
                    self._dead_slots.get(i, ""),
                    i in self._reused_slots and i not in self._dead_slots,
                )
            )
        return slots

    def interp_reasons(self, function: FunctionInfo | str | int) -> dict[str, int]:
        """Why the function's interpreted calls ran the interpreter: reason -> calls, as the
        module counted them (they sum to its interpreted calls); {} for a module that does
        not count them."""
        self.require_debugger("the reasons for interpreted calls")
        offset = self.layout.func.offsets.get("interpWhy")
        words = self.layout.words("InterpReason", REASON_WORDS)
        if offset is None or not words:
            return {}
        f = function if isinstance(function, FunctionInfo) else self.function(function)
        raw = self._read(self._func_address(f.id) + offset, 8 * len(words))
        return dict(zip(words, struct.unpack(f"<{len(words)}Q", raw), strict=True))

    def exits(self) -> list[JitExit]:
        """How JIT code left its fast path, by kind, in the order the kinds first happened
        (those that have); [] for a module that does not count them."""
        self.require_debugger("the JIT exits")
        record = self.layout.exit_stat
        if record is None or not self.abi.has("dbg_exits"):
            return []
        words = self.layout.words("ExitKind", EXIT_WORDS)
        base = self.abi.exits()
        size = max(record.offsets.values()) + 4  # first, the last u32 field
        raw = self._read(base, size * len(words))
        found = []
        for k, word in enumerate(words):
            count, line, col, src, first = record.unpack(raw[k * size :])
            if count:
                found.append(JitExit(word, count, self.source_name(src), line, col, first))
        return sorted(found, key=lambda e: e.first)

    def heap_stats(self) -> dict[str, int]:
        self.require_debugger("heap statistics")
        ptr = self.abi.heap()
        heap, live, allocated, collections, limit = self.layout.heap.unpack(
            self._read(ptr, self.layout.heap.size)
        )
        return {
            "heap_bytes": heap,
            "live_bytes": live,
            "allocated_bytes": allocated,
            "collections": collections,
            "max_heap_bytes": limit,
        }

    def set_heap_limit(self, max_bytes: int) -> None:
        """Cap the Scheme heap; an evaluation that needs more fails with a "heap" error."""
        self.require_debugger("a heap limit")
        self._call(lambda: self.abi.set_heap_limit(max_bytes))

    def memory_bytes(self) -> int:
        """Size of the instance's linear memory."""
        return self.memory.data_len(self.store)

    def scrub(self) -> int:
        """Collect and zero free heap memory and the dead shadow stack (before a snapshot of
        linear memory); returns the bytes zeroed."""
        self.require_debugger("scrubbing the heap")
        return self._call(self.abi.scrub) & 0xFFFFFFFF

    def collect(self) -> None:
        self.require_debugger("collecting")
        self._call(lambda: self.abi.collect())

    def stack_depth(self) -> int:
        self.require_debugger("the stack depth")
        return self._call(lambda: self.abi.stack_depth())

    def capture(self) -> Capture:
        """Copy out what a snapshot needs, between evaluations.  Scrubs the heap first (a
        collection that also zeroes free memory), and reads memory with auto tier-up paused, so
        the host hook's index is not in the copy."""
        if self._running:
            raise RuntimeError("an evaluation is running: capture between evaluations")
        zeroed = 0
        if self.abi.has("dbg_scrub"):
            zeroed = self.scrub()
        elif self.debugger:
            self.collect()
        with self.auto_jit_paused() as hook, self._breaks_paused():
            memory = bytes(self.memory.read(self.store, 0, self.memory.data_len(self.store)))
            pages = self.memory.size(self.store)
        table = []
        for i in range(self.table.size(self.store)):
            func = self.table.get(self.store, i)
            if isinstance(func, wasmtime.Func):
                ft = func.type(self.store)
                sig = (tuple(str(p) for p in ft.params), tuple(str(r) for r in ft.results))
                table.append(CapturedSlot(sig, _func_identity(func)))
            else:  # wasmtime-py hands back a Val, not None, for a null funcref
                table.append(CapturedSlot(None, None))
        modules = []
        for mod in self.modules:
            identities = dict(mod.export_identities)
            mine = (
                range(mod.table_base, mod.table_base + len(mod.names))
                if mod.table_base is not None and mod.stage >= Stage.TABLE_GROWN
                else range(0)
            )
            modules.append(
                CapturedModule(
                    mod.id,
                    mod.data,
                    mod.stage,
                    mod.table_base,
                    mod.table_size_before,
                    identities,
                    reused_slots=mod.table_base is not None
                    and mod.table_size_before is not None
                    and mod.table_base < mod.table_size_before,
                    overwritten=frozenset(
                        i for i in mine if self._slot_owner[i][1] != f"jit {mod.id}"
                    ),
                )
            )
        return Capture(
            main_wasm=self.wasm_bytes,
            modules=tuple(modules),
            table=tuple(table),
            host_slots=frozenset(
                i for i, (_, owner) in self._slot_owner.items() if owner == "host"
            ),
            auto_hook=hook,
            memory=memory,
            pages=pages,
            globals={n: g.value(self.store) for n, g in self.abi.globals().items()},
            sources=dict(self._sources),
            source_texts=self.source_texts(),
            zeroed_bytes=zeroed,
        )

    def close(self) -> None:
        """Free the instance, its Store and the JIT modules; the session cannot be used after."""
        for mod in self.modules:
            mod.module = mod.instance = None
            mod.functions = {}
        self.modules = []
        self._jit_code.clear()
        self.on_tier_up = None
        self.on_stop = None
        self._ticker.stop()
        self._deep.close()
        for name in ("abi", "memory", "table", "_stack_pointer", "store"):
            self.__dict__.pop(name, None)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _func_identity(func: wasmtime.Func) -> object | None:
    """A token equal for the same function (a private of wasmtime-py's, used only to check;
    None where it is not available)."""
    raw = getattr(func, "_func", None)
    return getattr(raw, "__private", None) if raw is not None else None


def _snapshot_record(path: Path, data: bytes) -> SnapshotRecord | None:
    try:
        section = custom_section(data, SNAPSHOT_SECTION)
    except ValueError as e:  # broken framing
        raise ModuleLoadError(path, f"not a valid wasm module: {e}") from None
    if section is None:
        return None
    try:
        return parse_snapshot_record(section)
    except ValueError as e:
        raise ModuleLoadError(path, f"corrupt {SNAPSHOT_SECTION} section: {e}") from None


def _trap_reason(trap: wasmtime.Trap) -> str:
    """The trap's kind in words; its message's first line when it has no code (a host
    error), since wasmtime puts the reason after the backtrace."""
    code = trap.trap_code
    return trap_kind(code.value) if code is not None else _first_line(trap)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "not a regular file"


#: A main module larger than this is refused rather than read (the bundled one is ~1.7 MB).
MAX_MODULE_BYTES = 256 << 20


def _read_module_file(path: Path) -> bytes:
    try:
        # Non-blocking, so that opening a FIFO does not wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ModuleLoadError(path, "no such file") from None
    except IsADirectoryError:
        raise ModuleLoadError(path, "is a directory, not a wasm module") from None
    except OSError as e:
        raise ModuleLoadError(path, f"cannot be read: {e.strerror}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ModuleLoadError(path, "is a directory, not a wasm module")
        raise ModuleLoadError(path, f"is {_file_kind(st.st_mode)}, not a wasm module file")
    with os.fdopen(fd, "rb") as f:
        if st.st_size > MAX_MODULE_BYTES:
            raise ModuleLoadError(
                path,
                f"is {st.st_size / (1 << 20):,.0f} MB: more than a module may be "
                f"({MAX_MODULE_BYTES >> 20} MB)",
            )
        try:
            data = f.read(MAX_MODULE_BYTES + 1)
        except OSError as e:
            raise ModuleLoadError(path, f"cannot be read: {e.strerror}") from None
    problem = header_problem(data)
    if problem is not None:
        raise ModuleLoadError(path, problem)
    return data
