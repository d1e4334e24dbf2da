"""The language, form by form, in the interpreter and in eagerly compiled JIT code alike."""

from __future__ import annotations

import pytest

from jitscope.runtime.session import Session
from tests.conftest import values


@pytest.fixture(params=["interp", "jit"])
def s(request):
    with Session() as session:
        session.eager_jit = request.param == "jit"
        yield session


CASES = [
    # numbers and arithmetic
    ("42 -7 (+) (+ 1 2 3) (- 5) (- 10 1 2) (* 2 3 4) (*)", ["42", "-7", "0", "6", "-5", "7", "24", "1"]),
    ("(quotient 17 5) (remainder 17 5) (remainder -17 5) (modulo -17 5) (modulo 17 -5)",
     ["3", "2", "-2", "3", "-3"]),
    ("(= 1 1) (< 1 2) (> 1 2) (<= 2 2) (>= 1 2) (< 1 2 3) (< 1 3 2)",
     ["#t", "#t", "#f", "#t", "#f", "#t", "#f"]),
    ("(zero? 0) (positive? -1) (negative? -1) (even? 4) (odd? 4) (abs -5) (min 3 1 2) (max 3 1 2)",
     ["#t", "#f", "#t", "#t", "#f", "5", "1", "3"]),
    ("4611686018427387903 (- -4611686018427387903 1)", ["4611686018427387903", "-4611686018427387904"]),
    # booleans, not, eq?
    ("#t #f #true (not #f) (not 0) (eq? 'a 'a) (eq? '() '()) (equal? '(1 (2)) '(1 (2)))",
     ["#t", "#f", "#t", "#t", "#f", "#t", "#t", "#t"]),
    # if, and, or, cond, when, unless
    ("(if #f 1 2) (if 0 1 2) (and) (and 1 2) (and 1 #f 3) (or) (or #f 2) (or #f #f)",
     ["2", "1", "#t", "2", "#f", "#f", "2", "#f"]),
    ("(cond (#f 1) ((= 1 1) 2) (else 3)) (cond (#f 1) (else 3)) (cond (5))", ["2", "3", "5"]),
    ("(when (= 1 1) 1 2) (unless #f 3)", ["2", "3"]),
    # let forms
    ("(let ((x 1) (y 2)) (+ x y)) (let* ((x 1) (y (+ x 1))) y) (let ((x 1)) (let ((x 2) (y x)) y))",
     ["3", "2", "1"]),
    ("(letrec ((ev? (lambda (n) (if (= n 0) #t (od? (- n 1))))) (od? (lambda (n) (if (= n 0) #f (ev? (- n 1)))))) (ev? 100))",
     ["#t"]),
    ("(let loop ((i 0) (acc '())) (if (= i 3) acc (loop (+ i 1) (cons i acc))))", ["(2 1 0)"]),
    # lambda, closures, higher order
    ("((lambda (a b c) (+ a (* b c))) 1 2 3) ((lambda () 7))", ["7", "7"]),
    ("(define (adder n) (lambda (x) (+ x n))) ((adder 3) 4) (define add5 (adder 5)) (add5 1)", ["7", "6"]),
    ("(define (compose f g) (lambda (x) (f (g x)))) ((compose car cdr) '(1 2 3))", ["2"]),
    # define, redefinition, begin
    ("(define x 10) x (define x 20) x (begin 1 2 3)", ["10", "20", "3"]),
    ("(define (f) 1) (define (g) (f)) (g) (define (f) 2) (g)", ["1", "2"]),
    # quote and lists
    ("'(1 2 3) '(a (b . c) #t) (quote x) '() (cons 1 2) (list 1 (list 2) 3)",
     ["(1 2 3)", "(a (b . c) #t)", "x", "()", "(1 . 2)", "(1 (2) 3)"]),
    ("(car '(1 2)) (cdr '(1 2)) (null? '()) (null? '(1)) (pair? '(1)) (pair? 1)",
     ["1", "(2)", "#t", "#f", "#t", "#f"]),
    ("\"a\\\"b\\n\" #\\a", ['"a\\"b\\n"', "#\\a"]),
    # internal defines
    ("(define (f x) (define y (* x 2)) (define (g z) (+ y z)) (g 1)) (f 5)", ["11"]),
    # set!
    ("(define c 0) (define (inc!) (set! c (+ c 1)) c) (inc!) (inc!)", ["1", "2"]),
    ("(define (counter) (let ((n 0)) (lambda () (set! n (+ n 1)) n))) (define k (counter)) (k) (k)",
     ["1", "2"]),
    # procedures print by name
    ("car (define (fib n) n) fib (lambda (x) x)",
     ["#<procedure car>", "#<procedure fib>", "#<procedure lambda>"]),
]


