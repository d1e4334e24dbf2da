"""The benchmark harness runs and checks its three columns agree (timings are not asserted:
they belong to `jitscope bench`, not to tests)."""

from __future__ import annotations

import json
import subprocess
import sys

from jitscope.bench import BENCH_DIR, C_CALLS, parse_programs, run_linking, run_programs


def test_every_program_has_a_c_version():
    programs = parse_programs((BENCH_DIR / "programs.scm").read_text())
    assert set(programs) == set(C_CALLS) == {"fib", "tak", "loop", "lists", "higher-order"}
    source = (BENCH_DIR / "reference.c").read_text()
    assert all(f"EXPORT({c})" in source for c in C_CALLS.values())


def test_programs_agree_across_interpreter_jit_and_c():
    [tak] = run_programs(None, repeat=1, only=["tak"])
    assert tak.result == "7"
    assert tak.c is not None and tak.interpreted > 0 and tak.jit > 0


def test_linking_measures_each_stage():
    results = run_linking(None, sizes=(1, 5))
    assert [r.functions for r in results] == [1, 5]
    assert all(r.module_bytes > 0 and r.generate > 0 and r.compile > 0 for r in results)


def test_json_output():
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "jitscope",
            "bench",
            "--only",
            "tak",
            "--repeat",
            "1",
            "--no-link",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    data = json.loads(p.stdout)
    assert data["programs"][0]["name"] == "tak" and data["linking"] == []
