"""The records interplib.wasm shares with its host, as the module itself describes them.

``dbg_layout()`` returns a table (native/interp.cc, ``LAYOUT``) of every field the host reads:
``"Func.jitCode"`` with its offset and size, ``"Func"`` with the record's size, and
``"ErrorKind.E_READ"``-style constants.  :func:`read_layout` turns it into struct readers at
load; a module that lacks a field the host needs is refused then, naming the field, instead of
being misread later.
"""

from __future__ import annotations

import dataclasses
import struct
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ERROR_WORDS",
    "EXIT_WORDS",
    "REASON_WORDS",
    "Layout",
    "LayoutError",
    "Record",
    "read_layout",
]

#: The fields each record must have, in the order :meth:`Record.unpack` returns them.
NEEDED: dict[str, tuple[str, ...]] = {
    "Func": (
        "jitCode",
        "nparams",
        "flags",
        "id",
        "interpCalls",
        "jitCalls",
        "name",
        "line",
        "col",
        "endLine",
        "endCol",
        "src",
        "moduleId",
        "nlocals",
    ),
    "ErrorInfo": ("kind", "line", "col", "src", "message", "function"),
    "HeapStats": ("heapBytes", "liveBytes", "allocatedBytes", "collections", "maxHeapBytes"),
    "JitModule": ("data", "size", "id", "nfuncs", "funcs"),
    "FormPos": ("line", "col", "endLine", "endCol"),
    "Touched": ("count", "ids"),
    "DebugState": ("source", "formCount", "formPos", "result", "resultLength", "touched"),
}
#: Records read when the module describes them (a module without them lacks those views).
OPTIONAL: dict[str, tuple[str, ...]] = {
    "ExitStat": ("count", "line", "col", "src", "first"),
    "Obj": ("type", "words"),
    "Frame": ("fp", "at", "jitNest"),
    "Node": ("line", "col", "src"),
}
FLAGS = ("F_TOPLEVEL", "F_PENDING", "F_LIBRARY", "F_REST")

#: Why a call ran the interpreter (InterpReason), and how JIT code left its fast path
#: (ExitKind), in words.
REASON_WORDS = {
    "R_NOT_COMPILED": "not compiled",
    "R_PENDING": "compiled, not linked",
    "R_UNLINKED": "unlinked",
    "R_TIERUP_FAILED": "tier-up failed",
}
EXIT_WORDS = {
    "X_GUARD": "redefinition guard failed",
    "X_INTERPRETED": "call reached interpreted code",
    "X_ARITY": "call with an arity not taken straight",
    "X_PRIMITIVE": "primitive called as a value",
    "X_ERROR": "Scheme error raised",
}

#: ErrorKind constants as the user reads them ("error" for (error ...) and anything unknown).
ERROR_WORDS = {
    "E_READ": "read",
    "E_SYNTAX": "syntax",
    "E_UNBOUND": "unbound",
    "E_TYPE": "type",
    "E_ARITY": "arity",
    "E_NOT_PROCEDURE": "not-procedure",
    "E_OVERFLOW": "overflow",
    "E_DIVIDE_BY_ZERO": "divide-by-zero",
    "E_STACK": "stack",
    "E_HEAP": "heap",
    "E_RANGE": "range",
    "E_JIT": "jit",
    "E_USER": "error",
}

_FORMATS = {1: "B", 2: "H", 4: "I", 8: "Q"}
_ENTRY = struct.Struct("<III")  # LayoutEntry: name pointer, value, size
_TABLE = struct.Struct("<II")  # LayoutTable: count, entries pointer


class LayoutError(Exception):
    """The module's layout table is missing, malformed, or lacks what the host reads."""


