"""The seed's interface: a host written for the workbench's harness runs this module unchanged,
and a module with only that interface still works in the debugger where it can."""

from __future__ import annotations

import pytest
import wasmtime

from jitscope.buildwasm import build_wasm
from jitscope.runtime.session import BUNDLED_WASM, Session, Stage, Unsupported

FIB = """
(letrec ((fib (lambda (n)
               (if (< n 2)
                   1
                   (+ (fib (- n 1))
                      (fib (- n 2)))))))
  (fib 20))
"""


def test_a_seed_host_runs_the_module_and_sees_jit_dispatch(tmp_path):
    # What the seed's interp.py does, with wasmtime's current API.
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    wasi = wasmtime.WasiConfig()
    out = tmp_path / "stdout"
    wasi.stdout_file = str(out)
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()

    def throw_error():
        raise RuntimeError("error")

    linker.define_func("env", "throw_error", wasmtime.FuncType([], []), throw_error)
    lib = linker.instantiate(store, wasmtime.Module.from_file(engine, str(BUNDLED_WASM)))
    ex = lib.exports(store)
    ex["_initialize"](store)
    memory = ex["memory"]

    def write_string(s: str) -> int:
        data = s.encode() + b"\0"
        ptr = ex["allocateBytes"](store, len(data))
        memory.write(store, data, ptr)
        return ptr

    ptr = write_string(FIB)
    expr = ex["parse"](store, ptr)
    ex["freeBytes"](store, ptr)
    for _ in range(2):
        ex["eval"](store, expr, 1024 * 1024)

    module_ptr = ex["jitModule"](store)
    assert module_ptr != 0
    data = memory.read(
        store,
        ex["moduleData"](store, module_ptr),
        ex["moduleData"](store, module_ptr) + ex["moduleSize"](store, module_ptr),
    )
    ex["freeModule"](store, module_ptr)
    jit = wasmtime.Module(engine, bytes(data))
    assert [(i.module, i.name) for i in jit.imports] == [
        ("env", "memory"),
        ("env", "__indirect_function_table"),
    ]
    linker.define(store, "env", "memory", memory)
    linker.define(store, "env", "__indirect_function_table", ex["__indirect_function_table"])
    table_before = ex["__indirect_function_table"].size(store)
    linker.instantiate(store, jit)  # patches itself in
    assert ex["__indirect_function_table"].size(store) == table_before + 1
    assert ex["jitModule"](store) == 0  # nothing left to compile

    ex["eval"](store, expr, 1024 * 1024)
    assert out.read_text().splitlines() == ["result: 10946"] * 3
    # The debugger interface of the same instance shows where the calls went (fib is the
    # last function: the prelude's library functions come first).
    func = ex["dbg_func"](store, ex["dbg_func_count"](store) - 1)
    interp_calls, jit_calls = (
        int.from_bytes(memory.read(store, func + o, func + o + 8), "little") for o in (16, 24)
    )
    assert (interp_calls, jit_calls) == (2 * 21891, 21891)


def test_a_seed_host_sees_a_scheme_error_as_its_exception():
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    store.set_wasi(wasmtime.WasiConfig())
    linker = wasmtime.Linker(engine)
    linker.define_wasi()

    class SchemeError(Exception):
        pass

    def throw_error():
        raise SchemeError

    linker.define_func("env", "throw_error", wasmtime.FuncType([], []), throw_error)
    ex = linker.instantiate(store, wasmtime.Module.from_file(engine, str(BUNDLED_WASM))).exports(
        store
    )
    ex["_initialize"](store)
    data = b"(car 1)\0"
    ptr = ex["allocateBytes"](store, len(data))
    ex["memory"].write(store, data, ptr)
    with pytest.raises(SchemeError):
        ex["eval"](store, ex["parse"](store, ptr), 1 << 20)


@pytest.fixture(scope="module")
def seed_only(tmp_path_factory):
    out = tmp_path_factory.mktemp("seed") / "seedonly.wasm"
    return build_wasm(out=out, extra_flags=["-DJITSCOPE_SEED_ONLY"])


def test_a_seed_only_module_still_evaluates_jits_and_shows_the_table(seed_only):
    with Session(seed_only) as s:
        assert not s.debugger
        [r] = s.eval(FIB)
        assert (r.kind, r.text) == ("value", "10946")
        [r] = s.eval("(car 1)")
        assert r.kind == "error" and "debugger interface" in r.text
        assert s.functions() == []
        with pytest.raises(Unsupported):
            s.generate()
        mod = s.jit()
        assert mod.stage is Stage.LINKED
        [slot] = [t for t in s.table_slots() if t.grown]
        assert (slot.name, slot.owner) == ("fib", "jit 1")
        [r] = s.eval(FIB)
        assert r.text == "10946"
