"""File ports read only in the program's directory (a read-only WASI preopen): never outside
it, never a write; a session without one reads no files at all."""

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
