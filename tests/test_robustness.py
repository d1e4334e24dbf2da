"""Nothing the user types or loads breaks the session."""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import wasmtime
from hypothesis import given, settings
from hypothesis import strategies as st

from jitscope.runtime.session import (
    BUNDLED_WASM,
    MAX_MODULE_BYTES,
    ModuleLoadError,
    Session,
    Stage,
)
from jitscope.runtime.stdio import OUTPUT_LIMIT, OutputCapture
from jitscope.wasm import tools
from tests.conftest import values


def test_thousands_of_traps_leave_memory_and_stacks_bounded(session):
    session.eval("(define (f x) (car x)) (define (g x) (+ x 'a)) (define keep (list 1 2 3))")
    session.jit(["f"])
    session.eval("(g 1)")  # g stays interpreted
    sp = session._stack_pointer.value(session.store)
    for _ in range(300):  # warm-up: first-time allocations
        session.eval("(f 1)")
        session.eval("(g 1)")
    memory = session.memory_bytes()
    for _ in range(2000):
        assert session.eval("(f 1)")[-1].error.kind == "type"
        assert session.eval("(g 1)")[-1].error.kind == "type"
        assert session.eval("(f (f (f 7)))")[-1].error.kind == "type"
    assert session.memory_bytes() == memory
    assert session.stack_depth() == 0
    assert session._stack_pointer.value(session.store) == sp
    assert values(session, "(f keep) (cdr keep)") == ["1", "(2 3)"]


def test_an_infinite_loop_hits_the_time_limit_and_the_session_carries_on():
    with Session(time_limit=0.3) as s:
        s.eval("(define (spin) (spin)) (define (sq x) (* x x))")
        start = time.perf_counter()
        [r] = s.eval("(spin)")
        assert r.error.kind == "timeout" and r.text == "time limit of 0.3 s exceeded"
        assert time.perf_counter() - start < 5
        s.jit(["spin"])
        [r] = s.eval("(spin)")
        assert r.error.kind == "timeout"
        assert values(s, "(sq 7)") == ["49"]


def test_interrupt_from_another_thread():
    import threading

    with Session(time_limit=None) as s:
        s.eval("(define (spin n) (spin (+ n 1)))")
        threading.Timer(0.2, s.interrupt).start()
        [r] = s.eval("(spin 0)")
        assert (r.error.kind, r.text) == ("interrupted", "interrupted")
        assert values(s, "(+ 1 2)") == ["3"]


