"""The memory inspector: words of the module's linear memory around an address, with the
fields of the records jitscope knows (a function's record, whose ``jitCode`` the patch
writes) named from the module's own layout table, and each other word read as the Scheme
value it would be (a fixnum, a constant, a pointer to a heap object and that object's header).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from jitscope.runtime.session import FunctionInfo, Session

__all__ = ["MemWord", "memory_words", "resolve_address"]

WORD = 8


@dataclass(frozen=True, slots=True)
class MemWord:
    address: int
    value: int  # the 8 bytes, little-endian
    fields: tuple[str, ...]  # the record fields it holds: "fib.jitCode = 39"
    reading: str  # outside a known record: the word as a Scheme value would read
    changed: bool  # since the last read of this address (through the same ``seen``)

    def line(self) -> str:
        what = "; ".join(self.fields) if self.fields else self.reading
        mark = "*" if self.changed else " "
        return f"{mark}0x{self.address:08x}  {self.value:016x}  {what}".rstrip()


def resolve_address(session: Session, target: str) -> int:
    """An address from ``0x1a2b`` / ``1234``, a function's name (its record), or
    ``NAME.field`` (that field of its record).  ValueError naming what is wrong."""
    if re.fullmatch(r"0x[0-9a-fA-F]+|\d+", target):
        address = int(target, 0)
    else:
        name, _, fieldname = target.partition(".")
        try:
            f = session.function(name)
        except KeyError:
            raise ValueError(f"no function named {name} (give an address: 0x…)") from None
        address = _record_base(session, f)
        if fieldname:
            fields = session.layout.func.fields
            if fieldname not in fields:
                raise ValueError(
                    f"a function record has no field {fieldname} (it has {', '.join(fields)})"
                )
            address += fields[fieldname][0]
    if not 0 <= address < session.memory_bytes():
        raise ValueError(
            f"0x{address:x} is outside linear memory ({session.memory_bytes():,} bytes)"
        )
    return address


def memory_words(
    session: Session, address: int, count: int = 8, seen: dict[int, int] | None = None
) -> list[MemWord]:
    """``count`` words from the word holding ``address``; ``seen`` (address -> value) marks
    the words that changed since it was last updated, and is updated."""
    session.require_debugger("the memory inspector")
    start = address - address % WORD
    end = min(start + WORD * max(1, count), session.memory_bytes())
    data = session.read_memory(start, end - start)
    records = _records_in(session, start, end)
    out = []
    for at in range(start, end, WORD):
        (value,) = struct.unpack_from("<Q", data, at - start)
        fields = tuple(
            text for base, f in records for text in _fields_of(session, f, base, at, data, start)
        )
        reading = "" if fields else _reading(session, value)
        changed = seen is not None and at in seen and seen[at] != value
        if seen is not None:
            seen[at] = value
        out.append(MemWord(at, value, fields, reading, changed))
    return out


def _record_base(session: Session, f: FunctionInfo) -> int:
    return f.jit_code_address - session.layout.func.fields["jitCode"][0]


def _records_in(session: Session, start: int, end: int) -> list[tuple[int, FunctionInfo]]:
    size = session.layout.sizes.get("Func", session.layout.func.size)
    found = []
    for f in session.functions():
        base = _record_base(session, f)
        if base < end and base + size > start:
            found.append((base, f))
    return found


def _fields_of(
    session: Session, f: FunctionInfo, base: int, at: int, data: bytes, start: int
) -> list[str]:
    """The fields of ``f``'s record that lie in the word at ``at``, with their values."""
    out = []
    for name, (offset, size) in sorted(session.layout.func.fields.items(), key=lambda kv: kv[1]):
        lo = base + offset
        for k in range(0, size, min(size, WORD)):  # arrays: a word at a time
            field_at, width = lo + k, min(size - k, WORD)
            if not at <= field_at < at + WORD:
                continue
            raw = data[field_at - start : field_at - start + width]
            value = int.from_bytes(raw, "little")
            label = f"{f.name}.{name}" + (f"[{k // WORD}]" if size > WORD else "")
            out.append(f"{label} = {_field_value(session, name, value)}")
    return out


def _field_value(session: Session, name: str, value: int) -> str:
    if name == "jitCode":
        return f"{value} (table slot)" if value else "0 (interpreted)"
    if name == "name" and value:
        return f"0x{value:x} → {session.read_cstring(value)!r}"
    return f"{value:,}"


def _reading(session: Session, value: int) -> str:
    """The word as a Scheme value would read, said as a reading (it may be other data)."""
    consts = {
        v: n.removeprefix("Value.").removesuffix("_V").lower()
        for n, v in session.layout.constants.items()
        if n.startswith("Value.")
    }
    if value in consts:
        return f"as a value: {consts[value]}"
    if not value & 1:
        fix = (value if value < 1 << 63 else value - (1 << 64)) >> 1
        return f"as a value: fixnum {fix:,}" if value else "0"
    if value & 7 == 1 and value - 1 + WORD <= session.memory_bytes():
        obj = session.layout.records.get("Obj")
        if obj is None:
            return f"as a value: pointer to 0x{value - 1:x}"
        type_, words = obj.unpack(session.read_memory(value - 1, obj.size))
        kind = {
            v: n.removeprefix("ObjType.T_").lower()
            for n, v in session.layout.constants.items()
            if n.startswith("ObjType.")
        }.get(type_ & 0x7FFFFFFF)
        if kind and kind != "free":
            return f"as a value: a {kind} at 0x{value - 1:x} ({words} words)"
    return ""
