"""The JIT's jitscope.srcmap section, checked against wasm-tools' own reading of the module:
every mapped offset starts an instruction, every instruction of a body is covered, and every
span lies inside the function's source."""

from __future__ import annotations

import re

import pytest

from jitscope.runtime.session import Session
from jitscope.wasm.custom import SRCMAP_SECTION, SourceMap, SourceMark, encode_srcmap, parse_srcmap
from jitscope.wasm.leb128 import DecodeError
from jitscope.wasm.module import ParsedModule
from jitscope.wasm.tools import print_wat

PROGRAM = """
(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))
(define (make-counter)
  (let ((count 0))
    (lambda ()
      (set! count (+ count 1))
      count)))
(define (sum-to n)
  (let loop ((i 0) (acc 0))
    (if (> i n) acc (loop (+ i 1) (+ acc i)))))
(define (classify x)
  (cond ((and (number? x) (< x 0)) 'negative)
        ((or (eq? x 0) (null? x)) 'nothing)
        (else (case x ((1 2 3) 'small) (else 'big)))))
(define (count-down n)
  (do ((i n (- i 1)) (out '() (cons i out))) ((= i 0) out)))
(define (evens xs)
  (letrec ((ev? (lambda (n) (if (= n 0) #t (od? (- n 1)))))
           (od? (lambda (n) (if (= n 0) #f (ev? (- n 1))))))
    (filter ev? xs)))
(fib 5) ((make-counter)) (sum-to 10) (classify 2) (count-down 3) (evens '(1 2 3 4))
"""

_LINE = re.compile(r"\(;@([0-9a-f]+)\s*;\)(\s*)(.*)")


@pytest.fixture(scope="module")
def jitted():
    with Session() as s:
        s.eval(PROGRAM, name="program.scm")
        mod = s.jit([f.id for f in s.functions() if f.source == "program.scm" and f.interp_calls])
        assert mod is not None
        yield s, mod


def _instructions(wat: str) -> dict[str, list[int]]:
    """Per function name: the module offsets of its body's instructions, as wasm-tools
    prints them (-p), without the (func ...) header and (local ...) declarations."""
    out: dict[str, list[int]] = {}
    current = None
    for line in wat.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        off, indent, rest = int(m.group(1), 16), m.group(2), m.group(3)
        if indent == "  ":
            head = re.match(r"\(func \$(\S+)", rest)
            current = head.group(1) if head else None
            if current:
                out[current] = []
        elif current and not rest.startswith("(local"):
            out[current].append(off)
    return out


def test_the_srcmap_agrees_with_wasm_tools(jitted):
    s, mod = jitted
    parsed = ParsedModule.parse(mod.data, "jit")
    maps = parse_srcmap(parsed.custom(SRCMAP_SECTION))
    instructions = _instructions(print_wat(mod.data, offsets=True))
    by_id = {f.id: f for f in s.functions()}
    assert len(maps) == len(mod.function_ids) >= 8  # lambdas inside the defines too
    for state in mod.patches:
        p = state.patch
        f = by_id[mod.function_ids[mod.patches.index(state)]]
        m = maps[p.function]
        start, _ = parsed.bodies[p.function]
        at = parsed.code_at + start
        marks = [at + k.offset for k in m.marks]
        ins = instructions[p.name]
        assert set(marks) <= set(ins), f"{p.name}: marks between instructions"
        assert marks[0] == ins[0], f"{p.name}: its first instructions are not covered"
        assert s.source_name(m.source) == "program.scm"
        for k in m.marks:
            assert (f.line, f.col) <= (k.line, k.col) < (k.end_line, k.end_col), (p.name, k)
            assert (k.end_line, k.end_col) <= (f.end_line, f.end_col), (p.name, k)


def test_the_listing_shows_the_expressions_that_made_the_code(jitted):
    from jitscope.debugger.code import code_listing

    s, _ = jitted
    text = code_listing(s, "make-counter").text()
    assert "▸ 3:1  (define (make-counter) …" in text  # a span over several lines
    lam = next(f for f in s.functions() if f.name == "lambda" and f.line == 5)
    listing = code_listing(s, lam.id)
    scheme = [k.text.strip() for k in listing.lines if k.level == "scheme"]
    assert "▸ 6:7  (set! count (+ count 1))" in scheme, scheme
    assert "▸ 6:19  (+ count 1)" in scheme


def test_the_srcmap_codec_round_trips_and_refuses_what_it_cannot_read():
    maps = [SourceMap(3, 2, (SourceMark(5, 1, 1, 1, 9), SourceMark(9, 1, 3, 1, 8)))]
    payload = encode_srcmap(maps)
    assert parse_srcmap(payload) == {3: maps[0]}
    assert maps[0].at(4) is None and maps[0].at(5).col == 1 and maps[0].at(100).col == 3
    with pytest.raises(DecodeError, match="unsupported version 2"):
        parse_srcmap(b"\x02" + payload[1:])
    with pytest.raises(DecodeError, match="left over"):
        parse_srcmap(payload + b"\x00")
    backwards = [SourceMap(0, 0, (SourceMark(9, 1, 1, 1, 2), SourceMark(5, 1, 1, 1, 2)))]
    with pytest.raises(DecodeError, match="out of order"):
        parse_srcmap(encode_srcmap(backwards))
