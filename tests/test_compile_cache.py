"""A second process reuses the compiled main module (wasmtime's serialized form, cached by the
module's bytes, wasmtime's version and the engine settings); a bad entry is compiled over."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHILD = """
from jitscope.runtime.session import Session
with Session() as s:
    print(s.eval("(+ 40 2)")[0].text)
"""


def start(cache: Path) -> str:
    env = {**os.environ, "JITSCOPE_CACHE_DIR": str(cache)}
    p = subprocess.run(
        [sys.executable, "-c", CHILD],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return p.stdout.strip()


def test_a_second_start_loads_the_cached_compile_and_a_corrupt_entry_is_replaced(tmp_path):
    cache = tmp_path / "cache"
    assert start(cache) == "42"
    [entry] = cache.glob("*.cwasm")
    stamp = entry.stat().st_mtime_ns
    first = entry.read_bytes()
    assert start(cache) == "42"  # loaded, not rewritten
    assert entry.read_bytes() == first and entry.stat().st_mtime_ns >= stamp
    entry.write_bytes(b"not a compiled module")
    assert start(cache) == "42"  # compiled over the bad entry
    [again] = cache.glob("*.cwasm")
    assert again.read_bytes() == first


def test_an_empty_cache_setting_turns_the_cache_off(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {**os.environ, "JITSCOPE_CACHE_DIR": "", "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    subprocess.run(
        [sys.executable, "-c", CHILD], env=env, check=True, timeout=120, capture_output=True
    )
    assert not (tmp_path / "xdg").exists()
