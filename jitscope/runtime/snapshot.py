"""Static late linking: bake a session's linked JIT code into one core wasm module.

:func:`snapshot` takes what :meth:`~jitscope.runtime.session.Session.capture` copied out of a
live session whose JIT modules have been generated, instantiated and patched in (it is a pure
function of that capture), and builds a single module that starts where the
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
the snapshot can say where they came from, the names of the session's sources, and the text of
those the baked functions were compiled from (layout in :mod:`jitscope.wasm.custom`).  The JIT
modules' ``jitscope.srcmap`` entries are carried over for the functions' new indices and
re-encoded bodies, so the code view of a resumed snapshot shows the same Scheme level.
"""

from __future__ import annotations

import os
import re
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

from jitscope.runtime.files import write_atomic
from jitscope.wasm.custom import (
    PATCH_SECTION,
    SNAPSHOT_SECTION,
    SRCMAP_SECTION,
    BakedSlot,
    Patch,
    SnapshotRecord,
    SourceMap,
    encode_snapshot_record,
    encode_srcmap,
    parse_patches,
    parse_snapshot_record,
    parse_srcmap,
)
from jitscope.wasm.instructions import Remap, callees, translate_body
from jitscope.wasm.leb128 import Cursor, DecodeError, sleb, uleb
from jitscope.wasm.module import ParsedModule
from jitscope.wasm.names import encode_name_map, name_subsections
from jitscope.wasm.sections import VALTYPES, encode_name, encode_section, encode_vec

if TYPE_CHECKING:
    from jitscope.runtime.session import Capture, CapturedModule, Session

__all__ = ["Snapshot", "SnapshotError", "snapshot", "write_snapshot"]

PAGE = 65536

#: Runs of zero bytes shorter than this are kept inside a data segment rather than split off.
#: Bytes are cheap and segments are not: wasmtime's compile time grows with their number (a
#: fib snapshot: 6,187 segments at a 9-byte gap compile in 1.8 s, 19 at 512 bytes in 0.5 s, as
#: fast as the plain module, for 36% more file).
MERGE_GAP = 512

#: wasmparser (wasmtime, wasm-tools) accepts at most this many data segments.
MAX_DATA_SEGMENTS = 100_000


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
    unlinked: tuple[str, ...] = ()  # new functions in the table whose calls are interpreted

    @property
    def size(self) -> int:
        return len(self.data)

    def summary(self) -> str:
        linked = [f.name for f in self.new_functions if f.name not in self.unlinked]
        plural = "s" if len(linked) != 1 else ""
        kept = (
            f", {len(self.unlinked)} in the table but unlinked ({', '.join(self.unlinked)})"
            if self.unlinked
            else ""
        )
        head = (
            f"{self.size:,} bytes (main module {self.input_size:,}); "
            f"{len(linked)} JIT function{plural} linked in ({', '.join(linked) or 'none'}){kept}, "
            f"{len(self.functions)} in all; memory {self.memory_bytes >> 10:,} KiB as "
            f"{self.segments:,} data segments of {self.data_bytes:,} bytes; "
            f"table {self.table_size} slots; {self.seconds:.2f} s"
        )
        lines = [head]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


# --------------------------------------------------------------------------------- the snapshot


@dataclass(slots=True)
class _Baked:
    slot: int
    mod: CapturedModule
    parsed: ParsedModule
    jit_index: int  # function index inside the JIT module
    name: str
    jit_code_address: int | None  # where its patch writes the slot (None: the module has none)


def snapshot(capture: Capture) -> Snapshot:
    """Build the snapshot module of a captured session (see the module docstring and
    :meth:`Session.capture`): a pure function of the capture.  Raises :class:`SnapshotError`
    when the session or its module cannot be snapshotted."""
    try:
        return _snapshot(capture)
    except DecodeError as e:  # a module the codec cannot read or relocate
        raise SnapshotError(str(e)) from None


