"""Classic programs (tests/programs/*.scm): the same output interpreted, JIT-eager and with
auto tier-up, and the output expected (re-bless with JITSCOPE_BLESS=1)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from jitscope.cli.run import format_results
from jitscope.runtime.session import Session
from jitscope.wasm import tools

PROGRAMS = Path(__file__).parent / "programs"


def run_program(path: Path, mode: str, files: Path) -> str:
    # As `jitscope run --writable` opens it, in a copy of the program's directory.
    with Session(files=files, writable=True) as s:
        if mode == "eager":
            s.set_eager_jit(True)
        elif mode == "auto":
            s.set_auto_jit(2)
        return format_results(s.eval(path.read_text(), name=path.name))


@pytest.mark.parametrize("name", sorted(p.stem for p in PROGRAMS.glob("*.scm")))
def test_program_output_is_the_same_in_every_mode(name, tmp_path):
    path = PROGRAMS / f"{name}.scm"
    files = shutil.copytree(PROGRAMS, tmp_path / "programs")
    interpreted = run_program(path, "interp", files)
    expected_file = path.with_suffix(".out")
    if os.environ.get("JITSCOPE_BLESS"):
        expected_file.write_text(interpreted)
    assert interpreted == expected_file.read_text()
    assert run_program(path, "eager", files) == interpreted
    assert run_program(path, "auto", files) == interpreted
    assert sorted(p.name for p in files.iterdir()) == sorted(p.name for p in PROGRAMS.iterdir())


def test_one_module_for_every_function_of_every_program_validates():
    with Session() as s:
        for path in sorted(PROGRAMS.glob("*.scm")):
            s.eval(path.read_text(), name=path.name)
        ids = [f.id for f in s.functions()]
        mod = s.generate(ids)
        tools.validate(mod.data)
        assert {"map", "length/loop", "cpstak", "queens", "quicksort!"} <= set(mod.names)
        s.link(mod)
        [r] = s.eval("(cpstak 12 8 4)")
        assert r.text == "5"
        assert s.function("cpstak").jit_calls == 1


def test_library_functions_are_ordinary_functions_from_the_prelude():
    with Session() as s:
        text = s.prelude()
        lib = {f.name: f for f in s.functions()}
        assert lib and all(f.library and f.source == "<prelude>" for f in lib.values())
        m = lib["map"]
        assert m.rest and m.nparams == 3 and not lib["length"].rest
        assert text.splitlines()[m.line - 1][m.col - 1 :].startswith("(define (map f lst . lists)")
        s.eval("(define (mine . xs) (map - xs))")
        mine = s.function("mine")
        assert not mine.library and mine.rest and mine.source == "<input 1>"
        assert [r.text for r in s.eval("(mine 1 2)")] == ["(-1 -2)"]
        assert s.function("map").interp_calls == 1
        assert [c.name for c in s.candidates()] == ["map/loop", "map", "mine"]
