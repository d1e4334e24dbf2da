"""Where a trap in JIT code happened, at every level: a trap frame's offset in a JIT module,
to the wasm instruction (its line in ``wasm-tools print``, as the Module pane shows it) and,
through the module's ``jitscope.srcmap``, the Scheme expression that instruction came from."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import wasmtime

from jitscope.wasm.custom import (
    PATCH_SECTION,
    SRCMAP_SECTION,
    SourceMark,
    parse_patches,
    parse_srcmap,
)
from jitscope.wasm.leb128 import DecodeError
from jitscope.wasm.module import ParsedModule
from jitscope.wasm.tools import WasmToolsError, print_wat

__all__ = ["JitSite", "jit_site", "scheme_functions", "snippet", "trap_kind"]

_OFFSET = re.compile(r"\(;@([0-9a-f]+)\s*;\)\s*(.*)")
_SNIPPET = 100  # characters of an expression's source shown


@dataclass(frozen=True, slots=True)
class JitSite:
    module_id: int
    function: str  # its name in the module
    offset: int  # of the wasm instruction, in the module's bytes
    wat_line: int  # 1-based, in the module's WAT
    instruction: str
    source: str  # the name of the Scheme source ("" when the map has no entry)
    mark: SourceMark | None
    text: str  # the expression's source text (cut), "" if not known

    def describe(self) -> str:
        where = (
            f"in JIT code: {self.function} in module {self.module_id}, wasm offset "
            f"0x{self.offset:x} (WAT line {self.wat_line}: {self.instruction})"
        )
        if self.mark is None:
            return where
        m = self.mark
        return f"{where}, from {self.source}:{m.line}:{m.col}" + (
            f" {self.text}" if self.text else ""
        )


def jit_site(
    module_id: int,
    data: bytes,
    func_index: int,
    offset: int,
    source_names: Mapping[int, str],
    source_texts: Mapping[int, str],
) -> JitSite | None:
    """The site of ``offset`` (a trap frame's module offset) in JIT module ``data``; None
    when the module cannot be read back (the trap is still reported, without it)."""
    try:
        parsed, text = _read_back(data, module_id)
    except (DecodeError, WasmToolsError):
        return None
    line, instruction = 0, ""
    for n, row in enumerate(text, start=1):
        m = _OFFSET.match(row)
        if m and int(m.group(1), 16) <= offset:
            line, instruction = n, m.group(2).strip()
        elif m:
            break
    mark, source, snippet_text = None, "", ""
    payload = parsed.custom(SRCMAP_SECTION)
    local = func_index - len(parsed.func_imports)
    if payload is not None and 0 <= local < len(parsed.bodies):
        try:
            fmap = parse_srcmap(payload).get(func_index)
        except DecodeError:
            fmap = None
        if fmap is not None:
            mark = fmap.at(offset - parsed.code_at - parsed.bodies[local][0])
            source = source_names.get(fmap.source, f"<input {fmap.source}>")
            if mark is not None and fmap.source in source_texts:
                snippet_text = snippet(source_texts[fmap.source], mark)
    name = parsed.names.get(func_index, f"function {func_index}")
    return JitSite(module_id, name, offset, line, instruction, source, mark, snippet_text)


@lru_cache(maxsize=16)
def scheme_functions(data: bytes) -> frozenset[int] | None:
    """The indices of JIT module ``data``'s compiled Scheme functions (the ones its patch
    wires in), apart from its plumbing (runtime-call trampolines, the patch steps); None when
    the module cannot be read back."""
    try:
        payload = ParsedModule.parse(data, "JIT module").custom(PATCH_SECTION)
        if payload is None:
            return None
        return frozenset(p.function for p in parse_patches(payload))
    except DecodeError:
        return None


@lru_cache(maxsize=16)
def _read_back(data: bytes, module_id: int) -> tuple[ParsedModule, list[str]]:
    """The module parsed and printed with offsets: once per module for a stack of its frames
    (a print costs ~30 ms)."""
    return ParsedModule.parse(data, f"module {module_id}"), print_wat(
        data, offsets=True
    ).splitlines()


def snippet(source: str, m: SourceMark) -> str:
    """The expression's source text: its first line, cut to fit (columns count bytes)."""
    lines = source.encode("utf-8", "surrogateescape").split(b"\n")
    if not 0 < m.line <= len(lines):
        return f"(line {m.line} is not in the source)"
    first = lines[m.line - 1][m.col - 1 :]
    whole = m.end_line == m.line
    if whole:
        first = first[: m.end_col - m.col]
    text = first.decode("utf-8", "replace").rstrip()
    if len(text) > _SNIPPET:
        return text[: _SNIPPET - 1] + "…"
    return text if whole else text + " …"


def trap_kind(code: int) -> str:
    """wasmtime's name for a trap code, in words ("memory out of bounds")."""
    try:
        return wasmtime.TrapCode(code).name.lower().replace("_", " ")
    except ValueError:
        return f"trap code {code}"