class Record:
    """A reader for one record: :meth:`unpack` gives the fields the host needs by name."""

    def __init__(self, name: str, fields: dict[str, tuple[int, int]]) -> None:
        needed = NEEDED.get(name) or OPTIONAL[name]
        missing = [f for f in needed if f not in fields]
        if missing:
            raise LayoutError(f"its layout table lacks {', '.join(f'{name}.{f}' for f in missing)}")
        fmt, pos, order = "<", 0, []
        for offset, size, field in sorted((*fields[f], f) for f in needed):
            if size not in _FORMATS:
                raise LayoutError(f"{name}.{field} has a size of {size} bytes, not 1, 2, 4 or 8")
            if offset < pos:
                raise LayoutError(f"{name}.{field} at offset {offset} overlaps the one before it")
            fmt += "x" * (offset - pos) + _FORMATS[size]
            pos = offset + size
            order.append(field)
        self.name = name
        self.size = pos  # bytes to read: to the end of the last field the host needs
        self.fields = dict(fields)  # every field described: name -> (offset, size)
        self.offsets = {f: offset for f, (offset, _) in fields.items()}  # every field described
        self._struct = struct.Struct(fmt)
        self._order = [order.index(f) for f in needed]  # struct order -> NEEDED order
        self._tuple: Any = namedtuple(name, needed)  # type: ignore[misc]

    def unpack(self, data: bytes) -> Any:
        """The fields, as a named tuple in :data:`NEEDED` order."""
        raw = self._struct.unpack(data[: self.size])
        return self._tuple._make(raw[i] for i in self._order)


@dataclass(frozen=True, slots=True)
class Layout:
    records: dict[str, Record]
    constants: dict[str, int]  # "FuncFlags.F_PENDING" -> 2
    sizes: dict[str, int] = dataclasses.field(default_factory=dict)  # "Func": sizeof(Func)

    @property
    def func(self) -> Record:
        return self.records["Func"]

    @property
    def error(self) -> Record:
        return self.records["ErrorInfo"]

    @property
    def heap(self) -> Record:
        return self.records["HeapStats"]

    @property
    def jit_module(self) -> Record:
        return self.records["JitModule"]

    @property
    def form_pos(self) -> Record:
        return self.records["FormPos"]

    @property
    def touched(self) -> Record:
        return self.records["Touched"]

    @property
    def debug_state(self) -> Record:
        return self.records["DebugState"]

    @property
    def exit_stat(self) -> Record | None:
        return self.records.get("ExitStat")

    def words(self, enum: str, words: dict[str, str]) -> list[str]:
        """``enum``'s constants in value order, in words (those the module defines)."""
        known = [
            (self.constants[f"{enum}.{c}"], w)
            for c, w in words.items()
            if f"{enum}.{c}" in self.constants
        ]
        return [w for _, w in sorted(known)]

    def flag(self, name: str) -> int:
        return self.constants[f"FuncFlags.{name}"]

    def error_word(self, kind: int) -> str:
        for name, word in ERROR_WORDS.items():
            if self.constants.get(f"ErrorKind.{name}") == kind:
                return word
        return "error"


def read_layout(
    table: int, read: Callable[[int, int], bytes], cstring: Callable[[int], str]
) -> Layout:
    """The layout the module describes at ``table`` (what ``dbg_layout()`` returned)."""
    try:
        count, entries = _TABLE.unpack(read(table, _TABLE.size))
        if not 0 < count < 10_000:
            raise LayoutError(f"its layout table claims {count} entries")
        raw = read(entries, count * _ENTRY.size)
    except (struct.error, ValueError) as e:
        raise LayoutError(f"its layout table cannot be read: {e}") from None
    fields: dict[str, dict[str, tuple[int, int]]] = {}
    constants: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for k in range(count):
        name_ptr, value, size = _ENTRY.unpack_from(raw, k * _ENTRY.size)
        name = cstring(name_ptr)
        record, dot, field = name.partition(".")
        if dot and size:
            fields.setdefault(record, {})[field] = (value, size)
        elif dot:
            constants[name] = value
        else:
            sizes[name] = value
    records = {name: Record(name, fields.get(name, {})) for name in NEEDED}
    records.update({name: Record(name, fields[name]) for name in OPTIONAL if name in fields})
    missing = [f for f in FLAGS if f"FuncFlags.{f}" not in constants]
    if missing:
        raise LayoutError(f"its layout table lacks FuncFlags {', '.join(missing)}")
    return Layout(records, constants, sizes)
