"""The x86-64 code Cranelift made of a JIT module, from the session's own engine.

``wasmtime.Module.serialize()`` is an ELF image: ``.text`` with one symbol per wasm function
(``wasm[0]::function[N]::NAME``), ``.wasmtime.addrmap``, which maps native offsets to the
wasm offsets they were compiled from, and ``.wasmtime.traps``, which says which instructions
trap and why.  pyelftools reads the image, capstone disassembles it, and the address map joins
each instruction to its wasm instruction.  Both maps are internal to wasmtime (their encoding
changed in 2026; the major version is pinned): when one cannot be read, the listing comes
without what it would have given and says why.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

import capstone
import wasmtime
from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from jitscope.runtime.sites import trap_kind
from jitscope.wasm.leb128 import Cursor

__all__ = [
    "NativeCode",
    "NativeFunction",
    "NativeInstruction",
    "native_code",
    "parse_address_map",
    "parse_trap_map",
    "read_image",
    "trap_kind",
]

_FUNCTION_SYMBOL = re.compile(r"wasm\[\d+\]::function\[(\d+)\](?:::(.*))?")
_NO_POSITION = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class NativeInstruction:
    address: int  # offset in .text
    size: int
    mnemonic: str
    operands: str
    wasm_offset: int | None  # the wasm instruction's offset in the module's bytes
    target: str = ""  # for a direct call: the symbol called (a function, a wasmtime builtin)
    trap: str = ""  # the trap it raises when it faults or is reached ("" for none)


@dataclass(slots=True)
class NativeFunction:
    index: int  # the wasm function index
    name: str
    address: int
    size: int
    instructions: list[NativeInstruction] = field(default_factory=list)


@dataclass(slots=True)
class NativeCode:
    functions: dict[int, NativeFunction]
    notice: str = ""  # what could not be read (the listing is still there)
    text_bytes: int = 0


def _blocks(section: bytes) -> tuple[int, list[tuple[int, Cursor]]]:
    """The block framing both of wasmtime 50's native-offset maps share: u32 entry count,
    u32 block count, per block (first native offset: u32, body position: u32), then the
    bodies.  Returns the entry count and each block's first offset with a cursor on its body."""
    if len(section) < 8:
        raise ValueError("shorter than its header")
    entries, count = struct.unpack_from("<II", section, 0)
    index_end = 8 + 8 * count
    if index_end > len(section):
        raise ValueError(f"{count} blocks do not fit in {len(section)} bytes")
    starts = [struct.unpack_from("<II", section, 8 + 8 * b) for b in range(count)]
    bodies = section[index_end:]
    blocks = []
    for b, (first, pos) in enumerate(starts):
        end = starts[b + 1][1] if b + 1 < count else len(bodies)
        if not pos <= end <= len(bodies):
            raise ValueError(f"block {b} lies outside the section")
        blocks.append((first, Cursor(bodies, pos, end)))
    return entries, blocks


def parse_address_map(section: bytes) -> Iterator[tuple[int, int | None]]:
    """(native offset, wasm offset or None) entries of a ``.wasmtime.addrmap``, in order.

    The encoding (wasmtime 50), in the blocks of :func:`_blocks`: per entry a uleb
    ``(pc_delta << 1) | no_position`` and, with a position, the block's first one as a uleb
    and later ones as sleb deltas.  Raises ValueError on anything else.
    """
    entries, blocks = _blocks(section)
    seen = 0
    for pc, c in blocks:
        prev = None
        while not c.done():
            token = c.uleb()
            pc += token >> 1
            if token & 1:
                yield pc, None
            else:
                prev = c.uleb(32) if prev is None else prev + c.sleb()
                yield pc, (None if prev == _NO_POSITION else prev)
            seen += 1
    if seen != entries:
        raise ValueError(f"{seen} entries where its header says {entries}")


