"""jitscope's own custom sections: ``jitscope.patches`` and ``jitscope.srcmap`` (written by
the JIT in native/, layouts documented there: jit.h and wasm_builder.h) and
``jitscope.snapshot`` (written by the static linker), decoded and encoded here only.

``jitscope.snapshot``, version 2 (version 1, without source texts, is still read):

    u8 version = 2
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
    uleb count, then count times: (version 2)
        uleb source id
        uleb length, bytes        its text (UTF-8, as evaluated): the sources of baked
                                  functions that have a jitscope.srcmap, for the code view
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from jitscope.wasm.leb128 import Cursor, DecodeError, uleb
from jitscope.wasm.sections import encode_name, encode_vec

__all__ = [
    "PATCH_SECTION",
    "SNAPSHOT_SECTION",
    "SRCMAP_SECTION",
    "BakedSlot",
    "Patch",
    "SnapshotRecord",
    "SourceMap",
    "SourceMark",
    "encode_snapshot_record",
    "encode_srcmap",
    "parse_patches",
    "parse_snapshot_record",
    "parse_srcmap",
]

PATCH_SECTION = "jitscope.patches"
SNAPSHOT_SECTION = "jitscope.snapshot"
SRCMAP_SECTION = "jitscope.srcmap"


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
    texts: dict[int, str] = field(default_factory=dict)  # source id -> its text


def parse_snapshot_record(payload: bytes) -> SnapshotRecord:
    """Decode a ``jitscope.snapshot`` payload."""
    c = Cursor(payload)
    version = c.u8()
    if version not in (1, 2):
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
    texts = {}
    for _ in range(c.uleb(32) if version >= 2 else 0):
        src = c.uleb(32)
        texts[src] = c.blob().decode("utf-8", "surrogateescape")
    if not c.done():
        raise DecodeError(f"{SNAPSHOT_SECTION}: {c.end - c.pos} bytes left over after the record")
    return SnapshotRecord(generation, slots, sources, texts)


def _encode_text(text: str) -> bytes:
    # surrogateescape: input that was not UTF-8 is kept byte for byte, as the reader saw it.
    b = text.encode("utf-8", "surrogateescape")
    return uleb(len(b)) + b


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
    texts = [uleb(k) + _encode_text(v) for k, v in sorted(record.texts.items())]
    return (
        b"\x02"
        + uleb(record.generation)
        + encode_vec(slots)
        + encode_vec(sources)
        + encode_vec(texts)
    )


@dataclass(frozen=True, slots=True)
class SourceMark:
    """From ``offset`` (in the function's body, from its local declarations) up to the next
    mark, the code came from the source span ``line:col``-``end_line:end_col``."""

    offset: int
    line: int
    col: int
    end_line: int
    end_col: int


@dataclass(frozen=True, slots=True)
class SourceMap:
    """One function's ``jitscope.srcmap`` entry."""

    function: int  # function index in the module
    source: int  # the source id its lines are in
    marks: tuple[SourceMark, ...]

    def at(self, offset: int) -> SourceMark | None:
        """The mark covering body offset ``offset`` (None before the first)."""
        found = None
        for m in self.marks:
            if m.offset > offset:
                break
            found = m
        return found


def parse_srcmap(payload: bytes) -> dict[int, SourceMap]:
    """Decode a ``jitscope.srcmap`` payload: function index -> its map.  Raises DecodeError
    on a version it does not know, marks out of order or bytes left over."""
    c = Cursor(payload)
    version = c.u8()
    if version != 1:
        raise DecodeError(f"{SRCMAP_SECTION}: unsupported version {version}")
    maps = {}
    for _ in range(c.uleb(32)):
        function, source = c.uleb(32), c.uleb(32)
        marks = tuple(
            SourceMark(c.uleb(32), c.uleb(32), c.uleb(32), c.uleb(32), c.uleb(32))
            for _ in range(c.uleb(32))
        )
        if any(a.offset >= b.offset for a, b in itertools.pairwise(marks)):
            raise DecodeError(f"{SRCMAP_SECTION}: function {function}'s marks are out of order")
        maps[function] = SourceMap(function, source, marks)
    if not c.done():
        raise DecodeError(f"{SRCMAP_SECTION}: {c.end - c.pos} bytes left over after the map")
    return maps


def encode_srcmap(maps: list[SourceMap]) -> bytes:
    """The payload :func:`parse_srcmap` reads back as ``maps``."""
    return b"\x01" + encode_vec(
        [
            uleb(m.function)
            + uleb(m.source)
            + encode_vec(
                [
                    uleb(k.offset) + uleb(k.line) + uleb(k.col) + uleb(k.end_line) + uleb(k.end_col)
                    for k in m.marks
                ]
            )
            for m in maps
        ]
    )
