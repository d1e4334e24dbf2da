"""The code view's listing: a JIT function's wasm, and under each wasm instruction the x86-64
Cranelift made of it in this session (for every front end, as text lines)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from jitscope.runtime.native import NativeCode, NativeInstruction, native_code
from jitscope.runtime.session import FunctionInfo, JitModule, Session
from jitscope.wasm.tools import print_wat

__all__ = ["CodeListing", "code_listing", "listing_of"]

_OFFSET = re.compile(r"\(;@([0-9a-f]+)\s*;\)")


@dataclass(frozen=True, slots=True)
class CodeListing:
    function: str
    module_id: int
    lines: list[str]
    wasm_instructions: int
    native_instructions: int
    native_bytes: int
    notice: str  # what the native tier could not give ("" when all is there)

    def text(self) -> str:
        """The listing as headless text: a ;; header (and notice), then its lines."""
        head = (
            f";; {self.function} in module {self.module_id}: {self.wasm_instructions} wasm "
            f"instructions, {self.native_instructions} x86-64 instructions "
            f"({self.native_bytes:,} bytes)\n"
        )
        notice = f";; {self.notice}\n" if self.notice else ""
        return head + notice + "".join(line + "\n" for line in self.lines)


def code_listing(
    session: Session, name: str, *, wasm: bool = True, native: bool = True
) -> CodeListing:
    """``name``'s JIT code, each wasm line followed by its x86-64 (indented, with its
    address); ValueError when it has none."""
    f = session.function(name)
    if not f.module_id:
        raise ValueError(f"{f.name} has no JIT code: JIT it first (,jit {f.name}, --jit eager)")
    if all(m.id != f.module_id for m in session.modules):
        raise ValueError(
            f"{f.name}'s JIT code is baked into {session.path.name} (a snapshot), not in a "
            "JIT module of this session: JIT it again here to see its code"
        )
    return listing_of(session.module(f.module_id), f, wasm=wasm, native=native)


def listing_of(
    mod: JitModule, f: FunctionInfo, *, wasm: bool = True, native: bool = True
) -> CodeListing:
    """The listing of ``f`` in ``mod``: reads only the module (its bytes and its compiled
    code), not the session, so a front end may build it off the session's thread."""
    if mod.module is None:
        raise ValueError(f"module {mod.id} is not compiled yet: ,step it past compile")
    patch = mod.patches[mod.function_ids.index(f.id)].patch  # patches follow function order
    text = print_wat(mod.data, offsets=True).splitlines()
    body = _function_lines(text, patch.name)
    code: NativeCode = native_code(mod.module) if native else NativeCode({})
    nf = code.functions.get(patch.function)
    under: dict[int, list[NativeInstruction]] = {}
    unplaced: list[NativeInstruction] = []  # prologue and other code no wasm line claims
    starts = [off for off, _ in body if off is not None]
    line: int | None = None
    for ins in nf.instructions if nf else []:
        if ins.wasm_offset is not None:
            line = _line_for(starts, ins.wasm_offset)
        # Code without a wasm position (spills, moves) stays with the instruction before it.
        (under.setdefault(line, []) if line is not None else unplaced).append(ins)
    lines: list[str] = []
    for k, (off, wat) in enumerate(body):
        if wasm:
            lines.append(wat)
        if k == 0:  # the prologue, under the function's header
            lines += [_native_line(ins) for ins in unplaced]
        lines += [_native_line(ins) for ins in under.get(off, [])] if off is not None else []
    return CodeListing(
        f.name,
        mod.id,
        lines,
        sum(1 for off, _ in body if off is not None),
        len(nf.instructions) if nf else 0,
        nf.size if nf else 0,
        code.notice,
    )


def _function_lines(text: list[str], name: str) -> list[tuple[int | None, str]]:
    """The lines of ``(func $name`` up to the next function, each with its byte offset."""
    out: list[tuple[int | None, str]] = []
    inside = False
    for line in text:
        m = _OFFSET.match(line)
        rest = line[m.end() :] if m else line
        if rest.lstrip().startswith("(func "):
            inside = rest.lstrip().startswith(f"(func ${name} ")
        elif inside and rest.startswith("  (") and not rest.startswith("   "):
            inside = False  # the next item of the module
        if inside:
            out.append((int(m.group(1), 16) if m else None, rest.rstrip()))
    if not out:
        raise ValueError(f"no function ${name} in the module's text")
    return out


def _line_for(starts: list[int], offset: int | None) -> int | None:
    """The last wasm line at or before ``offset`` (instructions map to where they start)."""
    if offset is None or not starts or offset < starts[0]:
        return None
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return starts[lo]


def _native_line(ins: NativeInstruction) -> str:
    note = f"  ; {ins.target}" if ins.target else ""
    return f"      │ {ins.address:6x}  {ins.mnemonic} {ins.operands}{note}".rstrip()
