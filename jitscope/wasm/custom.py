"""jitscope's own custom sections: ``jitscope.patches`` (written by the JIT in
native/interp.cc, layout documented there) and ``jitscope.snapshot`` (written by the static
linker), decoded and encoded here only.

``jitscope.snapshot``, version 1:

    u8 version = 1
    uleb generation               1 for a snapshot of a plain module, n + 1 for one of snapshot n
    uleb count, then count times:
        uleb slot                 table slot
        uleb function             function index in this module
        uleb module id            the JIT module the function was generated in
        uleb generation           the snapshot that baked it in
        uleb length, bytes        its Scheme name
    uleb count, then count times:
        uleb source id            as the module numbers them (DebugState.source)
        uleb length, bytes        the name the session knew the source by
"""

from __future__ import annotations

from dataclasses import dataclass

from jitscope.wasm.leb128 import Cursor, DecodeError, uleb
from jitscope.wasm.sections import encode_name, encode_vec

__all__ = [
    "PATCH_SECTION",
    "SNAPSHOT_SECTION",
    "BakedSlot",
    "Patch",
    "SnapshotRecord",
    "encode_snapshot_record",
    "parse_patches",
    "parse_snapshot_record",
]

PATCH_SECTION = "jitscope.patches"
SNAPSHOT_SECTION = "jitscope.snapshot"


@dataclass(frozen=True, slots=True)
class Patch:
    """One relocation a JIT module's patch applies: ``memory[address] = table_base + element``."""

    address: int
    function: int  # function index inside the JIT module
    element: int  # slot offset from the table base
    name: str  # the Scheme name of the function


def parse_patches(payload: bytes) -> list[Patch]:
    """Decode a ``jitscope.patches`` payload."""
    c = Cursor(payload)
    version = c.u8()
    if version != 1:
        raise DecodeError(f"{PATCH_SECTION}: unsupported version {version}")
    return [Patch(c.uleb(32), c.uleb(32), c.uleb(32), c.name()) for _ in range(c.uleb(32))]


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


def parse_snapshot_record(payload: bytes) -> SnapshotRecord:
    """Decode a ``jitscope.snapshot`` payload."""
    c = Cursor(payload)
    version = c.u8()
    if version != 1:
        raise DecodeError(f"{SNAPSHOT_SECTION}: unsupported version {version}")
    generation = c.uleb(32)
    slots = tuple(
        BakedSlot(c.uleb(32), c.uleb(32), c.uleb(32), c.uleb(32), c.name())
        for _ in range(c.uleb(32))
    )
    sources = {}
    for _ in range(c.uleb(32)):
        src = c.uleb(32)
        sources[src] = c.name()
    if not c.done():
        raise DecodeError(f"{SNAPSHOT_SECTION}: {c.end - c.pos} bytes left over after the record")
    return SnapshotRecord(generation, slots, sources)


def encode_snapshot_record(record: SnapshotRecord) -> bytes:
    """The payload :func:`parse_snapshot_record` reads back as ``record``."""
    slots = [
        uleb(s.slot)
        + uleb(s.function)
        + uleb(s.module_id)
        + uleb(s.generation)
        + encode_name(s.name)
        for s in record.slots
    ]
    sources = [uleb(k) + encode_name(v) for k, v in sorted(record.sources.items())]
    return b"\x01" + uleb(record.generation) + encode_vec(slots) + encode_vec(sources)
