"""Breakpoints, stops and the call stack: each kind stops where it should, with the stack the
module really has, then continues (or steps, or aborts) to the right result."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest

from jitscope.cli.repl import Repl
from jitscope.runtime.breaks import Stop
from jitscope.runtime.session import Session
from jitscope.runtime.stack import StackFrame, expression_at

FIB = "(define (fib n) (if (< n 2) 1 (+ (fib (- n 1)) (fib (- n 2)))))"
BAD = "(define (bad n) (if (= n 0) (car n) (+ 1 (bad (- n 1)))))"


@pytest.fixture
def session() -> Iterator[Session]:
    with Session() as s:
        s.eval(FIB)
        s.eval(BAD)
        yield s


def recorder(session: Session, answers: list[str] | None = None) -> list[Stop]:
    """Stops land in the returned list; each is answered from ``answers`` (then continue)."""
    stops: list[Stop] = []
    queue = list(answers or [])

    def on_stop(stop: Stop) -> str:
        stops.append(stop)
        return queue.pop(0) if queue else "continue"

    session.on_stop = on_stop
    return stops


def brief(frames: tuple[StackFrame, ...]) -> list[tuple[str, str, str]]:
    return [(f.call(), f.tier, f.text) for f in frames]


def test_an_interpreted_error_keeps_its_scheme_frames_with_arguments(session: Session) -> None:
    (r,) = session.eval("(bad 2)")
    assert r.kind == "error" and r.error is not None and r.error.stack is not None
    assert brief(r.error.stack.frames) == [
        ("(bad 0)", "interpreter", "(car n)"),
        ("(bad 1)", "interpreter", "(bad (- n 1))"),
        ("(bad 2)", "interpreter", "(bad (- n 1))"),
    ]
    assert r.error.stack.frames[0].where == "<input 2>:1:29"


def test_a_tier_up_breakpoint_stops_once_after_the_link_then_continues(session: Session) -> None:
    stops = recorder(session)
    session.set_auto_jit(100)
    session.add_breakpoint("tier-up", "fib")
    (r,) = session.eval("(fib 15)")
    assert r.text == "987"
    (stop,) = stops
    assert stop.kind == "tier-up" and "fib tiered up after 100 interpreted calls" in stop.message
    # Stopped inside the interpreter's recursion: every frame is fib, and the innermost is
    # the call that reached the threshold.
    assert {f.function for f in stop.stack.frames} == {"fib"}
    assert all(f.tier == "interpreter" for f in stop.stack.frames)
    assert session.function("fib").state == "linked"


def test_a_jit_entry_breakpoint_stops_at_the_first_entry_only(session: Session) -> None:
    stops = recorder(session)
    session.set_auto_jit(10)
    session.add_breakpoint("jit-entry", "fib")
    assert session.eval("(fib 12)")[0].text == "233"
    assert session.eval("(fib 12)")[0].text == "233"
    (stop,) = stops
    assert "for the first time" in stop.message
    inner = stop.stack.frames[0]
    assert (inner.function, inner.tier, inner.args) == ("fib", "JIT module 1", None)
    assert stop.stack.frames[1].tier == "interpreter"


def test_an_enter_breakpoint_stops_in_both_tiers(session: Session) -> None:
    session.eval("(define (sq x) (* x x))")
    stops = recorder(session)
    session.add_breakpoint("enter", "sq")
    assert session.eval("(+ (sq 2) (sq 3))")[0].text == "13"
    session.jit(["sq"])
    assert session.eval("(+ (sq 4) (sq 5))")[0].text == "41"
    assert [s.message for s in stops] == [
        "sq entered, interpreted",
        "sq entered, interpreted",
        "sq entered through its JIT code for the first time (module 1)",
        "sq entered through its JIT code (module 1)",
    ]
    assert stops[-1].stack.frames[0].tier == "JIT module 1"


def test_a_patch_breakpoint_stops_with_the_word_written(session: Session) -> None:
    address = session.function("fib").jit_code_address
    seen: list[int] = []

    def on_stop(stop: Stop) -> str:
        seen.append(session.read_u32(address))  # the live word, read at the stop
        return "continue"

    session.on_stop = on_stop
    session.set_auto_jit(50)
    session.add_breakpoint("patch", address=address)
    assert session.eval("(fib 15)")[0].text == "987"
    slot = session.function("fib").jit_code
    assert seen == [slot] and slot > 0
    (stop,) = session.stops
    assert stop.message.endswith(f"fib.jitCode @ 0x{address:x}: 0 -> {slot}")


def test_an_error_breakpoint_stops_before_the_stack_unwinds(session: Session) -> None:
    stops = recorder(session)
    session.add_breakpoint("error")
    (r,) = session.eval("(bad 1)")
    assert r.kind == "error" and "car: expected a pair" in r.text
    (stop,) = stops
    assert brief(stop.stack.frames)[:2] == [
        ("(bad 0)", "interpreter", "(car n)"),
        ("(bad 1)", "interpreter", "(bad (- n 1))"),
    ]


def test_step_stops_at_the_next_call_and_abort_keeps_the_session(session: Session) -> None:
    session.eval("(define (one n) (* 2 n))")
    session.eval("(define (two n) (+ (one n) (one n)))")
    stops = recorder(session, ["step", "step", "abort"])
    session.add_breakpoint("enter", "two")
    (r,) = session.eval("(two 5)")
    assert r.kind == "error" and r.error is not None and r.error.kind == "interrupted"
    assert "aborted at a stop" in r.text
    assert [(s.breakpoint is None, s.message) for s in stops] == [
        (False, "two entered, interpreted"),
        (True, "one entered, interpreted"),
        (True, "one entered, interpreted"),
    ]
    # The top level tail-called two, so two's frame replaced it.
    assert [f.call() for f in stops[1].stack.frames] == ["one", "(two 5)"]
    session.clear_breakpoints()
    session.jit(["fib"])
    assert session.eval("(fib 10)")[0].text == "89"  # definitions and JIT code carry on
    assert session.eval("(two 5)")[0].text == "20"


def test_jit_frames_sit_between_the_interpreted_ones(session: Session) -> None:
    session.eval("(define (call-it f x) (+ 1 (f x)))")
    session.eval("(define (boom x) (car x))")
    session.eval("(call-it boom (list 1))")
    session.jit(["call-it"])
    (r,) = session.eval("(list (call-it boom 7))")
    assert r.error is not None and r.error.stack is not None
    assert brief(r.error.stack.frames) == [
        ("(boom 7)", "interpreter", "(car x)"),
        ("(call-it …)", "JIT module 1", "(f x)"),
        ("top level", "", "(call-it boom 7)"),
    ]


def test_a_stop_does_not_count_against_the_time_limit() -> None:
    with Session(time_limit=0.5) as s:
        s.eval(FIB)
        s.on_stop = lambda stop: time.sleep(0.8) or "continue"
        s.add_breakpoint("enter", "fib")
        assert s.eval("(fib 1)")[0].text == "1"


def test_breakpoint_words_and_their_errors(session: Session) -> None:
    def say(*words: str) -> list[str]:
        out = io.StringIO()
        Repl(session, out, prompt=False).meta(["break", *words])
        return out.getvalue().splitlines()

    assert say() == ["no breakpoints (,break KIND … sets one)"]
    assert say("enter", "nosuch")[1] == "no function named nosuch yet: it applies once one is"
    assert say("patch", "fib")[0].startswith("breakpoint 2: stops when a patch writes 0x")
    assert say("list") == [
        "breakpoint 1: enter nosuch",
        f"breakpoint 2: {session.breakpoints[1].describe()}",
    ]
    assert say("error", "x")[0].startswith("error: break: usage: ,break")
    assert say("clear", "9") == ["error: break: no breakpoint 9 (,break list shows them)"]
    assert say("clear") == ["cleared 2 breakpoints"]


def run_repl(session: Session, text: str, *, prompt: bool) -> str:
    out = io.StringIO()
    Repl(session, out, prompt=prompt).run(io.StringIO(text))
    return out.getvalue()


def test_a_pipe_prints_each_stop_and_continues(session: Session) -> None:
    out = run_repl(session, ",break enter bad\n(bad 1)\n,bt\n", prompt=False)
    assert out.count("stopped at breakpoint 1 (enter bad): bad entered, interpreted") == 2
    assert out.count("(continuing: no terminal to answer the stop)") == 2
    assert "error: <input 2>:1:29 (in bad): car: expected a pair, got a number 0" in out
    assert "  #0   (bad 0)" in out  # ,bt: where the error happened


def test_a_terminal_answers_stops_and_refuses_evaluation_meanwhile(session: Session) -> None:
    out = run_repl(
        session, ",break enter bad\n(bad 0)\n(+ 1 2)\n,bt\n,continue\n(bad 0)\n", prompt=True
    )
    assert "stopped: evaluate after ,continue or ,abort" in out
    assert out.count("stop> ") == 4  # the evaluation refused, ,bt, ,continue; then input ends
    assert "car: expected a pair" in out  # the first (bad 0) went on to its error
    # End of input at the second stop: nobody can answer, so it aborts and the REPL ends.
    assert out.rstrip().endswith("error: aborted at a stop: bad entered, interpreted")


def test_a_snapshot_taken_with_breakpoints_set_resumes_without_them(
    session: Session, tmp_path: object
) -> None:
    from pathlib import Path

    from jitscope.runtime.snapshot import write_snapshot

    session.add_breakpoint("enter", "fib")
    session.add_breakpoint("jit-entry")
    session.jit(["fib"])
    path = Path(str(tmp_path)) / "snap.wasm"
    write_snapshot(session, path)
    with Session(path) as resumed:
        resumed.on_stop = lambda stop: pytest.fail(f"a stop in the resumed module: {stop}")
        assert resumed.eval("(fib 15)")[0].text == "987"
    stops = recorder(session)
    assert session.eval("(fib 1)")[0].text == "1"  # still set in the session itself
    assert len(stops) == 1


@pytest.mark.parametrize(
    ("line", "col", "text"),
    [(1, 1, '(a "x)" #\\) b)'), (1, 4, '"x)"'), (1, 13, "b"), (2, 1, "(c ; ) …")],
)
def test_expression_at_reads_one_datum(line: int, col: int, text: str) -> None:
    assert expression_at('(a "x)" #\\) b)\n(c ; )\n d)', line, col) == text


def test_an_enter_breakpoint_stops_at_every_turn_of_a_jit_loop(session: Session) -> None:
    # The loop's fast copy has no call: an armed breakpoint sends every turn to the full body.
    session.eval("(define (down n acc) (if (= n 0) acc (down (- n 1) (+ acc n))))")
    session.jit(["down"])
    assert session.eval("(down 10 0)")[0].text == "55"
    stops = recorder(session)
    session.add_breakpoint("enter", "down")
    assert session.eval("(down 3 0)")[0].text == "6"
    assert len(stops) == 4  # (down 3 0), (down 2 3), (down 1 5), (down 0 6)
    assert all(s.stack.frames[0].tier == "JIT module 1" for s in stops)
    session.clear_breakpoints()
    assert session.eval("(down 100 0)")[0].text == "5050"
    assert len(stops) == 4
    assert session.function("down").jit_calls == 11 + 4 + 101
