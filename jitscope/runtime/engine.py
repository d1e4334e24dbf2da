"""The wasmtime engine the sessions run on: its settings, compiled main modules (shared in a
process and cached across processes), and the ticker that enforces the time limit."""

from __future__ import annotations

import ctypes
import hashlib
import os
import threading
import time
from importlib import metadata
from pathlib import Path

import platformdirs
import wasmtime
from wasmtime import _ffi as ffi

from jitscope.runtime.files import write_atomic

__all__ = [
    "CACHE_ENTRIES",
    "EVAL_THREAD_STACK_BYTES",
    "WASM_STACK_BYTES",
    "Ticker",
    "compile_cache_dir",
    "compiled_main",
    "new_engine",
]

#: wasm call stack for deep (non-tail) recursion: room for over 100,000 interpreted frames
#: (wasmtime's default is 512 KiB).  Evaluations run on a thread with EVAL_THREAD_STACK_BYTES
#: of native stack (runtime/deep.py): wasm on a thread with less would fault, not trap.
WASM_STACK_BYTES = 64 << 20
#: Twice the wasm stack: host callbacks (a tier-up compiles a module) run on top of it.
EVAL_THREAD_STACK_BYTES = 2 * WASM_STACK_BYTES


# Compiled main modules by (path, size, mtime): sessions on one build share an engine, so a
# second session (a test, a reload) skips the compile.  Epoch interruption is engine-wide, but
# only a store with a running evaluation has a near deadline.
_compiled: dict[tuple[str, int, int], tuple[wasmtime.Engine, wasmtime.Module]] = {}


def compiled_main(path: Path, data: bytes) -> tuple[wasmtime.Engine, wasmtime.Module]:
    """The engine and compiled module for the main module at ``path`` (its bytes ``data``):
    shared in the process, cached across processes.  Raises WasmtimeError if invalid."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _compiled:
        engine = new_engine()
        _compiled[key] = (engine, _cached_module(engine, data))
    return _compiled[key]


def new_engine() -> wasmtime.Engine:
    """An engine with the sessions' settings (a cold compile in one measures start-up)."""
    config = wasmtime.Config()
    config.epoch_interruption = True
    _set_async_stack_size(config, WASM_STACK_BYTES + (1 << 20))
    config.max_wasm_stack = WASM_STACK_BYTES
    config.wasm_tail_call = True
    return wasmtime.Engine(config)


def _set_async_stack_size(config: wasmtime.Config, size: int) -> None:
    # wasmtime requires max_wasm_stack below the async stack size (2 MiB by default) even
    # without async support, and wasmtime-py does not expose that setting: the C API's own
    # function, called on the library wasmtime-py loaded (its major version is pinned).
    setter = ffi.dll.wasmtime_config_async_stack_size_set
    setter.argtypes = [ctypes.POINTER(ffi.wasm_config_t), ctypes.c_size_t]
    setter.restype = None
    setter(config.ptr(), size)


def interrupt_start_up() -> None:
    """End the start-up wasm of any session being created (a start function or
    ``_initialize`` that runs on): a Ctrl-C that comes before there is a Session to
    interrupt.  Start-up runs with a near deadline, so one epoch tick ends it."""
    for engine, _ in list(_compiled.values()):
        engine.increment_epoch()


#: Compiled modules kept in the cache (the most recently used).
CACHE_ENTRIES = 8

#: Settings that change the machine code, so a cached compile is only reused with them.
_CODE_SETTINGS = f"epoch,tail-call,stack={WASM_STACK_BYTES}"


def compile_cache_dir() -> Path | None:
    """Where compiled main modules are kept between processes: ``$JITSCOPE_CACHE_DIR``, else
    the platform's user cache directory; None (no cache) when that variable is empty."""
    override = os.environ.get("JITSCOPE_CACHE_DIR")
    if override is not None:
        return Path(override).expanduser() if override else None
    return platformdirs.user_cache_path("jitscope") / "modules"


def _cached_module(engine: wasmtime.Engine, data: bytes) -> wasmtime.Module:
    """The module compiled for ``engine``: deserialized from the cache when an entry for these
    bytes, this wasmtime and these settings exists and loads, else compiled (and cached).  A
    corrupt or incompatible entry is compiled over."""
    cache = compile_cache_dir()
    entry = None
    if cache is not None:
        h = hashlib.sha256(data)
        h.update(f"\0wasmtime {metadata.version('wasmtime')}\0{_CODE_SETTINGS}".encode())
        entry = cache / f"{h.hexdigest()}.cwasm"
        if entry.is_file():
            try:
                module = wasmtime.Module.deserialize_file(engine, str(entry))
                os.utime(entry)  # recently used: kept by the pruning below
                return module
            except (wasmtime.WasmtimeError, OSError):
                pass  # corrupt, truncated or from another build: compile afresh below
    module = wasmtime.Module(engine, data)  # WasmtimeError for an invalid module
    if entry is not None:
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(entry, module.serialize())
            entries = sorted(
                entry.parent.glob("*.cwasm"), key=lambda p: p.stat().st_mtime, reverse=True
            )
            for old in entries[CACHE_ENTRIES:]:
                old.unlink(missing_ok=True)
        except OSError:
            pass  # a cache that cannot be written only costs the next start its compile
    return module


class Ticker:
    """Ends a call that outlives the time limit: one thread per session (started on first
    use) sleeps until the armed deadline and then bumps the engine's epoch, which traps the
    running wasm.  Arming and disarming cost a lock, not a thread per call."""

    def __init__(self, engine: wasmtime.Engine) -> None:
        self._engine = engine
        self._cond = threading.Condition()
        self._until: float | None = None
        self._stopped = False
        #: The armed deadline passed (since the last arm): a trap then means the time limit.
        self.fired = False
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float) -> None:
        with self._cond:
            self._until = time.monotonic() + seconds
            self.fired = False
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="jitscope-ticker", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def disarm(self) -> None:
        with self._cond:
            self._until = None

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._stopped:
                if self._until is None:
                    self._cond.wait()
                    continue
                left = self._until - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                self._until = None
                self.fired = True
                self._engine.increment_epoch()
