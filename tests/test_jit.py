"""JIT modules: same answers as the interpreter, valid wasm, patches that do what they say."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jitscope.debugger import Debugger
from jitscope.runtime.session import Session, Stage
from jitscope.wasm import tools
from jitscope.wasm.custom import PATCH_SECTION, parse_patches
from jitscope.wasm.names import function_names
from jitscope.wasm.sections import custom_section
from tests.conftest import values

CORPUS = {
    "fib": """(define (fib n) (if (< n 2) 1 (+ (fib (- n 1)) (fib (- n 2)))))
              (fib 20)""",
    "tak": """(define (tak x y z) (if (not (< y x)) z
                (tak (tak (- x 1) y z) (tak (- y 1) z x) (tak (- z 1) x y))))
              (tak 12 8 4)""",
    "lists": """(define (iota n) (let loop ((i n) (acc '())) (if (= i 0) acc (loop (- i 1) (cons i acc)))))
                (define (rev l) (let loop ((l l) (acc '())) (if (null? l) acc (loop (cdr l) (cons (car l) acc)))))
                (define (sum l) (if (null? l) 0 (+ (car l) (sum (cdr l)))))
                (sum (rev (iota 500))) (rev (iota 5))""",
    "higher-order": """(define (map1 f l) (if (null? l) '() (cons (f (car l)) (map1 f (cdr l)))))
                (define (fold f acc l) (if (null? l) acc (fold f (f acc (car l)) (cdr l))))
                (define (square x) (* x x))
                (fold + 0 (map1 square (list 1 2 3 4 5)))
                (fold (lambda (a x) (cons x a)) '() (map1 (lambda (x) (+ x 1)) '(1 2 3)))""",
    "closures": """(define (make-counter)
                     (let ((n 0)) (lambda () (set! n (+ n 1)) n)))
                   (define c (make-counter)) (c) (c) (c)
                   (define (curry f) (lambda (a) (lambda (b) (f a b))))
                   (((curry -) 10) 3)""",
    "letrec-in-body": """(define (f n)
                           (define (ev? k) (if (= k 0) #t (od? (- k 1))))
                           (define (od? k) (if (= k 0) #f (ev? (- k 1))))
                           (list (ev? n) (od? n)))
                         (f 10) (f 7)""",
    "errors": """(define (safe-car x) (car x)) (safe-car '(1)) (safe-car 5)""",
    "many-args": """(define (f a b c d e g h) (+ a b c d e g h)) (f 1 2 3 4 5 6 7)
                    (define (g a b c d e h) (list a b c d e h)) (g 1 2 3 4 5 6)""",
    "or-and": """(define (f x) (or (and (> x 5) 'big) (and (< x 0) 'neg) 'small))
                 (f 10) (f -1) (f 2)""",
    "redefine": """(define (g) 1) (define (h) (g)) (h) (define (g) 2) (h)""",
    "variadic": """(define (sum . xs) (if (null? xs) 0 (+ (car xs) (apply sum (cdr xs)))))
                   (sum) (sum 1 2 3) (define (f a b . r) (list a b r)) (f 1 2) (f 1 2 3 4)
                   (define (count-args . xs) (length xs)) (apply count-args 1 2 '(3 4 5))
                   (define (vloop n . acc) (if (= n 0) acc (vloop (- n 1) n)))
                   (vloop 100000)
                   (define (aloop n) (if (= n 0) 'done (apply aloop (list (- n 1)))))
                   (aloop 100000)
                   (f 1)""",
    "case-do-quasi": """(define (classify n)
                          (case (modulo n 4) ((0) 'zero) ((1 3) 'odd) (else => (lambda (k) (* k 10)))))
                        (map classify '(0 1 2 3 4))
                        (define (squares n) (do ((i 0 (+ i 1)) (acc '() (cons (* i i) acc))) ((= i n) (reverse acc))))
                        (squares 6)
                        (define (wrap x l) `(x ,x ,@l (y ,(+ x 1)) . end))
                        (wrap 1 '(a b))
                        (define (look k) (cond ((assv k '((1 . one) (2 . two))) => cdr) (else 'none)))
                        (list (look 1) (look 3))""",
    "vectors-strings": """(define (vsum v) (let loop ((i 0) (s 0)) (if (= i (vector-length v)) s (loop (+ i 1) (+ s (vector-ref v i))))))
                          (vsum (list->vector '(1 2 3 4)))
                          (define (fill n) (let ((v (make-vector n 0))) (do ((i 0 (+ i 1))) ((= i n) v) (vector-set! v i (* i i)))))
                          (fill 5) (vsum (fill 100))
                          (define (label n) (string-append "n=" (number->string n)))
                          (map label '(1 22 333)) (string-length (label 12345))
                          (define (vref v i) (vector-ref v i)) (vref (fill 3) 3)""",
    "library": """(map + '(1 2 3) '(10 20 30)) (for-each (lambda (x) (display x)) '(1 2 3))
                  (define (flatten x) (cond ((null? x) '()) ((pair? x) (append (flatten (car x)) (flatten (cdr x)))) (else (list x))))
                  (flatten '(1 (2 (3 4)) ((5)) 6))
                  (assq 'c '((a 1) (b 2) (c 3))) (member '(1) '((0) (1) (2)))
                  (list-ref (reverse (flatten '((1 2) (3 (4 5))))) 1)
                  (length (filter even? (map (lambda (i) (* i 3)) '(1 2 3 4 5 6))))""",
    "indirect-apply": """(define ap apply) (define (g a b c d e) (list a e)) (define (f) (ap g '(1 2 3 4 5)))
                         (f) (define (g0) 'zero) (define (f0) (ap g0 '())) (f0)
                         (define (g8 a b c d e f g h) (list a h)) (define (f8) (ap g8 1 '(2 3 4 5 6 7 8))) (f8)
                         (define (h . xs) xs) (define (calls-h) (h)) (calls-h)
                         (define (calls-f f) (f)) (calls-f h) (calls-f (lambda args (length args)))""",
    "tail-positions": """(define (t-case n) (case n ((0) 'done) (else (t-case (- n 1)))))
                         (define (t-when n) (when (> n 0) (t-when (- n 1))))
                         (define (t-and n) (and #t (if (= n 0) 'done (t-and (- n 1)))))
                         (define (t-or n) (or (= n 0) (t-or (- n 1))))
                         (define (t-cond n) (cond ((= n 0) 'done) ((even? n) => (lambda (b) (t-cond (- n 1)))) (else (t-cond (- n 1)))))
                         (define (t-do n) (do ((i n (- i 1))) ((= i 0) 'done)))
                         (list (t-case 300000) (t-when 300000) (t-and 300000) (t-or 300000) (t-cond 300000) (t-do 300000))""",
    # Enough flonums for several collections while JIT code holds others in locals and temps:
    # a function with no frame of its own, and a flonum held across another's slow path.
    "flonums-collected": """(define (fsum n acc) (if (= n 0) acc (fsum (- n 1) (+ acc 0.5))))
                            (fsum 600000 0)
                            (define (g x y) (* (+ x 0.5) (+ y 0.25)))
                            (define (gsum n acc) (if (= n 0) acc (gsum (- n 1) (+ acc (g n 1.0)))))
                            (gsum 300000 0)
                            (define (cmp n k) (if (= n 0) k (cmp (- n 1) (if (< (* n 1.5) 100.0) (+ k 1) k))))
                            (cmp 300000 0)""",
    # Closures of several sizes made inline (from their size's free list) while others are
    # live, through collections: continuations (cpstak's shape), a closure list kept and
    # called later, and a closure made in a loop whose body makes no call.
    "closures-collected": """(define (ctak x y z k)
                               (if (not (< y x)) (k z)
                                   (ctak (- x 1) y z (lambda (v1) (ctak (- y 1) z x (lambda (v2)
                                     (ctak (- z 1) x y (lambda (v3) (ctak v1 v2 v3 k)))))))))
                             (ctak 18 12 6 (lambda (a) a))
                             (define (adders n acc) (if (= n 0) acc (adders (- n 1) (cons (lambda (x) (+ x n)) acc))))
                             (define (apply-all fs x) (if (null? fs) x (apply-all (cdr fs) ((car fs) x))))
                             (apply-all (adders 200000 '()) 0)
                             (define (wide a b c d e) (lambda (f) (f a b c d e)))
                             (define (wides n acc) (if (= n 0) acc (wides (- n 1) ((wide n 1 2 3 4) (lambda (a b c d e) (+ acc a b c d e))))))
                             (wides 100000 0)""",
}


def run(source: str, mode: str) -> list[str]:
    with Session() as s:
        if mode == "eager":
            s.set_eager_jit(True)
        elif mode == "auto":
            s.set_auto_jit(3)
        return values(s, source)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_jit_agrees_with_the_interpreter(name):
    expected = run(CORPUS[name], "interp")
    assert run(CORPUS[name], "eager") == expected
    assert run(CORPUS[name], "auto") == expected


def test_candidates_then_jit_switches_dispatch(session):
    session.eval("(define (fib n) (if (< n 2) 1 (+ (fib (- n 1)) (fib (- n 2)))))")
    assert session.candidates() == []
    assert values(session, "(fib 15)") == ["987"]
    [fib] = session.candidates()
    assert (fib.name, fib.interp_calls, fib.jit_calls, fib.state) == ("fib", 1973, 0, "candidate")
    mod = session.jit()
    assert mod.stage is Stage.LINKED and mod.names == ["fib"]
    assert values(session, "(fib 15)") == ["987"]
    fib = session.function("fib")
    assert (fib.interp_calls, fib.jit_calls, fib.state) == (1973, 1973, "linked")
    assert session.last_counts[fib.id] == (0, 1973)
    assert session.candidates() == []
    assert session.jit() is None


def test_every_generated_module_validates_and_names_its_functions(session):
    session.eval(CORPUS["higher-order"])
    session.eval(CORPUS["tak"])
    mod = session.generate()
    tools.validate(mod.data)
    names = set(function_names(mod.data).values())
    assert {
        "map1",
        "fold",
        "square",
        "tak",
        "patch",
        "grow_table",
        "fill_table",
        "apply_reloc",
    } <= names
    text = tools.print_wat(mod.data)
    assert "(func $tak" in text and "return_call" in text


def test_patch_section_lists_what_the_patch_code_writes(session):
    session.eval(CORPUS["tak"] + CORPUS["fib"])
    mod = session.generate()
    patches = parse_patches(custom_section(mod.data, PATCH_SECTION))
    funcs = {f.name: f for f in session.functions()}
    assert sorted(p.name for p in patches) == ["fib", "tak"]
    for p in patches:
        assert p.address == funcs[p.name].jit_code_address
        assert function_names(mod.data)[p.function] == p.name
    session.link(mod)
    for p in mod.patches:
        assert p.before == 0
        assert p.after == mod.table_base + p.patch.element
        assert session.read_u32(p.patch.address) == p.after
        slot = session.table_slots()[p.after]
        assert (slot.name, slot.owner, slot.grown) == (p.patch.name, f"jit {mod.id}", True)


def test_stepping_gives_what_patching_whole_gives():
    source = CORPUS["tak"] + CORPUS["fib"] + CORPUS["lists"]

    def table_and_memory(s):
        return (
            [(t.name, t.owner, t.empty) for t in s.table_slots()],
            [(f.name, f.jit_code) for f in s.functions()],
        )

    with Session() as stepped, Session() as whole:
        for s in (stepped, whole):
            s.eval(source)
        a = stepped.generate()
        seen = []
        while a.next_step():
            seen.append(stepped.step(a))
        assert sorted(a.names) == ["fib", "iota", "loop", "loop#2", "rev", "sum", "tak"]
        assert seen[:4] == ["compile (validate)", "instantiate", "grow table by 7", "fill 7 slots"]
        assert len(seen) == 4 + 7 and all(s.startswith("patch ") for s in seen[4:])
        b = whole.generate()
        whole.step(b)
        whole.step(b)
        b.instance.exports(whole.store)["patch"](whole.store)  # the module's own whole patch
        for p in b.patches:
            whole._slot_owner[whole.read_u32(p.patch.address)] = (p.patch.name, f"jit {b.id}")
        assert table_and_memory(stepped) == table_and_memory(whole)
        assert values(stepped, "(tak 12 8 4)") == values(whole, "(tak 12 8 4)") == ["5"]


def test_a_module_that_cannot_be_linked_leaves_functions_interpreted(session):
    session.eval(CORPUS["fib"])
    mod = session.generate()
    session.step(mod)
    session.discard(mod)
    fib = session.function("fib")
    assert fib.state == "candidate"
    assert values(session, "(fib 10)") == ["89"]
    assert session.jit().stage is Stage.LINKED


def test_redefining_a_jitted_function_calls_the_new_definition(session):
    session.eval("(define (f x) (* x 2)) (define (g x) (f x)) (g 1)")
    session.jit()
    assert values(session, "(g 21)") == ["42"]
    session.eval("(define (f x) (+ x 1000))")
    assert values(session, "(g 21)") == ["1021"]


def test_unlink_sends_calls_back_to_the_interpreter(session):
    session.eval(CORPUS["fib"])
    session.jit()
    session.unlink("fib")
    before = session.function("fib")
    assert values(session, "(fib 5)") == ["8"]
    after = session.function("fib")
    assert after.jit_calls == before.jit_calls
    assert after.interp_calls == before.interp_calls + 15


# Generated programs: a few functions over fixnums, called from an expression.
def _expr(depth: int, params: list[str]):
    leaves = st.one_of(st.integers(-50, 50).map(str), st.sampled_from(params))
    if depth == 0:
        return leaves
    sub = _expr(depth - 1, params)
    return st.one_of(
        leaves,
        st.tuples(st.sampled_from(["+", "-", "*"]), sub, sub).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(sub, sub, sub, st.sampled_from(["<", "=", ">"])).map(
            lambda t: f"(if ({t[3]} {t[0]} {t[1]}) {t[2]} {t[0]})"
        ),
        st.tuples(sub, sub).map(lambda t: f"(let ((t {t[0]})) (- t {t[1]}))"),
        st.tuples(sub, sub).map(lambda t: f"(quotient {t[0]} {t[1]})"),
        st.tuples(sub).map(lambda t: f"(car (list {t[0]}))"),
        st.tuples(sub).map(lambda t: f"(h {t[0]})"),
        # the forms of the full language, over the same fixnum expressions
        st.tuples(sub, sub, sub, sub).map(
            lambda t: f"(case (modulo {t[0]} 3) ((0) {t[1]}) ((1) {t[2]}) (else {t[3]}))"
        ),
        st.tuples(sub, sub, sub).map(
            lambda t: f"(case {t[0]} ((1 2 3) => (lambda (k) (+ k {t[1]}))) (else {t[2]}))"
        ),
        st.tuples(sub, sub, sub).map(
            lambda t: f"(cond ((< {t[0]} {t[1]}) => (lambda (c) (if c {t[2]} 0))) (else {t[1]}))"
        ),
        st.tuples(sub, sub).map(
            lambda t: f"(do ((i 0 (+ i 1)) (acc {t[0]} (+ acc {t[1]}))) ((= i 3) acc))"
        ),
        st.tuples(sub, sub).map(
            lambda t: (
                f"(let loop ((i 2) (acc {t[0]})) (if (= i 0) acc (loop (- i 1) (- acc {t[1]}))))"
            )
        ),
        st.tuples(sub, sub, sub, sub).map(
            lambda t: f"(vector-ref (vector {t[0]} {t[1]} {t[2]}) (modulo {t[3]} 3))"
        ),
        st.tuples(sub, sub).map(lambda t: f"(apply + {t[0]} (list {t[1]}))"),
        st.tuples(sub, sub).map(lambda t: f"(v {t[0]} {t[1]})"),
        st.tuples(sub).map(lambda t: f"(string-length (number->string {t[0]}))"),
        st.tuples(sub, sub, sub).map(lambda t: f"(length `({t[0]} ,{t[1]} ,@(list {t[2]})))"),
        st.tuples(sub, sub).map(lambda t: f"(car (map (lambda (e) (- e {t[1]})) (list {t[0]})))"),
        st.tuples(sub, sub, sub).map(lambda t: f"(or (and (> {t[0]} {t[1]}) {t[2]}) {t[1]})"),
        st.tuples(sub, sub).map(lambda t: f"(let ((s 0)) (set! s (+ s {t[0]})) (- s {t[1]}))"),
        # the language issue's forms: division inline, flonums there and back, escapes,
        # multiple values and exceptions
        st.tuples(st.sampled_from(["remainder", "modulo"]), sub, sub).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(sub, sub).map(lambda t: f"(exact (floor (+ (* {t[0]} 1.5) {t[1]})))"),
        st.tuples(sub, sub).map(
            lambda t: f"(call/cc (lambda (k) (+ 1 (if (< {t[0]} {t[1]}) (k {t[0]}) {t[1]}))))"
        ),
        st.tuples(sub, sub).map(
            lambda t: f"(call-with-values (lambda () (values {t[0]} {t[1]})) -)"
        ),
        st.tuples(sub, sub).map(
            lambda t: (
                f"(guard (e ((symbol? e) 7)) (+ {t[0]} (if (> {t[0]} {t[1]}) (raise 'x) {t[1]})))"
            )
        ),
    )


programs = st.tuples(
    _expr(3, ["a", "b"]), _expr(3, ["x"]), st.integers(-20, 20), st.integers(-20, 20)
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs)
def test_generated_programs_agree(program):
    body_g, body_h, x, y = program
    source = f"""
      (define (v . xs) (if (null? xs) 0 (- (car xs) (apply v (cdr xs)))))
      (define (h x) {body_h.replace("(h ", "(abs ")})
      (define (g a b) {body_g})
      (define (loop i acc) (if (= i 0) acc (loop (- i 1) (g acc i))))
      (g {x} {y})
      (loop 3 {x})
    """
    expected = run(source, "interp")
    assert run(source, "eager") == expected
    assert run(source, "auto") == expected


def test_auto_tier_up_fires_for_a_function_already_past_the_threshold():
    fib = "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))"
    with Session() as s:
        s.eval(f"{fib} (fib 20)")  # 21,891 interpreted calls before auto mode is on
        s.set_auto_jit(100)
        s.eval("(fib 20)")
        f = s.function("fib")
        assert f.state == "linked" and s.last_counts[f.id][1] > 0  # its next call tiered up


def test_last_counts_cover_exactly_the_functions_called():
    defs = "".join(f"(define (g{i} x) (+ x {i}))" for i in range(50))
    with Session() as s:
        s.eval(f"{defs} (define (twice x) (g1 (g2 x)))")
        s.jit(["g2"])
        s.eval("(twice 1) (twice 2)")
        ids = {s.function(n).id: n for n in ("twice", "g1", "g2")}
        called = {ids[i]: c for i, c in s.last_counts.items() if c != (0, 0)}
        assert called == {"twice": (2, 0), "g1": (2, 0), "g2": (0, 2)}
        s.unlink("g2")  # it keeps its JIT count; its calls are interpreted again
        s.eval("(g2 5)")
        assert s.last_counts[s.function("g2").id] == (1, 0)


TWO = "(define (sq x) (* x x)) (define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))"


def test_discarding_after_a_patch_undoes_it_and_the_function_runs_interpreted():
    with Session() as s:
        s.eval(TWO + " (fib 10) (sq 3)")
        d = Debugger(s)
        d.generate(["fib", "sq"])
        for _ in range(5):  # compile, instantiate, grow, fill, the first patch
            d.step()
        mod = s.modules[-1]
        first = mod.patches[0]
        assert first.applied and s.function(first.patch.name).state == "linked"
        lines = [line.text for line in d.discard().lines]
        assert lines[1] == (
            f"  patch undone: {first.patch.name}.jitCode @ 0x{first.patch.address:x} "
            f"{first.after} -> 0"
        )
        assert "dead" in lines[2]
        assert [ps.status(now) for ps, now in zip(mod.patches, s.patch_values(mod))] == [
            "reverted",
            "pending",
        ]
        s.eval("(fib 10) (sq 3)")
        for name in ("fib", "sq"):
            f = s.function(name)
            assert (f.state, s.last_counts[f.id][1]) == ("candidate", 0), name
        dead = [t for t in s.table_slots() if t.dead]
        assert [t.dead for t in dead] == ["discarded", "discarded"]
        assert s.jit().stage is Stage.LINKED  # both compile again into a new module


def test_after_unlink_the_patch_reads_reverted_and_the_slot_dead():
    with Session() as s:
        s.eval(TWO + " (fib 10)")
        mod = s.jit(["fib"])
        slot = s.function("fib").jit_code
        s.unlink("fib")
        [ps] = mod.patches
        assert ps.status(s.patch_values(mod)[0]) == "reverted"
        assert s.table_slots()[slot].dead == "unlinked"


def test_a_linked_or_pending_function_is_not_compiled_again():
    with Session() as s:
        s.eval(TWO + " (fib 10) (sq 2)")
        s.jit(["fib"])
        pending = s.generate(["sq"])
        assert pending is not None
        report = Debugger(s).generate(["fib", "sq"])
        assert [line.text for line in report.lines] == [
            "nothing to compile: those functions are already compiled or linked"
        ]


def test_a_cancelled_jit_discards_its_module_and_the_session_goes_on():
    with Session() as s:
        s.eval(TWO + " (fib 10) (sq 2)")
        d = Debugger(s)
        real_step = s.step

        def step(mod):  # Ctrl-C lands while the table is grown, between two steps
            what = real_step(mod)
            if mod.stage is Stage.TABLE_GROWN:
                d.cancel()
            return what

        s.step = step  # type: ignore[method-assign]
        [line] = d.jit().lines
        mod = s.modules[-1]
        assert line.kind == "warning"
        assert line.text == (
            f"jit: cancelled before module {mod.id} was linked: discarded, "
            f"{', '.join(mod.names)} stay interpreted"
        )
        assert mod.stage is Stage.DISCARDED
        assert {s.function(n).state for n in ("fib", "sq")} == {"candidate"}
        assert values(s, "(fib 10)") == ["55"]
        del s.step
        assert d.jit().lines[0].text.startswith(f"module {mod.id + 1}: ")  # no stale cancel


EVEN_ODD = """(define (ev? n) (if (= n 0) #t (od? (- n 1))))
              (define (od? n) (if (= n 0) #f (ev? (- n 1))))
              (define (f n) (if (= n 0) 'done (g n)))
              (define (g n) (f (- n 1)))
              (define (h n) (list (f n)))
              (ev? 10) (f 3) (h 3)"""


@pytest.mark.parametrize("linked", [["ev?"], ["od?"], ["ev?", "od?"], [], ["f", "h"], ["h"]])
def test_tail_calls_between_jit_code_and_the_interpreter_run_in_constant_stack(linked):
    with Session() as s:
        s.eval(EVEN_ODD)
        if linked:
            s.jit(linked)
        assert values(s, "(ev? 1000001) (ev? 1000000)") == ["#f", "#t"]
        # f in JIT code tail-calls g interpreted, which tail-calls f: from the interpreter,
        # from a non-tail argument, and from h's non-tail call in JIT code.
        assert values(s, "(f 1000000) (list (f 1000000)) (h 1000000)") == [
            "done",
            "(done)",
            "(done)",
        ]
        assert s.stack_depth() == 0
        jit = {n: s.function(n).jit_calls for n in linked}
        assert all(jit.values()), jit


FIB = "(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))"


def test_a_failed_auto_tier_up_is_undone_and_the_evaluation_goes_on():
    with Session() as s:
        s.eval(FIB)
        s.set_auto_jit(10)
        s.store.set_limits(table_elements=s.table.size(s.store))  # linking will fail
        sp = s._stack_pointer.value(s.store)
        for _ in range(3):
            assert values(s, "(fib 15)") == ["610"]
        assert s._stack_pointer.value(s.store) == sp  # no C stack lost per failure
        assert s.tier_up_failures[0] == ("fib", "module 1: the function table cannot grow")
        assert s.function("fib").state == "candidate"


def test_an_interrupt_during_auto_tier_up_ends_the_evaluation_and_undoes_the_module():
    with Session() as s:
        s.eval(FIB)
        s.set_auto_jit(10)
        real_step = s.step

        def step(mod):  # Ctrl-C lands while the module is being linked
            what = real_step(mod)
            if mod.stage is Stage.TABLE_GROWN:
                s.interrupt()  # the next step's wasm call sees it
            return what

        s.step = step  # type: ignore[method-assign]
        [r] = s.eval("(fib 15)")
        assert r.kind == "error" and r.error.kind == "interrupted"
        [mod] = s.modules
        assert mod.stage in (Stage.DISCARDED, Stage.FAILED)
        assert s.function("fib").state == "candidate"
        del s.step
        s.set_auto_jit(None)
        assert values(s, "(fib 15)") == ["610"]


def test_link_and_unlink_cycles_reuse_the_dead_table_slots():
    with Session() as s:
        s.eval("(define (f x) (+ x 1)) (define (g x) (* x 2)) (f 1) (g 1)")
        s.jit(["f"])
        size = s.table.size(s.store)
        slot = s.function("f").jit_code
        for _ in range(50):
            s.unlink("f")
            assert s.table_slots()[slot].dead == "unlinked"
            mod = s.generate(["f"])
            s.step(mod)
            s.step(mod)
            assert mod.next_step() == f"reuse dead table slot {slot}"
            s.link(mod)
            assert values(s, "(f 1)") == ["2"] and s.last_counts[s.function("f").id] == (0, 1)
        assert s.table.size(s.store) == size  # flat: before, 50 more slots
        shown = s.table_slots()[slot]
        assert (shown.reused, shown.dead, shown.owner) == (True, "", f"jit {mod.id}")
        # Two functions do not fit in one dead slot: the table grows for them.
        s.unlink("f")
        both = s.jit(["f", "g"])
        assert both.table_base == size and s.table.size(s.store) == size + 2


def test_a_discarded_module_gives_back_the_dead_slots_it_had_reserved():
    with Session() as s:
        s.eval("(define (f x) (+ x 1)) (f 1)")
        s.jit(["f"])
        slot = s.function("f").jit_code
        s.unlink("f")
        mod = s.generate(["f"])
        s.step(mod)
        s.step(mod)  # instantiated: slot reserved for it
        assert mod.reuse_base == slot and s.table_slots()[slot].dead == ""
        s.discard(mod)
        assert s.table_slots()[slot].dead == "unlinked"
        again = s.jit(["f"])
        assert again.table_base == slot


def test_the_same_code_generated_again_shares_its_compile_and_frames_name_the_running_module():
    from jitscope.debugger.code import code_source, generations

    with Session() as s:
        s.eval("(define (bad x) (+ 1 (car x)))")
        first = s.jit(["bad"])
        assert first is not None and first.compiled_as == first.id
        s.unlink("bad")
        again = s.jit(["bad"])
        assert again is not None and again.id != first.id
        assert again.compiled_as == first.id and again.module is first.module
        r = s.eval("(list (bad 1))")[0]
        assert r.error is not None and r.error.stack is not None
        assert r.error.stack.frames[0].tier == f"JIT module {again.id}"  # not the first's
        # A discarded module's code is still there to look at (compiled again if need be).
        s.eval("(define (other y) (* y 3))")
        gone = s.generate(["other"])
        assert gone is not None
        s.step(gone)  # compiled
        s.discard(gone)
        assert gone.module is None
        other = s.function("other")
        assert [src.module_id for _, src in generations(s, "other")] == [gone.id]
        assert code_source(s, s.function("bad")).module_id == again.id
        assert other.module_id == 0  # it went back to being a candidate


def test_a_flonum_held_across_another_flonum_allocation_survives_collections():
    # d has no frame: its slow paths push one, so (+ x 0.5) is a root while (+ x 0.25)
    # allocates. 9,000,000 flonums: some 30 collections, a third of them at that moment (a
    # flonum freed there would be a type error, not a number).
    with Session() as s:
        s.set_eager_jit(True)
        s.eval(
            "(define (d x) (- (+ x 0.5) (+ x 0.25)))"
            "(define (dloop n k) (if (= n 0) k (dloop (- n 1) (if (= (d 1.0) 0.25) (+ k 1) k))))"
        )
        collections = s.heap_stats()["collections"]
        assert values(s, "(dloop 3000000 0)") == ["3000000"]
        assert s.function("d").jit_calls == 3_000_000
        assert s.heap_stats()["collections"] >= collections + 20


def test_flonum_arithmetic_is_inline_f64_in_the_wat(session):
    session.eval("(define (step x y) (if (< x y) (+ x y) (* x 2.5)))")
    mod = session.generate(["step"])
    wat = tools.print_wat(mod.data)
    assert {"f64.lt", "f64.add", "f64.mul", "f64.store offset=8"} <= {
        line.strip() for line in wat.splitlines()
    }
    session.link(mod)
    assert values(session, "(step 1.5 2.0) (step 3.0 2.0) (step 1 2) (step 1 2.0)") == [
        "3.5",
        "7.5",
        "3",
        "3.0",
    ]
    assert session.function("step").jit_calls == 4


# A self-tail-calling loop whose body has no call gets a fast copy (fixnums, no call) and the
# full body, which any slow path of the fast copy hands the turn to.
LOOP = "(define (sum-loop i acc) (if (> i 0) (sum-loop (- i 1) (+ acc i)) acc))"


def function_body(wat: str, func: str) -> str:
    """The WAT of ``func`` alone, from its header to the next function."""
    return wat.split(f"(func ${func} ", 1)[1].split("\n  (func ", 1)[0]


def loop_headers(wat: str, func: str) -> list[list[str]]:
    """The instructions of each loop in ``func`` (nested ones included in their parents)."""
    body = function_body(wat, func)
    lines = [line.strip() for line in body.splitlines()]
    loops = []
    for k, line in enumerate(lines):
        if line.startswith("loop"):
            depth, inner = 0, []
            for other in lines[k:]:
                depth += other.startswith(("loop", "block", "if")) - (other == "end")
                inner.append(other)
                if depth == 0:
                    break
            loops.append(inner)
    return loops


def test_a_loop_without_calls_gets_a_fast_copy_with_none(session):
    session.eval(LOOP)
    session.eval(
        "(define (show-loop i) (if (> i 0) (begin (display i) (show-loop (- i 1))) 'done))"
    )
    mod = session.generate(["sum-loop", "show-loop"])
    wat = tools.print_wat(mod.data)
    fast, full = loop_headers(wat, "sum-loop")
    assert not [i for i in fast if i.startswith("call")]
    assert [i for i in full if i.startswith("call")]
    assert len(loop_headers(wat, "show-loop")) == 1  # its body calls display: no fast copy


@pytest.mark.parametrize(
    ("start", "calls"),
    [
        ("0", 10001),
        ("0.5", 10001),  # a flonum from the first turn: the full body runs the loop
        ("4611686018427292903", 10),  # overflows at the tenth turn: the full body raises it
    ],
)
def test_a_fast_loop_hands_over_to_the_full_body_with_honest_counts(start, calls):
    call = f"(sum-loop 10000 {start})"
    with Session() as interpreter:
        interpreter.eval(LOOP)
        expected = values(interpreter, call)
    with Session() as s:
        s.eval(LOOP)
        s.jit(["sum-loop"])
        assert values(s, call) == expected
        assert s.function("sum-loop").jit_calls == calls
    assert expected[0].startswith("error: ") == (calls == 10)


def test_a_fast_loop_meeting_a_flonum_half_way_carries_on_in_the_full_body(session):
    session.eval(
        "(define (half-float i acc)"
        "  (if (> i 0) (half-float (- i 1) (+ acc (if (= i 5000) 0.5 i))) acc))"
    )
    session.jit(["half-float"])
    assert values(session, "(half-float 10000 0)") == [str(sum(range(1, 10001)) - 5000 + 0.5)]
    assert session.function("half-float").jit_calls == 10001


def test_a_fast_loop_that_allocates_hands_collections_to_the_full_body(session):
    session.eval("(define (build n acc) (if (= n 0) acc (build (- n 1) (cons n acc))))")
    session.eval("(define (len l n) (if (null? l) n (len (cdr l) (+ n 1))))")
    session.jit(["build", "len"])
    collections = session.heap_stats()["collections"]
    assert values(session, "(len (build 300000 '()) 0) (car (build 5 '()))") == ["300000", "1"]
    assert session.heap_stats()["collections"] > collections
    assert session.function("build").jit_calls == 300001 + 6


def test_a_closure_is_allocated_inline_and_the_runtime_only_on_the_slow_path(session):
    session.eval("(define (adder n) (lambda (x) (+ x n)))")
    mod = session.generate(["adder"])
    wat = tools.print_wat(mod.data)
    body = function_body(wat, "adder")
    # The header of a three-word closure (its type, its size in the high word) is written
    # by the JIT code itself; the runtime's allocator, which writes it otherwise, is the
    # slow path.
    header = session.layout.constants["ObjType.T_CLOSURE"] | 3 << 32
    assert f"i64.const {header}" in body
    session.link(mod)
    assert values(session, "((adder 40) 2) (map (adder 1) '(1 2 3))") == ["42", "(2 3 4)"]
    assert session.function("adder").jit_calls == 2


def test_a_fast_loop_entered_after_its_global_was_redefined_calls_the_new_definition(session):
    # The fast copy checks its self tail calls' global once, at its entry: entered through
    # an old closure, the first self tail call goes to what the global holds now.
    session.eval("(define (down n) (if (= n 0) 'old (down (- n 1))))")
    session.jit(["down"])
    session.eval("(define saved down) (define (down n) (list 'new n))")
    assert values(session, "(saved 5) (saved 0)") == ["(new 4)", "old"]


def test_a_letrec_bound_function_calls_itself_with_its_own_closure(session):
    # Its variable holds the closure running now, so a self call passes that closure and
    # loads neither the variable's box nor its value; each closure keeps its own captures.
    session.eval(
        "(define (counter k)"
        "  (letrec ((f (lambda (n) (if (= n 0) k (+ 1 (f (- n 1)))))))"
        "    f))"
        "(define (spin k)"
        "  (letrec ((g (lambda (n) (if (= n 0) k (g (- n 1)))))) g))"
    )
    assert values(session, "((counter 100) 3) ((spin 'a) 3)") == ["103", "a"]
    mod = session.generate(["f", "g"])
    wat = tools.print_wat(mod.data)
    for name in ("f", "g"):
        body = function_body(wat, name)
        # k is read from the closure; the variable's box is never opened (its value at 7)
        assert "i64.load offset=7" not in body
        assert "i64.load offset=15" in body
    session.link(mod)
    assert values(session, "((counter 1) 10) ((counter 2) 10) ((spin 'b) 1000) ((spin 'c) 0)") == [
        "11",
        "12",
        "b",
        "c",
    ]
    assert session.function("f").jit_calls == 22
    assert session.function("g").jit_calls == 1002


def pair_checks(wat: str, func: str, pair_type: int) -> int:
    """How many times ``func`` tests that a value is a pair (its header's type)."""
    body = function_body(wat, func)
    lines = [line.strip() for line in body.splitlines()]
    return sum(
        1
        for k in range(1, len(lines))
        if lines[k - 1] == "i32.load" and lines[k] == f"i32.const {pair_type}"
    )


def test_a_local_checked_once_as_a_pair_is_not_checked_again(session):
    # Past a car or cdr of a local (whose failure does not come back), or where (pair? x)
    # held, its car and cdr load at once; a branch where it is not known checks again.
    session.eval(
        "(define (swap l) (cons (cdr l) (car l)))"
        "(define (first-or x) (if (pair? x) (car x) (car x)))"
        "(define (safe-first x) (and (pair? x) (not (null? x)) (cdr x)))"
    )
    mod = session.generate(["swap", "first-or", "safe-first"])
    wat = tools.print_wat(mod.data)
    pair = session.layout.constants["ObjType.T_PAIR"]
    assert pair_checks(wat, "swap", pair) == 1
    assert pair_checks(wat, "first-or", pair) == 2  # pair? itself, and the else branch's car
    assert pair_checks(wat, "safe-first", pair) == 1
    session.link(mod)
    assert values(
        session, "(swap '(1 . 2)) (first-or '(3)) (safe-first '(4 5)) (safe-first 6)"
    ) == [
        "(2 . 1)",
        "3",
        "(5)",
        "#f",
    ]
    assert values(session, "(swap 7) (first-or 8)") == [
        "error: type: cdr: expected a pair, got a number 7"
    ]  # the first error ends the input
    assert values(session, "(first-or 8)") == ["error: type: car: expected a pair, got a number 8"]
    assert session.function("first-or").jit_calls == 2


def test_runtime_calls_go_through_one_trampoline_each_and_errors_skip_them(session):
    # A body calls the runtime directly through a small function of the module (a
    # call_indirect there), never through the table itself; a stack at an error raised in
    # the runtime shows the Scheme function, not the trampoline between.
    session.eval("(define (half-sum a b) (+ (quotient a 2) (car b)))")
    mod = session.generate(["half-sum"])
    wat = tools.print_wat(mod.data)
    body = function_body(wat, "half-sum")
    assert "call_indirect" not in body
    called = re.findall(r"call \$(\S+)", body)
    assert "rt_fail.trampoline" in called and "rt_arith.trampoline" in called
    for name in set(called):
        trampoline = function_body(wat, name)
        assert len(re.findall(r"call_indirect", trampoline)) == 1
        assert wat.count(f"(func ${name} ") == 1
    session.link(mod)
    assert values(session, "(half-sum 9 '(1))") == ["5"]
    (result,) = session.eval("(half-sum 9 7)")
    assert result.error is not None and result.error.stack is not None
    frames = [f.function for f in result.error.stack.frames]
    assert frames[0] == "half-sum" and not any("trampoline" in f for f in frames)