@pytest.mark.parametrize(("source", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_forms(s, source, expected):
    assert values(s, source) == expected


ERRORS = [
    ("(+ 1 'a)", "type", "+: expected a number, got a symbol a"),
    ("(car 5)", "type", "car: expected a pair, got a number 5"),
    ("(cdr '())", "type", "cdr: expected a pair, got the empty list ()"),
    ("nope", "unbound", "unbound variable nope"),
    ("(5 1)", "not-procedure", "not a procedure: a number 5"),
    ("((lambda (x) x))", "arity", "lambda: expects 1 argument, got 0"),
    ("(car 1 2)", "arity", "car: expects 1 argument, got 2"),
    ("(+ 4611686018427387903 1)", "overflow", "+: fixnum overflow computing (+ 4611686018427387903 1)"),
    ("(* 4611686018427387903 2)", "overflow", "*: fixnum overflow computing (* 4611686018427387903 2)"),
    ("(quotient 1 0)", "divide-by-zero", "quotient: division by zero"),
    ("(letrec ((a b) (b 1)) a)", "unbound", "b used before its definition"),
    ("(1 2", "read", "missing ')' to close '(' opened at line 1, column 1"),
    (")", "read", "unexpected ')'"),
    ("(if)", "syntax", "if: expected (if test then [else])"),
    ("(define car 1)", "syntax", "cannot redefine the builtin procedure car"),
]


@pytest.mark.parametrize(("source", "kind", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_are_reported_and_the_session_carries_on(s, source, kind, message):
    s.eval("(define (keep) 'kept)")
    [r] = [r for r in s.eval(source) if r.kind == "error"]
    assert (r.error.kind, r.error.message) == (kind, message)
    assert values(s, "(keep) (+ 1 2)") == ["kept", "3"]
    assert s.stack_depth() == 0


def test_error_positions_point_into_the_defining_source(s):
    s.eval("(define (f x)\n  (car x))", name="lib.scm")
    [r] = s.eval("(f 1)")
    assert (r.error.source, r.error.line, r.error.col, r.error.function) == ("lib.scm", 2, 3, "f")
    assert r.text == "lib.scm:2:3 (in f): car: expected a pair, got a number 1"


def test_display_output_comes_with_its_form(s):
    rs = s.eval('(display "x=") (display 42) (newline) (write "q") (display \'(1 "s"))')
    assert [r.output for r in rs] == ["x=", "42", "\n", '"q"', '(1 s)']


@pytest.mark.parametrize("n", [10_000_000])
def test_tail_calls_run_in_constant_stack(s, n):
    src = f"""
      (define (loop i acc) (if (= i 0) acc (loop (- i 1) (+ acc i))))
      (loop {n} 0)
      (define (ev? n) (if (= n 0) #t (od? (- n 1))))
      (define (od? n) (if (= n 0) #f (ev? (- n 1))))
      (ev? 1000001)
      (let lp ((i 0)) (cond ((= i {n}) 'done) (else (lp (+ i 1)))))
    """
    assert values(s, src) == [str(n * (n + 1) // 2), "#f", "done"]


def test_collector_keeps_memory_bounded(s):
    s.eval("""
      (define (build n acc) (if (= n 0) acc (build (- n 1) (cons n acc))))
      (define (churn k) (if (= k 0) 'ok (begin (build 10000 '()) (churn (- k 1)))))
      (define keep (build 1000 '()))""")
    assert values(s, "(churn 2000)") == ["ok"]
    heap = s.heap_stats()
    assert heap["collections"] > 10
    assert heap["allocated_bytes"] > 400_000_000
    assert heap["heap_bytes"] <= 16 << 20
    assert values(s, "(car keep) (car (cdr keep))") == ["1", "2"]


def test_deep_recursion_is_an_error_not_a_crash(s):
    s.eval("(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))")
    assert values(s, "(deep 1000)") == ["1000"]
    [r] = s.eval("(deep 10000000)")
    assert r.error.kind == "stack"
    assert values(s, "(deep 100)") == ["100"]
