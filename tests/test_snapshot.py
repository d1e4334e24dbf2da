"""Static late linking: a snapshot module resumes the session with its JIT code linked in."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from jitscope.runtime.session import ModuleLoadError, Session, Stage
from jitscope.runtime.snapshot import SnapshotError, snapshot, write_snapshot
from jitscope.wasm import tools
from jitscope.wasm.custom import SNAPSHOT_SECTION
from jitscope.wasm.module import ParsedModule
from jitscope.wasm.names import function_names
from jitscope.wasm.sections import custom_section
from tests.conftest import values

FIB = "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))"
DEEP = "(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))"
TAK = """(define (tak x y z) (if (not (< y x)) z
           (tak (tak (- x 1) y z) (tak (- y 1) z x) (tak (- z 1) x y))))"""


def fib_session(*extra: str) -> Session:
    s = Session()
    assert values(s, f"{FIB} {DEEP} (fib 15) (deep 10) {' '.join(extra)}")[:2] == ["610", "10"]
    mod = s.jit()
    assert mod is not None and mod.stage is Stage.LINKED and sorted(mod.names) == ["deep", "fib"]
    return s


def test_a_fresh_snapshot_instance_runs_earlier_definitions_through_jit_code(tmp_path):
    out = tmp_path / "fib-jit.wasm"
    with fib_session() as s:
        snap = write_snapshot(s, out)
    tools.validate(out.read_bytes())
    assert {f.name for f in snap.new_functions} == {"fib", "deep"}
    with Session(out) as t:
        assert "_initialize" not in {e.name for e in t.main_module.exports}
        assert t.modules == []  # nothing generated, nothing instantiated
        fib = t.function("fib")
        assert (fib.state, fib.interp_calls, fib.jit_calls) == ("linked", 1973, 0)
        assert t.candidates() == []
        assert values(t, "(fib 15)") == ["610"]
        assert t.last_counts[fib.id] == (0, 1973)  # every call, the first too, ran JIT code
        slot = t.table_slots()[fib.jit_code]
        assert (slot.name, slot.owner, slot.empty) == ("fib", "jit 1 (snapshot)", False)
        # An error inside the baked code (its stack check: JIT frames fill the value stack
        # before the wasm stack) names the Scheme function.
        [r] = t.eval("(deep 100000000)")
        assert r.kind == "error" and r.error.kind == "stack"
        assert "(in deep): stack exhausted" in r.text
        assert values(t, "(deep 100)") == ["100"]  # the session carries on

    with Session() as s:  # source names come along too
        s.eval(f"{FIB} (fib 3)", name="fib.scm")
        s.jit()
        write_snapshot(s, out)
    with Session(out) as t:
        assert t.function("fib").source == "fib.scm"


def test_the_main_module_keeps_its_indices_bodies_and_names(tmp_path):
    with fib_session() as s:
        main = ParsedModule.parse(s.wasm_bytes, "in")
        snap = snapshot(s.capture())
    tools.validate(snap.data)
    out = ParsedModule.parse(snap.data, "out")
    assert out.types[: len(main.types)] == main.types
    assert out.func_types[: len(main.func_types)] == main.func_types
    # same count width, so every original body sits at the same code-section offset
    assert out.code_count_width == main.code_count_width
    assert out.code[main.code_count_width : len(main.code)] == main.code[main.code_count_width :]
    assert out.bodies[: len(main.bodies)] == main.bodies
    names = function_names(snap.data)
    assert {i: names[i] for i in main.names} == main.names
    assert sorted(names[f.function] for f in snap.functions) == ["deep", "fib"]
    assert all(f.function >= main.n_funcs for f in snap.functions)
    assert out.elems[: len(main.elems)] == main.elems
    text = tools.print_wat(snap.data)
    assert "(func $fib" in text and "(param $n i64)" in text  # local names came along


def test_snapshot_again_after_a_second_module_stacks(tmp_path):
    with fib_session() as s:
        first = write_snapshot(s, tmp_path / "a.wasm")
        assert values(s, f"{TAK} (tak 6 4 2)") == ["3"]
        mod = s.jit()
        assert mod.names == ["tak"]
        second = write_snapshot(s, tmp_path / "b.wasm")
    assert len(first.functions) == 2 and len(second.functions) == 3
    with Session(tmp_path / "b.wasm") as t:
        assert values(t, "(tak 12 8 4) (fib 10)") == ["5", "55"]
        assert all(t.last_counts[t.function(n).id][0] == 0 for n in ("tak", "fib"))
        owners = {x.name: x.owner for x in t.table_slots() if "snapshot" in x.owner}
        assert owners == {
            "fib": "jit 1 (snapshot)",
            "deep": "jit 1 (snapshot)",
            "tak": "jit 2 (snapshot)",
        }


def test_round_trip_snapshot_load_jit_more_snapshot_load(tmp_path):
    with fib_session() as s:
        write_snapshot(s, tmp_path / "one.wasm")
    with Session(tmp_path / "one.wasm") as t:
        assert values(t, f"{TAK} (tak 6 4 2)") == ["3"]
        mod = t.jit()
        assert mod.id == 2 and mod.names == ["tak"]  # module ids go on from the snapshot's
        assert mod.table_base == t.initial_table_size
        snap = write_snapshot(t, tmp_path / "two.wasm")
        assert [f.name for f in snap.new_functions] == ["tak"]
    data = (tmp_path / "two.wasm").read_bytes()
    tools.validate(data)
    with Session(tmp_path / "two.wasm") as u:
        rec = u.snapshot_record
        assert rec.generation == 2
        assert {(b.name, b.module_id, b.generation) for b in rec.slots} == {
            ("fib", 1, 1),
            ("deep", 1, 1),
            ("tak", 2, 2),
        }
        assert values(u, "(tak 12 8 4) (fib 20)") == ["5", "6765"]
        assert u.last_counts[u.function("tak").id][0] == 0
        assert u.last_counts[u.function("fib").id][0] == 0
        # and it can keep going: the interpreter still compiles new functions
        assert values(u, "(define (sq x) (* x x)) (sq 9)") == ["81"]
        assert u.jit().names == ["sq"] and values(u, "(sq 7)") == ["49"]


def test_heap_garbage_does_not_end_up_in_the_snapshot(tmp_path):
    with Session() as fresh:
        baseline = snapshot(fresh.capture()).data_bytes  # the interpreter's statics and the prelude
    with Session() as s:
        values(
            s,
            """
          (define (build n) (let go ((i n) (acc '())) (if (= i 0) acc (go (- i 1) (cons i acc)))))
          (define (churn k) (if (= k 0) 0 (begin (build 10000) (churn (- k 1)))))
          (churn 200)
          (define keep (build 100))""",
        )
        heap = s.heap_stats()
        assert heap["allocated_bytes"] > 40_000_000 and heap["heap_bytes"] >= 4 << 20
        snap = snapshot(s.capture())
        assert snap.zeroed_bytes > 3 << 20
        # live data is a few KiB; the data segments hold that and what a fresh session holds,
        # not megabytes of garbage (about 1.6 MB of memory is non-zero before dbg_scrub)
        assert snap.data_bytes < baseline + 100_000, snap.summary()
        assert snap.size < snap.input_size + baseline + 150_000
        tools.validate(snap.data)
        (tmp_path / "g.wasm").write_bytes(snap.data)
        assert values(s, "(car keep) (churn 5) (car (cdr keep))") == ["1", "0", "2"]
    with Session(tmp_path / "g.wasm") as t:
        assert values(t, "(car keep) (churn 20) (car (cdr keep))") == ["1", "0", "2"]
        assert t.heap_stats()["collections"] > heap["collections"]


def test_the_heap_stays_sound_across_scrubs(session):
    values(
        session,
        """
      (define (build n) (let go ((i n) (acc '())) (if (= i 0) acc (go (- i 1) (cons i acc)))))
      (define (sum l) (let go ((l l) (a 0)) (if (null? l) a (go (cdr l) (+ a (car l))))))
      (define (mk a b c d e f g) (lambda (x) (+ x a b c d e f g)))
      (define (clos n) (let go ((i n) (acc '())) (if (= i 0) acc (go (- i 1) (cons (mk i i i i i i i) acc)))))
      (define (apply-all l) (let go ((l l) (a 0)) (if (null? l) a (go (cdr l) (+ a ((car l) 1))))))
      (define (every k l) (let go ((l l) (i 0) (acc '()))
        (if (null? l) acc (go (cdr l) (+ i 1) (if (= (remainder i k) 0) (cons (car l) acc) acc)))))
      (define keeps '())""",
    )
    step = """(sum (build 100000)) (apply-all (clos 10000))
              (set! keeps (cons (every 97 (build 30000)) keeps))
              (set! keeps (cons (every 13 (clos 3000)) keeps))
              (sum (car (cdr keeps))) (apply-all (car keeps))"""
    first = values(session, step)
    sizes = set()
    for k in range(5):
        session.scrub()  # free runs, trimmed chunks; then the mutator carves them
        assert values(session, step) == first
        sizes.add(session.heap_stats()["heap_bytes"])
        if k == 1:
            session.jit()
    assert max(sizes) <= 8 << 20, sizes  # freed chunks are reused, not leaked


def test_auto_jit_host_hook_is_left_out_and_cleared(tmp_path):
    with Session() as s:
        s.set_auto_jit(3)
        assert values(s, f"{FIB} (fib 10)") == ["55"]
        hook = s._hook_slot
        snap = write_snapshot(s, tmp_path / "auto.wasm")
        assert any("auto JIT" in n for n in snap.notes)
        assert values(s, "(define (g x) x) (g 1) (g 2) (g 3) (g 4)")[-1] == "4"
        assert s.function("g").state == "linked"  # the live session's auto mode still works
    with Session(tmp_path / "auto.wasm") as t:
        assert t.table_slots()[hook].empty
        assert t.function("fib").state == "linked"
        # a new function would tier up through the hook, which is gone: it stays interpreted
        assert values(t, "(define (h x) x) (h 1) (h 2) (h 3) (h 4) (fib 10)") == [
            "1",
            "2",
            "3",
            "4",
            "55",
        ]
        assert t.function("h").state == "candidate"


def test_a_module_part_way_through_linking_is_refused(session):
    values(session, f"{FIB} (fib 5)")
    mod = session.generate()
    session.step(mod)
    with pytest.raises(SnapshotError, match="module 1 is part-way through linking .compiled."):
        snapshot(session.capture())
    session.discard(mod)
    snap = snapshot(session.capture())
    assert snap.new_functions == ()
    tools.validate(snap.data)


def test_a_table_that_does_not_match_the_binaries_is_an_error(session):
    values(session, f"{FIB} {DEEP} (fib 5) (deep 5)")
    mod = session.jit()
    store, table = session.store, session.table
    fib_slot, deep_slot = (session.function(n).jit_code for n in ("fib", "deep"))
    fib_func = table.get(store, fib_slot)
    table.set(store, fib_slot, table.get(store, 1))  # a main-module function of another type
    with pytest.raises(SnapshotError, match=f"slot {fib_slot} should hold fib .* type"):
        snapshot(session.capture())
    table.set(store, fib_slot, table.get(store, deep_slot))  # same type, another function
    with pytest.raises(SnapshotError, match=f"slot {fib_slot} should hold fib of its JIT module"):
        snapshot(session.capture())
    table.set(store, fib_slot, fib_func)
    tools.validate(snapshot(session.capture()).data)
    table.grow(store, 1, fib_func)  # a slot nobody accounts for
    with pytest.raises(SnapshotError, match="neither the main module nor a JIT module"):
        snapshot(session.capture())
    assert mod.stage is Stage.LINKED


def test_corrupt_or_unsupported_inputs_give_clear_errors(tmp_path):
    with fib_session() as s:
        data = snapshot(s.capture()).data
    bad = tmp_path / "truncated.wasm"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModuleLoadError, match="not a valid wasm module"):
        Session(bad)
    # a jitscope.snapshot section that lies about its length
    at = data.rindex(SNAPSHOT_SECTION.encode()) + len(SNAPSHOT_SECTION)
    broken = data[:at] + bytes([3]) + data[at + 1 :]
    assert custom_section(broken, SNAPSHOT_SECTION)[0] == 3
    (tmp_path / "v3.wasm").write_bytes(broken)
    with pytest.raises(ModuleLoadError, match="corrupt jitscope.snapshot section: .*version 3"):
        Session(tmp_path / "v3.wasm")


FOREIGN = """(module
  (import "env" "throw_error" (func))
  (memory (export "memory") 1)
  (table (export "__indirect_function_table") 1 funcref)
  (global $counter (mut i32) (i32.const 0))
  (func (export "parse") (param i32) (result i32) (global.set $counter (i32.const 1)) (i32.const 0))
  (func (export "eval") (param i32 i32))
  (func (export "jitModule") (result i32) (i32.const 0))
  (func (export "allocateBytes") (param i32) (result i32) (i32.const 16))
  (func (export "freeBytes") (param i32)))"""


def test_a_foreign_module_with_a_hidden_mutable_global_is_refused_by_name(tmp_path):
    path = tmp_path / "foreign.wasm"
    subprocess.run(
        [str(tools.wasm_tools()), "parse", "-", "-o", str(path)], input=FOREIGN.encode(), check=True
    )
    with (
        Session(path) as s,
        pytest.raises(SnapshotError, match=r"global 0 \(counter\) is mutable and not exported"),
    ):
        snapshot(s.capture())


def test_a_foreign_module_that_exports_its_globals_snapshots_with_their_live_values(tmp_path):
    path = tmp_path / "foreign.wasm"
    source = FOREIGN.replace("(global $counter", '(global $counter (export "counter")')
    subprocess.run(
        [str(tools.wasm_tools()), "parse", "-", "-o", str(path)], input=source.encode(), check=True
    )
    with Session(path) as s:
        s.eval("1")  # parse() sets the counter
        snap = write_snapshot(s, tmp_path / "out.wasm")
    out = ParsedModule.parse(snap.data, "out")
    assert out.globals == [(0x7F, 1, b"\x41\x01\x0b")]
    assert sorted(e[0] for e in out.exports) == sorted(
        [
            "memory",
            "__indirect_function_table",
            "counter",
            "parse",
            "eval",
            "jitModule",
            "allocateBytes",
            "freeBytes",
        ]
    )


SEED_FIB = """(letrec ((fib (lambda (n) (if (< n 2) 1 (+ (fib (- n 1)) (fib (- n 2)))))))
  (fib 20))"""


def test_a_seed_only_module_snapshots_too(seed_only, tmp_path):
    with Session(seed_only) as s:
        assert values(s, SEED_FIB) == ["10946"]
        assert s.jit().stage is Stage.LINKED
        snap = write_snapshot(s, tmp_path / "seed.wasm")
        assert [f.name for f in snap.functions] == ["fib"]
    with Session(tmp_path / "seed.wasm") as t:
        assert values(t, SEED_FIB) == ["10946"]
        [slot] = [x for x in t.table_slots() if "snapshot" in x.owner]
        assert (slot.name, slot.owner) == ("fib", "jit 1 (snapshot)")


def test_the_snapshot_command_and_repl(tmp_path):
    src = tmp_path / "fib.scm"
    src.write_text(f"{FIB}\n(fib 20)\n")
    out = tmp_path / "fib-jit.wasm"
    p = subprocess.run(
        [sys.executable, "-m", "jitscope", "snapshot", "-o", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    assert re.match(r"6765\nmodule 1: fib \([\d,]+ bytes\) linked\nwrote ", p.stdout)
    p = subprocess.run(
        [sys.executable, "-m", "jitscope", "repl", "--wasm", str(out)],
        input=f"(fib 20)\n,stats\n,table\n,snapshot {tmp_path / 'again.wasm'}\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "6765"
    # Its interpreted calls ran before the snapshot, when it was not compiled yet.
    assert lines[2].split() == [
        "fib",
        "0",
        "21,891",
        "21,891",
        "21,891",
        "interpreted:",
        "not",
        "compiled",
        "21,891",
    ]
    assert any(line.split()[1:] == ["fib", "jit", "1", "(snapshot)"] for line in lines)
    assert lines[-1].startswith(f"wrote {tmp_path / 'again.wasm'}: ")
    tools.validate((tmp_path / "again.wasm").read_bytes())
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "jitscope",
            "snapshot",
            "-o",
            str(out),
            "--wasm",
            str(tmp_path / "nothing.wasm"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert p.returncode == 2 and "nothing.wasm: no such file" in p.stderr


def test_the_static_linker_is_a_function_of_the_capture(session):
    values(session, f"{FIB} (fib 10)")
    session.jit()
    capture = session.capture()
    values(session, "(define after 1) (fib 12)")  # the session moves on; the capture does not
    first, second = snapshot(capture), snapshot(capture)
    assert first.data == second.data
    assert first.memory_bytes == len(capture.memory)


def test_memory_becomes_few_data_segments(session):
    # wasmtime's compile time grows with the number of data segments: a snapshot must load
    # about as fast as the plain module, so zero runs shorter than MERGE_GAP stay in a segment.
    values(session, f"{FIB} (fib 15)")
    session.jit()
    snap = snapshot(session.capture())
    assert snap.segments < 100
    tools.validate(snap.data)


def test_the_report_does_not_call_an_unlinked_function_linked_in(session, tmp_path):
    values(session, f"{FIB} {DEEP} (fib 5) (deep 5)")
    session.jit()
    session.unlink("deep")
    snap = write_snapshot(session, tmp_path / "s.wasm")
    assert snap.unlinked == ("deep",)
    assert "1 JIT function linked in (fib), 1 in the table but unlinked (deep)" in snap.summary()
    with Session(tmp_path / "s.wasm") as t:
        assert t.function("deep").state != "linked" and t.function("fib").state == "linked"


def test_a_snapshot_after_slot_reuse_bakes_the_code_each_slot_holds_now(tmp_path):
    with fib_session() as s:
        fib_slot = s.function("fib").jit_code
        s.unlink("fib")
        mod = s.jit(["fib"])  # refills fib's dead slot with new code
        assert mod.table_base == fib_slot
        write_snapshot(s, tmp_path / "reused.wasm")
    with Session(tmp_path / "reused.wasm") as t:
        assert values(t, "(fib 15) (deep 10)") == ["610", "10"]
        assert t.function("fib").state == "linked"
        assert t.last_counts[t.function("fib").id] == (0, 1973)
