"""The benchmark harness runs and checks its three columns agree (timings are not asserted:
they belong to `jitscope bench`, not to tests)."""

from __future__ import annotations

import json
import subprocess
import sys

from jitscope.bench import (
    BENCH_DIR,
    C_CALLS,
    format_table,
    parse_programs,
    run_linking,
    run_programs,
    run_session_costs,
)


def test_every_program_has_a_c_version():
    programs = parse_programs((BENCH_DIR / "programs.scm").read_text())
    programs |= parse_programs((BENCH_DIR / "seed.scm").read_text())
    assert (
        set(programs)
        == set(C_CALLS)
        == {
            "fib",
            "tak",
            "loop",
            "lists",
            "higher-order",
            "cpstak",
            "takl",
            "nqueens",
            "primes",
            "seed",
        }
    )
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


def test_the_seed_program_runs_through_the_seed_interface_against_its_c():
    [seed] = run_programs(None, repeat=1, only=["seed"])
    assert seed.result == "1346269"  # the seed's fib: 1 at n < 2
    assert set(seed.samples) == {"interpreted", "jit", "c", "c_same_calls"}
    assert "the seed's program" in format_table([seed], [])


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
            "--no-session",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    data = json.loads(p.stdout)
    [tak] = data["programs"]
    assert tak["name"] == "tak" and data["linking"] == [] and data["session_costs"] == []
    assert [len(runs) for runs in tak["samples"].values()] == [1, 1, 1, 1]
    assert "tak: round 1/1" in p.stderr


def test_session_costs_are_measured_against_their_targets():
    lines: list[str] = []
    costs = run_session_costs(None, lines.append)
    assert [c.target for c in costs] == [
        "within 1.5×",
        "host overhead under 0.3 ms",
        "under 1 ms, and linear",
        "under 1/5 of a cold compile",
        "under 1 s",
        "as fast as a fresh start (within 1.25×)",
    ]
    assert all(c.measured and any(ch.isdigit() for ch in c.measured) for c in costs)
    assert lines[0] == "session costs: evaluation" and len(lines) == 4
    table = format_table([], [], costs)
    assert table.count("| yes |") + table.count("| NO |") == len(costs)
