"""The code view: a JIT function's wasm with the x86-64 Cranelift made of it, joined through
wasmtime's address map."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from jitscope.cli.repl import Repl
from jitscope.debugger.code import code_listing
from jitscope.runtime.native import native_code, parse_address_map
from jitscope.runtime.session import Session

FIB = "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2))))) (fib 10)"


@pytest.fixture(scope="module")
def fib_session():
    with Session() as s:
        s.eval(FIB)
        s.jit(["fib"])
        yield s


def test_every_instruction_of_fib_maps_into_the_module(fib_session):
    mod = fib_session.modules[-1]
    code = native_code(mod.module)
    assert code.notice == ""
    fib = code.functions[0]
    assert fib.name == "fib" and fib.size > 0 and fib.instructions
    offsets = [i.wasm_offset for i in fib.instructions if i.wasm_offset is not None]
    assert offsets and all(0 < o < len(mod.data) for o in offsets)
    assert len(offsets) > len(fib.instructions) // 2  # most code has a wasm position
    # Its recursive calls are direct x86 calls to itself, named from the symbol table.
    assert sum(i.target == "wasm[0]::function[0]::fib" for i in fib.instructions) == 2


def test_the_listing_puts_fibs_recursive_calls_and_counter_under_their_wasm(fib_session):
    listing = code_listing(fib_session, "fib")
    lines = listing.lines
    calls = [k for k, line in enumerate(lines) if line.strip() == "call $fib"]
    assert len(calls) == 2
    for k in calls:  # the x86 call follows its wasm line (after any moves of its own)
        native = []
        for line in lines[k + 1 :]:
            if "│" not in line:
                break
            native.append(line)
        assert any(line.endswith("; wasm[0]::function[0]::fib") for line in native), native
    # The JIT-calls counter update (load, add 1, store) is one x86 add to memory.
    k = next(
        k
        for k in range(len(lines) - 3)
        if [x.strip() for x in lines[k : k + 3]]
        == ["i64.const 1", "i64.add", "i64.store offset=24"]
    )
    assert re.search(r"│\s+[0-9a-f]+  add qword ptr \[.*\], 1$", lines[k + 3])
    wasm_only = code_listing(fib_session, "fib", native=False)
    assert not any("│" in line for line in wasm_only.lines)
    assert len(wasm_only.lines) == sum("│" not in line for line in lines)


def test_a_corrupt_address_map_is_an_error_the_listing_survives():
    with pytest.raises(ValueError):
        list(parse_address_map(b"\x05\x00\x00\x00\x09\x00\x00\x00"))  # 9 blocks in 8 bytes
    entries = list(parse_address_map(b"\x01\x00\x00\x00\x01\x00\x00\x00" + bytes(8) + b"\x00\x05"))
    assert entries == [(0, 5)]


def test_repl_code_command(fib_session):
    out = io.StringIO()
    Repl(fib_session, out, prompt=False).run(
        io.StringIO(",code fib --native-only\n,code\n,code nope\n")
    )
    text = out.getvalue().splitlines()
    assert text[0].startswith(";; fib in module 1: ") and "x86-64 instructions" in text[0]
    assert all("│" in line for line in text[1:-2])
    assert text[-2:] == [
        "error: usage: ,code NAME [--wasm-only | --native-only]",
        "error: no function named nope",
    ]


def test_run_prints_the_code_view_of_the_functions_asked_for(tmp_path):
    program = tmp_path / "fib.scm"
    program.write_text(FIB + "\n")
    p = subprocess.run(
        [sys.executable, "-m", "jitscope", "run", "--jit", "eager", "--code", "fib", str(program)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = p.stdout.splitlines()
    assert out[0] == "55" and out[1].startswith(";; fib in module ")
    assert any(line.strip() == "call $fib" for line in out) and p.returncode == 0
    p = subprocess.run(
        [sys.executable, "-m", "jitscope", "run", "--code", "fib", str(program)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert p.returncode == 2 and p.stderr.startswith("jitscope: --code fib: fib has no JIT code")


def test_code_baked_into_a_snapshot_says_so(fib_session, tmp_path):
    from jitscope.runtime.snapshot import write_snapshot

    write_snapshot(fib_session, tmp_path / "fib.wasm")
    with (
        Session(tmp_path / "fib.wasm") as t,
        pytest.raises(ValueError, match=r"fib's JIT code is baked into fib.wasm \(a snapshot\)"),
    ):
        code_listing(t, "fib")
