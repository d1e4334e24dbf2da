"""The module describes its own records (dbg_layout); the host reads them through that."""

from __future__ import annotations

import struct

import pytest

from jitscope.runtime.layout import NEEDED, OPTIONAL, LayoutError, read_layout
from jitscope.runtime.session import Session


def fake_module(entries: list[tuple[str, int, int]]):
    """Memory holding a layout table of ``entries``; returns (table address, read, cstring)."""
    memory = bytearray(64)
    names = []
    for name, _, _ in entries:
        names.append(len(memory))
        memory += name.encode() + b"\0"
    table_entries = len(memory)
    for ptr, (_, value, size) in zip(names, entries, strict=True):
        memory += struct.pack("<III", ptr, value, size)
    table = len(memory)
    memory += struct.pack("<II", len(entries), table_entries)

    def read(address: int, size: int) -> bytes:
        return bytes(memory[address : address + size])

    def cstring(address: int) -> str:
        return memory[address : memory.index(0, address)].decode()

    return table, read, cstring


def complete_entries() -> list[tuple[str, int, int]]:
    entries = []
    for record, fields in NEEDED.items():
        for k, field in enumerate(fields):
            entries.append((f"{record}.{field}", 8 * k, 8 if field.endswith("Calls") else 4))
    flags = ["F_TOPLEVEL", "F_PENDING", "F_LIBRARY", "F_REST"]
    entries += [(f"FuncFlags.{f}", 1 << k, 0) for k, f in enumerate(flags)]
    return entries


def test_records_are_read_where_the_module_says():
    layout = read_layout(*fake_module(complete_entries()))
    data = struct.pack("<IxxxxI", 7, 9)  # FormPos.line at 0, col at 8
    pos = layout.form_pos
    assert pos.offsets["col"] == 8
    assert pos.unpack(data + bytes(pos.size))[:2] == (7, 9)
    assert layout.flag("F_REST") == 8


def test_a_module_that_lacks_a_field_is_refused_naming_it():
    entries = [e for e in complete_entries() if e[0] != "Func.jitCalls"]
    with pytest.raises(LayoutError, match=r"lacks Func\.jitCalls"):
        read_layout(*fake_module(entries))
    with pytest.raises(LayoutError, match="3 bytes"):
        read_layout(*fake_module([*complete_entries()[:-4], ("Func.id", 12, 3)]))


def test_the_bundled_module_describes_every_record_the_host_reads(session: Session):
    layout = session.layout
    assert set(layout.records) == set(NEEDED) | set(OPTIONAL)
    assert layout.func.offsets["jitCode"] == 0  # the patch writes here, as JIT code reads it
    f = session.function("map")  # a prelude function: its record is read through the table
    assert f.library and f.name == "map" and f.source == "<prelude>"
    [r] = session.eval("(car 5)")
    assert r.error is not None and r.error.kind == "type"  # ErrorKind numbers come from it too
