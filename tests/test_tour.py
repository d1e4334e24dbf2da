"""jitscope tour: the story in one headless run, on the bundled module and a seed-only one."""

from __future__ import annotations

import io
import re
import subprocess
import sys

from jitscope.cli.tour import run_tour
from jitscope.runtime.session import Session


def test_the_tour_in_a_pipe_tells_every_step_with_what_it_read_back():
    p = subprocess.run(
        [sys.executable, "-m", "jitscope", "tour"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert re.search(r"\(fib 25\) = 75025 in ([\d.]+ ms, ){4}[\d.]+ ms\n", out)
    assert "fib: 1,213,925 interpreted calls so far, 0 through JIT code" in out  # 5 × 242,785
    steps = re.findall(r"^   module 1(?: generated|:| linked)[^\n]*", out, re.MULTILINE)
    assert len(steps) == 7  # generate, compile, instantiate, grow, fill, patch, linked
    m = re.search(
        r"the table grew from (\d+) to (\d+) slots; fib.jitCode at 0x[0-9a-f]+ went "
        r"from 0 to (\d+)",
        out,
    )
    assert m and int(m[2]) == int(m[1]) + 1 and int(m[3]) == int(m[1])  # the new slot
    assert "last run: 242,785 calls through JIT code, 0 interpreted" in out
    assert re.search(r"JIT code is [\d.]+× faster\nnext: `jitscope` opens the TUI", out)


def test_the_tour_on_a_seed_only_module(seed_only):
    out = io.StringIO()
    with Session(seed_only) as s:
        assert run_tour(s, out) == 0
    text = out.getvalue()
    assert "this module links as it generates: no steps to show" in text
    assert text.count("(fib 25) = 75025 in") == 2 and "× faster" in text
