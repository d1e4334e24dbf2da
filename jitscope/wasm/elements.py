"""Element segments: which table slot a toolchain filled with which function."""

from __future__ import annotations

from jitscope.wasm.leb128 import Cursor
from jitscope.wasm.sections import sections

__all__ = ["element_slots"]

ELEMENT_SECTION = 9


def element_slots(wasm: bytes) -> dict[int, int]:
    """Table slot to function index for the active segments of table 0 with constant offsets
    (what a C toolchain emits for the indirect function table)."""
    slots: dict[int, int] = {}
    for s in sections(wasm):
        if s.id != ELEMENT_SECTION:
            continue
        c = Cursor(wasm, s.offset, s.end)
        for _ in range(c.uleb(32)):
            flags = c.uleb(32)
            if flags not in (0, 2):
                return slots  # passive, declarative or expression segments: not the C layout
            if flags == 2:
                c.uleb(32)  # table index
            if c.u8() != 0x41:
                return slots
            offset = c.sleb()
            if c.u8() != 0x0B:
                return slots
            if flags == 2:
                c.u8()  # elemkind
            for i in range(c.uleb(32)):
                slots[offset + i] = c.uleb(32)
    return slots
