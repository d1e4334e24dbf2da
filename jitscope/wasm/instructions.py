"""Instructions: decode a sequence and re-encode it with its indices remapped.

The static linker renumbers calls, types, tables, memories and globals of JIT code as it
appends it to the main module; the same decoder lists a body's callees.  Anything it does not
understand raises :class:`DecodeError` naming the opcode and its offset, never a silently
wrong module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jitscope.wasm.leb128 import Cursor, DecodeError, sleb, uleb
from jitscope.wasm.sections import VALTYPES

__all__ = ["IDENTITY", "Remap", "callees", "limits", "translate", "translate_body", "valtype"]

#: Opcodes the decoder knows by name but cannot relocate.
#: Opcodes the decoder knows by name but cannot relocate.
_UNSUPPORTED = {
    0x06: "try",
    0x07: "catch",
    0x08: "throw",
    0x09: "rethrow",
    0x0A: "throw_ref",
    0x14: "call_ref",
    0x15: "return_call_ref",
    0x18: "delegate",
    0x19: "catch_all",
    0x1F: "try_table",
    0xD3: "ref.as_non_null",
    0xD4: "br_on_null",
    0xD5: "ref.eq",
    0xD6: "br_on_non_null",
    0xFB: "the GC prefix",
    0xFD: "the SIMD prefix",
    0xFE: "the threads prefix",
}


def valtype(c: Cursor, where: str) -> int:
    at = c.pos
    t = c.u8()
    if t not in VALTYPES:
        raise DecodeError(
            f"{where}: value type 0x{t:02x} at offset 0x{at:x} is not supported "
            "(typed references and GC types are not)"
        )
    return t


def limits(c: Cursor, where: str) -> tuple[int, int, int | None]:
    flags = c.u8()
    if flags not in (0, 1):
        kind = {2: "shared", 3: "shared", 4: "64-bit", 5: "64-bit"}.get(flags, f"0x{flags:02x}")
        raise DecodeError(f"{where}: {kind} limits are not supported")
    lo = c.uleb()
    hi = c.uleb() if flags == 1 else None
    return flags, lo, hi


@dataclass(slots=True)
class Remap:
    """How indices inside an instruction sequence change; each callback may refuse."""

    func: Callable[[int], int]
    type: Callable[[int], int]
    table: Callable[[int], int]
    memory: Callable[[int], int]
    global_: Callable[[int], int]


IDENTITY = Remap(*(lambda i: i,) * 5)


_MEMARG = set(range(0x28, 0x3F))
_PLAIN = {0x00, 0x01, 0x05, 0x0F, 0x1A, 0x1B, 0xD1, *range(0x45, 0xC5)}


def translate(
    code: bytes,
    pos: int,
    end: int,
    remap: Remap,
    where: str,
    moved: dict[int, int] | None = None,
) -> tuple[bytes, int]:
    """Re-encode the instruction sequence at ``code[pos:end]`` up to its closing ``end``.

    Returns the new bytes and the offset after that ``end``.  Immediates that ``remap`` does
    not change are copied as they were; those it changes are re-encoded.  Anything the decoder
    does not understand raises :class:`DecodeError` naming the opcode and its offset.
    ``moved``, when given, receives each instruction's offset in ``code`` -> its offset in the
    new bytes (re-encoded immediates change lengths).
    """
    c = Cursor(code, pos, end)
    out = bytearray()
    depth = 0
    while True:
        at = c.pos
        if moved is not None:
            moved[at] = len(out)
        if c.done():
            raise DecodeError(f"{where}: instructions run past the end (offset 0x{at:x})")
        op = c.u8()
        try:
            if op in _PLAIN:
                out.append(op)
            elif op == 0x0B:
                out.append(op)
                if depth == 0:
                    return bytes(out), c.pos
                depth -= 1
            elif op in (0x02, 0x03, 0x04):  # block, loop, if: a block type
                depth += 1
                peek = code[c.pos] if c.pos < end else -1
                if peek == 0x40 or peek in VALTYPES:
                    c.u8()
                    out += code[at : c.pos]
                else:
                    index = c.sleb()
                    if index < 0:
                        raise DecodeError(f"block type {index}")
                    out.append(op)
                    out += sleb(remap.type(index))
            elif op in (0x0C, 0x0D, 0x20, 0x21, 0x22):  # br, br_if, local.*
                c.uleb()
                out += code[at : c.pos]
            elif op == 0x0E:  # br_table
                for _ in range(c.uleb() + 1):
                    c.uleb()
                out += code[at : c.pos]
            elif op in (0x10, 0x12, 0xD2):  # call, return_call, ref.func
                out.append(op)
                out += uleb(remap.func(c.uleb()))
            elif op in (0x11, 0x13):  # call_indirect, return_call_indirect
                t = remap.type(c.uleb())
                out.append(op)
                out += uleb(t) + uleb(remap.table(c.uleb()))
            elif op in (0x23, 0x24):  # global.get, global.set
                out.append(op)
                out += uleb(remap.global_(c.uleb()))
            elif op in (0x25, 0x26):  # table.get, table.set
                out.append(op)
                out += uleb(remap.table(c.uleb()))
            elif op in _MEMARG:
                align = c.uleb()
                if align & 0x40:
                    raise DecodeError("a memory index (multi-memory)")
                c.uleb()
                out += code[at : c.pos]
            elif op in (0x3F, 0x40):  # memory.size, memory.grow
                out.append(op)
                out += uleb(remap.memory(c.uleb()))
            elif op in (0x41, 0x42):  # i32.const, i64.const
                c.sleb()
                out += code[at : c.pos]
            elif op in (0x43, 0x44):
                c.pos += 4 if op == 0x43 else 8
                if c.pos > end:
                    raise DecodeError("a truncated constant")
                out += code[at : c.pos]
            elif op == 0x1C:  # select with types
                for _ in range(c.uleb()):
                    valtype(c, where)
                out += code[at : c.pos]
            elif op == 0xD0:  # ref.null
                valtype(c, where)
                out += code[at : c.pos]
            elif op == 0xFC:
                out += _translate_fc(c, at, code, remap)
            elif op in _UNSUPPORTED:
                raise DecodeError(
                    f"opcode 0x{op:02x} ({_UNSUPPORTED[op]}), which the "
                    "snapshot's decoder does not relocate"
                )
            else:
                raise DecodeError(f"unknown opcode 0x{op:02x}")
        except DecodeError as e:
            raise DecodeError(f"{where}: at offset 0x{at:x}: {e}") from None


def _translate_fc(c: Cursor, at: int, code: bytes, remap: Remap) -> bytes:
    sub = c.uleb()
    if sub <= 7:  # saturating truncations
        return code[at : c.pos]
    if sub in (8, 9):
        raise DecodeError(
            f"opcode 0xfc {sub} ({'memory.init' if sub == 8 else 'data.drop'}): "
            "data segments are replaced by the snapshot"
        )
    if sub in (12, 13):
        raise DecodeError(
            f"opcode 0xfc {sub} ({'table.init' if sub == 12 else 'elem.drop'}): "
            "element segments of a JIT module are not carried over"
        )
    head = bytes([0xFC]) + uleb(sub)
    if sub == 10:  # memory.copy
        return head + uleb(remap.memory(c.uleb())) + uleb(remap.memory(c.uleb()))
    if sub == 11:  # memory.fill
        return head + uleb(remap.memory(c.uleb()))
    if sub == 14:  # table.copy
        return head + uleb(remap.table(c.uleb())) + uleb(remap.table(c.uleb()))
    if sub in (15, 16, 17):  # table.grow, table.size, table.fill
        return head + uleb(remap.table(c.uleb()))
    raise DecodeError(f"unknown opcode 0xfc {sub}")


def callees(code: bytes, start: int, end: int, where: str) -> set[int]:
    found: set[int] = set()

    def note(i: int) -> int:
        found.add(i)
        return i

    c = Cursor(code, start, end)
    for _ in range(c.uleb()):
        c.uleb()
        valtype(c, where)
    remap = Remap(
        func=note, type=lambda i: i, table=lambda i: i, memory=lambda i: i, global_=lambda i: i
    )
    translate(code, c.pos, end, remap, where)
    return found


def translate_body(
    code: bytes,
    start: int,
    end: int,
    remap: Remap,
    where: str,
    moved: dict[int, int] | None = None,
) -> bytes:
    """A function body re-encoded (see :func:`translate`), with its size in front.
    ``moved`` receives each instruction's offset from the old body's start -> from the new
    body's start (both counted from the local declarations, as jitscope.srcmap counts)."""
    c = Cursor(code, start, end)
    try:
        for _ in range(c.uleb()):
            c.uleb()
            valtype(c, where)
    except ValueError as e:
        raise DecodeError(f"{where}: malformed locals: {e}") from None
    locals_ = code[start : c.pos]
    inner: dict[int, int] | None = {} if moved is not None else None
    body, after = translate(code, c.pos, end, remap, where, inner)
    if moved is not None and inner is not None:
        moved.update({at - start: len(locals_) + new for at, new in inner.items()})
    if after != end:
        raise DecodeError(f"{where}: {end - after} bytes after the function's final end")
    out = locals_ + body
    return uleb(len(out)) + out
