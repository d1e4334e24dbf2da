"""A core module split into the parts the static linker reads and rewrites."""

from __future__ import annotations

from dataclasses import dataclass, field

from jitscope.wasm.instructions import IDENTITY, limits, translate, valtype
from jitscope.wasm.leb128 import Cursor, DecodeError
from jitscope.wasm.names import FUNCTIONS, GLOBALS, LOCALS, name_map, name_subsections
from jitscope.wasm.sections import sections

__all__ = ["Elem", "ParsedModule", "RawSection"]


@dataclass(slots=True)
class RawSection:
    id: int
    name: str  # for custom sections
    payload: bytes  # for custom sections: the data after the name


@dataclass(slots=True)
class Elem:
    mode: str  # "active", "passive" or "declarative"
    table: int
    offset: int | None  # constant offset of an active segment, None if not a constant
    funcs: list[int | None]  # function indices (None for ref.null)


@dataclass(slots=True)
class ParsedModule:
    """A core module split into what the snapshot reads and rewrites."""

    what: str
    sections: list[RawSection]
    types: list[bytes] = field(default_factory=list)
    func_imports: list[int] = field(default_factory=list)  # their type indices
    imports: dict[int, int] = field(default_factory=dict)  # kind -> count
    func_types: list[int] = field(default_factory=list)  # defined functions
    tables: list[tuple[int, int, int | None]] = field(default_factory=list)  # reftype, min, max
    memories: list[tuple[int, int | None]] = field(default_factory=list)
    globals: list[tuple[int, int, bytes]] = field(default_factory=list)  # type, mut, init
    exports: list[tuple[str, int, int]] = field(default_factory=list)
    start: int | None = None
    elems: list[Elem] = field(default_factory=list)
    bodies: list[tuple[int, int]] = field(default_factory=list)  # ranges in code payload
    code: bytes = b""
    code_at: int = 0  # where the code section's payload starts in the module's bytes
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
    def parse(cls, data: bytes, what: str) -> ParsedModule:
        try:
            framing = sections(data)
        except DecodeError as e:
            raise DecodeError(f"{what}: not a core wasm module: {e}") from None
        m = cls(what, [RawSection(s.id, s.name, bytes(data[s.offset : s.end])) for s in framing])
        m.code_at = next((s.offset for s in framing if s.id == 10), 0)
        try:
            for s in m.sections:
                m._read(s)
        except DecodeError as e:  # the Cursor's (truncated, overlong) lack the module's name
            text = str(e)
            raise DecodeError(
                text if text.startswith(what) else f"{what}: malformed: {text}"
            ) from None
        return m

    def _read(self, s: RawSection) -> None:
        c = Cursor(s.payload)
        where = self.what
        if s.id == 1:
            for k in range(c.uleb()):
                start = c.pos
                form = c.u8()
                if form != 0x60:
                    raise DecodeError(
                        f"{where}: type {k} has form 0x{form:02x}; only function "
                        "types are supported (no GC or recursive types)"
                    )
                for _ in range(2):
                    for _ in range(c.uleb()):
                        valtype(c, where)
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
                    valtype(c, where)
                    limits(c, where)
                elif kind == 2:
                    limits(c, where)
                elif kind == 3:
                    valtype(c, where)
                    c.u8()
                elif kind == 4:
                    c.u8()
                    c.uleb()
                else:
                    raise DecodeError(f"{where}: unknown import kind {kind}")
        elif s.id == 3:
            self.func_types = [c.uleb() for _ in range(c.uleb())]
        elif s.id == 4:
            for _ in range(c.uleb()):
                if c.data[c.pos] == 0x40:
                    raise DecodeError(
                        f"{where}: tables with initialiser expressions are not supported"
                    )
                t = valtype(c, where)
                _, lo, hi = limits(c, where)
                self.tables.append((t, lo, hi))
        elif s.id == 5:
            for _ in range(c.uleb()):
                _, lo, hi = limits(c, where)
                self.memories.append((lo, hi))
        elif s.id == 6:
            for k in range(c.uleb()):
                t = valtype(c, where)
                mut = c.u8()
                init, c.pos = translate(s.payload, c.pos, c.end, IDENTITY, f"{where}: global {k}")
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
                raise DecodeError(f"{where}: code section size does not match its bodies")
        elif s.id == 11:
            for k in range(c.uleb()):
                flags = c.uleb()
                if flags == 1:
                    self.passive_data = True
                elif flags in (0, 2):
                    if flags == 2:
                        c.uleb()
                    _, c.pos = translate(s.payload, c.pos, c.end, IDENTITY, f"{where}: data {k}")
                else:
                    raise DecodeError(f"{where}: data segment {k} has unknown flags {flags}")
                size = c.uleb()
                c.pos += size
        elif s.id == 12:
            self.data_count = c.uleb()
        elif s.id == 13:
            pass  # exception tags (setjmp/longjmp): kept as they are, JIT modules have none
        elif s.id == 0 and s.name == "name":
            self._names(s.payload)
        elif s.id == 0 and (s.name == "linking" or s.name.startswith("reloc.")):
            raise DecodeError(
                f"{where}: is a relocatable object file (custom section {s.name!r}); link it first"
            )
        elif s.id != 0:
            raise DecodeError(f"{where}: unknown section id {s.id}")

    def _elem(self, c: Cursor, k: int) -> Elem:
        where = f"{self.what}: element segment {k}"
        flags = c.uleb()
        if flags > 7:
            raise DecodeError(f"{where}: unknown flags {flags}")
        mode = ("active", "passive", "active", "declarative")[flags & 3]
        table, offset = 0, None
        if flags & 3 == 2:
            table = c.uleb()
        if mode == "active":
            expr, c.pos = translate(c.data, c.pos, c.end, IDENTITY, where)
            ec = Cursor(expr)
            if ec.u8() == 0x41:
                value = ec.sleb()
                if ec.u8() == 0x0B and ec.done():
                    offset = value & 0xFFFFFFFF
        if flags & 3 != 0:  # an elemkind or reftype byte
            kind = c.u8()
            if kind not in (0x00, 0x70):
                raise DecodeError(f"{where}: element type 0x{kind:02x} is not funcref")
        funcs: list[int | None] = []
        for _ in range(c.uleb()):
            if flags & 4:
                expr, c.pos = translate(c.data, c.pos, c.end, IDENTITY, where)
                ec = Cursor(expr)
                op = ec.u8()
                funcs.append(ec.uleb() if op == 0xD2 else None)
            else:
                funcs.append(c.uleb())
        return Elem(mode, table, offset, funcs)

    def _names(self, payload: bytes) -> None:
        try:
            subs = name_subsections(payload)
            if FUNCTIONS in subs:
                self.names = name_map(subs[FUNCTIONS])
            if LOCALS in subs:
                locals_ = subs[LOCALS]
                inner = Cursor(locals_)
                for _ in range(inner.uleb()):
                    index = inner.uleb()
                    start = inner.pos
                    for _ in range(inner.uleb()):
                        inner.uleb()
                        inner.name()
                    self.local_names[index] = locals_[start : inner.pos]
            if GLOBALS in subs:
                self.global_names = name_map(subs[GLOBALS])
        except DecodeError:
            pass  # a broken name section only costs names, as in wasm-tools