def _snapshot(capture: Capture) -> Snapshot:
    started = time.perf_counter()
    main = ParsedModule.parse(capture.main_wasm, "main module")
    _check_main(main)
    notes: list[str] = []
    previous = _previous_record(main)

    mem_index = main.export("memory", 2)
    table_index = main.export("__indirect_function_table", 1)
    if mem_index is None or table_index is None:
        raise SnapshotError("main module: exports no memory or no __indirect_function_table")
    if main.imports.get(1) or main.imports.get(2):
        raise SnapshotError(
            "main module: imports its memory or table; a snapshot needs the module to define both"
        )

    # Which JIT function goes in which slot, from the binaries; checked against the live table.
    baked, jit_modules = _baked_slots(capture, notes)
    live_size = len(capture.table)
    _check_table(capture, main, table_index, baked, notes)
    if capture.auto_hook is not None:
        notes.append(
            f"auto JIT calls a host function (table slot {capture.auto_hook}), which a module "
            "cannot contain: the snapshot starts with auto JIT off"
        )
    memory, pages = capture.memory, capture.pages
    global_values = _live_globals(capture, main)

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
    srcmaps = _previous_srcmaps(main, notes)
    new_names: dict[int, str] = {}
    new_locals: dict[int, bytes] = {}
    slot_func: dict[int, int] = {}
    for mod, parsed in jit_modules:
        jit_maps = _jit_srcmaps(mod, parsed, notes)
        index_of = _place_functions(mod, parsed, baked, main.n_funcs + len(new_funcs))
        for jit_index, merged in sorted(index_of.items(), key=lambda kv: kv[1]):
            remap = Remap(
                func=partial(_jit_func, index_of=index_of, mod=mod),
                type=partial(_merged_jit_type, parsed=parsed, merged_type=merged_type),
                table=partial(_only_zero, what="table", main_index=table_index),
                memory=partial(_only_zero, what="memory", main_index=mem_index),
                global_=_no_global(mod),
            )
            name = parsed.names.get(jit_index, f"jit{mod.id}_{jit_index}")
            where = f"JIT module {mod.id}: function {jit_index} ({name})"
            start, end = parsed.bodies[jit_index - len(parsed.func_imports)]
            moved: dict[int, int] = {}
            body = translate_body(parsed.code, start, end, remap, where, moved)
            if jit_index in jit_maps:
                srcmaps.append(_moved_map(jit_maps[jit_index], merged, moved, where, notes))
            new_funcs.append((merged_type(parsed.types[parsed.func_type(jit_index)]), body))
            new_names[merged] = name
            if jit_index in parsed.local_names:
                new_locals[merged] = parsed.local_names[jit_index]
        for b in baked:
            if b.mod is mod:
                slot_func[b.slot] = index_of[b.jit_index]

    unlinked = tuple(b.name for b in baked if not _dispatched(b, capture.memory))
    generation = (previous.generation if previous else 0) + 1
    new_slots = tuple(
        BakedSlot(b.slot, slot_func[b.slot], b.mod.id, generation, b.name) for b in baked
    )
    all_slots = tuple(
        sorted((previous.slots if previous else ()) + new_slots, key=lambda s: s.slot)
    )
    sources = dict(previous.sources) if previous else {}
    sources.update(capture.sources)
    srcmaps = [m for m in srcmaps if m.marks]
    texts = dict(previous.texts) if previous else {}
    texts.update(
        {
            m.source: capture.source_texts[m.source]
            for m in srcmaps
            if m.source in capture.source_texts
        }
    )
    texts = {src: text for src, text in texts.items() if any(m.source == src for m in srcmaps)}

    segments, gap = _data_segments(memory)
    if gap != MERGE_GAP:
        notes.append(
            f"memory is fragmented: zero runs shorter than {gap} bytes are kept in "
            f"data segments to stay under {MAX_DATA_SEGMENTS:,} segments"
        )

    payloads = _rebuild(
        _Assembly(
            main=main,
            types=types,
            new_funcs=new_funcs,
            new_names=new_names,
            new_locals=new_locals,
            slot_func=slot_func,
            table_index=table_index,
            live_size=live_size,
            pages=pages,
            memory=memory,
            segments=segments,
            global_values=global_values,
            all_slots=all_slots,
            sources=sources,
            generation=generation,
            srcmaps=srcmaps,
            texts=texts,
        ),
        notes,
    )
    data = b"\0asm\x01\x00\x00\x00" + b"".join(payloads)
    return Snapshot(
        data=data,
        input_size=len(capture.main_wasm),
        functions=all_slots,
        new_functions=new_slots,
        unlinked=unlinked,
        memory_bytes=len(memory),
        data_bytes=sum(e - s for s, e in segments),
        segments=len(segments),
        zeroed_bytes=capture.zeroed_bytes,
        table_size=live_size,
        seconds=time.perf_counter() - started,
        notes=tuple(notes),
    )


