"""File ports open only in the program's directory (a WASI preopen, read-only unless the
session is writable): never outside it; a session without one opens no files at all."""

from __future__ import annotations

import subprocess
import sys

import pytest

from jitscope.runtime.session import Session
from tests.conftest import values


@pytest.fixture
def tree(tmp_path):
    program = tmp_path / "prog"
    program.mkdir()
    (program / "data.txt").write_text("inside\n")
    (tmp_path / "secret.txt").write_text("outside\n")
    return program


def test_a_program_reads_files_in_its_directory_and_nowhere_else(tree):
    with Session(files=tree) as s:
        assert values(s, '(call-with-input-file "data.txt" read-line)') == ['"inside"']
        [outside] = s.eval('(open-input-file "../secret.txt")')
        assert outside.kind == "error"
        assert "not permitted (a program reads files in its own directory only)" in outside.text
        [absolute] = s.eval(f'(open-input-file "{tree.parent / "secret.txt"}")')
        assert absolute.kind == "error" and "cannot open" in absolute.text
        assert values(s, '(file-exists? "data.txt") (file-exists? "../secret.txt")') == [
            "#t",
            "#f",
        ]
        assert values(s, '(read-line (open-input-file "data.txt"))') == ['"inside"']  # goes on


def test_a_read_only_session_writes_nothing_and_says_how_to_allow_it(tree):
    with Session(files=tree) as s:
        [w] = s.eval('(open-output-file "new.txt")')
        assert w.kind == "error"
        assert w.text.endswith(
            "open-output-file: cannot open new.txt: not permitted (a program writes files only "
            "in its own directory, and only when the session allows it: jitscope --writable)"
        )
        [d] = s.eval('(delete-file "data.txt")')
        assert d.kind == "error" and "delete-file: cannot delete data.txt: not permitted" in d.text
        assert values(s, '(call-with-input-file "data.txt" read-line)') == ['"inside"']
    assert sorted(p.name for p in tree.iterdir()) == ["data.txt"]


def test_a_writable_session_writes_in_its_directory_and_nowhere_else(tree):
    with Session(files=tree, writable=True) as s:
        s.eval('(define p (open-output-file "out.txt")) (write "a" p) (display 1.5 p)')
        assert (tree / "out.txt").read_text() == '"a"1.5'  # written through, before the close
        s.eval("(newline p) (close-port p)")
        assert (tree / "out.txt").read_text() == '"a"1.5\n'
        [outside] = s.eval('(open-output-file "../escape.txt")')
        assert (
            outside.kind == "error" and "cannot open ../escape.txt: not permitted" in outside.text
        )
        assert not (tree.parent / "escape.txt").exists()
        [closed] = s.eval("(write 2 p)")
        assert closed.text.endswith("write: the port is closed")
        assert values(s, '(delete-file "out.txt") (file-exists? "out.txt")') == ["#f"]


def test_a_redirection_an_error_left_ends_with_its_form(tree):
    with Session(files=tree, writable=True) as s:
        [r] = s.eval('(with-output-to-file "log.txt" (lambda () (display "partial") (car 1)))')
        assert r.kind == "error"
        [after] = s.eval('(display "on the console")')
        assert after.output == "on the console"
        assert (tree / "log.txt").read_text() == "partial"


def test_jitscope_run_writes_beside_the_program_only_when_writable(tree):
    (tree / "main.scm").write_text('(call-with-output-file "made.txt" (lambda (p) (write 7 p)))\n')
    command = [sys.executable, "-m", "jitscope", "run", str(tree / "main.scm")]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode != 0 and "jitscope --writable" in refused.stdout + refused.stderr
    assert not (tree / "made.txt").exists()
    wrote = subprocess.run(
        [*command, "--writable"], capture_output=True, text=True, timeout=120, check=False
    )
    assert wrote.returncode == 0, wrote.stderr
    assert (tree / "made.txt").read_text() == "7"


def test_without_a_directory_no_file_opens(tree):
    with Session() as s:
        [r] = s.eval('(open-input-file "data.txt")')
        assert r.kind == "error" and "cannot open data.txt" in r.text


def test_jitscope_run_reads_beside_the_program(tree):
    (tree / "main.scm").write_text('(call-with-input-file "data.txt" read-line)\n')
    p = subprocess.run(
        [sys.executable, "-m", "jitscope", "run", str(tree / "main.scm")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tree.parent,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == '"inside"'


def test_port_errors_name_the_procedure(tree):
    with Session(files=tree) as s:
        p = s.eval('(define p (open-input-string "x")) (close-port p) (read-char p)')[-1]
        assert p.text.endswith("read-char: the port is closed")
        [w] = s.eval('(display 1 (open-input-string ""))')
        assert w.text.endswith("display: expected an output port, got a port #<port>")
        [g] = s.eval("(get-output-string (current-output-port))")
        assert g.text.endswith(
            "get-output-string: expected a string output port, got a port #<port>"
        )
