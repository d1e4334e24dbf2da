"""Long sessions stay small: a closed Session gives its memory back (measured in a child
process, so the rest of the suite's garbage does not blur the figure)."""

from __future__ import annotations

import subprocess
import sys

CHILD = """
import gc
from jitscope.runtime.session import Session

def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 1e6

def one():
    with Session() as s:
        s.eval("(define (sq x) (* x x)) (sq 3)")
        s.set_auto_jit(5)  # the host tier-up hook in the table
        s.jit(["sq"])      # a JIT module linked
        assert s.eval("(sq 4)")[0].text == "16"

for _ in range(3):  # warm-up: the engine, the compiled main module, allocator pools
    one()
gc.collect()
before = rss_mb()
for _ in range(40):
    one()
gc.collect()
print((rss_mb() - before) / 40)
"""


def test_forty_closed_sessions_grow_rss_by_under_a_megabyte_each():
    p = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=300, check=True
    )
    per_session = float(p.stdout.strip())
    assert per_session < 1.0, f"each closed session kept {per_session:.2f} MB"


def test_discarded_and_linked_modules_give_their_bytes_back():
    from jitscope.runtime.session import Session

    with Session() as s:
        s.eval("(define (f x) (* x 2)) (define (g x) (+ (f x) 1)) (g 1)")
        for _ in range(20):  # warm-up: the allocator's pools
            s.discard(s.generate(["f", "g"]))
        before = s.memory_bytes()
        for _ in range(300):
            s.discard(s.generate(["f", "g"]))
        assert s.memory_bytes() <= before + 65536  # not a page more (320 KB more before)
        s.link(s.generate(["f", "g"]))
        assert s.eval("(g 20)")[0].text == "41"  # the linked code does not need them


CYCLES = """
import gc
from jitscope.runtime.session import Session

def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 1e6

with Session() as s:
    s.eval("(define (f x) (* x 2)) (define (g x) (+ (f x) 1)) (g 1)")

    def cycle():
        s.link(s.generate(["f", "g"]))
        assert s.eval("(g 3)")[0].text == "7"
        s.unlink("f")
        s.unlink("g")

    for _ in range(50):  # warm-up: allocator pools, wasmtime's first instances
        cycle()
    gc.collect()
    rss, wasm, table = rss_mb(), s.memory_bytes(), len(s.table_slots())
    for _ in range(500):
        cycle()
    gc.collect()
    print(rss_mb() / rss, s.memory_bytes() / wasm, len(s.table_slots()) - table)
"""


def test_five_hundred_link_unlink_cycles_leave_the_process_flat():
    # The same code generated again shares its first compile (a store keeps every instance's
    # code until it drops: ~36 KB a cycle before), and a linked module lets go of
    # wasmtime-py's wrappers of its helpers.
    p = subprocess.run(
        [sys.executable, "-c", CYCLES], capture_output=True, text=True, timeout=300, check=True
    )
    rss, wasm, table = p.stdout.split()
    assert float(rss) < 1.05, f"RSS grew by {100 * (float(rss) - 1):.1f}% over 500 cycles"
    assert float(wasm) == 1.0 and int(table) == 0  # dead slots are reused


def test_lambdas_nothing_can_call_are_freed_and_the_rest_still_run():
    from jitscope.runtime.session import Session

    failing = [
        "(define (h x) (lambda (y) (car y))) ((h 1) 2)",  # a redefinition, an error
        "((lambda (y) (car y)) 2)",  # a lambda whose form is gone
        "(car (list (lambda (z) z) 1 (undefined-var)))",
    ]
    with Session() as s:
        s.eval("(define (keep) (lambda (q) (+ q 1))) (define kept (keep))")
        s.eval("(define (sq x) (* x x))")
        s.jit(["sq"])  # its address is in JIT code: never freed
        s.eval("(define (sq x) (+ x x))")  # redefined, and its module still there
        for i in range(1000):  # warm-up: the sweeps' high-water marks
            s.eval(failing[i % 3])
        records, memory = len(s.functions()), s.memory_bytes()
        for i in range(10_000):
            s.eval(failing[i % 3])
        assert len(s.functions()) <= records + 300  # at most one sweep's worth (20,000 made)
        assert s.memory_bytes() <= memory + (1 << 20)  # 4.3 MB more before
        assert s.eval("(kept 5)")[0].text == "6"  # a closure's lambda stays
        assert s.eval("((h 1) (list 7))")[0].text == "7"  # so does the latest define's
        assert s.eval("(sq 4)")[0].text == "8"
        names = {f.name for f in s.functions()}
        assert {"keep", "sq", "h"} <= names
        assert s.function("sq").id == max(f.id for f in s.functions() if f.name == "sq")


def test_quoted_data_lives_as_long_as_the_code_that_quotes_it():
    from jitscope.runtime.session import Session

    with Session() as s:
        s.eval('(define kept \'(1 (2 "two") #(3)))')  # a global holds it: it stays
        s.eval("(define (quoting) (list 'x \"y\" '(z)))")
        s.jit(["quoting"])  # JIT code has the constants' addresses: they stay
        s.eval("(define (make) (lambda () '#(closed over)))(define later (make))")

        def churn(n: int) -> None:
            for i in range(n):
                s.eval(f'(length \'(1 2 3 "a string {i % 7}" #(4 5)))')
                s.eval("(define (redefined) '(gone when redefined))")

        churn(1000)  # warm-up: the sweeps' high-water marks
        s.collect()
        live = s.heap_stats()["live_bytes"]
        churn(5000)
        s.collect()
        assert s.heap_stats()["live_bytes"] <= live + 16384  # 1.3 MB more before
        assert s.eval("kept")[0].text == '(1 (2 "two") #(3))'
        assert s.eval("(quoting)")[0].text == '(x "y" (z))'
        assert s.eval("(later)")[0].text == "#(closed over)"
        assert s.eval("(redefined)")[0].text == "(gone when redefined)"
