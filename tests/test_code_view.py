"""The code view: a JIT function's Scheme source, the wasm it became (through the module's
jitscope.srcmap) and the x86-64 Cranelift made of it (through wasmtime's address map)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from jitscope.cli.repl import Repl
from jitscope.debugger.code import code_listing
from jitscope.runtime.native import (
    native_code,
    parse_address_map,
    parse_trap_map,
    read_image,
)
from jitscope.runtime.session import Session
from jitscope.runtime.sites import trap_kind

GOLDEN = Path(__file__).parent / "golden"
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
    # Every wasm offset the address map gives lies inside fib's body.
    from jitscope.wasm.module import ParsedModule

    parsed = ParsedModule.parse(mod.data, "jit")
    start, end = parsed.bodies[0]
    assert offsets and all(parsed.code_at + start <= o < parsed.code_at + end for o in offsets), (
        parsed.code_at + start,
        parsed.code_at + end,
        min(offsets),
        max(offsets),
    )
    assert len(offsets) > len(fib.instructions) // 2  # most code has a wasm position
    # Its recursive calls are direct x86 calls to itself, named from the symbol table.
    assert sum(i.target == "wasm[0]::function[0]::fib" for i in fib.instructions) == 2


def test_the_listing_puts_fibs_recursive_calls_and_counter_under_their_wasm(fib_session):
    listing = code_listing(fib_session, "fib")
    lines = [line.text for line in listing.lines]
    levels = [line.level for line in listing.lines]
    calls = [k for k, line in enumerate(lines) if line.strip() == "call $fib"]
    assert len(calls) == 2
    for k, expr in zip(calls, ["(fib (- n 1))", "(fib (- n 2))"], strict=True):
        # The Scheme line of the call comes before its wasm, with no other Scheme in between.
        scheme = max(j for j in range(k) if levels[j] == "scheme")
        assert lines[scheme].endswith(expr), lines[scheme]
        native = []  # the x86 call follows its wasm line (after any moves of its own)
        for line in lines[k + 1 :]:
            if "│" not in line:
                break
            native.append(line)
        assert any(line.endswith("; wasm[0]::function[0]::fib") for line in native), native
    # The JIT-calls counter update (load, add 1, store) is one x86 add to memory, under the
    # whole function's Scheme line.
    k = next(
        k
        for k in range(len(lines) - 3)
        if [x.strip() for x in lines[k : k + 3]]
        == ["i64.const 1", "i64.add", "i64.store offset=24"]
    )
    assert re.search(
        r"│\s+[0-9a-f]+  add qword ptr \[.*\], 1  ; trap: memory out of bounds$", lines[k + 3]
    )
    scheme = max(j for j in range(k) if levels[j] == "scheme")
    assert lines[scheme] == "▸ 1:1  " + FIB.split(" (fib 10)")[0]
    wasm_only = code_listing(fib_session, "fib", native=False)
    assert not any(line.level == "x86" for line in wasm_only.lines)
    assert [k.text for k in wasm_only.lines] == [k.text for k in listing.lines if k.level != "x86"]
    m = listing.metrics
    assert m.native_instructions == sum(level == "x86" for level in levels)
    assert m.wasm_calls >= 2 and m.native_calls >= 2 and m.variables_in_locals == ("n",)


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
    body = [line for line in text[1:-2] if not line.startswith(";;")]
    assert all("│" in line or "▸" in line for line in body)
    assert any("▸" in line for line in body)
    assert text[-2:] == [
        "error: usage: ,code NAME [--wasm-only | --native-only] [--stack] [--offsets] [--diff [N]]",
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


def test_a_resumed_snapshot_shows_the_same_source_map(fib_session, tmp_path):
    from jitscope.runtime.snapshot import write_snapshot

    live = code_listing(fib_session, "fib")
    write_snapshot(fib_session, tmp_path / "fib.wasm")
    with Session(tmp_path / "fib.wasm") as t:
        baked = code_listing(t, "fib")
        count = live.metrics.wasm_instructions
        assert baked.head.startswith(f"fib in fib.wasm (baked in from module 1): {count} wasm")
        assert baked.notice == ""

        def scheme(listing):
            return [(k.text, k.span) for k in listing.lines if k.level == "scheme"]

        def ops(listing):  # function and type indices are renumbered in the snapshot
            return [
                re.sub(r"\(;?\d+;?\)|\d+\)", "N", k.text)
                for k in listing.lines
                if k.level == "wasm"
            ]

        assert scheme(baked) == scheme(live) and len(scheme(live)) > 10
        assert ops(baked) == ops(live)
        # A snapshot of the snapshot keeps the map (its functions stay where they were).
        write_snapshot(t, tmp_path / "again.wasm")
    with Session(tmp_path / "again.wasm") as u:
        assert scheme(code_listing(u, "fib")) == scheme(live)


def test_a_corrupt_trap_map_is_an_error():
    with pytest.raises(ValueError):
        list(parse_trap_map(b"\x02\x00\x00\x00\x01\x00\x00\x00" + bytes(8) + b"\x01\x00"))
    # One block at native offset 0x10: default code 1, an entry there, one 4 bytes on with
    # its own code 9.
    body = b"\x01\x00\x09\x09"
    assert list(parse_trap_map(b"\x02\x00\x00\x00\x01\x00\x00\x00\x10\0\0\0\0\0\0\0" + body)) == [
        (0x10, 1),
        (0x14, 9),
    ]
    assert trap_kind(1) == "memory out of bounds" and trap_kind(250) == "trap code 250"


def _corrupt(image: bytes, section: str) -> bytes:
    """``image`` with ``section``'s content overwritten by a header claiming 2**32-1 blocks."""
    elf = ELFFile(io.BytesIO(image))
    s = elf.get_section_by_name(section)
    at, size = s["sh_offset"], s["sh_size"]
    garbage = (b"\xff" * 8 + bytes(size))[:size]
    return image[:at] + garbage + image[at + size :]