def start_repl() -> subprocess.Popen[str]:
    """``jitscope repl`` in a child with pipes on all three streams."""
    return subprocess.Popen(
        [sys.executable, "-m", "jitscope", "repl"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_spinning(pid: int) -> None:
    """Until the process burns CPU (user time grows by 30 ms in 100 ms): it is evaluating."""

    def user_ticks() -> int:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[11])

    deadline = time.monotonic() + 60
    last = user_ticks()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = user_ticks()
        if now - last >= 3:
            return
        last = now
    raise AssertionError("the REPL never started evaluating")


def test_ctrl_c_in_the_repl_ends_the_evaluation_not_the_process():
    p = start_repl()
    assert p.stdin is not None and p.stdout is not None
    p.stdin.write("(define (spin) (spin))\n(+ 1 1)\n")
    p.stdin.flush()
    assert p.stdout.readline() == "2\n"  # the REPL is up and evaluating
    p.stdin.write("(spin)\n")
    p.stdin.flush()
    wait_until_spinning(p.pid)  # a Ctrl-C while the line is still being read would drop it
    line = ""
    deadline = time.monotonic() + 60
    while not line.strip() and time.monotonic() < deadline:
        p.send_signal(signal.SIGINT)
        if select.select([p.stdout], [], [], 0.5)[0]:
            line = p.stdout.readline()
    assert line == "error: interrupted\n"
    out, err = p.communicate("(+ 40 2)\n", timeout=60)
    assert out.strip("\n") == "42" and "Traceback" not in err
    assert p.returncode == 0


def test_heap_exhaustion_is_an_error_and_the_heap_recovers(session):
    session.set_heap_limit(16 << 20)
    session.eval("(define (grow l) (grow (cons 1 l))) (define keep '(a b))")
    [r] = session.eval("(grow '())")
    assert r.error.kind == "heap" and "heap exhausted" in r.text
    session.jit(["grow"])
    [r] = session.eval("(grow '())")
    assert r.error.kind == "heap"
    session.collect()
    assert session.heap_stats()["live_bytes"] < 1 << 20
    assert values(session, "keep (cons 0 keep)") == ["(a b)", "(0 a b)"]


def test_huge_input_and_bad_bytes(session):
    big = "(define big '(" + " ".join(str(i) for i in range(150_000)) + "))"
    assert len(big) > 900_000
    [r] = session.eval(big)
    assert r.kind == "definition"
    [r] = session.eval(b'(display "caf\xe9")')
    assert (r.error.kind, r.error.line, r.error.col) == ("read", 1, 14)
    assert r.error.message == "invalid UTF-8 byte 0xe9"
    [r] = session.eval("(+ 1 " * 20_000 + "0" + ")" * 20_000)
    assert r.error.kind in ("stack", "read")
    [r] = session.eval("(" * 20_000)
    assert r.error.kind == "read"
    assert values(session, "(car big)") == ["0"]


def test_a_table_that_cannot_grow_fails_the_link_and_leaves_code_interpreted(session):
    session.eval("(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2))))) (fib 10)")
    session.store.set_limits(table_elements=session.table.size(session.store))
    mod = session.generate()
    session.step(mod)
    session.step(mod)
    with pytest.raises(Exception, match="the function table cannot grow"):
        session.step(mod)
    assert mod.stage is Stage.FAILED
    assert session.function("fib").state == "candidate"
    assert values(session, "(fib 15)") == ["610"]


def test_a_module_whose_imports_cannot_be_satisfied(tmp_path):
    wat = (
        '(module (import "env" "nope" (func)) (memory (export "memory") 1) '
        '(table (export "__indirect_function_table") 1 funcref) '
        '(func (export "parse") (param i32) (result i32) i32.const 0) '
        '(func (export "eval") (param i32 i32)) '
        '(func (export "allocateBytes") (param i32) (result i32) i32.const 0))'
    )
    path = tmp_path / "imports.wasm"
    path.write_bytes(wasmtime.wat2wasm(wat))
    with pytest.raises(ModuleLoadError, match="cannot be instantiated"):
        Session(path)
    path.write_bytes(
        wasmtime.wat2wasm(
            '(module (memory (export "memory") 1) '
            '(table (export "__indirect_function_table") 1 funcref))'
        )
    )
    with pytest.raises(ModuleLoadError, match="neither the debugger interface"):
        Session(path)


EVAL_AND_ALLOCATE = (
    '(func (export "eval") (param i32 i32)) '
    '(func (export "allocateBytes") (param i32) (result i32) i32.const 0)'
)


@pytest.mark.parametrize(
    "exports, problem",
    [
        (
            f'(func (export "parse")) {EVAL_AND_ALLOCATE}',
            r"exports parse with type \(\) -> \(\), expected \(i32\) -> \(i32\)",
        ),
        (
            f'(global (export "parse") i32 (i32.const 0)) {EVAL_AND_ALLOCATE}',
            "exports parse as a global, not a function",
        ),
        (
            '(func (export "dbg_read") (param i32 i32) (result i32) i32.const 0)',
            "does not export dbg_compile_form, which its interface needs",
        ),
    ],
)
def test_exports_of_the_wrong_kind_or_type_are_refused_at_load_by_name(tmp_path, exports, problem):
    path = tmp_path / "wrong.wasm"
    path.write_bytes(
        wasmtime.wat2wasm(
            '(module (memory (export "memory") 1) '
            f'(table (export "__indirect_function_table") 1 funcref) {exports})'
        )
    )
    with pytest.raises(ModuleLoadError, match=problem):
        Session(path)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(alphabet="()[]'`,@#\\\";| \n\tabcx01-+.tf", max_size=60),
        st.binary(max_size=40),
    )
)
def test_the_reader_survives_anything(text):
    with Session() as s:
        results = s.eval(text)
        assert all(r.kind in ("value", "definition", "void", "error") for r in results)
        if results and results[-1].kind == "error":
            assert results[-1].error.kind != "trap", results[-1].text
        assert values(s, "(+ 1 2)") == ["3"]