def write_snapshot(
    session: Session, path: str | os.PathLike[str], *, check: bool = True
) -> Snapshot:
    """:func:`snapshot`, validated with ``wasm-tools validate`` (unless ``check`` is false) and
    written atomically: a temporary file beside ``path``, then a rename.  What the TUI's
    snapshot action and ``,snapshot FILE`` call."""
    try:
        capture = session.capture()
    except RuntimeError as e:
        raise SnapshotError(str(e)) from None
    snap = snapshot(capture)
    if check:
        from jitscope.wasm.tools import WasmToolsError, validate

        try:
            validate(snap.data)
        except WasmToolsError as e:
            raise SnapshotError(f"the snapshot does not validate (a jitscope bug): {e}") from None
    write_atomic(path, snap.data)
    return snap


# --------------------------------------------------------------------------------- pieces


def _check_main(main: ParsedModule) -> None:
    if not main.memories or not main.tables:
        raise SnapshotError("main module: defines no memory or no table")
    if len(main.memories) > 1:
        raise SnapshotError("main module: has several memories (multi-memory is not supported)")
    if main.passive_data:
        raise SnapshotError(
            "main module: has passive data segments (memory.init), which a "
            "snapshot of memory cannot replace"
        )
    if not main.bodies and main.func_types:
        raise SnapshotError("main module: has functions but no code section")


def _previous_record(main: ParsedModule) -> SnapshotRecord | None:
    payload = main.custom(SNAPSHOT_SECTION)
    if payload is None:
        return None
    try:
        return parse_snapshot_record(payload)
    except ValueError as e:
        raise SnapshotError(f"main module: corrupt {SNAPSHOT_SECTION} section: {e}") from None


def _jit_slot_map(mod: CapturedModule, parsed: ParsedModule) -> tuple[dict[int, int], list[Patch]]:
    """Slot -> function index inside the JIT module, from its element segment and patches
    (checked against each other); and the patches."""
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
            "offsets)"
        )
    section = parsed.custom(PATCH_SECTION)
    patches: list[Patch] = []
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
                    f"{slots.get(base + p.element)}"
                )
    if (
        not mod.reused_slots
        and mod.table_size_before is not None
        and slots
        and min(slots) < mod.table_size_before
    ):
        raise SnapshotError(
            f"{where}: its slots start at {min(slots)}, below the table size "
            f"{mod.table_size_before} before it grew the table"
        )
    return slots, patches


