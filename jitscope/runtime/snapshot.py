"""Static late linking: bake a session's linked JIT code into one core wasm module.

:func:`snapshot` takes a live :class:`~jitscope.runtime.session.Session` whose JIT modules have
been generated, instantiated and patched in, and writes a single module that starts where the
session is now: the main module's code, plus every JIT function that fills a table slot,
appended after the main module's functions; the table already holding them at the slots they
occupy live; memory and mutable globals as they are; nothing left to initialise.  A fresh
instance of it dispatches to JIT code from the first call without generating or instantiating
any JIT module.

Wizer's choices are the model (its own tool refuses modules that grow their table and cannot
capture state a host built up step by step):

- mutable globals are read through exports (interplib.wasm exports ``__stack_pointer`` for
  this; a module with a mutable global nobody exported is refused with its name);
- the initialisation export ``_initialize`` is removed, and so is a start function: their
  effects are in the captured memory, and wasi-libc traps when initialised twice;
- memory becomes active data segments for its non-zero ranges only, replacing the original
  data section (the interpreter's ``dbg_scrub`` first zeroes freed heap and the dead shadow
  stack, so garbage does not end up in the file).

What stays put, so the main module's DWARF and names keep pointing at the right places:
function indices, the original function bodies (byte for byte), their offsets inside the code
section, the type indices, the element segments.  New types, functions and segments are only
ever appended.  JIT bodies are re-encoded instruction by instruction: function indices of calls
between JIT functions and the type indices of ``call_indirect`` are renumbered; memory
addresses and table indices embedded as constants stay as they are, because memory and table
layout are preserved.  An instruction the decoder does not know is an error naming the opcode,
never a silently wrong module.

Which function fills which slot is not guessed from the live table (wasmtime does not say a
``Func``'s index) but derived from what is known: the main module's element segments, the JIT
module's own element segment (its ``fill_table`` copies it to ``table_base``), the
``jitscope.patches`` section and the table size before growth.  The live table is then checked
against that: the same ``Func`` as the JIT instance exports where there is one, the same type
everywhere, and no non-empty slot unaccounted for.

Slots the host filled (the auto-JIT tier-up hook) cannot be baked in: they are left empty, and
the interpreter's hook index in the captured memory is cleared so nothing calls them.

A custom section ``jitscope.snapshot`` records which slots hold baked JIT code, so a session on
the snapshot can say where they came from, and the names of the session's sources.  Layout,
version 1 (read by :func:`jitscope.runtime.binary.parse_snapshot_section`):

    u8 version = 1
    uleb generation               1 for a snapshot of a plain module, n + 1 for one of snapshot n
    uleb count, then count times:
        uleb slot                 table slot
        uleb function             function index in this module
        uleb module id            the JIT module the function was generated in
        uleb generation           the snapshot that baked it in
        uleb length, bytes        its Scheme name
    uleb count, then count times:
        uleb source id            as dbg_source() numbers them
        uleb length, bytes        the name the session knew the source by
"""

from __future__ import annotations

import os
import re
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jitscope.runtime.binary import (
    PATCH_SECTION,
    SNAPSHOT_SECTION,
    BakedSlot,
    Cursor,
    SnapshotRecord,
    name_subsections,
    parse_patches,
    parse_snapshot_section,
)
from jitscope.runtime.files import write_atomic
from jitscope.runtime.wat import section_sizes

if TYPE_CHECKING:
    from jitscope.runtime.session import JitModule, Session

__all__ = ["Snapshot", "SnapshotError", "snapshot", "write_snapshot"]

PAGE = 65536

#: Runs of zero bytes shorter than this are kept inside a data segment rather than split off:
#: a segment of its own costs about this much (flags, offset expression, length).
MERGE_GAP = 9

#: wasmparser (wasmtime, wasm-tools) accepts at most this many data segments.
MAX_DATA_SEGMENTS = 100_000

_VALTYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128",
             0x70: "funcref", 0x6F: "externref"}

#: Opcodes the decoder knows by name but cannot relocate.
_UNSUPPORTED = {
    0x06: "try", 0x07: "catch", 0x08: "throw", 0x09: "rethrow", 0x0A: "throw_ref",
    0x14: "call_ref", 0x15: "return_call_ref", 0x18: "delegate", 0x19: "catch_all",
    0x1F: "try_table", 0xD3: "ref.as_non_null", 0xD4: "br_on_null", 0xD5: "ref.eq",
    0xD6: "br_on_non_null", 0xFB: "the GC prefix", 0xFD: "the SIMD prefix",
    0xFE: "the threads prefix",
}


class SnapshotError(Exception):
    """The session cannot be snapshotted; the message says why (and what to do, if anything)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A snapshot module and the facts about it a front end reports."""

    data: bytes
    input_size: int  # the main module it was built from
    functions: tuple[BakedSlot, ...]  # every JIT function in the table, this snapshot's and earlier
    new_functions: tuple[BakedSlot, ...]  # the ones this snapshot linked in
    memory_bytes: int  # live linear memory
    data_bytes: int  # bytes in its data segments
    segments: int
    zeroed_bytes: int  # garbage dbg_scrub cleared first
    table_size: int
    seconds: float
    notes: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return len(self.data)

    def summary(self) -> str:
        names = ", ".join(f.name for f in self.new_functions) or "none"
        plural = "s" if len(self.new_functions) != 1 else ""
        head = (
            f"{self.size:,} bytes (main module {self.input_size:,}); "
            f"{len(self.new_functions)} JIT function{plural} linked in ({names}), "
            f"{len(self.functions)} in all; memory {self.memory_bytes >> 10:,} KiB as "
            f"{self.segments:,} data segments of {self.data_bytes:,} bytes; "
            f"table {self.table_size} slots; {self.seconds:.2f} s"
        )
        lines = [head]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