def test_an_interrupt_before_the_evaluation_starts_is_not_lost():
    with Session(time_limit=None) as s:
        s.eval("(define (spin) (spin))")
        s.interrupt()  # as a Ctrl-C that lands before the wasm call does
        [r] = s.eval("(spin)")
        assert (r.error.kind, r.text) == ("interrupted", "interrupted")
        assert values(s, "(+ 1 2)") == ["3"]  # and it is spent: the next evaluation runs


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.5])
def test_ctrl_c_during_start_up_is_one_line_not_a_traceback(delay):
    p = start_repl()
    time.sleep(delay)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate("", timeout=60)
    assert "Traceback" not in err
    assert p.returncode in (0, 130, -signal.SIGINT)


def test_ctrl_c_during_jit_in_the_repl_cancels_it_and_the_session_goes_on():
    n = 2000  # enough functions that generating and compiling them takes seconds
    p = start_repl()
    assert p.stdin is not None and p.stdout is not None
    p.stdin.write("".join(f"(define (f{i} x) (+ x {i}))\n(f{i} 1)\n" for i in range(n)))
    p.stdin.write(",jit\n")
    p.stdin.flush()
    for _ in range(n):  # the values: the REPL then reads ,jit
        p.stdout.readline()
    wait_until_spinning(p.pid)
    p.send_signal(signal.SIGINT)
    p.stdin.write("(f3 1)\n,quit\n")
    p.stdin.close()
    out = p.stdout.read()
    assert p.wait(timeout=60) == 0
    first, value = out.splitlines()
    assert first.startswith("jit: cancelled before module 1 was linked: discarded, f0, f1")
    assert first.endswith("and 1,995 more stay interpreted") and value == "4"


def test_output_without_end_keeps_a_bounded_tail_and_says_what_it_elided():
    with Session(time_limit=1) as s:
        [r] = s.eval('(let loop () (display "xxxxxxxxxx") (loop))')
        assert r.kind == "error" and "time limit" in r.text
        head, tail = r.output.split("\n", 1)
        assert head.startswith("[") and "of output elided: the last 1.0 MB follow]" in head
        assert tail == "x" * len(tail) and len(tail) == OUTPUT_LIMIT
        [r] = s.eval('(begin (display "hi") 5)')  # the next form has only its own output
        assert (r.text, r.output) == ("5", "hi")


def test_output_capture_keeps_the_last_bytes_in_order():
    capture = OutputCapture(limit=10)
    for i in range(100):
        capture.write(str(i % 10).encode())
    assert capture.take() == "[90 bytes of output elided: the last 10 bytes follow]\n0123456789"
    capture.write(b"ab")
    assert capture.take() == "ab"


def test_a_session_leaves_no_file_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with Session() as s:
        s.eval('(display "out")')
        assert list(tmp_path.iterdir()) == []


SEED_EXPORTS = (
    '(memory (export "memory") 1) (table (export "__indirect_function_table") 1 funcref) '
    '(func (export "parse") (param i32) (result i32) i32.const 0) '
    '(func (export "eval") (param i32 i32)) '
    '(func (export "allocateBytes") (param i32) (result i32) i32.const 1024)'
)