def _baked_slots(
    capture: Capture, notes: list[str]
) -> tuple[list[_Baked], list[tuple[CapturedModule, ParsedModule]]]:
    from jitscope.runtime.session import Stage

    baked: list[_Baked] = []
    modules: list[tuple[CapturedModule, ParsedModule]] = []
    for mod in capture.modules:
        if mod.stage in (
            Stage.COMPILED,
            Stage.INSTANTIATED,
            Stage.TABLE_GROWN,
            Stage.SLOTS_FILLED,
        ) or (mod.stage is Stage.GENERATED):
            raise SnapshotError(
                f"JIT module {mod.id} is part-way through linking ({mod.stage.name.lower()}): "
                "link or discard it first"
            )
        if mod.table_base is None:
            continue  # never grew the table: nothing of it is live
        parsed = ParsedModule.parse(mod.data, f"JIT module {mod.id}")
        if parsed.func_imports or parsed.imports.get(3) or parsed.imports.get(4):
            raise SnapshotError(
                f"JIT module {mod.id}: imports functions, globals or tags; a "
                "snapshot can only link modules that import memory and table"
            )
        if (
            parsed.tables
            or parsed.memories
            or parsed.imports.get(1, 0) > 1
            or parsed.imports.get(2, 0) > 1
        ):
            raise SnapshotError(
                f"JIT module {mod.id}: has tables or memories of its own; a "
                "snapshot can only link modules that import the main module's"
            )
        slots, patches = _jit_slot_map(mod, parsed)
        # Dead slots of this module that a later one refilled hold that one's code now.
        slots = {s: f for s, f in slots.items() if s not in mod.overwritten}
        if not slots:
            continue
        jit_code_address = {p.function: p.address for p in patches}
        live = {s: s < len(capture.table) and capture.table[s].type is not None for s in slots}
        if not any(live.values()):
            if mod.stage is Stage.LINKED:
                raise SnapshotError(
                    f"JIT module {mod.id} is linked but its table slots "
                    f"{min(slots)}-{max(slots)} are empty"
                )
            continue  # discarded or failed before its slots were filled
        if not all(live.values()):
            empty = [s for s, v in live.items() if not v]
            raise SnapshotError(
                f"JIT module {mod.id}: slots {empty} are empty, the others of "
                "its slots are filled: the live table does not match the module"
            )
        if mod.stage is not Stage.LINKED:
            notes.append(
                f"JIT module {mod.id} ({mod.stage.name.lower()}) filled table slots: "
                "its functions are kept where they are"
            )
        for slot, f in sorted(slots.items()):
            name = parsed.names.get(f, f"jit{mod.id}_{f}")
            baked.append(_Baked(slot, mod, parsed, f, name, jit_code_address.get(f)))
        modules.append((mod, parsed))
    return baked, modules


def _functype_names(t: bytes) -> tuple[list[str], list[str]]:
    c = Cursor(t, 1)
    params = [VALTYPES[c.u8()] for _ in range(c.uleb())]
    results = [VALTYPES[c.u8()] for _ in range(c.uleb())]
    return params, results


def _check_table(
    capture: Capture, main: ParsedModule, table_index: int, baked: list[_Baked], notes: list[str]
) -> None:
    """Every non-empty live slot is accounted for, and holds a function of the expected type
    (the very same Func, where the JIT instance exports it)."""
    expected: dict[int, tuple[str, bytes, object | None]] = {}
    for e in main.elems:
        if e.mode != "active" or e.table != table_index:
            continue
        if e.offset is None:
            raise SnapshotError(
                "main module: an element segment has a non-constant offset; "
                "its slots cannot be checked"
            )
        for i, f in enumerate(e.funcs):
            if f is not None:
                name = main.names.get(f, f"function {f}")
                expected[e.offset + i] = (name, main.types[main.func_type(f)], None)
    for b in baked:
        parsed = b.parsed
        export = None
        for n, k, i in parsed.exports:
            if k == 0 and i == b.jit_index:
                export = b.mod.export_identities.get(n)
                break
        if b.slot in expected:
            raise SnapshotError(
                f"slot {b.slot}: both the main module and JIT module {b.mod.id} fill it"
            )
        expected[b.slot] = (b.name, parsed.types[parsed.func_type(b.jit_index)], export)
    for slot, live in enumerate(capture.table):
        if slot not in expected:
            if live.type is None:
                continue
            if slot in capture.host_slots:
                notes.append(
                    f"table slot {slot} holds a host function; the snapshot leaves it empty"
                )
                continue
            raise SnapshotError(
                f"table slot {slot} holds a function that neither the main "
                "module nor a JIT module put there"
            )
        name, t, export = expected[slot]
        if live.type is None:
            raise SnapshotError(f"table slot {slot} should hold {name} but is empty")
        want = _functype_names(t)
        if (list(live.type[0]), list(live.type[1])) != want:
            raise SnapshotError(
                f"table slot {slot} should hold {name} {want} but "
                f"holds a function of type {[list(live.type[0]), list(live.type[1])]}"
            )
        if export is not None and live.identity is not None and live.identity != export:
            raise SnapshotError(
                f"table slot {slot} should hold {name} of its JIT module "
                "but holds another function of the same type"
            )


