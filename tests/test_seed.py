"""The seed's interface: a host written for the workbench's harness runs this module unchanged,
and a module with only that interface still works in the debugger where it can."""

from __future__ import annotations

import io
import re

import pytest
import wasmtime

from jitscope.cli.repl import Repl
from jitscope.cli.run import run_file
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


def test_each_seed_evaluation_shows_its_own_value_though_the_module_never_flushes(seed_only):
    # Its eval leaves "result: N" in stdio's buffer; the session's streams look like a
    # terminal to wasi-libc, so the line is flushed at its newline.
    with Session(seed_only) as s:
        for i in range(100):
            [r] = s.eval(f'(begin (display "x") (+ {i} 1))')
            assert (r.text, r.output) == (str(i + 1), "x"), i


def test_the_repl_says_what_a_seed_only_module_cannot_do_and_names_what_it_linked(seed_only):
    fib = " ".join(FIB.split())
    out = io.StringIO()
    with Session(seed_only) as s:
        Repl(s, out, prompt=False).run(
            io.StringIO(f"{fib}\n,gen\n,step\n,jit fib\n,jit\n,stats\n,patches\n{fib}\n")
        )
    lines = out.getvalue().splitlines()
    assert lines[0] == "10946"
    assert lines[1].startswith("error: generate: seedonly.wasm has only the seed's interface")
    assert lines[2].startswith("error: step: seedonly.wasm has only the seed's interface")
    assert lines[3].endswith(",jit takes no names here")
    assert re.fullmatch(r"module 1: fib \([\d,]+ bytes\) linked", lines[4])
    assert (
        lines[5] == "error: counting calls needs the debugger interface, which seedonly.wasm lacks"
    )
    assert lines[6].startswith("module 1 patched itself in when instantiated")
    assert lines[7] == "10946"


@pytest.mark.parametrize("jit", ["eager", "auto"])
def test_run_with_a_jit_mode_a_seed_only_module_lacks_is_one_line_and_status_2(
    seed_only, tmp_path, capsys, jit
):
    program = tmp_path / "p.scm"
    program.write_text("(+ 1 2)\n")
    with Session(seed_only) as s:
        assert run_file(s, program, jit, 10, io.StringIO()) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{jit} JIT needs the debugger interface" in err
