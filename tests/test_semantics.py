"""The language, form by form, in the interpreter and in eagerly compiled JIT code alike."""

from __future__ import annotations

import threading

import pytest

from jitscope.runtime.session import Session
from tests.conftest import values


@pytest.fixture(params=["interp", "jit"])
def s(request):
    with Session() as session:
        session.set_eager_jit(request.param == "jit")
        yield session


CASES = [
    # numbers and arithmetic
    (
        "42 -7 (+) (+ 1 2 3) (- 5) (- 10 1 2) (* 2 3 4) (*)",
        ["42", "-7", "0", "6", "-5", "7", "24", "1"],
    ),
    (
        "(quotient 17 5) (remainder 17 5) (remainder -17 5) (modulo -17 5) (modulo 17 -5)",
        ["3", "2", "-2", "3", "-3"],
    ),
    (
        "(= 1 1) (< 1 2) (> 1 2) (<= 2 2) (>= 1 2) (< 1 2 3) (< 1 3 2)",
        ["#t", "#t", "#f", "#t", "#f", "#t", "#f"],
    ),
    (
        "(zero? 0) (positive? -1) (negative? -1) (even? 4) (odd? 4) (abs -5) (min 3 1 2) (max 3 1 2)",
        ["#t", "#f", "#t", "#t", "#f", "5", "1", "3"],
    ),
    (
        "4611686018427387903 (- -4611686018427387903 1)",
        ["4611686018427387903", "-4611686018427387904"],
    ),
    # booleans, not, eq?
    (
        "#t #f #true (not #f) (not 0) (eq? 'a 'a) (eq? '() '()) (equal? '(1 (2)) '(1 (2)))",
        ["#t", "#f", "#t", "#t", "#f", "#t", "#t", "#t"],
    ),
    # if, and, or, cond, when, unless
    (
        "(if #f 1 2) (if 0 1 2) (and) (and 1 2) (and 1 #f 3) (or) (or #f 2) (or #f #f)",
        ["2", "1", "#t", "2", "#f", "#f", "2", "#f"],
    ),
    ("(cond (#f 1) ((= 1 1) 2) (else 3)) (cond (#f 1) (else 3)) (cond (5))", ["2", "3", "5"]),
    ("(when (= 1 1) 1 2) (unless #f 3)", ["2", "3"]),
    # let forms
    (
        "(let ((x 1) (y 2)) (+ x y)) (let* ((x 1) (y (+ x 1))) y) (let ((x 1)) (let ((x 2) (y x)) y))",
        ["3", "2", "1"],
    ),
    (
        "(letrec ((ev? (lambda (n) (if (= n 0) #t (od? (- n 1))))) (od? (lambda (n) (if (= n 0) #f (ev? (- n 1)))))) (ev? 100))",
        ["#t"],
    ),
    ("(let loop ((i 0) (acc '())) (if (= i 3) acc (loop (+ i 1) (cons i acc))))", ["(2 1 0)"]),
    # lambda, closures, higher order
    ("((lambda (a b c) (+ a (* b c))) 1 2 3) ((lambda () 7))", ["7", "7"]),
    (
        "(define (adder n) (lambda (x) (+ x n))) ((adder 3) 4) (define add5 (adder 5)) (add5 1)",
        ["7", "6"],
    ),
    ("(define (compose f g) (lambda (x) (f (g x)))) ((compose car cdr) '(1 2 3))", ["2"]),
    # define, redefinition, begin
    ("(define x 10) x (define x 20) x (begin 1 2 3)", ["10", "20", "3"]),
    ("(define (f) 1) (define (g) (f)) (g) (define (f) 2) (g)", ["1", "2"]),
    # quote and lists
    (
        "'(1 2 3) '(a (b . c) #t) (quote x) '() (cons 1 2) (list 1 (list 2) 3)",
        ["(1 2 3)", "(a (b . c) #t)", "x", "()", "(1 . 2)", "(1 (2) 3)"],
    ),
    (
        "(car '(1 2)) (cdr '(1 2)) (null? '()) (null? '(1)) (pair? '(1)) (pair? 1)",
        ["1", "(2)", "#t", "#f", "#t", "#f"],
    ),
    ('"a\\"b\\n" #\\a', ['"a\\"b\\n"', "#\\a"]),
    # internal defines
    ("(define (f x) (define y (* x 2)) (define (g z) (+ y z)) (g 1)) (f 5)", ["11"]),
    # set!
    ("(define c 0) (define (inc!) (set! c (+ c 1)) c) (inc!) (inc!)", ["1", "2"]),
    (
        "(define (counter) (let ((n 0)) (lambda () (set! n (+ n 1)) n))) (define k (counter)) (k) (k)",
        ["1", "2"],
    ),
    # procedures print by name
    (
        "car (define (fib n) n) fib (lambda (x) x)",
        ["#<procedure car>", "#<procedure fib>", "#<procedure lambda>"],
    ),
    (
        "(let loop ((i 0)) (if (= i 1) loop (loop 1))) map (define f (lambda args args)) f",
        ["#<procedure loop>", "#<procedure map>", "#<procedure f>"],
    ),
    # internal defines: in lambda, define, let, let*, letrec, named let bodies; mutual
    # recursion; interleaved with expressions; spliced from begin
    (
        "((lambda (x) (define (dbl) (* 2 x)) (dbl)) 4) (let ((a 1)) (define b (+ a 1)) (* a b))",
        ["8", "2"],
    ),
    (
        "(let* ((a 2)) (define (ev? n) (if (= n 0) #t (od? (- n 1)))) (define (od? n) (if (= n 0) #f (ev? (- n 1)))) (list (ev? a) (od? a)))",
        ["(#t #f)"],
    ),
    ("(let loop ((i 0)) (define j (+ i 1)) (if (< j 3) (loop j) j))", ["3"]),
    ("(define (f) (define a 1) (set! a (+ a 1)) (define b (* a 10)) b) (f)", ["20"]),
    (
        "(define (f) (begin (define a 1) (define b 2)) (+ a b)) (f) (let () (define x 5) x)",
        ["3", "5"],
    ),
    ("(define (f) (define (g) h) (define h 7) (g)) (f)", ["7"]),
    # named let, do
    ("(let fact ((n 10) (acc 1)) (if (= n 0) acc (fact (- n 1) (* acc n))))", ["3628800"]),
    ("(do ((i 0 (+ i 1)) (acc '() (cons i acc))) ((= i 4) acc))", ["(3 2 1 0)"]),
    (
        "(do ((vec (make-vector 5)) (i 0 (+ i 1))) ((= i 5) vec) (vector-set! vec i i))",
        ["#(0 1 2 3 4)"],
    ),
    (
        "(let ((x '(1 3 5 7 9))) (do ((x x (cdr x)) (sum 0 (+ sum (car x)))) ((null? x) sum)))",
        ["25"],
    ),
    ("(do ((i 0 (+ i 1))) ((= i 2)))", []),
    (
        "(define (f n) (do ((i 0 (+ i 1)) (fs '() (cons (lambda () i) fs))) ((= i n) (map (lambda (g) (g)) fs)))) (f 3)",
        ["(2 1 0)"],
    ),
    # case, cond =>, when, unless
    (
        "(case (* 2 3) ((2 3 5 7) 'prime) ((1 4 6 8 9) 'composite)) (case 'x ((a) 1) (else 2))",
        ["composite", "2"],
    ),
    ("(case (car '(c d)) ((a e i o u) 'vowel) ((w y) 'semivowel) (else => (lambda (x) x)))", ["c"]),
    (
        "(case #\\a ((#\\a) 'a) (else 'no)) (case 5 ((1) 'one) ((5) => (lambda (k) (* k k))))",
        ["a", "25"],
    ),
    (
        "(case 1 ((2) 'x)) (case '() ((()) 'empty) (else 'no)) (case \"s\" ((\"s\") 'eqv) (else 'no))",
        ["empty", "no"],
    ),
    (
        "(cond ((assv 'b '((a 1) (b 2))) => cadr) (else #f)) (cond ((memq 'z '(a)) => car) (else 'none))",
        ["2", "none"],
    ),
    ("(when #f 1) (unless #t 1) (when (< 1 2) 'yes) (unless (> 1 2) 'no)", ["yes", "no"]),
    # set! on locals, captured variables (closures share the box) and globals
    ("(let ((x 1)) (set! x (+ x 1)) x) (define g 1) (set! g 5) g", ["2", "5"]),
    (
        "(define (make) (let ((n 0)) (cons (lambda () (set! n (+ n 1)) n) (lambda () n)))) (define p (make)) ((car p)) ((car p)) ((cdr p))",
        ["1", "2", "2"],
    ),
    ("(define (f x) (let ((get (lambda () x))) (set! x (* x 10)) (get))) (f 4)", ["40"]),
    ("(define (f) (define n 0) (define (bump!) (set! n (+ n 1))) (bump!) (bump!) n) (f)", ["2"]),
    ("(define x 1) (define (get-x) x) (set! x 2) (get-x)", ["2"]),
    # variadic procedures and apply
    (
        "((lambda args args)) ((lambda args args) 1 2) ((lambda (a . r) (list a r)) 1 2 3)",
        ["()", "(1 2)", "(1 (2 3))"],
    ),
    (
        "(define (f a b . rest) (list a b rest)) (f 1 2) (f 1 2 3 4) (define (g . xs) (length xs)) (g) (g 1 2 3)",
        ["(1 2 ())", "(1 2 (3 4))", "0", "3"],
    ),
    (
        "(define (f a b c d e g h . r) (list a h r)) (f 1 2 3 4 5 6 7) (f 1 2 3 4 5 6 7 8 9)",
        ["(1 7 ())", "(1 7 (8 9))"],
    ),
    (
        "(apply + '()) (apply + 1 2 '(3 4)) (apply list '(1 2)) (apply (lambda (a . r) r) '(1 2 3)) (apply apply (list + '(1 2)))",
        ["0", "10", "(1 2)", "(2 3)", "3"],
    ),
    (
        "(define (sum . xs) (if (null? xs) 0 (+ (car xs) (apply sum (cdr xs))))) (sum 1 2 3 4)",
        ["10"],
    ),
    (
        "(define compose (lambda fs (if (null? fs) (lambda (x) x) (lambda (x) ((car fs) ((apply compose (cdr fs)) x)))))) ((compose car cdr cdr) '(1 2 3))",
        ["3"],
    ),
    # symbols and strings
    (
        "'foo (eq? 'foo 'foo) (eq? 'foo 'bar) (symbol? 'a) (symbol? \"a\") (string->symbol \"hi\") (symbol->string 'abc)",
        ["foo", "#t", "#f", "#t", "#f", "hi", '"abc"'],
    ),
    (
        '"tab\\there" "q\\"uote" "back\\\\slash" "nl\\n" "hex\\x41;"',
        ['"tab\\there"', '"q\\"uote"', '"back\\\\slash"', '"nl\\n"', '"hexA"'],
    ),
    (
        '(string? "s") (string? #\\s) (string-length "hello") (string-length "") (string-append "ab" "c" "") (string-append)',
        ["#t", "#f", "5", "0", '"abc"', '""'],
    ),
    (
        '(string=? "ab" "ab") (string=? "ab" "abc") (string<? "abc" "abd") (string>? "b" "a" "c")',
        ["#t", "#f", "#t", "#f"],
    ),
    (
        '(number->string 42) (number->string -7) (number->string 255 16) (string->number "123") (string->number "x1")',
        ['"42"', '"-7"', '"ff"', "123", "#f"],
    ),
    (
        '(string-ref "abc" 1) (substring "hello" 1 3) (substring "hello" 2) (string #\\a #\\b) (make-string 3 #\\z)',
        ["#\\b", '"el"', '"llo"', '"ab"', '"zzz"'],
    ),
    (
        '(string->list "abc") (list->string (list #\\x #\\y)) (eq? (string->symbol "k") \'k)',
        ["(#\\a #\\b #\\c)", '"xy"', "#t"],
    ),
    # characters
    (
        "#\\a #\\space #\\newline #\\tab #\\( #\\x41 (char? #\\a) (char->integer #\\A) (integer->char 97)",
        ["#\\a", "#\\space", "#\\newline", "#\\tab", "#\\(", "#\\A", "#t", "65", "#\\a"],
    ),
    (
        "(char=? #\\a #\\a) (char<? #\\a #\\b) (char-upcase #\\a) (char-numeric? #\\5) (char-alphabetic? #\\5) (char-whitespace? #\\space)",
        ["#t", "#t", "#\\A", "#t", "#f", "#t"],
    ),
    # vectors
    (
        "(vector 1 'a \"s\") (make-vector 2 0) (make-vector 0) #(1 #(2) (3)) (vector? #(1)) (vector? '(1))",
        ['#(1 a "s")', "#(0 0)", "#()", "#(1 #(2) (3))", "#t", "#f"],
    ),
    (
        "(define v (make-vector 3 0)) (vector-set! v 0 'x) v (vector-ref v 0) (vector-length v) (vector->list v) (list->vector '(1 2))",
        ["#(x 0 0)", "x", "3", "(x 0 0)", "#(1 2)"],
    ),
    (
        "(define v (vector 5 3 1)) (vector-fill! v 7) v (vector-map (lambda (x) (* x 2)) #(1 2)) (let ((s 0)) (vector-for-each (lambda (x) (set! s (+ s x))) #(1 2 3)) s)",
        ["#(7 7 7)", "#(2 4)", "6"],
    ),
    # equal?, eqv?, quoted nested data
    (
        '(equal? "ab" "ab") (eq? "ab" "ab") (equal? #(1 (2 #(3))) (vector 1 (list 2 (vector 3)))) (equal? #(1) #(2)) (eqv? 2 2) (eqv? #\\a #\\a) (equal? \'(1 . 2) (cons 1 2))',
        ["#t", "#f", "#t", "#f", "#t", "#t", "#t"],
    ),
    (
        "'(1 (2 (3 . 4)) #(5 \"six\") #\\7 sym) '(quote x) ''x",
        ['(1 (2 (3 . 4)) #(5 "six") #\\7 sym)', "(quote x)", "(quote x)"],
    ),
    # quasiquote
    (
        "(let ((x 1) (l '(2 3))) `(a ,x ,@l b)) `(1 ,@'() 2) `(1 . ,(+ 1 1)) `#(1 ,(+ 1 1) ,@(list 3 4))",
        ["(a 1 2 3 b)", "(1 2)", "(1 . 2)", "#(1 2 3 4)"],
    ),
    (
        "`(x ,@(map (lambda (i) (* i i)) '(1 2 3)) y) `(a `(b ,(c ,(+ 1 2)))) `plain `(,@'(1 2))",
        ["(x 1 4 9 y)", "(a (quasiquote (b (unquote (c 3)))))", "plain", "(1 2)"],
    ),
    # list library
    (
        "(length '(1 2 3)) (length '()) (append '(1) '(2 3) '() '(4)) (append) (append '(1) 2) (reverse '(1 2 3))",
        ["3", "0", "(1 2 3 4)", "()", "(1 . 2)", "(3 2 1)"],
    ),
    (
        "(list-ref '(a b c) 2) (list-tail '(a b c) 1) (memq 'c '(a b c d)) (memq 'z '(a)) (member \"b\" '(\"a\" \"b\")) (memv 2 '(1 2))",
        ["c", "(b c)", "(c d)", "#f", '("b")', "(2)"],
    ),
    (
        "(assq 'b '((a 1) (b 2))) (assv 2 '((1 . x) (2 . y))) (assoc \"b\" '((\"a\" . 1) (\"b\" . 2))) (assq 'z '())",
        ["(b 2)", "(2 . y)", '("b" . 2)', "#f"],
    ),
    (
        "(map (lambda (x) (* x x)) '(1 2 3)) (map + '(1 2 3) '(10 20 30)) (map list '(1 2 3) '(a b)) (map car '())",
        ["(1 4 9)", "(11 22 33)", "((1 a) (2 b))", "()"],
    ),
    (
        "(member 2 '(1 2 3) (lambda (a b) (= a (- b 1)))) (assoc 2 '((1 . a) (3 . b)) (lambda (a b) (= a (- b 1))))",
        ["(3)", "(3 . b)"],
    ),
    (
        "(filter odd? '(1 2 3 4 5)) (fold-left + 0 '(1 2 3)) (fold-right cons '() '(1 2 3)) (fold-left cons '() '(1 2))",
        ["(1 3 5)", "6", "(1 2 3)", "((() . 1) . 2)"],
    ),
    ("(define (length l) 'mine) (length '(1)) (define map 5) map", ["mine", "5"]),
    (
        "(list? '(1 2)) (list? '(1 . 2)) (list? '()) (integer? 5) (error? 1)",
        ["#t", "#f", "#t", "#t", "error: unbound: unbound variable error?"],
    ),
    # several lists: map and for-each stop at the shortest
    ("(map + '(1 2) '(10 20 30)) (map list '() '(1))", ["(11 22)", "()"]),
    # flonums: read, printed as R7RS systems print them, inexactness contagious
    (
        "2.5 -0.0 1e21 1e-7 123456789.123 1e6 1e7 .5 -1.5e3 +inf.0 -inf.0 +nan.0 #i3 #e2.0",
        [
            "2.5",
            "-0.0",
            "1.0e21",
            "1.0e-7",
            "123456789.123",
            "1000000.0",
            "1.0e7",
            "0.5",
            "-1500.0",
            "+inf.0",
            "-inf.0",
            "+nan.0",
            "3.0",
            "2",
        ],
    ),
    (
        "(+ 1 2.5) (- 0.5) (* 1.5 2) (/ 6 3) (/ 6 4) (/ 1 3.0) (/ 2) (max 1 2.0) (min 1 2.0)",
        ["3.5", "-0.5", "3.0", "2", "1.5", "0.3333333333333333", "0.5", "2.0", "1.0"],
    ),
    (
        (
            "(< 1 2.5 3) (= 1 1.0) (> 2.0 1) (zero? 0.0) (positive? -0.5) (eqv? 2.0 2.0) (eq? 2 2) "
            "(equal? '(1.0) '(1.00)) (eqv? 0.0 -0.0) (memv 1.5 '(1 1.5 2))"
        ),
        ["#t", "#t", "#t", "#t", "#f", "#t", "#t", "#t", "#f", "(1.5 2)"],
    ),
    (
        (
            "(sqrt 16) (sqrt 2) (exp 0) (log 100 10) (atan 1 1) (sin 0) (expt 2 10) (expt 2.0 0.5) "
            "(expt 2 -1) (square 1.5) (abs -2.5)"
        ),
        [
            "4",
            "1.4142135623730951",
            "1.0",
            "2.0",
            "0.7853981633974483",
            "0.0",
            "1024",
            "1.4142135623730951",
            "0.5",
            "2.25",
            "2.5",
        ],
    ),
    (
        (
            "(floor 2.7) (ceiling 2.2) (round 2.5) (round 3.5) (truncate -2.7) (floor 5) "
            "(exact (floor 2.7)) (inexact 3) (exact->inexact 2) (inexact->exact 4.0) (quotient 7.0 2)"
        ),
        ["2.0", "3.0", "2.0", "4.0", "-2.0", "5", "2", "3.0", "2.0", "4", "3.0"],
    ),
    (
        (
            "(number? 1.5) (integer? 2.0) (integer? 2.5) (exact? 2.0) (inexact? 2.0) "
            "(exact-integer? 2) (exact-integer? 2.0) (rational? +inf.0) (real? 1) (nan? (/ 0. 0.))"
        ),
        ["#t", "#t", "#f", "#f", "#t", "#t", "#f", "#f", "#t", "#t"],
    ),
    (
        (
            '(number->string 2.5) (string->number "1e3") (string->number "#xff") '
            '(string->number "abc") (string->number "1/2") (string->symbol "1.5") (gcd 12 18) (lcm 4 6)'
        ),
        ['"2.5"', "1000.0", "255", "#f", "#f", "|1.5|", "6", "12"],
    ),
    (
        "'(#x1F #b101 #o17 #x-ff #d10 #e1.0) '|a b| (length '(|a b|)) (symbol? (car '(2.5)))",
        ["(31 5 15 -255 10 1)", "|a b|", "1", "#f"],
    ),
    # quotient, remainder and modulo: fixnums inline in JIT code, every sign, the one
    # overflow, division by zero and flonums through the runtime
    (
        (
            "(define (qrm a b) (list (quotient a b) (remainder a b) (modulo a b))) "
            "(qrm 7 2) (qrm -7 2) (qrm 7 -2) (qrm -7 -2) (qrm 6 -3) (qrm 7.0 2) "
            "(qrm -4611686018427387904 3) (remainder -4611686018427387904 -1)"
        ),
        [
            "(3 1 1)",
            "(-3 -1 1)",
            "(-3 1 -1)",
            "(3 -1 -1)",
            "(-2 0 0)",
            "(3.0 1.0 1.0)",
            "(-1537228672809129301 -1 2)",
            "0",
        ],
    ),
    # *: fixnums under 2^31 in magnitude inline in JIT code, larger ones (and their
    # overflow) through the runtime
    (
        (
            "(define (mul a b) (* a b)) (mul 2147483647 2147483647) (mul -2147483647 3) "
            "(mul 2147483648 -2147483648) (mul 3000000000 1000000000) (mul 6 7.5)"
        ),
        [
            "4611686014132420609",
            "-6442450941",
            "-4611686018427387904",
            "3000000000000000000",
            "45.0",
        ],
    ),
    # bytevectors
    (
        (
            "(define b (make-bytevector 3 1)) (bytevector-u8-set! b 2 9) b "
            "(bytevector-u8-ref #u8(5 6 7) 2) (bytevector-append b #u8(4)) "
            '(utf8->string (bytevector 104 105)) (string->utf8 "ok") (equal? b (bytevector 1 1 9))'
        ),
        ["#u8(1 1 9)", "7", "#u8(1 1 9 4)", '"hi"', "#u8(111 107)", "#t"],
    ),
    # booleans in any case; \a \b and line continuations (LF, CRLF, CR) in strings; write
    # escapes what would not show (controls, separators, noncharacters), in strings, chars
    # and |symbols| alike
    (
        (
            '\'(#T #F #True #FALSE) (string-length "\\a\\b") "one\\  \r\n   two\\\rthree" '
            "(string #\\x85 #\\x3bb #\\x2028 #\\xffff #\\x7f) (list #\\x85 #\\x3bb) "
            "(string->symbol (string #\\a #\\x2028))"
        ),
        [
            "(#t #f #t #f)",
            "2",
            '"onetwothree"',
            '"\\x85;\u03bb\\x2028;\\xffff;\\x7f;"',
            "(#\\x85 #\\\u03bb)",
            "|a\\x2028;|",
        ],
    ),
    (
        (
            "(define (sum n acc) (if (= n 0) acc (sum (- n 1) (+ acc 0.5)))) (sum 1000 0) "
            "(define (g x) (if (< x 2) x (- x 1))) (g 5.5) (g 1)"
        ),
        ["500.0", "4.5", "1"],
    ),
    ("(cadddr '(1 2 3 4)) (cddddr '(1 2 3 4 5)) (caadar '((1 (2))))", ["4", "(5)", "2"]),
    # call/cc escapes, through interpreted and JIT frames alike
    (
        (
            "(call/cc (lambda (k) 1)) (+ 1 (call/cc (lambda (k) (+ 10 (k 5))))) "
            "(define (first-even l) (call/cc (lambda (return) "
            "(for-each (lambda (x) (if (even? x) (return x))) l) #f))) "
            "(first-even '(1 3 4 5 6)) (first-even '(1 3)) "
            "(define (deep n k) (if (= n 0) (k 'bottom) (+ 1 (deep (- n 1) k)))) "
            "(call/cc (lambda (k) (deep 1000 k))) "
            "(call/cc (lambda (outer) (+ 1 (call/cc (lambda (inner) (outer 'out)))))) "
            "(procedure? call/cc) (call-with-current-continuation procedure?)"
        ),
        ["1", "6", "4", "#f", "bottom", "out", "#t", "#t"],
    ),
    # mutable strings; character and string comparisons, with and without case
    (
        (
            "(define s (make-string 3 #\\a)) (string-set! s 1 #\\b) s "
            '(let ((t (string-copy "hello"))) (string-fill! t #\\z 1 3) t) (string-copy "hello" 1 3) '
            "(define n (symbol->string 'abc)) (string-set! n 0 #\\z) (list n 'abc) "
            '(string-upcase "abc") (string-downcase "ABC")'
        ),
        ['"aba"', '"hzzlo"', '"el"', '("zbc" abc)', '"ABC"', '"abc"'],
    ),
    (
        (
            "(char<=? #\\a #\\b #\\b) (char>=? #\\a #\\b) (char-ci=? #\\a #\\A) "
            '(char-ci<? #\\a #\\B) (string<=? "abc" "abd") (string>=? "b" "a") '
            '(string-ci=? "HeLLo" "hello") (string-ci<? "apple" "Banana") '
            "(char-upper-case? #\\A) (char-lower-case? #\\A) (digit-value #\\7) (digit-value #\\x)"
        ),
        ["#t", "#f", "#t", "#t", "#t", "#t", "#t", "#t", "#t", "#f", "7", "#f"],
    ),
    # equal? costs the size of shared structure, not its paths (2^100 of them here)
    (
        (
            '(define (tree n) (if (= n 0) (list 1 2.5 "s") (let ((t (tree (- n 1)))) (cons t (vector t)))))'
            " (equal? (tree 100) (tree 100)) (equal? (tree 100) (tree 99))"
        ),
        ["#t", "#f"],
    ),
    # the rest of the R7RS-small list, vector, string and division procedures (the prelude's),
    # as Guile prints them
    (
        (
            "(call-with-values (lambda () (exact-integer-sqrt 17)) list)"
            "(call-with-values (lambda () (exact-integer-sqrt 1000000000000)) list)"
            "(call-with-values (lambda () (floor/ -7 2)) list)"
            "(call-with-values (lambda () (truncate/ -7 2)) list)"
            "(list (floor-quotient 7 -2) (floor-remainder 7 -2) (truncate-quotient 7 -2) (truncate-remainder 7 -2))"
            "(make-list 3 'x)"
            "(let ((l (list 1 2 3))) (let ((c (list-copy l))) (set-car! c 9) (list l c)))"
            "(last-pair '(1 2 3))"
            "(let ((l (list 1 2 3))) (list-set! l 1 'b) l)"
            '(let ((acc \'())) (string-for-each (lambda (c) (set! acc (cons c acc))) "abc") acc)'
            '(string-map char-upcase "abc")'
            "(vector-copy #(1 2 3 4) 1 3)"
            "(vector-copy #(1 2 3))"
            "(vector-append #(1) #(2 3) #())"
            '(string->vector "ab")'
            "(vector->string #(#\\x #\\y))"
            "(list (boolean=? #t #t) (symbol=? 'a 'b) (char-foldcase #\\A))"
        ),
        [
            "(4 1)",
            "(1000000 0)",
            "(-4 1)",
            "(-3 -1)",
            "(-4 -1 -3 1)",
            "(x x x)",
            "((1 2 3) (9 2 3))",
            "(3)",
            "(1 b 3)",
            "(#\\c #\\b #\\a)",
            '"ABC"',
            "#(2 3)",
            "#(1 2 3)",
            "#(1 2 3)",
            "#(#\\a #\\b)",
            '"xy"',
            "(#t #f #\\a)",
        ],
    ),
    # exceptions: raise, raise-continuable, with-exception-handler, guard; errors the module
    # raises (error, type and range errors, read errors) are error objects a handler catches
    (
        (
            "(call-with-current-continuation (lambda (k) (with-exception-handler (lambda (e) (k (list 'caught e))) (lambda () (raise 'boom)))))"
            "(with-exception-handler (lambda (e) 10) (lambda () (+ 1 (raise-continuable 'c))))"
            "(guard (e (#t (list 'guarded e))) (raise 'oops))"
            "(guard (e ((symbol? e) (list 'sym e)) ((string? e) (list 'str e))) (raise \"text\"))"
            '(guard (e ((error-object? e) (list (error-object-message e) (error-object-irritants e)))) (error "bad thing:" 1 2))'
            "(guard (e ((error-object? e) (error-object-message e))) (car 5))"
            "(guard (e ((error-object? e) (error-object-message e))) (vector-ref (vector 1) 9))"
            '(guard (e ((error-object? e) \'read-error)) (read (open-input-string "(1 2")))'
            "(guard (e (else (list 'else e))) (raise 42))"
            "(guard (e ((string? e) 'no)) (guard (e2 ((number? e2) (list 'inner e2))) (raise 7)))"
            "(guard (e ((symbol? e) (list 'outer e))) (guard (e2 ((number? e2) 'inner)) (raise 'x)))"
            "(guard (e (#t 'unused)) (+ 1 2))"
            "(call-with-values (lambda () (guard (e (#t 0)) (values 1 2))) list)"
            "(define (safe-div a b) (guard (e (#t 'div-error)) (quotient a b)))"
            "(list (safe-div 10 2) (safe-div 1 0))"
            "(let loop ((i 0) (n 0)) (if (= i 1000) n (loop (+ i 1) (+ n (guard (e (#t 1)) (raise 'x))))))"
        ),
        [
            "(caught boom)",
            "11",
            "(guarded oops)",
            '(str "text")',
            '("bad thing:" (1 2))',
            '"car: expected a pair, got a number 5"',
            '"vector-ref: index 9 is out of range for a vector of length 1"',
            "read-error",
            "(else 42)",
            "(inner 7)",
            "(outer x)",
            "3",
            "(1 2)",
            "(5 div-error)",
            "1000",
        ],
    ),
    # a program's imports of the standard libraries (all built in)
    (
        "(import (scheme base) (only (scheme write) display) (except (scheme char) char-upcase)) 1",
        ["1"],
    ),
    # write bars a symbol that would not read back as itself; the bars read back
    (
        (
            '(string->symbol "a b") (list (string->symbol "") (string->symbol "12") \'abc) '
            "'|x\\|y| (eq? '|abc| 'abc) (symbol->string '|a\\x41;|)"
        ),
        ["|a b|", "(|| |12| abc)", "|x\\|y|", "#t", '"aA"'],
    ),
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
    (
        "(+ 4611686018427387903 1)",
        "overflow",
        "+: fixnum overflow computing (+ 4611686018427387903 1)",
    ),
    (
        "(* 4611686018427387903 2)",
        "overflow",
        "*: fixnum overflow computing (* 4611686018427387903 2)",
    ),
    ("(quotient 1 0)", "divide-by-zero", "quotient: division by zero"),
    ("(let ((z 0)) (modulo 5 z))", "divide-by-zero", "modulo: division by zero"),
    (
        "(let ((m -2147483648)) (* m m))",
        "overflow",
        "*: fixnum overflow computing (* -2147483648 -2147483648)",
    ),
    (
        "(let ((m -4611686018427387904)) (quotient m -1))",
        "overflow",
        "quotient: fixnum overflow computing (quotient -4611686018427387904 -1)",
    ),
    ("(letrec ((a b) (b 1)) a)", "unbound", "b used before its definition"),
    ("(1 2", "read", "missing ')' to close '(' opened at line 1, column 1"),
    (")", "read", "unexpected ')'"),
    ("(if)", "syntax", "if: expected (if test then [else])"),
    ("(define car 1)", "syntax", "cannot redefine the builtin procedure car"),
    (
        "(vector-ref (vector 1 2) 2)",
        "range",
        "vector-ref: index 2 is out of range for a vector of length 2",
    ),
    (
        "(vector-set! (make-vector 1) -1 0)",
        "range",
        "vector-set!: index -1 is out of range for a vector of length 1",
    ),
    ("(vector-ref '(1) 0)", "type", "vector-ref: expected a vector, got a pair (1)"),
    ("(vector-ref (vector 1) 'a)", "type", "vector-ref: expected an index, got a symbol a"),
    ("(make-vector -1)", "range", "make-vector: length -1 is out of range (0 to 134217728)"),
    ("(string-length 'a)", "type", "string-length: expected a string, got a symbol a"),
    (
        '(string-ref "abc" 3)',
        "range",
        "string-ref: index 3 is out of range for a string of length 3",
    ),
    ('(substring "abc" 2 1)', "range", "substring: start 2 is after end 1"),
    ('(string-append "a" 1)', "type", "string-append: expected a string, got a number 1"),
    ("(integer->char -1)", "range", "integer->char: -1 is not a Unicode scalar value"),
    ("(cadr '(1))", "type", "cadr: expected a pair, got the empty list ()"),
    ("(define (f a b . r) r) (f 1)", "arity", "f: expects at least 2 arguments, got 1"),
    ("((lambda (a . r) a))", "arity", "lambda: expects at least 1 argument, got 0"),
    (
        "(define (f . r) r) (define (g) (f)) (define (h a) a) (apply h '(1 2))",
        "arity",
        "h: expects 1 argument, got 2",
    ),
    ("(apply + 1)", "type", "apply: expected a list, got a number 1"),
    ("(apply car '(1 2))", "arity", "car: expects 1 argument, got 2"),
    ("(apply +)", "arity", "apply: expects at least 2 arguments, got 1"),
    ('(error "bad thing:" 1 \'x "s")', "error", 'bad thing: 1 x "s"'),
    ("(length 5)", "type", "length: expected a list, got a number 5"),
    ("(list-ref '(1) 3)", "range", "list-ref: index 3 is out of range for a list of length 1"),
    ("(map car '(1))", "type", "car: expected a pair, got a number 1"),
    ("`(1 ,@2)", "type", "append: expected a list, got a number 2"),
    ("(case)", "syntax", "case: expected (case key clause ...)"),
    (
        "(do ((i 0)))",
        "syntax",
        "do: expected (do ((variable init step) ...) (test result ...) command ...)",
    ),
    ("(lambda (x x) x)", "syntax", "duplicate binding of x"),
    ("(unquote x)", "syntax", "unquote: not inside a quasiquote"),
    ("#(1 . 2)", "read", "a vector literal cannot have a '.'"),
    ("#\\bogus", "read", "unknown character name #\\bogus"),
    ("(map + '(1 2) 5)", "type", "map: expected a list, got a number 5"),
    ("(map + '(1 2 3) '(1 . 2))", "type", "map: expected a list, got a pair (1 . 2)"),
    ("(for-each display 5 '(1))", "type", "for-each: expected a list, got a number 5"),
    ("(abs 'x)", "type", "abs: expected a number, got a symbol x"),
    (
        "(abs -4611686018427387904)",
        "overflow",
        "abs: fixnum overflow computing (abs -4611686018427387904)",
    ),
    ("'|a b", "read", "unterminated |symbol|"),
    ("'1/2", "read", "exact rationals are not supported: 1/2"),
    ("'#e1.5", "read", "exact rationals are not supported: #e1.5"),
    ("'(1.2.3)", "read", "bad number syntax 1.2.3"),
    ("'+5x", "read", "bad number syntax +5x"),
    ("'#xZZ", "read", "bad number syntax #xZZ"),
    (
        "12345678901234567890",
        "read",
        "integer out of the fixnum range (62 bits and sign): 12345678901234567890",
    ),
    ("(+ 'a 1.0)", "type", "+: expected a number, got a symbol a"),
    ("(< 1.5 'b)", "type", "<: expected a number, got a symbol b"),
    ("(define (lt x) (< x 2)) (lt 'c)", "type", "<: expected a number, got a symbol c"),
    (
        "(exact 2.5)",
        "range",
        "exact: 2.5 has no exact value (there are no exact rationals or bignums)",
    ),
    ("(sqrt -4)", "range", "sqrt: -4 has no real square root (there are no complex numbers)"),
    ("(/ 1 0)", "divide-by-zero", "/: division by zero"),
    ("(vector-ref (vector 1) 0.0)", "type", "vector-ref: expected an index, got a number 0.0"),
    ("(integer->char 65.0)", "type", "integer->char: expected an exact integer, got a number 65.0"),
    ("(expt 2 62)", "overflow", "expt: fixnum overflow computing (expt 2 62)"),
    (
        "(define saved #f) (call/cc (lambda (k) (set! saved k) 1)) (saved 2)",
        "error",
        "this continuation's call/cc has returned: continuations only escape (no re-entry)",
    ),
    ("(call/cc (lambda (k) (k 1 2)))", "arity", "continuation: expects 1 argument, got 2"),
    (
        "(define-record-type <pt> (make-pt x) pt? (x pt-x)) (pt-x 5)",
        "type",
        "pt-x: expected a record of type <pt>, got a number 5",
    ),
    (
        "(define-record-type <pt> (make-pt y) pt? (x pt-x))",
        "syntax",
        "define-record-type: the constructor's y is not a field",
    ),
    (
        "(string-set! (make-string 2) 0 #\\λ)",
        "type",
        "string-set!: expected an ASCII character, got a character #\\λ",
    ),
    ("(raise 'nobody)", "error", "uncaught exception: nobody"),
    (
        "(with-exception-handler (lambda (e) 'ignored) (lambda () (raise 'again)))",
        "error",
        "the exception handler returned from raise (raise-continuable may return): again",
    ),
    ('(guard (e ((string? e) \'no)) (error "left:" 1))', "error", "left: 1"),
    ("(call/cc 5)", "type", "call-with-current-continuation: expected a procedure, got a number 5"),
    (
        "(import (srfi 1))",
        "syntax",
        "import: no library (srfi 1) (only the (scheme ...) libraries, which are built in)",
    ),
    ("(define (f) (import (scheme base)))", "syntax", "import: only allowed at top level"),
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


def test_errors_carry_the_same_position_interpreted_and_compiled(s):
    s.eval(
        """(define (at v i)
  (vector-ref v i))
(define (two a b . more)
  more)
(define (call-two)
  (list (two 1)))
(define (spread f args)
  (apply f args))
(define (kind x)
  (case x ((1) 'one) (else (string-length x))))""",
        name="lib.scm",
    )
    cases = [
        (
            "(at (vector 1) 5)",
            "lib.scm:2:3 (in at): vector-ref: index 5 is out of range for a vector of length 1",
        ),
        ("(call-two)", "lib.scm:6:9 (in call-two): two: expects at least 2 arguments, got 1"),
        ("(spread two '(1))", "lib.scm:8:3 (in spread): two: expects at least 2 arguments, got 1"),
        ("(kind 2)", "lib.scm:10:28 (in kind): string-length: expected a string, got a number 2"),
    ]
    for source, text in cases:
        [r] = s.eval(source)
        assert r.text == text


def test_library_errors_name_the_procedure_and_point_into_the_prelude(s):
    [r] = s.eval("(length '(1 . 2))")
    assert r.error.kind == "type" and r.error.source == "<prelude>"
    assert r.error.function.startswith("length")
    assert r.error.message == "length: expected a list, got a pair (1 . 2)"


def test_display_output_comes_with_its_form(s):
    rs = s.eval('(display "x=") (display 42) (newline) (write "q") (display \'(1 "s"))')
    assert [r.output for r in rs] == ["x=", "42", "\n", '"q"', "(1 s)"]
    rs = s.eval("""(write (list "a\\"b" #\\c #\\space 'd #(1 "e") 1.5x))""")
    assert rs[0].kind == "error"  # 1.5x is read as a symbol: unbound
    rs = s.eval("""(write (list "a\\"b" #\\c #\\space 'd #(1 "e")))
                   (display (list "a\\"b" #\\c #\\space 'd #(1 "e")))
                   (for-each (lambda (x) (display x) (newline)) '(1 2))
                   (begin (display "v=") 42)""")
    assert [(r.output, r.text) for r in rs] == [
        ('("a\\"b" #\\c #\\space d #(1 "e"))', ""),
        ('(a"b c   d #(1 e))', ""),
        ("1\n2\n", ""),
        ("v=", "42"),
    ]


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


def test_collector_traces_vectors_strings_and_closures(s):
    s.eval("""
      (define (entry i)
        (let ((big (make-vector 70 i)))  ; past 64 words: a large object
          (vector i (number->string i) (lambda () (vector-ref big 69)) big `(,i ,@(list i)))))
      (define keep (let ((v (make-vector 200 #f)))
                     (do ((i 0 (+ i 1))) ((= i 200) v) (vector-set! v i (entry i)))))
      (define (garbage n)
        (do ((i 0 (+ i 1)) (acc '() (if (= (remainder i 100) 0) '() (cons (entry i) acc))))
            ((= i n) (length acc))))
      (define (check i)
        (let ((e (vector-ref keep i)))
          (and (= (vector-ref e 0) i)
               (string=? (vector-ref e 1) (number->string i))
               (= ((vector-ref e 2)) i)
               (= (vector-length (vector-ref e 3)) 70)
               (equal? (vector-ref e 4) (list i i)))))""")
    assert values(s, "(garbage 30000)") == ["99"]
    assert s.heap_stats()["collections"] > 3
    assert values(
        s,
        "(let loop ((i 0)) (cond ((= i 200) 'intact) ((check i) (loop (+ i 1))) (else i)))"
        " (length '(1 2 3)) (map (lambda (x) `(,x)) '(1 2))",
    ) == ["intact", "3", "((1) (2))"]


def test_a_hundred_thousand_frames_of_non_tail_recursion_run_from_any_thread(s):
    # Evaluations run on a thread with room for the wasm stack, whatever thread asks.
    s.eval("(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))")
    assert values(s, "(deep 100000)") == ["100000"]
    answers: list[list[str]] = []
    previous = threading.stack_size(256 << 10)  # a thread with far less stack than that
    try:
        small = threading.Thread(target=lambda: answers.append(values(s, "(deep 100000)")))
        small.start()
    finally:
        threading.stack_size(previous)
    small.join()
    assert answers == [["100000"]]


def test_recursion_through_the_library_runs_out_of_stack_as_an_error(s):
    # Each level runs C++ frames too (map, apply): whichever stack fills first, it is a
    # stack error saying so, never an out-of-bounds trap, and the session goes on.
    s.eval("(define (f n) (if (= n 0) 0 (+ 1 (car (map f (list (- n 1)))))))")
    [r] = s.eval("(f 1000000)")
    assert r.kind == "error" and r.error.kind == "stack", r.text
    assert "stack exhausted: recursion too deep" in r.text
    assert values(s, "(f 1000)") == ["1000"]


def test_deep_recursion_is_an_error_not_a_crash(s):
    s.eval("(define (deep n) (if (= n 0) 0 (+ 1 (deep (- n 1)))))")
    assert values(s, "(deep 1000)") == ["1000"]
    [r] = s.eval("(deep 10000000)")
    assert r.error.kind == "stack"
    assert values(s, "(deep 100)") == ["100"]


def test_one_arity_message_for_primitives_called_directly_or_through_apply(session):
    direct = values(session, "(make-vector 1 2 3)")
    applied = values(session, "(apply make-vector '(1 2 3))")
    assert direct == applied == ["error: arity: make-vector: expects 1 to 2 arguments, got 3"]
    assert values(session, '(apply substring \'("abc"))') == [
        "error: arity: substring: expects 2 to 3 arguments, got 1"
    ]


def test_the_printer_prints_deep_and_long_data_whole_and_says_where_it_stops(s):
    s.eval("(define (nest n acc) (if (= n 0) acc (nest (- n 1) (list acc))))")
    s.eval(
        "(define (iota n) (let loop ((i n) (acc '())) (if (= i 0) acc (loop (- i 1) (cons i acc)))))"
    )
    [deep] = values(s, "(nest 5000 '())")
    assert deep == "(" * 5000 + "()" + ")" * 5000
    [deeper] = values(s, "(nest 10001 '())")
    assert "#<elided: nested deeper than 10000 levels>" in deeper
    [long] = values(s, "(iota 150000)")  # 150,000 elements, under 1 MiB printed
    assert long.endswith(" 149999 150000)")
    [cycle] = values(s, "(let ((x (list 1 2))) (set-cdr! (cdr x) x) x)")
    assert cycle.endswith(" #<elided: the printed form passed 1 MiB>)")


def test_escapes_leave_no_stack_behind(s):
    # Each escape unwinds 50 frames of wasm (and of the C stack the interpreter keeps): 200,000
    # of them must leave both as they were, or the deep recursion after would run out.
    s.eval("(define (deep n k) (if (= n 0) (k n) (+ 1 (deep (- n 1) k))))")
    s.eval(
        "(define (many i) (if (= i 0) 'ok (begin (call/cc (lambda (k) (deep 50 k))) (many (- i 1)))))"
    )
    assert values(s, "(many 200000)") == ["ok"]
    assert values(s, "(define (d n) (if (= n 0) 0 (+ 1 (d (- n 1))))) (d 3000)") == ["3000"]
    assert s.stack_depth() == 0