def _dispatched(b: _Baked, memory: bytes) -> bool:
    """Whether calls of ``b`` go to its JIT code: its ``jitCode`` word holds its slot (after an
    unlink it is 0, though the slot still holds the function)."""
    at = b.jit_code_address
    if at is None:
        return True  # no patch to tell (a foreign module): the table is all there is
    return int.from_bytes(memory[at : at + 4], "little") == b.slot


def _live_globals(capture: Capture, main: ParsedModule) -> dict[int, bytes]:
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
                "value cannot be read (export it, e.g. -Wl,--export=NAME)"
            )
        value = capture.globals[name]
        if t in (0x7F, 0x7E, 0x7D, 0x7C) and not isinstance(value, int | float):
            raise SnapshotError(f"main module: global {index}{label} has no number value")
        number = value if isinstance(value, int | float) else 0
        if t == 0x7F:
            v = int(number) & 0xFFFFFFFF
            values[index] = b"\x41" + sleb(v - (1 << 32) if v >= 1 << 31 else v) + b"\x0b"
        elif t == 0x7E:
            v = int(number) & 0xFFFFFFFFFFFFFFFF
            values[index] = b"\x42" + sleb(v - (1 << 64) if v >= 1 << 63 else v) + b"\x0b"
        elif t == 0x7D:
            values[index] = b"\x43" + struct.pack("<f", float(number)) + b"\x0b"
        elif t == 0x7C:
            values[index] = b"\x44" + struct.pack("<d", float(number)) + b"\x0b"
        elif value is None:
            values[index] = bytes([0xD0, t, 0x0B])
        else:
            raise SnapshotError(
                f"main module: global {index}{label} holds a reference, which "
                "cannot be written into a module"
            )
    return values


def _previous_srcmaps(main: ParsedModule, notes: list[str]) -> list[SourceMap]:
    """The source maps an earlier snapshot baked in: its functions keep their indices and
    bodies byte for byte, so the maps hold as they are."""
    payload = main.custom(SRCMAP_SECTION)
    if payload is None:
        return []
    try:
        return list(parse_srcmap(payload).values())
    except DecodeError as e:
        notes.append(f"main module: {e}: its baked functions lose their Scheme level")
        return []


def _jit_srcmaps(
    mod: CapturedModule, parsed: ParsedModule, notes: list[str]
) -> dict[int, SourceMap]:
    payload = parsed.custom(SRCMAP_SECTION)
    if payload is None:
        return {}
    try:
        return parse_srcmap(payload)
    except DecodeError as e:
        notes.append(f"JIT module {mod.id}: {e}: its functions lose their Scheme level")
        return {}


def _moved_map(
    m: SourceMap, function: int, moved: dict[int, int], where: str, notes: list[str]
) -> SourceMap:
    """``m`` for the function's new index and re-encoded body (empty when a mark does not
    start an instruction: the map does not fit the code, so none is better than a wrong one)."""
    if any(k.offset not in moved for k in m.marks):
        notes.append(f"{where}: its source map does not fit its code and is left out")
        return SourceMap(function, m.source, ())
    return SourceMap(function, m.source, tuple(replace(k, offset=moved[k.offset]) for k in m.marks))


