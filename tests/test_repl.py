"""Golden transcripts of `jitscope repl` (re-bless with JITSCOPE_BLESS=1), and the commands."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jitscope.cli.repl import Repl
from jitscope.debugger import open_depth
from jitscope.runtime.session import Session

GOLDEN = Path(__file__).parent / "golden"


def normalise(text: str) -> str:
    # Addresses and code sizes move whenever native/interp.cc changes; the transcript's point
    # is the story.
    text = re.sub(r"0x[0-9a-f]{5,}", "0x…", text)
    return re.sub(r"\([\d,]+ bytes\)", "(… bytes)", text)


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.repl")))
def test_golden_transcript(name):
    source = (GOLDEN / f"{name}.repl").read_text()
    out = io.StringIO()
    with Session() as s:
        Repl(s, out, prompt=False).run(io.StringIO(source))
    got = normalise(out.getvalue())
    expected_file = GOLDEN / f"{name}.out"
    if os.environ.get("JITSCOPE_BLESS"):
        expected_file.write_text(got)
    assert got == expected_file.read_text()


def test_open_depth_ignores_strings_comments_and_characters():
    assert open_depth("(define (f x)") == 1
    assert open_depth('(display "unclosed)') > 0
    assert open_depth('(display ")(")') == 0
    assert open_depth("(f #\\( ; )\n") == 1
    assert open_depth("#| ( |# (") == 1


def jitscope(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jitscope", *args],
        input=stdin,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_repl_works_in_a_pipe():
    p = jitscope("repl", stdin="(define (sq x)\n (* x x))\n(sq 12)\n,jit\n(sq 13)\n")
    assert p.returncode == 0
    assert (
        p.stdout
        == "144\nmodule 1: sq ("
        + p.stdout.split("(", 1)[1].split(")")[0]
        + ") linked\n"
        + p.stdout.split("linked\n", 1)[1]
    )
    assert p.stdout.endswith("169\n")


def test_run_prints_values_and_fails_with_status_1(tmp_path):
    f = tmp_path / "prog.scm"
    f.write_text('(define (sq x) (* x x))\n(display "hi")\n(newline)\n(sq 3)\n(car 1)\n(sq 4)\n')
    for mode in ("never", "eager", "auto"):
        p = jitscope("run", str(f), "--jit", mode, "--threshold", "1")
        assert p.returncode == 1
        assert p.stdout == f"hi\n9\nerror: {f}:5:1: car: expected a pair, got a number 1\n"
    f.write_text("(define (sq x) (* x x)) (sq 5)")
    assert jitscope("run", str(f)).stdout == "25\n"
    assert jitscope("run", str(f)).returncode == 0


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        (b"hello", "not a wasm binary"),
        (b"\0asm\x01\0\0\0\x01\x05", "not a valid wasm module"),
        (b"\0asm\x0d\0\x01\0", "is a wasm component"),
        (b"\0asm\x01\0\0\0", "does not export memory, __indirect_function_table"),
    ],
)
def test_a_bad_module_is_one_message_and_status_2(tmp_path, content, problem):
    path = tmp_path / "bad.wasm"
    if content is not None:
        path.write_bytes(content)
    for args in (("repl", "--wasm", str(path)), ("run", "x.scm", "--wasm", str(path))):
        p = jitscope(*args)
        assert p.returncode == 2
        assert p.stderr.startswith(f"jitscope: {path}: ") and problem in p.stderr
        assert "Traceback" not in p.stderr and len(p.stderr.splitlines()) == 1


def test_golden_wat_of_a_generated_module():
    # Like wasm-tools' own CLI tests: the printed module is the expectation. Addresses of the
    # main module's data and table indices of its functions are redacted (they move with
    # every build of interp.cc); everything else, instruction by instruction, is pinned.
    from jitscope.wasm.tools import print_wat

    with Session() as s:
        s.eval("(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2))))) (fib 5)")
        text = print_wat(s.generate().data)
    text = re.sub(r"i32\.const \d{4,}", "i32.const <addr>", text)
    text = re.sub(r"i32\.const \d+(\n\s*(?:return_)?call_indirect)", r"i32.const <slot>\1", text)
    # Addresses, and code offsets that depend on their LEB128 lengths (tests/test_srcmap.py
    # checks the source map against the code).
    text = re.sub(r'(@custom "jitscope.(patches|srcmap)" \(after code\)) ".*"', r'\1 "<\2>"', text)
    expected_file = GOLDEN / "fib.wat"
    if os.environ.get("JITSCOPE_BLESS"):
        expected_file.write_text(text)
    assert text == expected_file.read_text()


def test_jitscope_help_shows_help_not_a_missing_module():
    p = jitscope("help")
    assert p.returncode == 0 and "Subcommands: repl, run, tour, bench, snapshot" in p.stdout
    p = jitscope("help", "run")
    assert p.returncode == 0 and "--jit" in p.stdout and "default 1,000" in p.stdout


def test_a_value_starts_on_a_fresh_line_after_output_without_one():
    p = jitscope("repl", stdin='(display "x")\n(+ 1 2)\n(display "y") (newline)\n(+ 2 2)\n')
    assert p.stdout == "x\n3\ny\n4\n"


def test_a_meta_command_starts_on_a_fresh_line_too():
    p = jitscope("repl", stdin='(display "x")\n,stats\n(+ 1 2)\n')
    assert p.stdout == "x\nno calls yet\n3\n"


def test_bytes_that_are_not_utf8_on_stdin_are_one_error_and_the_repl_goes_on():
    p = subprocess.run(
        [sys.executable, "-m", "jitscope", "repl"],
        input=b'(define x 5)\n(display "\xff")\n(+ x 2)\n',
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert p.stdout.decode() == "error: <repl 2>:1:11: invalid UTF-8 byte 0xff\n7\n"
    assert p.returncode == 0 and p.stderr == b""


def test_on_a_terminal_the_repl_edits_lines_and_recalls_the_shared_history(tmp_path):
    history = tmp_path / "history.json"
    history.write_text(json.dumps(["(* 6 7)"]))
    env = {**os.environ, "JITSCOPE_HISTORY": str(history), "TERM": "xterm"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: jitscope repl with the pty as its terminal
        os.execvpe(sys.executable, [sys.executable, "-m", "jitscope", "repl"], env)
    out = b""

    def read_until(marker: bytes) -> None:
        nonlocal out
        deadline = time.monotonic() + 60
        while marker not in out and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.5)[0]:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break

    read_until(b"> ")
    os.write(fd, b"\x1b[A\r")  # up arrow: the last entry of the history, then enter
    read_until(b"42")
    os.write(fd, b"(+ 1\x1b[D2 \x1b[C)\r")  # left and right arrows edit, not open brackets
    read_until(b"\r\n3\r\n")
    os.write(fd, b",quit\r")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert b"42" in out and b"\r\n3\r\n" in out and b"... " not in out
    assert os.waitstatus_to_exitcode(status) == 0
    assert json.loads(history.read_text()) == ["(* 6 7)", "(+ 2 1)", ",quit"]


def test_a_failed_auto_tier_up_is_reported_once_and_the_value_still_comes():
    out = io.StringIO()
    with Session() as s:
        repl = Repl(s, out, prompt=False)
        repl.run(io.StringIO("(define (f n) (if (= n 0) 0 (f (- n 1))))\n,auto 5\n"))
        s.store.set_limits(table_elements=s.table.size(s.store))
        repl.run(io.StringIO("(f 100)\n(f 100)\n"))
    assert out.getvalue().splitlines()[-3:] == [
        "0",
        (
            "auto tier-up of f failed (module 1: the function table cannot grow): it stays "
            "interpreted"
        ),
        "0",
    ]
