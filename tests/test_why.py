"""Why calls ran interpreted, and how JIT code left its fast path: each counter driven by a
program that produces exactly that reason or exit."""

from __future__ import annotations

import io

import pytest

from jitscope.cli.repl import Repl
from jitscope.runtime.session import Session

FIB = "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))"


def nonzero(reasons: dict[str, int]) -> dict[str, int]:
    return {r: n for r, n in reasons.items() if n}


def test_each_reason_counts_exactly_its_calls():
    with Session() as s:
        s.eval(FIB + " (fib 10)")  # 177 calls, never compiled
        assert nonzero(s.interp_reasons("fib")) == {"not compiled": 177}
        mod = s.generate(["fib"])
        s.eval("(fib 5)")  # 15 calls while its module waits to be linked
        assert nonzero(s.interp_reasons("fib")) == {"not compiled": 177, "compiled, not linked": 15}
        s.link(mod)
        s.eval("(fib 5)")  # JIT code: no interpreted call
        s.unlink("fib")
        s.eval("(fib 4)")  # 9 calls after unlinking
        reasons = s.interp_reasons("fib")
        assert nonzero(reasons) == {
            "not compiled": 177,
            "compiled, not linked": 15,
            "unlinked": 9,
        }
        assert sum(reasons.values()) == s.function("fib").interp_calls == 201
        assert s.function("fib").jit_calls == 15


def test_a_failed_tier_up_is_its_own_reason_and_the_call_that_tiers_up_counts_once():
    with Session() as s:
        s.eval(FIB)
        s.set_auto_jit(10)
        s.store.set_limits(table_elements=s.table.size(s.store))  # linking will fail
        s.eval("(fib 10)")
        # 10 interpreted calls reach the threshold; the 11th tries to tier up, fails, and it
        # and the rest run interpreted, never asked again.
        assert nonzero(s.interp_reasons("fib")) == {"not compiled": 10, "tier-up failed": 167}
    with Session() as s:
        s.eval(FIB)
        s.set_auto_jit(10)
        s.eval("(fib 10)")
        f = s.function("fib")
        # The 11th call links fib and runs as JIT code: 10 + 167 = 177 calls, each counted once.
        assert (f.interp_calls, f.jit_calls) == (10, 167)
        assert nonzero(s.interp_reasons("fib")) == {"not compiled": 10}


def test_each_exit_kind_is_counted_where_it_happens():
    with Session() as s:
        s.eval(
            FIB
            + "\n(define (g x) (fib x))"
            + "\n(define (rest . xs) xs) (define (calls-rest) (rest 1 2))"
            + "\n(define (ap f x) (f x))"
            + "\n(define (first p) (car p))"
            + "\n(g 3) (calls-rest) (ap car '(1)) (first '(1))",
            name="exits.scm",
        )
        s.jit(["fib", "g", "rest", "calls-rest", "ap", "first"])
        assert s.exits() == []
        s.eval("(ap car '(1)) (ap car '(2))")  # a primitive as a value, twice
        s.eval("(calls-rest)")  # a closure whose rest parameter the call cannot pass straight
        s.eval("(first 5)")  # car of a number: an error raised in JIT code
        s.eval("(define (fib n) n) (g 5)")  # g's guard on fib fails; the new fib is interpreted
        exits = {e.kind: (e.count, e.where, e.first) for e in s.exits()}
        assert exits == {
            "primitive called as a value": (2, "exits.scm:4:18", 1),
            "call with an arity not taken straight": (1, "exits.scm:3:46", 2),
            "Scheme error raised": (1, "exits.scm:5:19", 3),
            "redefinition guard failed": (1, "exits.scm:2:15", 4),
            "call reached interpreted code": (1, "exits.scm:2:15", 5),
        }


def test_why_and_stats_in_the_repl():
    out = io.StringIO()
    with Session() as s:
        Repl(s, out, prompt=False).run(
            io.StringIO(
                f"{FIB}\n(fib 10)\n,jit fib\n(define (fib n) n)\n(fib 3)\n,why fib\n,stats\n,why x y\n"
            )
        )
    text = out.getvalue()
    assert "fib (<repl 3>:1:1-1:19): 1 interpreted calls, 0 through JIT code; now candidate" in text
    assert "  not compiled                      1\n" in text
    assert "a redefinition replaced the fib at <repl 1>:1:1-1:64, which had JIT code" in text
    assert "refusals: none; the JIT compiles every lambda" in text
    assert "interpreted: not compiled 177" in text
    assert "error: usage: ,why [NAME]" in text


@pytest.mark.parametrize("command", [",why fib", ",stats"])
def test_the_seed_module_has_no_reasons_to_give(seed_only, command):
    out = io.StringIO()
    with Session(seed_only) as s:
        Repl(s, out, prompt=False).run(io.StringIO(f"{FIB}\n(fib 5)\n{command}\n"))
    assert "error:" in out.getvalue() and "Traceback" not in out.getvalue()


def test_the_memory_inspector_shows_the_patch_write_fib_jitcode():
    from jitscope.debugger.memory import memory_words, resolve_address

    with Session() as s:
        s.eval(FIB + " (fib 5) (define p (list 7 8))")
        address = resolve_address(s, "fib.jitCode")
        assert address == s.function("fib").jit_code_address
        seen: dict[int, int] = {}
        [before] = memory_words(s, address, 1, seen)
        assert before.fields[0] == "fib.jitCode = 0 (interpreted)" and not before.changed
        mod = s.jit(["fib"])
        slot = s.read_u32(address)
        assert slot == mod.patches[0].after
        [after, nxt] = memory_words(s, address, 2, seen)
        assert after.changed and after.fields[0] == f"fib.jitCode = {slot} (table slot)"
        assert after.value & 0xFFFFFFFF == slot
        assert not nxt.changed  # read for the first time: nothing to compare with
        words = memory_words(s, resolve_address(s, "fib"), 8)
        named = "; ".join("; ".join(w.fields) for w in words)
        assert "fib.interpCalls = 15" in named and "→ 'fib'" in named
        for bad in ("nope", "fib.bogus", "0xffffffffff"):
            with pytest.raises(ValueError):
                resolve_address(s, bad)


def test_mem_in_the_repl_marks_what_a_patch_changed():
    out = io.StringIO()
    with Session() as s:
        Repl(s, out, prompt=False).run(
            io.StringIO(
                f"{FIB}\n(fib 5)\n,gen fib\n,mem fib.jitCode 1\n,link\n,mem fib.jitCode 1\n"
                ",mem\n,mem 0x10 x\n"
            )
        )
    lines = out.getvalue().splitlines()
    mem = [line for line in lines if "fib.jitCode =" in line]
    assert mem[0].startswith(" 0x") and "fib.jitCode = 0 (interpreted)" in mem[0]
    assert mem[1].startswith("*0x") and "(table slot)" in mem[1]
    assert lines[-2:] == ["error: usage: ,mem ADDRESS|NAME|NAME.field [WORDS]"] * 2
