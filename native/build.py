#!/usr/bin/env python3
"""Compile native/interp.cc to jitscope/data/interplib.wasm (incremental; see --help).

A thin command-line wrapper: the logic lives in jitscope/buildwasm.py so the hatch build hook,
the tests and the benchmarks build exactly the same way. The module is loaded by file path, so
this script runs from a bare checkout without installing jitscope.
"""

from __future__ import annotations

import argparse
import importlib.util
import shlex
import sys
from pathlib import Path

_BUILDWASM = Path(__file__).resolve().parent.parent / "jitscope" / "buildwasm.py"


def _load_buildwasm():
    spec = importlib.util.spec_from_file_location("jitscope_buildwasm", _BUILDWASM)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    bw = _load_buildwasm()
    parser = argparse.ArgumentParser(description="Build the interpreter wasm with zig c++.")
    parser.add_argument("--force", action="store_true", help="rebuild even if the stamp matches")
    parser.add_argument(
        "--src",
        type=Path,
        default=None,
        help=f"C++ source (default: native/interp.cc, or ${bw.NATIVE_SRC_ENV})",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="output (default: jitscope/data/interplib.wasm)"
    )
    parser.add_argument(
        "--cflags",
        default="",
        help="extra compiler flags, shell-quoted; use the = form: --cflags='-DTRACE -O0'",
    )
    args = parser.parse_args(argv)
    try:
        bw.build_wasm(
            args.src, args.out, force=args.force, extra_flags=shlex.split(args.cflags), log=print
        )
    except bw.BuildError as exc:
        print(f"build.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
