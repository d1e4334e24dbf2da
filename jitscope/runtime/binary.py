"""Just enough of the wasm binary format to name things: the name section, the main module's
element segments (which table slot holds which function) and the ``jitscope.patches`` section.

The debugger needs these facts without instantiating anything: a ``Func`` read back from a
table has no index or name in wasmtime, so slot names come from the binaries.
"""

from __future__ import annotations

from dataclasses import dataclass

from jitscope.runtime.wat import section_sizes

__all__ = [
    "SNAPSHOT_SECTION",
    "BakedSlot",
    "Cursor",
    "Patch",
    "SnapshotRecord",
    "custom_section",
    "element_slots",
    "function_names",
    "parse_patches",
    "parse_snapshot_section",
]


class Cursor:
    """Reads LEB128 numbers and names from a byte string, naming the offset when it breaks."""

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def u8(self) -> int:
        if self.pos >= self.end:
            raise ValueError(f"truncated at offset 0x{self.pos:x}")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def uleb(self) -> int:
        start, result, shift = self.pos, 0, 0
        while True:
            b = self.u8()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise ValueError(f"LEB128 at offset 0x{start:x} is too long")

    def sleb(self) -> int:
        result, shift = 0, 0
        while True:
            b = self.u8()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                if b & 0x40:
                    result -= 1 << shift
                return result

    def name(self) -> str:
        n = self.uleb()
        if self.pos + n > self.end:
            raise ValueError(f"name at offset 0x{self.pos:x} runs past its section")
        s = self.data[self.pos : self.pos + n].decode("utf-8", "replace")
        self.pos += n
        return s

    def done(self) -> bool:
        return self.pos >= self.end


def custom_section(wasm: bytes, name: str) -> bytes | None:
    """The payload of the first custom section called ``name``, if any."""
    for s in section_sizes(wasm):
        if s.is_custom and s.name == name:
            return bytes(wasm[s.offset : s.end])
    return None


def name_subsections(payload: bytes) -> dict[int, bytes]:
    """The subsections of a ``name`` section's payload, by id (1 functions, 2 locals, ...).
    Raises ValueError where the framing breaks."""
    subs: dict[int, bytes] = {}
    c = Cursor(payload)
    while not c.done():
        sub = c.u8()
        size = c.uleb()
        end = c.pos + size
        if end > len(payload):
            raise ValueError(f"name subsection {sub} at offset 0x{c.pos:x} runs past the section")
        subs[sub] = payload[c.pos : end]
        c.pos = end
    return subs


def function_names(wasm: bytes) -> dict[int, str]:
    """Function index to name, from the ``name`` section (empty when there is none)."""
    payload = custom_section(wasm, "name")
    names: dict[int, str] = {}
    if payload is None:
        return names
    functions = name_subsections(payload).get(1)
    if functions is not None:
        c = Cursor(functions)
        for _ in range(c.uleb()):
            index = c.uleb()
            names[index] = c.name()
    return names


def element_slots(wasm: bytes) -> dict[int, int]:
    """Table slot to function index for the active segments of table 0 with constant offsets
    (what a C toolchain emits for the indirect function table)."""
    slots: dict[int, int] = {}
    for s in section_sizes(wasm):
        if s.id != 9:
            continue
        c = Cursor(wasm, s.offset, s.end)
        for _ in range(c.uleb()):
            flags = c.uleb()
            if flags not in (0, 2):
                return slots  # passive, declarative or expression segments: not the C layout
            if flags == 2:
                c.uleb()  # table index
            if c.u8() != 0x41:
                return slots
            offset = c.sleb()
            if c.u8() != 0x0B:
                return slots
            if flags == 2:
                c.u8()  # elemkind
            for i in range(c.uleb()):
                slots[offset + i] = c.uleb()
    return slots


@dataclass(frozen=True, slots=True)
class Patch:
    """One relocation a JIT module's patch applies: ``memory[address] = table_base + element``."""

    address: int
    function: int  # function index inside the JIT module
    element: int  # slot offset from the table base
    name: str  # the Scheme name of the function


PATCH_SECTION = "jitscope.patches"


def parse_patches(payload: bytes) -> list[Patch]:
    """Decode a ``jitscope.patches`` payload (layout documented in native/interp.cc)."""
    c = Cursor(payload)
    version = c.u8()
    if version != 1:
        raise ValueError(f"{PATCH_SECTION}: unsupported version {version}")
    return [Patch(c.uleb(), c.uleb(), c.uleb(), c.name()) for _ in range(c.uleb())]


SNAPSHOT_SECTION = "jitscope.snapshot"


@dataclass(frozen=True, slots=True)
class BakedSlot:
    """A table slot whose JIT function a snapshot linked into the module itself."""

    slot: int
    function: int  # function index in the snapshot module
    module_id: int  # the JIT module it came from
    generation: int  # the snapshot that baked it in (1 for the first)
    name: str  # its Scheme name


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    """What a ``jitscope.snapshot`` section says about the module it is in."""

    generation: int
    slots: tuple[BakedSlot, ...]
    sources: dict[int, str]  # source id -> the name the session knew it by


def parse_snapshot_section(payload: bytes) -> SnapshotRecord:
    """Decode a ``jitscope.snapshot`` payload (layout documented in runtime/snapshot.py)."""
    c = Cursor(payload)
    version = c.u8()
    if version != 1:
        raise ValueError(f"{SNAPSHOT_SECTION}: unsupported version {version}")
    generation = c.uleb()
    slots = tuple(BakedSlot(c.uleb(), c.uleb(), c.uleb(), c.uleb(), c.name()) for _ in range(c.uleb()))
    sources = {}
    for _ in range(c.uleb()):
        src = c.uleb()
        sources[src] = c.name()
    if not c.done():
        raise ValueError(f"{SNAPSHOT_SECTION}: {c.end - c.pos} bytes left over after the record")
    return SnapshotRecord(generation, slots, sources)