def parse_trap_map(section: bytes) -> Iterator[tuple[int, int]]:
    """(native offset, trap code) entries of a ``.wasmtime.traps``, in order.

    The encoding (wasmtime 50), in the blocks of :func:`_blocks`: a body starts with its most
    common trap code (u8), then per entry a uleb ``(pc_delta << 1) | explicit``, an explicit
    one followed by its code (u8).  Raises ValueError on anything else.
    """
    entries, blocks = _blocks(section)
    seen = 0
    for pc, c in blocks:
        default = c.u8()
        while not c.done():
            token = c.uleb()
            pc += token >> 1
            yield pc, c.u8() if token & 1 else default
            seen += 1
    if seen != entries:
        raise ValueError(f"{seen} entries where its header says {entries}")


def native_code(module: wasmtime.Module, only: set[int] | None = None) -> NativeCode:
    """Every wasm function of ``module`` (or those ``only`` names, by index) as x86-64, each
    instruction with its wasm offset."""
    return read_image(bytes(module.serialize()), only)


def read_image(image: bytes, only: set[int] | None = None) -> NativeCode:
    """The functions of a serialized module's ELF image (what :func:`native_code` reads);
    with ``only``, just those (by wasm index) are disassembled."""
    try:
        elf = ELFFile(io.BytesIO(image))
        text = elf.get_section_by_name(".text")
        symtab = elf.get_section_by_name(".symtab")
        if text is None or not isinstance(symtab, SymbolTableSection):
            raise ValueError("no .text or .symtab section")
        code = text.data()
        functions: dict[int, NativeFunction] = {}
        symbols = {sym["st_value"]: sym.name for sym in symtab.iter_symbols() if sym.name}
        for sym in symtab.iter_symbols():
            m = _FUNCTION_SYMBOL.fullmatch(sym.name)
            if m:
                index = int(m.group(1))
                name = m.group(2) or f"function {index}"
                functions[index] = NativeFunction(index, name, sym["st_value"], sym["st_size"])
        addrmap = elf.get_section_by_name(".wasmtime.addrmap")
        raw_map = addrmap.data() if addrmap is not None else None
        traps_section = elf.get_section_by_name(".wasmtime.traps")
        raw_traps = traps_section.data() if traps_section is not None else None
    except (ELFError, ValueError, struct.error) as e:
        return NativeCode({}, f"the compiled image could not be read ({e})")
    notice = ""
    positions: list[tuple[int, int | None]] = []
    if raw_map is None:
        notice = "no .wasmtime.addrmap section: instructions are not joined to wasm"
    else:
        try:
            positions = list(parse_address_map(raw_map))
        except (ValueError, IndexError) as e:
            notice = f".wasmtime.addrmap could not be read ({e}): instructions are not joined"
    traps: dict[int, str] = {}
    try:
        traps = {pc: trap_kind(code) for pc, code in parse_trap_map(raw_traps or b"")}
    except (ValueError, IndexError) as e:
        trap_notice = f".wasmtime.traps could not be read ({e}): trap sites are not marked"
        notice = f"{notice}; {trap_notice}" if notice else trap_notice
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    k = 0
    for f in sorted(functions.values(), key=lambda f: f.address):
        if only is not None and f.index not in only:
            continue
        for ins in md.disasm(code[f.address : f.address + f.size], f.address):
            # Each map entry covers the pcs up to the next one.
            while k + 1 < len(positions) and positions[k + 1][0] <= ins.address:
                k += 1
            wasm = positions[k][1] if positions and positions[k][0] <= ins.address else None
            target = ""
            if ins.mnemonic == "call" and re.fullmatch(r"0x[0-9a-f]+|\d+", ins.op_str):
                target = symbols.get(int(ins.op_str, 0), "")
            f.instructions.append(
                NativeInstruction(
                    ins.address,
                    ins.size,
                    ins.mnemonic,
                    ins.op_str,
                    wasm,
                    target,
                    traps.get(ins.address, ""),
                )
            )
    return NativeCode(functions, notice, len(code))
