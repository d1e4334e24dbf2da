"""The one reader-side scanner every REPL uses: is the typed text a whole input yet?"""

from __future__ import annotations

import pytest

from jitscope.debugger import open_depth


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("", 0),
        ("(fib 20)", 0),
        ("(define (f x)", 1),
        ("(define (f x)\n  (* x 2))", 0),
        ("(f [1 2)", 1),
        ('(display "(((")', 0),
        ('(display "a\\"(")', 0),
        ('(display "open', 2),  # an open string keeps the form open
        ("(f 1) ; (((", 0),
        ("(quote |a;b (|)", 0),
        ("(quote |a\\|b|)", 0),
        ("'|open", 1),
        ("(f a|b)", 0),
        ("#| ((( |# (f", 1),
        ("#| open", 1),
        ("(list #\\( #\\))", 0),
        ("(f))", -1),
        (")", -1),
        # nested block comments close only at their own |#
        ("#| #| |# ( |# (f)", 0),
        ("#| #| |# (f)", 1),
        # a prefix waits for its datum, as the reader does
        ("'", 1),
        ("(f) '", 1),
        ("`(a ,", 1),
        ("'(a b)", 0),
        # #; skips one datum, and needs one
        ("#;", 1),
        ("(f) #;", 1),
        ("#; (a", 1),
        ("#;(a b) (c)", 0),
        ("#; a", 0),
        ("#; #; a", 1),
        ("#; #; a b", 0),
        ("' #; a", 1),
        ("' #; a b", 0),
        ("(f #;) 1", 0),  # complete: the reader reports the missing datum
        ("#(1 2", 1),
    ],
)
def test_open_depth(text: str, depth: int) -> None:
    assert open_depth(text) == depth