def _place_functions(
    mod: CapturedModule, parsed: ParsedModule, baked: list[_Baked], first: int
) -> dict[int, int]:
    """JIT function index -> index in the snapshot, for the functions in the table and the
    functions they call, in the JIT module's order."""
    wanted = {b.jit_index for b in baked if b.mod is mod}
    todo = list(wanted)
    while todo:  # calls from table functions to other functions of the module
        f = todo.pop()
        start, end = parsed.bodies[f - len(parsed.func_imports)]
        for callee in callees(parsed.code, start, end, f"JIT module {mod.id}: function {f}"):
            if callee not in wanted:
                wanted.add(callee)
                todo.append(callee)
    return {f: first + k for k, f in enumerate(sorted(wanted))}


def _jit_func(i: int, index_of: dict[int, int], mod: CapturedModule) -> int:
    if i not in index_of:
        raise SnapshotError(f"calls function {i} of JIT module {mod.id}, which is not placed")
    return index_of[i]


def _merged_jit_type(i: int, parsed: ParsedModule, merged_type: Callable[[bytes], int]) -> int:
    return merged_type(_jit_type(i, parsed))


def _jit_type(i: int, parsed: ParsedModule) -> bytes:
    if i >= len(parsed.types):
        raise SnapshotError(f"type index {i} out of range")
    return parsed.types[i]


def _only_zero(i: int, what: str, main_index: int) -> int:
    if i != 0:
        raise SnapshotError(f"uses {what} {i}; a JIT module has only the imported {what} 0")
    return main_index


def _no_global(mod: CapturedModule) -> Callable[[int], int]:
    def refuse(i: int) -> int:
        raise SnapshotError(
            f"uses global {i} of JIT module {mod.id}; only its patch code may "
            "use globals, and the patch is not carried over"
        )

    return refuse


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


@dataclass(slots=True)
class _Assembly:
    """What the snapshot's sections are assembled from."""

    main: ParsedModule
    types: list[bytes]
    new_funcs: list[tuple[int, bytes]]
    new_names: dict[int, str]
    new_locals: dict[int, bytes]
    slot_func: dict[int, int]
    table_index: int
    live_size: int
    pages: int
    memory: bytes
    segments: list[tuple[int, int]]
    global_values: dict[int, bytes]
    all_slots: tuple[BakedSlot, ...]
    sources: dict[int, str]
    generation: int
    srcmaps: list[SourceMap]  # of every baked function, this snapshot's and earlier ones'
    texts: dict[int, str]  # the sources those maps point into


