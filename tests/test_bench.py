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


def test_programs_agree_across_interpreter_jit_and_c_in_interleaved_rounds():
    lines: list[str] = []
    [tak] = run_programs(None, repeat=2, only=["tak"], progress=lines.append)
    assert tak.result == "7"
    assert set(tak.samples) == {"interpreted", "jit", "c", "c_same_calls"}
    assert all(len(runs) == 2 for runs in tak.samples.values())
    assert all(s.wall > 0 and s.cpu >= 0 for runs in tak.samples.values() for s in runs)
    assert [line.split("  ")[0] for line in lines] == ["tak: round 1/2", "tak: round 2/2"]
    assert tak.c is not None and tak.c_same_calls is not None


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
    [tak] = data["programs"]
    assert tak["name"] == "tak" and data["linking"] == []
    assert [len(runs) for runs in tak["samples"].values()] == [1, 1, 1, 1]
    assert "tak: round 1/1" in p.stderr
