"""The host↔wasm interface of interplib.wasm, typed: which exports a module must have, with
which kinds and signatures, checked once at load; and one wrapper whose methods call them.

Two interfaces: the seed's (``parse``/``eval``/``jitModule`` …, which the workbench's harness
drives) and the debugger's (``dbg_*``).  A module may have the seed's alone.  A wrong kind or
signature is a load error naming the export, never a ``TypeError`` in the middle of a session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

import wasmtime

__all__ = [
    "DEBUGGER_INTERFACE",
    "SEED_INTERFACE",
    "Abi",
    "interface_problems",
]

_I = "i32"

#: export name -> (parameter types, result types)
Signature = tuple[tuple[str, ...], tuple[str, ...]]

SEED_INTERFACE: Mapping[str, Signature] = {
    "allocateBytes": ((_I,), (_I,)),
    "parse": ((_I,), (_I,)),
    "eval": ((_I, _I), ()),
}

DEBUGGER_INTERFACE: Mapping[str, Signature] = {
    "allocateBytes": ((_I,), (_I,)),
    "freeBytes": ((_I,), ()),
    "dbg_read": ((_I, _I), (_I,)),
    "dbg_compile_form": ((_I,), (_I,)),
    "dbg_run_form": ((_I,), (_I,)),
    "dbg_error": ((), (_I,)),
    "dbg_reset": ((), ()),
    "dbg_func_count": ((), (_I,)),
    "dbg_func": ((_I,), (_I,)),
    "dbg_jit": ((_I, _I), (_I,)),
    "dbg_discard": ((_I,), ()),
    "dbg_unlink": ((_I,), ()),
    "dbg_set_tierup": ((_I, _I), ()),
    "dbg_tierup_failed": ((_I,), ()),
    "dbg_heap": ((), (_I,)),
    "dbg_collect": ((), ()),
    "dbg_set_heap_limit": ((_I,), ()),
    "dbg_stack_depth": ((), (_I,)),
    "dbg_layout": ((), (_I,)),
    "dbg_state": ((), (_I,)),
    "freeModule": ((_I,), ()),
}

#: Checked when present: the seed's JIT and memory calls, and what jitscope's own build adds.
OPTIONAL: Mapping[str, Signature] = {
    "_initialize": ((), ()),
    "freeBytes": ((_I,), ()),
    "jitModule": ((), (_I,)),
    "moduleData": ((_I,), (_I,)),
    "moduleSize": ((_I,), (_I,)),
    "freeModule": ((_I,), ()),
    "dbg_scrub": ((), (_I,)),
    "dbg_prelude": ((), (_I,)),
    "dbg_exits": ((), (_I,)),
    "dbg_set_breaks": ((_I, _I), ()),
    "dbg_write": (("i64", _I), (_I,)),
}


def _signature(t: wasmtime.FuncType) -> Signature:
    return tuple(str(p) for p in t.params), tuple(str(r) for r in t.results)


def _spell(sig: Signature) -> str:
    params, results = sig
    return f"({', '.join(params)}) -> ({', '.join(results)})"


def interface_problems(exports: Iterable[wasmtime.ExportType]) -> tuple[bool, list[str]]:
    """Check a module's exports: (has the debugger interface, problems).  A problem is one
    line naming the export; none means the module can be used."""
    types = {e.name: e.type for e in exports}
    missing = [n for n in ("memory", "__indirect_function_table") if n not in types]
    if missing:
        return False, [f"does not export {', '.join(missing)}"]
    problems = []
    for name, kind in (
        ("memory", wasmtime.MemoryType),
        ("__indirect_function_table", wasmtime.TableType),
    ):
        if not isinstance(types[name], kind):
            problems.append(f"exports {name} as something other than a {kind.__name__[:-4]}")
    debugger = "dbg_read" in types
    wanted = dict(DEBUGGER_INTERFACE if debugger else SEED_INTERFACE)
    if not debugger and not {"parse", "eval"} <= types.keys():
        problems.append("exports neither the debugger interface (dbg_read) nor parse/eval")
        return debugger, problems
    for name, sig in [*wanted.items(), *OPTIONAL.items()]:
        t = types.get(name)
        if t is None:
            if name in wanted:
                problems.append(f"does not export {name}, which its interface needs")
        elif not isinstance(t, wasmtime.FuncType):
            problems.append(f"exports {name} as a {type(t).__name__[:-4].lower()}, not a function")
        elif _signature(t) != sig:
            problems.append(
                f"exports {name} with type {_spell(_signature(t))}, expected {_spell(sig)}"
            )
    sp = types.get("__stack_pointer")
    if sp is not None and not (
        isinstance(sp, wasmtime.GlobalType) and str(sp.content) == _I and sp.mutable
    ):
        problems.append("exports __stack_pointer as something other than a mutable i32 global")
    return debugger, problems


#: Runs a call into wasm somewhere and returns its result.
Runner = Callable[[Callable[[], Any]], Any]


def _in_place(call: Callable[[], Any]) -> Any:
    return call()


class Abi:
    """Typed calls into one instance; the exports were checked by :func:`interface_problems`.
    Pointers and counts are i32; the methods return Python ints."""

    def __init__(
        self, store: wasmtime.Store, instance: wasmtime.Instance, run: Runner = _in_place
    ) -> None:
        """``run``: what every call into the instance goes through (a session's runs them on
        a thread with room for the wasm stack)."""
        self._store = store
        self._run = run
        ex = instance.exports(store)
        self._f: dict[str, wasmtime.Func] = {}
        for name in (*SEED_INTERFACE, *DEBUGGER_INTERFACE, *OPTIONAL):
            f = ex.get(name)
            if isinstance(f, wasmtime.Func):
                self._f[name] = f
        memory, table = ex["memory"], ex["__indirect_function_table"]
        assert isinstance(memory, wasmtime.Memory) and isinstance(table, wasmtime.Table)
        self.memory: wasmtime.Memory = memory
        self.table: wasmtime.Table = table
        self._globals = {name: g for name, g in ex.items() if isinstance(g, wasmtime.Global)}
        sp = ex.get("__stack_pointer")
        self.stack_pointer: wasmtime.Global | None = sp if isinstance(sp, wasmtime.Global) else None

    def has(self, name: str) -> bool:
        return name in self._f

    def globals(self) -> dict[str, wasmtime.Global]:
        """The exported globals by name."""
        return dict(self._globals)

    def _int(self, name: str, *args: int) -> int:
        result = self._run(partial(self._f[name], self._store, *args))
        assert isinstance(result, int)
        return result

    def _void(self, name: str, *args: int) -> None:
        self._run(partial(self._f[name], self._store, *args))

    # --- start-up and memory
    def initialize(self) -> None:
        self._void("_initialize")

    def allocate_bytes(self, n: int) -> int:
        return self._int("allocateBytes", n)

    def free_bytes(self, ptr: int) -> None:
        self._void("freeBytes", ptr)

    # --- the seed's interface
    def parse(self, text: int) -> int:
        return self._int("parse", text)

    def eval(self, program: int, heap_size: int) -> None:
        self._void("eval", program, heap_size)

    def jit_module(self) -> int:
        return self._int("jitModule")

    def module_data(self, module: int) -> int:
        return self._int("moduleData", module)

    def module_size(self, module: int) -> int:
        return self._int("moduleSize", module)

    def free_module(self, module: int) -> None:
        self._void("freeModule", module)

    # --- the debugger's interface
    def read(self, text: int, length: int) -> int:
        return self._int("dbg_read", text, length)

    def compile_form(self, k: int) -> int:
        return self._int("dbg_compile_form", k)

    def run_form(self, top: int) -> int:
        return self._int("dbg_run_form", top)

    def error(self) -> int:
        return self._int("dbg_error")

    def reset(self) -> None:
        self._void("dbg_reset")

    def func_count(self) -> int:
        return self._int("dbg_func_count")

    def func(self, i: int) -> int:
        return self._int("dbg_func", i)

    def jit(self, ids: int, n: int) -> int:
        return self._int("dbg_jit", ids, n)

    def discard(self, module: int) -> None:
        self._void("dbg_discard", module)

    def unlink(self, function_id: int) -> None:
        self._void("dbg_unlink", function_id)

    def tierup_failed(self, function_id: int) -> None:
        self._void("dbg_tierup_failed", function_id)

    def set_tierup(self, slot: int, threshold: int) -> None:
        self._void("dbg_set_tierup", slot, threshold)

    def heap(self) -> int:
        return self._int("dbg_heap")

    def collect(self) -> None:
        self._void("dbg_collect")

    def scrub(self) -> int:
        return self._int("dbg_scrub")

    def set_heap_limit(self, max_bytes: int) -> None:
        self._void("dbg_set_heap_limit", max_bytes)

    def stack_depth(self) -> int:
        return self._int("dbg_stack_depth")

    def exits(self) -> int:
        return self._int("dbg_exits")

    def state(self) -> int:
        return self._int("dbg_state")

    def layout(self) -> int:
        return self._int("dbg_layout")

    def prelude(self) -> int:
        return self._int("dbg_prelude")

    def set_breaks(self, slot: int, armed: int) -> None:
        self._void("dbg_set_breaks", slot, armed)

    def write(self, value: int, limit: int) -> int:
        """The printed value's C string: ``value`` is a Value's 64-bit word (signed for wasm)."""
        signed = value - (1 << 64) if value >= 1 << 63 else value
        return self._int("dbg_write", signed, limit)