def test_corrupt_native_sections_leave_the_plain_disassembly_with_a_notice(fib_session):
    image = bytes(fib_session.modules[-1].module.serialize())
    whole = read_image(image)
    assert whole.notice == ""
    for section, lost in [(".wasmtime.addrmap", "wasm_offset"), (".wasmtime.traps", "trap")]:
        code = read_image(_corrupt(image, section))
        assert code.notice.startswith(f"{section} could not be read"), code.notice
        fib, before = code.functions[0], whole.functions[0]
        assert [i.mnemonic for i in fib.instructions] == [i.mnemonic for i in before.instructions]
        assert not any(getattr(i, lost) for i in fib.instructions)
        assert any(getattr(i, lost) for i in before.instructions)


def test_every_trap_site_is_an_instruction_and_fib_traps_where_wasm_can(fib_session):
    code = native_code(fib_session.modules[-1].module)
    fib = code.functions[0]
    kinds = {i.trap for i in fib.instructions if i.trap}
    # Memory accesses, the table-checked indirect calls, the epoch/stack checks and the
    # JIT's own `unreachable` after a failed call to the error handler.
    assert {"memory out of bounds", "stack overflow", "unreachable"} <= kinds
    for i in fib.instructions:
        if i.trap == "unreachable" or i.trap == "stack overflow":
            assert i.mnemonic == "ud2"


CLOSURES = """(define (make-counter step)
  (let ((count 0))
    (lambda ()
      (set! count (+ count step))
      count)))
(define c (make-counter 2))
(c) (c)"""


@pytest.mark.parametrize("name", ["fib", "counter"])
def test_golden_listing(fib_session, name):
    # The whole listing is the expectation, as for the golden WAT (tests/test_repl.py):
    # addresses into the main module are redacted; after rebuilding interp.cc, look at the
    # diff and re-bless with JITSCOPE_BLESS=1.
    if name == "fib":
        listing = code_listing(fib_session, "fib")
    else:
        with Session() as s:
            s.eval(CLOSURES, name="counter.scm")
            s.jit()
            counter = next(f for f in s.functions() if f.name == "lambda" and f.line == 3)
            listing = code_listing(s, counter.id)
    text = listing.redacted().text()
    expected = GOLDEN / f"{name}.code"
    if os.environ.get("JITSCOPE_BLESS"):
        expected.write_text(text)
    assert text == expected.read_text()


def test_a_trap_in_jit_code_names_its_wasm_offset_wat_line_and_scheme_position():
    import struct

    from jitscope.wasm.tools import print_wat

    with Session() as s:
        s.eval("(define bad (cons 1 2))\n(define (first-of) (car bad))\n(first-of)", name="t.scm")
        mod = s.jit(["first-of"])
        wat = print_wat(mod.data)
        body = wat[wat.index("(func $first-of") :]
        # The global cell of `bad`, as the JIT embedded it: forge a pair out of memory.
        cell = int(re.search(r"i32\.const (\d+)\s+i64\.load\n", body).group(1))
        s.memory.write(s.store, struct.pack("<Q", 0xFFFFFFF1), cell)
        [r] = s.eval("(first-of)")
        m = re.fullmatch(
            r"wasm trap: memory out of bounds in JIT code: first-of in module 1, wasm offset "
            r"0x([0-9a-f]+) \(WAT line (\d+): (.*)\), from t\.scm:2:20 \(car bad\)",
            r.text,
        )
        assert m, r.text
        lines = wat.splitlines()
        assert lines[int(m.group(2)) - 1].strip() == m.group(3)
        offsets = print_wat(mod.data, offsets=True).splitlines()[int(m.group(2)) - 1]
        assert offsets.startswith(f"(;@{m.group(1)} ")
        # The session, its definitions and the linked JIT code carry on.
        [_, again] = s.eval("(define bad (cons 3 4)) (first-of)")
        assert again.text == "3" and s.function("first-of").jit_calls >= 1


def test_code_shows_stack_and_offsets_and_diffs_generations():
    out = io.StringIO()
    with Session() as s:
        Repl(s, out, prompt=False).run(
            io.StringIO(
                "(define (f x) (+ x 1))\n(f 1)\n,jit f\n,code f --diff\n"
                ",code f --wasm-only --stack --offsets\n"
                "(define (f x) (* x 2))\n(f 1)\n,jit f\n,code f --diff\n,code f --diff 9\n"
            )
        )
    text = out.getvalue()
    assert "error: f has one generation (module 1): redefine it or JIT it again" in text
    # --offsets puts each wasm instruction's byte offset in front, --stack its stack after.
    assert re.search(r"^@[0-9a-f]+ +i64\.add +;; \[i32 i64\]$", text, re.MULTILINE), text
    diff = text[text.index(";; f: module 1 → module 2") :]
    assert "--- f in module 1\n+++ f in module 2\n" in diff
    assert "-  ▸ 1:15  (+ x 1)\n" in diff and "+  ▸ 1:15  (* x 2)\n" in diff
    assert "error: module 9 has no f (its modules: 1, 2)" in diff