# --------------------------------------------------------------------------------- encoding


def uleb(n: int, width: int = 0) -> bytes:
    """Unsigned LEB128, padded with continuation bytes to at least ``width`` bytes."""
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n == 0 and len(out) + 1 >= width:
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def sleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if (n == 0 and not byte & 0x40) or (n == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def _name(s: str) -> bytes:
    b = s.encode("utf-8")
    return uleb(len(b)) + b


def _vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def _section(sid: int, payload: bytes) -> bytes:
    return bytes([sid]) + uleb(len(payload)) + payload


# --------------------------------------------------------------------------------- decoding


def _valtype(c: Cursor, where: str) -> int:
    at = c.pos
    t = c.u8()
    if t not in _VALTYPES:
        raise SnapshotError(f"{where}: value type 0x{t:02x} at offset 0x{at:x} is not supported "
                            "(typed references and GC types are not)")
    return t


def _limits(c: Cursor, where: str) -> tuple[int, int, int | None]:
    flags = c.u8()
    if flags not in (0, 1):
        kind = {2: "shared", 3: "shared", 4: "64-bit", 5: "64-bit"}.get(flags, f"0x{flags:02x}")
        raise SnapshotError(f"{where}: {kind} limits are not supported")
    lo = c.uleb()
    hi = c.uleb() if flags == 1 else None
    return flags, lo, hi


@dataclass(slots=True)
class _Remap:
    """How indices inside an instruction sequence change; each callback may refuse."""

    func: Callable[[int], int]
    type: Callable[[int], int]
    table: Callable[[int], int]
    memory: Callable[[int], int]
    global_: Callable[[int], int]


_IDENTITY = _Remap(*(lambda i: i,) * 5)


_MEMARG = set(range(0x28, 0x3F))
_PLAIN = {0x00, 0x01, 0x05, 0x0F, 0x1A, 0x1B, 0xD1, *range(0x45, 0xC5)}


def translate(code: bytes, pos: int, end: int, remap: _Remap, where: str) -> tuple[bytes, int]:
    """Re-encode the instruction sequence at ``code[pos:end]`` up to its closing ``end``.

    Returns the new bytes and the offset after that ``end``.  Immediates that ``remap`` does
    not change are copied as they were; those it changes are re-encoded.  Anything the decoder
    does not understand raises :class:`SnapshotError` naming the opcode and its offset.
    """
    c = Cursor(code, pos, end)
    out = bytearray()
    depth = 0
    while True:
        at = c.pos
        if c.done():
            raise SnapshotError(f"{where}: instructions run past the end (offset 0x{at:x})")
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
                if peek == 0x40 or peek in _VALTYPES:
                    c.u8()
                    out += code[at : c.pos]
                else:
                    index = c.sleb()
                    if index < 0:
                        raise SnapshotError(f"block type {index}")
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
                    raise SnapshotError("a memory index (multi-memory)")
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
                    raise SnapshotError("a truncated constant")
                out += code[at : c.pos]
            elif op == 0x1C:  # select with types
                for _ in range(c.uleb()):
                    _valtype(c, where)
                out += code[at : c.pos]
            elif op == 0xD0:  # ref.null
                _valtype(c, where)
                out += code[at : c.pos]
            elif op == 0xFC:
                out += _translate_fc(c, at, code, remap)
            elif op in _UNSUPPORTED:
                raise SnapshotError(f"opcode 0x{op:02x} ({_UNSUPPORTED[op]}), which the "
                                    "snapshot's decoder does not relocate")
            else:
                raise SnapshotError(f"unknown opcode 0x{op:02x}")
        except SnapshotError as e:
            raise SnapshotError(f"{where}: at offset 0x{at:x}: {e}") from None
        except ValueError as e:  # Cursor: truncated
            raise SnapshotError(f"{where}: at offset 0x{at:x}: {e}") from None


def _translate_fc(c: Cursor, at: int, code: bytes, remap: _Remap) -> bytes:
    sub = c.uleb()
    if sub <= 7:  # saturating truncations
        return code[at : c.pos]
    if sub in (8, 9):
        raise SnapshotError(f"opcode 0xfc {sub} ({'memory.init' if sub == 8 else 'data.drop'}): "
                            "data segments are replaced by the snapshot")
    if sub in (12, 13):
        raise SnapshotError(f"opcode 0xfc {sub} ({'table.init' if sub == 12 else 'elem.drop'}): "
                            "element segments of a JIT module are not carried over")
    head = bytes([0xFC]) + uleb(sub)
    if sub == 10:  # memory.copy
        return head + uleb(remap.memory(c.uleb())) + uleb(remap.memory(c.uleb()))
    if sub == 11:  # memory.fill
        return head + uleb(remap.memory(c.uleb()))
    if sub == 14:  # table.copy
        return head + uleb(remap.table(c.uleb())) + uleb(remap.table(c.uleb()))
    if sub in (15, 16, 17):  # table.grow, table.size, table.fill
        return head + uleb(remap.table(c.uleb()))
    raise SnapshotError(f"unknown opcode 0xfc {sub}")


# --------------------------------------------------------------------------------- modules


@dataclass(slots=True)
class _Section:
    id: int
    name: str  # for custom sections
    payload: bytes  # for custom sections: the data after the name


@dataclass(slots=True)
class _Elem:
    mode: str  # "active", "passive" or "declarative"
    table: int
    offset: int | None  # constant offset of an active segment, None if not a constant
    funcs: list[int | None]  # function indices (None for ref.null)


@dataclass(slots=True)
class _Module:
    """A core module split into what the snapshot reads and rewrites."""

    what: str
    sections: list[_Section]
    types: list[bytes] = field(default_factory=list)
    func_imports: list[int] = field(default_factory=list)  # their type indices
    imports: dict[int, int] = field(default_factory=dict)  # kind -> count
    func_types: list[int] = field(default_factory=list)  # defined functions
    tables: list[tuple[int, int, int | None]] = field(default_factory=list)  # reftype, min, max
    memories: list[tuple[int, int | None]] = field(default_factory=list)
    globals: list[tuple[int, int, bytes]] = field(default_factory=list)  # type, mut, init
    exports: list[tuple[str, int, int]] = field(default_factory=list)
    start: int | None = None
    elems: list[_Elem] = field(default_factory=list)
    bodies: list[tuple[int, int]] = field(default_factory=list)  # ranges in code payload
    code: bytes = b""
    code_count_width: int = 1
    data_count: int = 0
    passive_data: bool = False
    names: dict[int, str] = field(default_factory=dict)
    local_names: dict[int, bytes] = field(default_factory=dict)  # encoded name map per func
    global_names: dict[int, str] = field(default_factory=dict)

    @property
    def n_funcs(self) -> int:
        return len(self.func_imports) + len(self.func_types)

    def func_type(self, index: int) -> int:
        if index < len(self.func_imports):
            return self.func_imports[index]
        return self.func_types[index - len(self.func_imports)]

    def export(self, name: str, kind: int) -> int | None:
        for n, k, i in self.exports:
            if n == name and k == kind:
                return i
        return None

    def custom(self, name: str) -> bytes | None:
        for s in self.sections:
            if s.id == 0 and s.name == name:
                return s.payload
        return None

    @classmethod
    def parse(cls, data: bytes, what: str) -> _Module:
        try:
            framing = section_sizes(data)
        except ValueError as e:
            raise SnapshotError(f"{what}: not a core wasm module: {e}") from None
        m = cls(what, [_Section(s.id, s.name, bytes(data[s.offset : s.end])) for s in framing])
        try:
            for s in m.sections:
                m._read(s)
        except ValueError as e:  # Cursor: truncated or malformed
            raise SnapshotError(f"{what}: malformed: {e}") from None
        return m

    def _read(self, s: _Section) -> None:
        c = Cursor(s.payload)
        where = self.what
        if s.id == 1:
            for k in range(c.uleb()):
                start = c.pos
                form = c.u8()
                if form != 0x60:
                    raise SnapshotError(f"{where}: type {k} has form 0x{form:02x}; only function "
                                        "types are supported (no GC or recursive types)")
                for _ in range(2):
                    for _ in range(c.uleb()):
                        _valtype(c, where)
                self.types.append(s.payload[start : c.pos])
        elif s.id == 2:
            for _ in range(c.uleb()):
                c.name()
                c.name()
                kind = c.u8()
                self.imports[kind] = self.imports.get(kind, 0) + 1
                if kind == 0:
                    self.func_imports.append(c.uleb())
                elif kind == 1:
                    _valtype(c, where)
                    _limits(c, where)
                elif kind == 2:
                    _limits(c, where)
                elif kind == 3:
                    _valtype(c, where)
                    c.u8()
                elif kind == 4:
                    c.u8()
                    c.uleb()
                else:
                    raise SnapshotError(f"{where}: unknown import kind {kind}")
        elif s.id == 3:
            self.func_types = [c.uleb() for _ in range(c.uleb())]
        elif s.id == 4:
            for _ in range(c.uleb()):
                if c.data[c.pos] == 0x40:
                    raise SnapshotError(f"{where}: tables with initialiser expressions are not "
                                        "supported")
                t = _valtype(c, where)
                _, lo, hi = _limits(c, where)
                self.tables.append((t, lo, hi))
        elif s.id == 5:
            for _ in range(c.uleb()):
                _, lo, hi = _limits(c, where)
                self.memories.append((lo, hi))
        elif s.id == 6:
            for k in range(c.uleb()):
                t = _valtype(c, where)
                mut = c.u8()
                init, c.pos = translate(s.payload, c.pos, c.end, _IDENTITY, f"{where}: global {k}")
                self.globals.append((t, mut, init))
        elif s.id == 7:
            for _ in range(c.uleb()):
                name = c.name()
                self.exports.append((name, c.u8(), c.uleb()))
        elif s.id == 8:
            self.start = c.uleb()
        elif s.id == 9:
            self.elems = [self._elem(c, k) for k in range(c.uleb())]
        elif s.id == 10:
            count = c.uleb()
            self.code_count_width = c.pos
            self.code = s.payload
            for _ in range(count):
                size = c.uleb()
                self.bodies.append((c.pos, c.pos + size))
                c.pos += size
            if c.pos != c.end:
                raise SnapshotError(f"{where}: code section size does not match its bodies")
        elif s.id == 11:
            for k in range(c.uleb()):
                flags = c.uleb()
                if flags == 1:
                    self.passive_data = True
                elif flags in (0, 2):
                    if flags == 2:
                        c.uleb()
                    _, c.pos = translate(s.payload, c.pos, c.end, _IDENTITY, f"{where}: data {k}")
                else:
                    raise SnapshotError(f"{where}: data segment {k} has unknown flags {flags}")
                size = c.uleb()
                c.pos += size
        elif s.id == 12:
            self.data_count = c.uleb()
        elif s.id == 13:
            raise SnapshotError(f"{where}: has a tag section (exception handling), which the "
                                "snapshot does not support")
        elif s.id == 0 and s.name == "name":
            self._names(s.payload)
        elif s.id == 0 and (s.name == "linking" or s.name.startswith("reloc.")):
            raise SnapshotError(f"{where}: is a relocatable object file (custom section "
                                f"{s.name!r}); link it first")
        elif s.id != 0:
            raise SnapshotError(f"{where}: unknown section id {s.id}")

    def _elem(self, c: Cursor, k: int) -> _Elem:
        where = f"{self.what}: element segment {k}"
        flags = c.uleb()
        if flags > 7:
            raise SnapshotError(f"{where}: unknown flags {flags}")
        mode = ("active", "passive", "active", "declarative")[flags & 3]
        table, offset = 0, None
        if flags & 3 == 2:
            table = c.uleb()
        if mode == "active":
            expr, c.pos = translate(c.data, c.pos, c.end, _IDENTITY, where)
            ec = Cursor(expr)
            if ec.u8() == 0x41:
                value = ec.sleb()
                if ec.u8() == 0x0B and ec.done():
                    offset = value & 0xFFFFFFFF
        if flags & 3 != 0:  # an elemkind or reftype byte
            kind = c.u8()
            if kind not in (0x00, 0x70):
                raise SnapshotError(f"{where}: element type 0x{kind:02x} is not funcref")
        funcs: list[int | None] = []
        for _ in range(c.uleb()):
            if flags & 4:
                expr, c.pos = translate(c.data, c.pos, c.end, _IDENTITY, where)
                ec = Cursor(expr)
                op = ec.u8()
                funcs.append(ec.uleb() if op == 0xD2 else None)
            else:
                funcs.append(c.uleb())
        return _Elem(mode, table, offset, funcs)

    def _names(self, payload: bytes) -> None:
        try:
            subs = name_subsections(payload)
            if 1 in subs:
                inner = Cursor(subs[1])
                for _ in range(inner.uleb()):
                    index = inner.uleb()
                    self.names[index] = inner.name()
            if 2 in subs:
                locals_ = subs[2]
                inner = Cursor(locals_)
                for _ in range(inner.uleb()):
                    index = inner.uleb()
                    start = inner.pos
                    for _ in range(inner.uleb()):
                        inner.uleb()
                        inner.name()
                    self.local_names[index] = locals_[start : inner.pos]
            if 7 in subs:
                inner = Cursor(subs[7])
                for _ in range(inner.uleb()):
                    index = inner.uleb()
                    self.global_names[index] = inner.name()
        except ValueError:
            pass  # a broken name section only costs names, as in wasm-tools


# --------------------------------------------------------------------------------- the snapshot


@dataclass(slots=True)
class _Baked:
    slot: int
    mod: JitModule
    parsed: _Module
    jit_index: int  # function index inside the JIT module
    name: str


def snapshot(session: Session) -> Snapshot:
    """Build the snapshot module of ``session`` as it is now (see the module docstring).

    Runs the interpreter's ``dbg_scrub`` first (a collection that also zeroes freed memory):
    the live heap is left equivalent, not identical.  Raises :class:`SnapshotError` when the
    session or its module cannot be snapshotted.
    """
    started = time.perf_counter()
    if session.running:
        raise SnapshotError("an evaluation is running: snapshot between evaluations")
    main = _Module.parse(session.wasm_bytes, "main module")
    _check_main(main)
    notes: list[str] = []
    previous = _previous_record(main)

    mem_index = main.export("memory", 2)
    table_index = main.export("__indirect_function_table", 1)
    if mem_index is None or table_index is None:
        raise SnapshotError("main module: exports no memory or no __indirect_function_table")
    if main.imports.get(1) or main.imports.get(2):
        raise SnapshotError("main module: imports its memory or table; a snapshot needs the "
                            "module to define both")

    # Which JIT function goes in which slot, from the binaries; checked against the live table.
    baked, jit_modules = _baked_slots(session, notes)
    live_size = session.table.size(session.store)
    _check_table(session, main, table_index, baked, live_size, notes)

    # Live state.  dbg_scrub collects and zeroes garbage; the tier-up hook is a host slot that
    # cannot be baked in, so the captured memory has it cleared.
    zeroed = 0
    exports = {e.name for e in session.main_module.exports}
    if "dbg_scrub" in exports:
        zeroed = session._call("dbg_scrub") & 0xFFFFFFFF
    elif "dbg_collect" in exports:
        session.collect()
    hook = getattr(session, "_hook_slot", None)
    threshold = getattr(session, "_auto_threshold", None)
    if threshold is not None:
        session._call("dbg_set_tierup", 0, 0)
        notes.append(f"auto JIT calls a host function (table slot {hook}), which a module "
                     "cannot contain: the snapshot starts with auto JIT off")
    try:
        memory = bytes(session.memory.read(session.store, 0, session.memory.data_len(session.store)))
        pages = session.memory.size(session.store)
    finally:
        if threshold is not None:
            session._call("dbg_set_tierup", hook, threshold)
    global_values = _live_globals(session, main)

    # Assemble.
    types = list(main.types)
    type_index: dict[bytes, int] = {}
    for i, t in enumerate(types):
        type_index.setdefault(t, i)

    def merged_type(t: bytes) -> int:
        if t not in type_index:
            type_index[t] = len(types)
            types.append(t)
        return type_index[t]

    new_funcs: list[tuple[int, bytes]] = []  # (type index, body)
    new_names: dict[int, str] = {}
    new_locals: dict[int, bytes] = {}
    slot_func: dict[int, int] = {}
    for mod, parsed in jit_modules:
        index_of = _place_functions(mod, parsed, baked, main.n_funcs + len(new_funcs))
        for jit_index, merged in sorted(index_of.items(), key=lambda kv: kv[1]):
            remap = _Remap(
                func=lambda i, m=index_of, mod=mod: _jit_func(i, m, mod),
                type=lambda i, p=parsed: merged_type(_jit_type(i, p)),
                table=lambda i, t=table_index: _only_zero(i, "table", t),
                memory=lambda i, m=mem_index: _only_zero(i, "memory", m),
                global_=_no_global(mod),
            )
            name = parsed.names.get(jit_index, f"jit{mod.id}_{jit_index}")
            where = f"JIT module {mod.id}: function {jit_index} ({name})"
            start, end = parsed.bodies[jit_index - len(parsed.func_imports)]
            body = _translate_body(parsed.code, start, end, remap, where)
            new_funcs.append((merged_type(parsed.types[parsed.func_type(jit_index)]), body))
            new_names[merged] = name
            if jit_index in parsed.local_names:
                new_locals[merged] = parsed.local_names[jit_index]
        for b in baked:
            if b.mod is mod:
                slot_func[b.slot] = index_of[b.jit_index]

    generation = (previous.generation if previous else 0) + 1
    new_slots = tuple(
        BakedSlot(b.slot, slot_func[b.slot], b.mod.id, generation, b.name) for b in baked
    )
    all_slots = tuple(sorted((previous.slots if previous else ()) + new_slots,
                             key=lambda s: s.slot))
    sources = dict(previous.sources) if previous else {}
    sources.update(getattr(session, "_sources", {}))

    segments, gap = _data_segments(memory)
    if gap != MERGE_GAP:
        notes.append(f"memory is fragmented: zero runs shorter than {gap} bytes are kept in "
                     f"data segments to stay under {MAX_DATA_SEGMENTS:,} segments")

    payloads = _rebuild(main, session, types, new_funcs, new_names, new_locals, slot_func,
                        table_index, live_size, pages, memory, segments, global_values,
                        all_slots, sources, generation, notes)
    data = b"\0asm\x01\x00\x00\x00" + b"".join(payloads)
    return Snapshot(
        data=data,
        input_size=len(session.wasm_bytes),
        functions=all_slots,
        new_functions=new_slots,
        memory_bytes=len(memory),
        data_bytes=sum(e - s for s, e in segments),
        segments=len(segments),
        zeroed_bytes=zeroed,
        table_size=live_size,
        seconds=time.perf_counter() - started,
        notes=tuple(notes),
    )


def write_snapshot(session: Session, path: str | os.PathLike[str], *,
                   check: bool = True) -> Snapshot:
    """:func:`snapshot`, validated with ``wasm-tools validate`` (unless ``check`` is false) and
    written atomically: a temporary file beside ``path``, then a rename.  What the TUI's
    snapshot action and ``,snapshot FILE`` call."""
    snap = snapshot(session)
    if check:
        from jitscope.runtime.wat import WasmToolsError, validate

        try:
            validate(snap.data)
        except WasmToolsError as e:
            raise SnapshotError(f"the snapshot does not validate (a jitscope bug): {e}") from None
    write_atomic(path, snap.data)
    return snap


# --------------------------------------------------------------------------------- pieces


def _check_main(main: _Module) -> None:
    if not main.memories or not main.tables:
        raise SnapshotError("main module: defines no memory or no table")
    if len(main.memories) > 1:
        raise SnapshotError("main module: has several memories (multi-memory is not supported)")
    if main.passive_data:
        raise SnapshotError("main module: has passive data segments (memory.init), which a "
                            "snapshot of memory cannot replace")
    if not main.bodies and main.func_types:
        raise SnapshotError("main module: has functions but no code section")


def _previous_record(main: _Module) -> SnapshotRecord | None:
    payload = main.custom(SNAPSHOT_SECTION)
    if payload is None:
        return None
    try:
        return parse_snapshot_section(payload)
    except ValueError as e:
        raise SnapshotError(f"main module: corrupt {SNAPSHOT_SECTION} section: {e}") from None


def _jit_slot_map(mod: JitModule, parsed: _Module) -> dict[int, int]:
    """Slot -> function index inside the JIT module, from its element segment and patches."""
    base = mod.table_base
    assert base is not None
    where = f"JIT module {mod.id}"
    passive = [e for e in parsed.elems if e.mode == "passive"]
    active = [e for e in parsed.elems if e.mode == "active"]
    slots: dict[int, int] = {}
    if len(passive) == 1 and not active:
        # fill_table: table.init of this segment at table_base (jitscope's and the seed's layout)
        for i, f in enumerate(passive[0].funcs):
            if f is None:
                raise SnapshotError(f"{where}: its element segment holds ref.null at {i}")
            slots[base + i] = f
    elif active and not passive and all(e.offset is not None for e in active):
        for e in active:
            for i, f in enumerate(e.funcs):
                if f is not None:
                    slots[e.offset + i] = f  # type: ignore[operator]
    else:
        raise SnapshotError(
            f"{where}: cannot tell which of its functions fill which table slots (it has "
            f"{len(passive)} passive and {len(active)} active element segments; jitscope "
            "knows one passive segment copied to table_base, or active segments at constant "
            "offsets)")
    section = parsed.custom(PATCH_SECTION)
    if section is not None:
        try:
            patches = parse_patches(section)
        except ValueError as e:
            raise SnapshotError(f"{where}: corrupt {PATCH_SECTION} section: {e}") from None
        for p in patches:
            if slots.get(base + p.element) != p.function:
                raise SnapshotError(
                    f"{where}: {PATCH_SECTION} says {p.name} (function {p.function}) goes to "
                    f"slot {base + p.element}, its element segment says function "
                    f"{slots.get(base + p.element)}")
    if mod.table_size_before is not None and slots and min(slots) < mod.table_size_before:
        raise SnapshotError(f"{where}: its slots start at {min(slots)}, below the table size "
                            f"{mod.table_size_before} before it grew the table")
    return slots


def _baked_slots(session: Session,
                 notes: list[str]) -> tuple[list[_Baked], list[tuple[JitModule, _Module]]]:
    from jitscope.runtime.session import Stage

    baked: list[_Baked] = []
    modules: list[tuple[JitModule, _Module]] = []
    for mod in session.modules:
        if mod.stage in (Stage.COMPILED, Stage.INSTANTIATED, Stage.TABLE_GROWN,
                         Stage.SLOTS_FILLED) or (mod.stage is Stage.GENERATED):
            raise SnapshotError(
                f"JIT module {mod.id} is part-way through linking ({mod.stage.name.lower()}): "
                "link or discard it first")
        if mod.table_base is None:
            continue  # never grew the table: nothing of it is live
        parsed = _Module.parse(mod.data, f"JIT module {mod.id}")
        if parsed.func_imports or parsed.imports.get(3) or parsed.imports.get(4):
            raise SnapshotError(f"JIT module {mod.id}: imports functions, globals or tags; a "
                                "snapshot can only link modules that import memory and table")
        if parsed.tables or parsed.memories or parsed.imports.get(1, 0) > 1 \
                or parsed.imports.get(2, 0) > 1:
            raise SnapshotError(f"JIT module {mod.id}: has tables or memories of its own; a "
                                "snapshot can only link modules that import the main module's")
        slots = _jit_slot_map(mod, parsed)
        live = {s: _slot_func(session, s) is not None for s in slots}
        if not any(live.values()):
            if mod.stage is Stage.LINKED:
                raise SnapshotError(f"JIT module {mod.id} is linked but its table slots "
                                    f"{min(slots)}-{max(slots)} are empty")
            continue  # discarded or failed before its slots were filled
        if not all(live.values()):
            empty = [s for s, v in live.items() if not v]
            raise SnapshotError(f"JIT module {mod.id}: slots {empty} are empty, the others of "
                                "its slots are filled: the live table does not match the module")
        if mod.stage is not Stage.LINKED:
            notes.append(f"JIT module {mod.id} ({mod.stage.name.lower()}) filled table slots: "
                         "its functions are kept where they are")
        for slot, f in sorted(slots.items()):
            name = parsed.names.get(f, f"jit{mod.id}_{f}")
            baked.append(_Baked(slot, mod, parsed, f, name))
        modules.append((mod, parsed))
    return baked, modules


def _slot_func(session: Session, slot: int) -> object | None:
    """The Func in a table slot, None when empty (wasmtime-py returns a Val for null)."""
    import wasmtime

    value = session.table.get(session.store, slot)
    return value if isinstance(value, wasmtime.Func) else None


def _func_identity(func: object) -> object | None:
    """An identity for a wasmtime Func that is the same for the same function (a private of
    wasmtime-py's, used only to check; None where it is not available)."""
    raw = getattr(func, "_func", None)
    return getattr(raw, "__private", None) if raw is not None else None


def _functype_names(t: bytes) -> tuple[list[str], list[str]]:
    c = Cursor(t, 1)
    params = [_VALTYPES[c.u8()] for _ in range(c.uleb())]
    results = [_VALTYPES[c.u8()] for _ in range(c.uleb())]
    return params, results


def _live_type(session: Session, func: object) -> tuple[list[str], list[str]]:
    ft = func.type(session.store)  # type: ignore[attr-defined]
    return [str(p) for p in ft.params], [str(r) for r in ft.results]


def _check_table(session: Session, main: _Module, table_index: int, baked: list[_Baked],
                 live_size: int, notes: list[str]) -> None:
    """Every non-empty live slot is accounted for, and holds a function of the expected type
    (the very same Func, where the JIT instance exports it)."""
    store = session.store
    expected: dict[int, tuple[str, bytes, object | None]] = {}
    for e in main.elems:
        if e.mode != "active" or e.table != table_index:
            continue
        if e.offset is None:
            raise SnapshotError("main module: an element segment has a non-constant offset; "
                                "its slots cannot be checked")
        for i, f in enumerate(e.funcs):
            if f is not None:
                name = main.names.get(f, f"function {f}")
                expected[e.offset + i] = (name, main.types[main.func_type(f)], None)
    for b in baked:
        parsed = b.parsed
        export = None
        if b.mod.instance is not None:
            for n, k, i in parsed.exports:
                if k == 0 and i == b.jit_index:
                    export = b.mod.instance.exports(store).get(n)
                    break
        if b.slot in expected:
            raise SnapshotError(f"slot {b.slot}: both the main module and JIT module {b.mod.id} "
                                "fill it")
        expected[b.slot] = (b.name, parsed.types[parsed.func_type(b.jit_index)], export)
    host = {i for i, (_, owner) in getattr(session, "_slot_owner", {}).items() if owner == "host"}
    for slot in range(live_size):
        func = _slot_func(session, slot)
        if slot not in expected:
            if func is None:
                continue
            if slot in host:
                notes.append(f"table slot {slot} holds a host function; the snapshot leaves it "
                             "empty")
                continue
            raise SnapshotError(f"table slot {slot} holds a function that neither the main "
                                "module nor a JIT module put there")
        name, t, export = expected[slot]
        if func is None:
            raise SnapshotError(f"table slot {slot} should hold {name} but is empty")
        if _live_type(session, func) != _functype_names(t):
            raise SnapshotError(f"table slot {slot} should hold {name} {_functype_names(t)} but "
                                f"holds a function of type {_live_type(session, func)}")
        if export is not None:
            mine, theirs = _func_identity(func), _func_identity(export)
            if mine is not None and theirs is not None and mine != theirs:
                raise SnapshotError(f"table slot {slot} should hold {name} of its JIT module "
                                    "but holds another function of the same type")


def _live_globals(session: Session, main: _Module) -> dict[int, bytes]:
    """Defined mutable globals' live values as constant expressions, read through exports."""
    values: dict[int, bytes] = {}
    first = main.imports.get(3, 0)
    for k, (t, mut, _) in enumerate(main.globals):
        index = first + k
        if not mut:
            continue
        name = next((n for n, kind, i in main.exports if kind == 3 and i == index), None)
        label = f" ({main.global_names[index]})" if index in main.global_names else ""
        if name is None:
            raise SnapshotError(
                f"main module: global {index}{label} is mutable and not exported, so its live "
                "value cannot be read (export it, e.g. -Wl,--export=NAME)")
        value = session.exports[name].value(session.store)
        if t == 0x7F:
            v = int(value) & 0xFFFFFFFF
            values[index] = b"\x41" + sleb(v - (1 << 32) if v >= 1 << 31 else v) + b"\x0b"
        elif t == 0x7E:
            v = int(value) & 0xFFFFFFFFFFFFFFFF
            values[index] = b"\x42" + sleb(v - (1 << 64) if v >= 1 << 63 else v) + b"\x0b"
        elif t == 0x7D:
            values[index] = b"\x43" + struct.pack("<f", float(value)) + b"\x0b"
        elif t == 0x7C:
            values[index] = b"\x44" + struct.pack("<d", float(value)) + b"\x0b"
        elif value is None:
            values[index] = bytes([0xD0, t, 0x0B])
        else:
            raise SnapshotError(f"main module: global {index}{label} holds a reference, which "
                                "cannot be written into a module")
    return values


def _place_functions(mod: JitModule, parsed: _Module, baked: list[_Baked],
                     first: int) -> dict[int, int]:
    """JIT function index -> index in the snapshot, for the functions in the table and the
    functions they call, in the JIT module's order."""
    wanted = {b.jit_index for b in baked if b.mod is mod}
    todo = list(wanted)
    while todo:  # calls from table functions to other functions of the module
        f = todo.pop()
        start, end = parsed.bodies[f - len(parsed.func_imports)]
        for callee in _callees(parsed.code, start, end, f"JIT module {mod.id}: function {f}"):
            if callee not in wanted:
                wanted.add(callee)
                todo.append(callee)
    return {f: first + k for k, f in enumerate(sorted(wanted))}


def _callees(code: bytes, start: int, end: int, where: str) -> set[int]:
    found: set[int] = set()

    def note(i: int) -> int:
        found.add(i)
        return i

    c = Cursor(code, start, end)
    for _ in range(c.uleb()):
        c.uleb()
        _valtype(c, where)
    remap = _Remap(func=note, type=lambda i: i, table=lambda i: i, memory=lambda i: i,
                   global_=lambda i: i)
    translate(code, c.pos, end, remap, where)
    return found


def _jit_func(i: int, index_of: dict[int, int], mod: JitModule) -> int:
    if i not in index_of:
        raise SnapshotError(f"calls function {i} of JIT module {mod.id}, which is not placed")
    return index_of[i]


def _jit_type(i: int, parsed: _Module) -> bytes:
    if i >= len(parsed.types):
        raise SnapshotError(f"type index {i} out of range")
    return parsed.types[i]


def _only_zero(i: int, what: str, main_index: int) -> int:
    if i != 0:
        raise SnapshotError(f"uses {what} {i}; a JIT module has only the imported {what} 0")
    return main_index


def _no_global(mod: JitModule) -> Callable[[int], int]:
    def refuse(i: int) -> int:
        raise SnapshotError(f"uses global {i} of JIT module {mod.id}; only its patch code may "
                            "use globals, and the patch is not carried over")

    return refuse


def _translate_body(code: bytes, start: int, end: int, remap: _Remap, where: str) -> bytes:
    c = Cursor(code, start, end)
    try:
        for _ in range(c.uleb()):
            c.uleb()
            _valtype(c, where)
    except ValueError as e:
        raise SnapshotError(f"{where}: malformed locals: {e}") from None
    locals_ = code[start : c.pos]
    body, after = translate(code, c.pos, end, remap, where)
    if after != end:
        raise SnapshotError(f"{where}: {end - after} bytes after the function's final end")
    out = locals_ + body
    return uleb(len(out)) + out


def _data_segments(memory: bytes) -> tuple[list[tuple[int, int]], int]:
    """Ranges ``[start, end)`` of non-zero memory, merging zero gaps shorter than the gap."""
    gap = MERGE_GAP
    while True:
        segments: list[tuple[int, int]] = []
        pos = 0
        for z in re.finditer(rb"\x00{%d,}" % gap, memory):
            if z.start() > pos:
                segments.append((pos, z.start()))
            pos = z.end()
        if pos < len(memory):
            segments.append((pos, len(memory)))
        if len(segments) <= MAX_DATA_SEGMENTS:
            return segments, gap
        gap *= 2


def _name_map(entries: dict[int, bytes]) -> bytes:
    return uleb(len(entries)) + b"".join(uleb(i) + entries[i] for i in sorted(entries))


def _rebuild(main: _Module, session: Session, types: list[bytes],
             new_funcs: list[tuple[int, bytes]], new_names: dict[int, str],
             new_locals: dict[int, bytes], slot_func: dict[int, int], table_index: int,
             live_size: int, pages: int, memory: bytes, segments: list[tuple[int, int]],
             global_values: dict[int, bytes], all_slots: tuple[BakedSlot, ...],
             sources: dict[int, str], generation: int, notes: list[str]) -> list[bytes]:
    """The snapshot's sections, in the main module's order, new ones where they belong."""
    out: dict[int, bytes | None] = {}

    out[1] = _vec(types)
    out[3] = uleb(len(main.func_types) + len(new_funcs)) + b"".join(
        uleb(t) for t in main.func_types) + b"".join(uleb(t) for t, _ in new_funcs)

    tables = []
    for k, (t, _lo, hi) in enumerate(main.tables):
        if k == table_index - main.imports.get(1, 0):
            _lo = live_size
            if hi is not None and hi < live_size:
                raise SnapshotError(f"table {k}: live size {live_size} exceeds its maximum {hi}")
        tables.append(bytes([t]) + (b"\x01" + uleb(_lo) + uleb(hi) if hi is not None
                                    else b"\x00" + uleb(_lo)))
    out[4] = _vec(tables)

    _, hi = main.memories[0]
    out[5] = b"\x01" + (b"\x01" + uleb(pages) + uleb(hi) if hi is not None
                        else b"\x00" + uleb(pages))

    globals_ = []
    first = main.imports.get(3, 0)
    for k, (t, mut, init) in enumerate(main.globals):
        globals_.append(bytes([t, mut]) + global_values.get(first + k, init))
    out[6] = _vec(globals_) if main.globals else None

    exports = [_name(n) + bytes([k]) + uleb(i) for n, k, i in main.exports if n != "_initialize"]
    if len(exports) != len(main.exports):
        notes.append("the _initialize export is removed: the snapshot is initialised already")
    out[7] = _vec(exports)
    if main.start is not None:
        notes.append("the start function is removed: its effects are in the captured state")
    out[8] = None

    elem_section = next((s for s in main.sections if s.id == 9), None)
    new_elems = []
    run: list[int] = []
    for slot in sorted(slot_func):
        if run and slot != run[-1] + 1:
            new_elems.append(_elem_segment(run, slot_func, table_index))
            run = []
        run.append(slot)
    if run:
        new_elems.append(_elem_segment(run, slot_func, table_index))
    if elem_section is not None:
        c = Cursor(elem_section.payload)
        count = c.uleb()
        out[9] = uleb(count + len(new_elems)) + elem_section.payload[c.pos :] + b"".join(new_elems)
    else:
        out[9] = _vec(new_elems) if new_elems else None

    data = [b"\x00\x41" + sleb(s if s < 1 << 31 else s - (1 << 32)) + b"\x0b"
            + uleb(e - s) + memory[s:e] for s, e in segments]
    # Keep any data.drop of an original segment index valid.
    while len(data) < main.data_count:
        data.append(b"\x00\x41\x00\x0b\x00")
    out[12] = uleb(len(data)) if any(s.id == 12 for s in main.sections) else None
    out[11] = _vec(data)

    total = len(main.bodies) + len(new_funcs)
    width = main.code_count_width
    count = uleb(total, width)
    if len(count) != width:
        notes.append(f"the code section's function count grew from {width} to {len(count)} "
                     "bytes: offsets in the code section of the main module's functions moved "
                     f"by {len(count) - width}")
    out[10] = count + main.code[width:] + b"".join(body for _, body in new_funcs)

    record = (b"\x01" + uleb(generation) + _vec([
        uleb(s.slot) + uleb(s.function) + uleb(s.module_id) + uleb(s.generation) + _name(s.name)
        for s in all_slots]) + _vec([uleb(k) + _name(v) for k, v in sorted(sources.items())]))

    names_payload = _names_section(main, new_names, new_locals)

    order = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11]
    rank = {sid: k for k, sid in enumerate(order)}
    result: list[bytes] = []
    present = {s.id for s in main.sections if s.id}
    emitted: set[int] = set()

    def flush_missing(before_rank: int) -> None:
        for sid in order:
            if rank[sid] < before_rank and sid not in present and sid not in emitted:
                if out.get(sid) is not None:
                    result.append(_section(sid, out[sid]))  # type: ignore[arg-type]
                emitted.add(sid)

    last_known = max((k for k, s in enumerate(main.sections) if s.id), default=-1)
    for k, s in enumerate(main.sections):
        if s.id == 0:
            if s.name == "name":
                result.append(_section(0, _name("name") + names_payload))
            elif s.name != SNAPSHOT_SECTION:
                result.append(_section(0, _name(s.name) + s.payload))
        else:
            flush_missing(rank[s.id])
            payload = out.get(s.id, s.payload)
            if payload is not None:
                result.append(_section(s.id, payload))
            emitted.add(s.id)
        if k == last_known:
            flush_missing(len(order))
    if last_known < 0:
        flush_missing(len(order))
    if main.custom("name") is None:
        result.append(_section(0, _name("name") + names_payload))
    result.append(_section(0, _name(SNAPSHOT_SECTION) + record))
    return result


def _elem_segment(run: list[int], slot_func: dict[int, int], table_index: int) -> bytes:
    offset = b"\x41" + sleb(run[0]) + b"\x0b"
    funcs = _vec([uleb(slot_func[s]) for s in run])
    if table_index == 0:
        return b"\x00" + offset + funcs
    return b"\x02" + uleb(table_index) + offset + b"\x00" + funcs


def _names_section(main: _Module, new_names: dict[int, str],
                   new_locals: dict[int, bytes]) -> bytes:
    """The main module's name section with the JIT functions' (and their locals') names
    appended; data segment names are dropped, the segments are new."""
    payload = main.custom("name") or b""
    try:
        subs = name_subsections(payload)
    except ValueError:
        subs = {}
    funcs = {i: _name(n) for i, n in main.names.items()}
    funcs.update({i: _name(n) for i, n in new_names.items()})
    subs[1] = _name_map(funcs)
    if new_locals or 2 in subs:
        locals_ = dict(main.local_names)
        locals_.update(new_locals)
        subs[2] = _name_map(locals_)
    subs.pop(9, None)
    return b"".join(bytes([k]) + uleb(len(v)) + v for k, v in sorted(subs.items()))