def _rebuild(a: _Assembly, notes: list[str]) -> list[bytes]:
    """The snapshot's sections, in the main module's order, new ones where they belong."""
    main, types, new_funcs, new_names, new_locals = (
        a.main,
        a.types,
        a.new_funcs,
        a.new_names,
        a.new_locals,
    )
    slot_func, table_index, live_size, pages = a.slot_func, a.table_index, a.live_size, a.pages
    memory, segments, global_values = a.memory, a.segments, a.global_values
    all_slots, sources, generation = a.all_slots, a.sources, a.generation
    out: dict[int, bytes | None] = {}

    out[1] = encode_vec(types)
    out[3] = (
        uleb(len(main.func_types) + len(new_funcs))
        + b"".join(uleb(t) for t in main.func_types)
        + b"".join(uleb(t) for t, _ in new_funcs)
    )

    tables = []
    for k, (t, _lo, hi) in enumerate(main.tables):
        if k == table_index - main.imports.get(1, 0):
            _lo = live_size
            if hi is not None and hi < live_size:
                raise SnapshotError(f"table {k}: live size {live_size} exceeds its maximum {hi}")
        tables.append(
            bytes([t]) + (b"\x01" + uleb(_lo) + uleb(hi) if hi is not None else b"\x00" + uleb(_lo))
        )
    out[4] = encode_vec(tables)

    _, hi = main.memories[0]
    out[5] = b"\x01" + (
        b"\x01" + uleb(pages) + uleb(hi) if hi is not None else b"\x00" + uleb(pages)
    )

    globals_ = []
    first = main.imports.get(3, 0)
    for k, (t, mut, init) in enumerate(main.globals):
        globals_.append(bytes([t, mut]) + global_values.get(first + k, init))
    out[6] = encode_vec(globals_) if main.globals else None

    exports = [
        encode_name(n) + bytes([k]) + uleb(i) for n, k, i in main.exports if n != "_initialize"
    ]
    if len(exports) != len(main.exports):
        notes.append("the _initialize export is removed: the snapshot is initialised already")
    out[7] = encode_vec(exports)
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
        out[9] = encode_vec(new_elems) if new_elems else None

    data = [
        b"\x00\x41"
        + sleb(s if s < 1 << 31 else s - (1 << 32))
        + b"\x0b"
        + uleb(e - s)
        + memory[s:e]
        for s, e in segments
    ]
    # Keep any data.drop of an original segment index valid.
    while len(data) < main.data_count:
        data.append(b"\x00\x41\x00\x0b\x00")
    out[12] = uleb(len(data)) if any(s.id == 12 for s in main.sections) else None
    out[11] = encode_vec(data)

    total = len(main.bodies) + len(new_funcs)
    width = main.code_count_width
    code_count = uleb(total, width)
    if len(code_count) != width:
        notes.append(
            f"the code section's function count grew from {width} to {len(code_count)} "
            "bytes: offsets in the code section of the main module's functions moved "
            f"by {len(code_count) - width}"
        )
    out[10] = code_count + main.code[width:] + b"".join(body for _, body in new_funcs)

    record = encode_snapshot_record(SnapshotRecord(generation, all_slots, sources, a.texts))

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
                    result.append(encode_section(sid, out[sid]))  # type: ignore[arg-type]
                emitted.add(sid)

    last_known = max((k for k, s in enumerate(main.sections) if s.id), default=-1)
    for k, s in enumerate(main.sections):
        if s.id == 0:
            if s.name == "name":
                result.append(encode_section(0, encode_name("name") + names_payload))
            elif s.name not in (SNAPSHOT_SECTION, SRCMAP_SECTION):  # both made anew below
                result.append(encode_section(0, encode_name(s.name) + s.payload))
        else:
            flush_missing(rank[s.id])
            payload = out.get(s.id, s.payload)
            if payload is not None:
                result.append(encode_section(s.id, payload))
            emitted.add(s.id)
        if k == last_known:
            flush_missing(len(order))
    if last_known < 0:
        flush_missing(len(order))
    if main.custom("name") is None:
        result.append(encode_section(0, encode_name("name") + names_payload))
    if a.srcmaps:
        srcmap = encode_srcmap(sorted(a.srcmaps, key=lambda m: m.function))
        result.append(encode_section(0, encode_name(SRCMAP_SECTION) + srcmap))
    result.append(encode_section(0, encode_name(SNAPSHOT_SECTION) + record))
    return result


def _elem_segment(run: list[int], slot_func: dict[int, int], table_index: int) -> bytes:
    offset = b"\x41" + sleb(run[0]) + b"\x0b"
    funcs = encode_vec([uleb(slot_func[s]) for s in run])
    if table_index == 0:
        return b"\x00" + offset + funcs
    return b"\x02" + uleb(table_index) + offset + b"\x00" + funcs


def _names_section(
    main: ParsedModule, new_names: dict[int, str], new_locals: dict[int, bytes]
) -> bytes:
    """The main module's name section with the JIT functions' (and their locals') names
    appended; data segment names are dropped, the segments are new."""
    payload = main.custom("name") or b""
    try:
        subs = name_subsections(payload)
    except ValueError:
        subs = {}
    funcs = {i: encode_name(n) for i, n in main.names.items()}
    funcs.update({i: encode_name(n) for i, n in new_names.items()})
    subs[1] = encode_name_map(funcs)
    if new_locals or 2 in subs:
        locals_ = dict(main.local_names)
        locals_.update(new_locals)
        subs[2] = encode_name_map(locals_)
    subs.pop(9, None)
    return b"".join(bytes([k]) + uleb(len(v)) + v for k, v in sorted(subs.items()))