@pytest.mark.parametrize(
    "body, problem",
    [
        (
            "(func $spin (loop (br 0))) (start $spin)",
            "still instantiating after the time limit of 0.5 s",
        ),
        (
            '(func (export "_initialize") (loop (br 0)))',
            "still initialising after the time limit of 0.5 s",
        ),
        ('(func (export "_initialize") unreachable)', "traps while initialising: "),
    ],
)
def test_start_up_runs_under_the_time_limit(tmp_path, body, problem):
    path = tmp_path / "start.wasm"
    path.write_bytes(wasmtime.wat2wasm(f"(module {SEED_EXPORTS} {body})"))
    with pytest.raises(ModuleLoadError) as e:
        Session(path, time_limit=0.5)
    assert e.value.problem.startswith(problem)


def test_ctrl_c_during_a_start_function_that_loops_is_one_line_and_status_130(tmp_path):
    path = tmp_path / "spin.wasm"
    path.write_bytes(
        wasmtime.wat2wasm(f"(module {SEED_EXPORTS} (func $s (loop (br 0))) (start $s))")
    )
    p = subprocess.Popen(
        [sys.executable, "-m", "jitscope", "run", "--wasm", str(path), "never-read.scm"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until_spinning(p.pid)
    time.sleep(1.0)  # past imports and compiling: inside the start function, which never ends
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)  # well before the 60 s time limit would end it
    assert (p.returncode, err) == (130, "jitscope: interrupted\n")


@pytest.mark.parametrize("make", ["fifo", "device", "huge"])
def test_a_file_that_is_not_a_module_file_is_refused_without_reading_it(tmp_path, make):
    path = tmp_path / "m.wasm"
    if make == "fifo":
        os.mkfifo(path)
        expected = "is a FIFO, not a wasm module file"
    elif make == "device":
        path = Path("/dev/zero")
        expected = "is a character device, not a wasm module file"
    else:
        with open(path, "wb") as f:
            f.truncate(MAX_MODULE_BYTES + 1)  # sparse: no disk used
        expected = "MB: more than a module may be"
    with pytest.raises(ModuleLoadError, match=expected):
        Session(path)


def test_generated_modules_are_one_line_errors_never_a_traceback_or_a_hang(tmp_path):
    # wasm-tools smith turns random bytes into valid modules with the exports of the seed's
    # interface or of interplib.wasm, and random code behind them: start functions that loop,
    # initialisers that trap, allocators that return nonsense.
    seed_shape = tmp_path / "seed-shape.wasm"
    seed_shape.write_bytes(
        wasmtime.wat2wasm(f'(module {SEED_EXPORTS} (func (export "_initialize")))')
    )
    rng = random.Random(11)
    for i in range(60):
        path = tmp_path / f"smith{i}.wasm"
        shape = seed_shape if i % 2 else BUNDLED_WASM
        subprocess.run(
            [str(tools.wasm_tools()), "smith", "--exports", str(shape), "-o", str(path)],
            input=rng.randbytes(rng.randrange(64, 4096)),
            check=True,
            capture_output=True,
        )
        try:
            with Session(path, time_limit=0.3) as s:
                [r] = s.eval("(+ 1 2)")  # what loads also evaluates, or says why not
                assert r.kind in ("value", "error") and "\n" not in r.text
        except ModuleLoadError as e:
            assert e.problem and "\n" not in e.problem


def test_a_corrupt_name_section_is_a_warning_and_the_module_still_runs(tmp_path):
    wasm = wasmtime.wat2wasm(f"(module {SEED_EXPORTS})")
    payload = b"\x04name" + b"\x01\xff\xff\xff\xff\xff\xff"  # subsection 1, a runaway LEB128
    path = tmp_path / "names.wasm"
    path.write_bytes(bytes(wasm) + b"\x00" + bytes([len(payload)]) + payload)
    with Session(path) as s:
        [warning] = s.warnings
        assert warning.startswith("its name section is corrupt (")
        assert warning.endswith("): functions are shown by index")
        assert s.eval("1")[0].kind == "value"
    program = tmp_path / "one.scm"
    program.write_text("1\n")
    p = subprocess.run(
        [sys.executable, "-m", "jitscope", "run", "--wasm", str(path), str(program)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert p.stderr == f"jitscope: {path}: warning: {warning}\n"
