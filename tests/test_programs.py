"""Classic programs (tests/programs/*.scm): the same output interpreted, JIT-eager and with
auto tier-up, and the output expected (re-bless with JITSCOPE_BLESS=1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jitscope.cli import format_results
from jitscope.runtime.session import Session

PROGRAMS = Path(__file__).parent / "programs"


def run_program(path: Path, mode: str) -> str:
    with Session() as s:
        if mode == "eager":
            s.eager_jit = True
        elif mode == "auto":
            s.set_auto_jit(2)
        return format_results(s.eval(path.read_text(), name=path.name))


@pytest.mark.parametrize("name", sorted(p.stem for p in PROGRAMS.glob("*.scm")))
def test_program_output_is_the_same_in_every_mode(name):
    path = PROGRAMS / f"{name}.scm"
    interpreted = run_program(path, "interp")
    expected_file = path.with_suffix(".out")
    if os.environ.get("JITSCOPE_BLESS"):
        expected_file.write_text(interpreted)
    assert interpreted == expected_file.read_text()
    assert run_program(path, "eager") == interpreted
    assert run_program(path, "auto") == interpreted
