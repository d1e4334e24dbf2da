"""The code view's listing: a JIT function's Scheme source, under each expression the wasm it
became, and under each wasm instruction the x86-64 Cranelift made of it in this session (for
every front end, as lines that know their level, wasm offset and source span).

The Scheme level comes from the module's ``jitscope.srcmap`` section (written by the JIT, see
native/wasm_builder.h), the wasm level from ``wasm-tools print -p``, the x86-64 level from the
compiled module's ELF image (jitscope/runtime/native.py).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from html import escape

import wasmtime

from jitscope.runtime.native import NativeCode, NativeInstruction, native_code
from jitscope.runtime.session import FunctionInfo, JitModule, Session
from jitscope.runtime.sites import snippet
from jitscope.wasm.custom import SRCMAP_SECTION, SourceMap, SourceMark, parse_srcmap
from jitscope.wasm.leb128 import DecodeError
from jitscope.wasm.module import ParsedModule
from jitscope.wasm.tools import print_wat

__all__ = [
    "LEVELS",
    "CodeLine",
    "CodeListing",
    "CodeMetrics",
    "CodeSource",
    "code_diff",
    "code_listing",
    "code_source",
    "generations",
    "listing_of",
    "redact_addresses",
]

#: The listing's levels, in the order they nest, with the names people know them by.
LEVELS = {"scheme": "Scheme", "wasm": "wasm", "x86": "x86-64"}

_OFFSET = re.compile(r"\(;@([0-9a-f]+)\s*;\)")
# Locals the JIT makes for itself: every other named local is a Scheme variable.
_JIT_LOCALS = {"closure", "argv", "fp", "tmp", "result"}
_CALLS = {"call", "call_indirect", "return_call", "return_call_indirect"}
_BRANCHES = {"br", "br_if", "br_table", "if"}

_BIG_DECIMAL = re.compile(r"(?<![\w$.])\d{5,}(?![\w.])")
_BIG_HEX = re.compile(r"(?<=0x)[0-9a-f]{5,}\b")
_HTML_STYLE = (
    "body{background:#1b1d23;color:#d8dee9;font-family:monospace}"
    "p{color:#9aa3b5;margin:0}.scheme{color:#8fd18f;font-weight:bold}.x86{color:#7d8799}"
)

Span = tuple[int, int, int, int]  # line, col, end line, end col (exclusive), as the reader counts


@dataclass(frozen=True, slots=True)
class CodeLine:
    level: str  # "scheme", "wasm" or "x86"
    text: str
    wasm_offset: int | None  # the wasm instruction it is, or the one it was compiled from
    span: Span | None  # the Scheme expression it came from
    stack: str = ""  # a wasm instruction's operand stack after it, "[i32 i64]"

    def shown(self, *, stack: bool = False, offsets: bool = False) -> str:
        """Its text, a wasm line with its byte offset in front and its stack after, if asked."""
        if self.level != "wasm":
            return self.text
        at = f"@{self.wasm_offset:<6x}" if self.wasm_offset is not None else " " * 7
        text = f"{at} {self.text}" if offsets else self.text
        return f"{text:<48} ;; {self.stack}" if stack and self.stack else text


@dataclass(frozen=True, slots=True)
class CodeMetrics:
    wasm_bytes: int  # the function's body, local declarations included
    wasm_instructions: int
    wasm_locals: int  # parameters and declared locals
    wasm_loads: int
    wasm_stores: int
    wasm_calls: int
    wasm_branches: int
    native_bytes: int
    native_instructions: int
    native_loads: int  # instructions reading memory (a memory operand as source)
    native_stores: int  # instructions writing memory (a memory operand as destination)
    native_calls: int
    native_branches: int
    variables_in_locals: tuple[str, ...]  # Scheme variables kept in wasm locals
    variables_spilled: tuple[str, ...]  # of those, stored to the shadow-stack frame
    spill_stores: int  # stores to the frame before calls that may collect

    def lines(self) -> list[str]:
        local = ", ".join(self.variables_in_locals) or "none"
        spilled = ", ".join(self.variables_spilled) or "none"
        return [
            (
                f"wasm: {self.wasm_bytes:,} bytes, {self.wasm_instructions} instructions, "
                f"{self.wasm_locals} locals, {self.wasm_loads} loads, {self.wasm_stores} stores, "
                f"{self.wasm_calls} calls, {self.wasm_branches} branches"
            ),
            (
                f"x86-64: {self.native_bytes:,} bytes, {self.native_instructions} instructions, "
                f"{self.native_loads} loads, {self.native_stores} stores, {self.native_calls} "
                f"calls, {self.native_branches} branches"
            ),
            (
                f"Scheme variables in wasm locals: {local}; spilled to the shadow stack before "
                f"calls: {spilled} ({self.spill_stores} store{'' if self.spill_stores == 1 else 's'})"
            ),
        ]


@dataclass(frozen=True, slots=True)
class CodeListing:
    function: str
    module_id: int
    lines: list[CodeLine]
    metrics: CodeMetrics
    notice: str  # what a level could not give ("" when all is there)
    first_line: int = 0  # the function's source lines, from its first: the source pane
    source_lines: tuple[str, ...] = ()
    where: str = ""  # the module it is in, in words ("module 3", "fib.wasm (baked in …)")

    @property
    def head(self) -> str:
        m = self.metrics
        return (
            f"{self.function} in {self.where}: {m.wasm_instructions} wasm "
            f"instructions, {m.native_instructions} x86-64 instructions "
            f"({m.native_bytes:,} bytes)"
        )

    def redacted(self) -> CodeListing:
        """This listing with addresses into the main module's memory shown as ``…`` (they
        move with every build of interp.cc): for snapshot tests and golden files."""

        lines = [
            replace(
                k,
                text=redact_addresses(k.text) if k.level == "wasm" else _BIG_HEX.sub("…", k.text),
            )
            for k in self.lines
        ]
        return replace(self, lines=lines)

    def _heading(self) -> list[str]:
        return [self.head, *self.metrics.lines()] + ([self.notice] if self.notice else [])

    def text(self, *, stack: bool = False, offsets: bool = False) -> str:
        """The listing as headless text: ;; header, metrics and notice, then its lines (wasm
        lines with their operand stack and byte offset when asked)."""
        return "".join(f";; {h}\n" for h in self._heading()) + "".join(
            f"{k.shown(stack=stack, offsets=offsets)}\n" for k in self.lines
        )

    def html(self, *, stack: bool = False, offsets: bool = False) -> str:
        """The listing as a page of its own: the same lines, each level in its colour."""
        rows = "".join(
            f'<span class="{k.level}">{escape(k.shown(stack=stack, offsets=offsets))}</span>\n'
            for k in self.lines
        )
        title = escape(f"{self.function} in {self.where}")
        heading = "".join(f"<p>{escape(h)}</p>\n" for h in self._heading())
        return (
            f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{title}</title>\n'
            f"<style>{_HTML_STYLE}</style></head>\n<body>\n{heading}<pre>\n{rows}</pre>\n"
            "</body></html>\n"
        )


@dataclass(frozen=True, slots=True)
class CodeSource:
    """Where a function's JIT code is: a JIT module, or the snapshot module it was baked
    into.  Found on the session's thread; the listing is then built from this alone."""

    data: bytes
    module: wasmtime.Module
    index: int  # the function's index in ``data``
    where: str  # in words: "module 3", "fib.wasm (baked in from module 1)"
    module_id: int  # the JIT module that compiled it


def redact_addresses(wat: str) -> str:
    """WAT with numbers of 65536 and up (addresses into the main module) as ``…``: they move
    whenever interplib.wasm is rebuilt, and snapshot tests and golden files should not."""
    return _BIG_DECIMAL.sub(lambda m: "…" if int(m[0]) >= 65536 else m[0], wat)


def _in_module(mod: JitModule, compiled: wasmtime.Module, index: int) -> CodeSource:
    """Function ``index`` of a compiled JIT module (its patches follow its functions)."""
    return CodeSource(mod.data, compiled, index, f"module {mod.id}", mod.id)


def code_source(session: Session, f: FunctionInfo) -> CodeSource:
    """Where ``f``'s JIT code is, in a JIT module of this session or baked into the snapshot
    it runs; ValueError when it has none (or it is not compiled yet)."""
    if not f.module_id:
        raise ValueError(f"{f.name} has no JIT code: JIT it first (,jit {f.name}, --jit eager)")
    mod = next((m for m in session.modules if m.id == f.module_id), None)
    if mod is not None:
        compiled = session.compiled(mod)
        if compiled is None:
            raise ValueError(f"module {mod.id} is not compiled yet: ,step it past compile")
        return _in_module(mod, compiled, mod.patches[mod.function_ids.index(f.id)].patch.function)
    record = session.snapshot_record
    for b in record.slots if record else ():
        if b.module_id == f.module_id and b.name == f.name:
            where = f"{session.path.name} (baked in from module {b.module_id})"
            return CodeSource(
                session.wasm_bytes, session.main_module, b.function, where, b.module_id
            )
    raise ValueError(f"{f.name}'s JIT code (module {f.module_id}) is not in this session")


def code_listing(
    session: Session,
    name: str | int,
    *,
    scheme: bool = True,
    wasm: bool = True,
    native: bool = True,
) -> CodeListing:
    """The JIT code of the function ``name`` (or id) at the levels asked for; ValueError when
    it has none."""
    f = session.function(name)
    return listing_of(
        code_source(session, f), f, session.source_texts(), scheme=scheme, wasm=wasm, native=native
    )


def listing_of(
    src: CodeSource,
    f: FunctionInfo,
    sources: Mapping[int, str],
    *,
    scheme: bool = True,
    wasm: bool = True,
    native: bool = True,
) -> CodeListing:
    """The listing of ``f`` from ``src``, ``sources`` being the session's source texts by id.
    Reads only the module (its bytes and its compiled code), not the session, so a front end
    may build it off the session's thread."""
    parsed = ParsedModule.parse(src.data, src.where)
    index = src.index
    start, end = parsed.bodies[index - len(parsed.func_imports)]
    body_at = parsed.code_at + start  # module offset of the body's first byte
    notices: list[str] = []
    srcmap = _source_map(parsed, index, notices)
    body, stacks = _function_lines(
        print_wat(src.data, offsets=True, operand_stack=True).splitlines(), index
    )
    code: NativeCode = native_code(src.module, {index})
    if code.notice:
        notices.append(code.notice)
    nf = code.functions.get(index)
    natives = nf.instructions if nf else []
    under = _native_under_wasm(natives, [off for off, _ in body if off is not None])
    source = sources.get(srcmap.source, "") if srcmap else ""
    depth = _depths(srcmap.marks) if srcmap else {}

    lines: list[CodeLine] = []
    shown: SourceMark | None = None
    for k, (off, wat) in enumerate(body):
        mark = srcmap.at(off - body_at) if srcmap and off is not None else None
        span = _span(mark) if mark else None
        if scheme and mark is not None and mark is not shown:
            text = snippet(source, mark) if source else "(source text not kept)"
            indent = "  " * depth.get(_span(mark), 0)
            lines.append(CodeLine("scheme", f"{indent}▸ {mark.line}:{mark.col}  {text}", off, span))
        shown = mark or shown
        if wasm:
            lines.append(CodeLine("wasm", wat, off, span, stacks.get(k, "")))
        if native:
            placed = under.get(off, []) if off is not None else []
            if k == 0:  # the prologue, under the function's header
                placed = under.get(None, []) + placed
            lines += [CodeLine("x86", _native_line(i), off, span) for i in placed]
    own = source.split("\n")[f.line - 1 : f.end_line] if source and f.line else []
    return CodeListing(
        f.name,
        src.module_id,
        lines,
        _metrics(body, end - start, natives),
        "; ".join(notices),
        f.line,
        tuple(own),
        src.where,
    )


def _source_map(parsed: ParsedModule, function: int, notices: list[str]) -> SourceMap | None:
    payload = parsed.custom(SRCMAP_SECTION)
    if payload is None:
        notices.append(f"no {SRCMAP_SECTION} section: the Scheme level is not shown")
        return None
    try:
        return parse_srcmap(payload).get(function)
    except DecodeError as e:
        notices.append(f"{e}: the Scheme level is not shown")
        return None


def _span(m: SourceMark) -> Span:
    return (m.line, m.col, m.end_line, m.end_col)


def _depths(marks: tuple[SourceMark, ...]) -> dict[Span, int]:
    """How many of the function's other spans enclose each one (its nesting in the source)."""
    spans = {_span(m) for m in marks}

    def inside(a: Span, b: Span) -> bool:  # a strictly within b
        return a != b and (b[0], b[1]) <= (a[0], a[1]) and (a[2], a[3]) <= (b[2], b[3])

    return {s: sum(inside(s, o) for o in spans) for s in spans}


def _function_lines(
    text: list[str], index: int
) -> tuple[list[tuple[int | None, str]], dict[int, str]]:
    """The lines of function ``index`` (its ``(func … (;index;)`` up to the next item of the
    module), each with its byte offset; and the operand stack after each (by line number)."""
    out: list[tuple[int | None, str]] = []
    stacks: dict[int, str] = {}
    inside = False
    header = re.compile(rf"\(func (?:\$\S+ |\$\"[^\"]*\" )?\(;{index};\)")
    for line in text:
        m = _OFFSET.match(line)
        rest = line[m.end() :] if m else line
        if rest.lstrip().startswith("(func "):
            inside = bool(header.match(rest.lstrip()))
        elif inside and rest.startswith("  (") and not rest.startswith("   "):
            inside = False  # the next item of the module
        if not inside:
            continue
        if m is None and rest.strip().startswith(";; [") and out:
            stacks[len(out) - 1] = rest.strip()[3:]  # the stack after the line before
            continue
        out.append((int(m.group(1), 16) if m else None, rest.rstrip()))
    if not out:
        raise ValueError(f"no function {index} in the module's text")
    return out, stacks


def _native_under_wasm(
    natives: list[NativeInstruction], starts: list[int]
) -> dict[int | None, list[NativeInstruction]]:
    """Each x86-64 instruction under the wasm line it came from; None: the prologue and other
    code before any wasm position."""
    under: dict[int | None, list[NativeInstruction]] = {}
    line: int | None = None
    for ins in natives:
        if ins.wasm_offset is not None:
            line = _line_for(starts, ins.wasm_offset)
        # Code without a wasm position (spills, moves) stays with the instruction before it.
        under.setdefault(line, []).append(ins)
    return under


def _line_for(starts: list[int], offset: int) -> int | None:
    """The last wasm line at or before ``offset`` (instructions map to where they start)."""
    if not starts or offset < starts[0]:
        return None
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return starts[lo]


def _native_line(ins: NativeInstruction) -> str:
    notes = [n for n in (ins.target, f"trap: {ins.trap}" if ins.trap else "") if n]
    note = f"  ; {'; '.join(notes)}" if notes else ""
    return f"      │ {ins.address:6x}  {ins.mnemonic} {ins.operands}{note}".rstrip()


def _metrics(
    body: list[tuple[int | None, str]], wasm_bytes: int, natives: list[NativeInstruction]
) -> CodeMetrics:
    ops = [wat.split()[0] for off, wat in body[1:] if off is not None and wat.split()]
    ops = [op for op in ops if not op.startswith("(")]  # the (local ...) declarations
    header = " ".join(wat for off, wat in body if off is None or wat.lstrip().startswith("("))
    names = re.findall(r"\((?:param|local) \$([^\s)]+)", header)
    declared = len(re.findall(r"\b(?:i32|i64|f32|f64)\b", header)) - len(
        re.findall(r"\(result [^)]*\)", header)
    )
    variables = tuple(n for n in names if n not in _JIT_LOCALS)
    spilled: list[str] = []
    stores = 0
    instrs = [wat.split() for off, wat in body if off is not None]
    for a, b, c in zip(instrs, instrs[1:], instrs[2:], strict=False):
        if a[:2] == ["local.get", "$fp"] and b[:1] == ["local.get"] and c[:1] == ["i64.store"]:
            stores += 1
            name = b[1].lstrip("$") if len(b) > 1 else ""
            if name in variables and name not in spilled:
                spilled.append(name)
    return CodeMetrics(
        wasm_bytes=wasm_bytes,
        wasm_instructions=len(ops),
        wasm_locals=declared,
        wasm_loads=sum(".load" in op for op in ops),
        wasm_stores=sum(".store" in op for op in ops),
        wasm_calls=sum(op in _CALLS for op in ops),
        wasm_branches=sum(op in _BRANCHES for op in ops),
        native_bytes=sum(i.size for i in natives),
        native_instructions=len(natives),
        native_loads=sum(_reads_memory(i) for i in natives),
        native_stores=sum(_writes_memory(i) for i in natives),
        native_calls=sum(i.mnemonic == "call" for i in natives),
        native_branches=sum(i.mnemonic.startswith("j") for i in natives),
        variables_in_locals=variables,
        variables_spilled=tuple(spilled),
        spill_stores=stores,
    )


def _operands(ins: NativeInstruction) -> list[str]:
    return [o.strip() for o in ins.operands.split(",")] if ins.operands else []


def _writes_memory(ins: NativeInstruction) -> bool:
    ops = _operands(ins)
    return bool(ops) and "[" in ops[0] and ins.mnemonic not in {"cmp", "test", "lea", "nop"}


def _reads_memory(ins: NativeInstruction) -> bool:
    ops = _operands(ins)
    if ins.mnemonic in {"lea", "nop"}:
        return False
    if ops and "[" in ops[0]:  # a read-modify-write (add [m], 1) or a compare reads it too
        return ins.mnemonic not in {"mov", "movq", "movd", "movabs"}
    return any("[" in o for o in ops[1:])


def generations(session: Session, name: str) -> list[tuple[FunctionInfo, CodeSource]]:
    """Every compiled generation of the functions called ``name``, oldest first: each JIT
    module of this session that compiled one (a redefinition is another function by the same
    name; JITting a function again after discarding it is another generation too)."""
    by_id = {f.id: f for f in session.functions()}
    found = []
    for mod in session.modules:
        compiled = session.compiled(mod)
        if compiled is None:
            continue
        for fid, state in zip(mod.function_ids, mod.patches, strict=True):
            f = by_id.get(fid)
            if f is not None and f.name == name:
                found.append((f, _in_module(mod, compiled, state.patch.function)))
    return found


def code_diff(session: Session, name: str, against: int | None = None) -> str:
    """The latest generation of ``name``'s JIT code against the one before it (or the one in
    module ``against``): its sizes side by side, then a unified diff of its Scheme and wasm
    lines (addresses into the main module redacted: they differ between generations for
    reasons of layout alone).  ValueError when there is nothing to compare."""
    gens = generations(session, name)
    if not gens:
        raise ValueError(f"{name} has no compiled JIT code in this session")
    new_f, new_src = gens[-1]
    if against is None:
        if len(gens) < 2:
            raise ValueError(
                f"{name} has one generation (module {new_src.module_id}): redefine it or JIT "
                "it again, then compare"
            )
        old_f, old_src = gens[-2]
    else:
        older = [g for g in gens if g[1].module_id == against]
        if not older:
            modules = ", ".join(str(s.module_id) for _, s in gens)
            raise ValueError(f"module {against} has no {name} (its modules: {modules})")
        old_f, old_src = older[0]
    texts = session.source_texts()
    old = listing_of(old_src, old_f, texts).redacted()
    new = listing_of(new_src, new_f, texts).redacted()
    a, b = old.metrics, new.metrics

    def change(x: int, y: int) -> str:
        return f"{x:,} → {y:,}" if x != y else f"{x:,}"

    head = [
        f";; {name}: {old.where} → {new.where}",
        (
            f";; wasm: {change(a.wasm_bytes, b.wasm_bytes)} bytes, "
            f"{change(a.wasm_instructions, b.wasm_instructions)} instructions; x86-64: "
            f"{change(a.native_bytes, b.native_bytes)} bytes, "
            f"{change(a.native_instructions, b.native_instructions)} instructions"
        ),
    ]

    def lines(listing: CodeListing) -> list[str]:
        return [k.text for k in listing.lines if k.level != "x86"]

    diff = list(
        difflib.unified_diff(
            lines(old),
            lines(new),
            f"{name} in {old.where}",
            f"{name} in {new.where}",
            lineterm="",
        )
    )
    body = diff or [";; the same Scheme and wasm, line for line"]
    return "".join(f"{line}\n" for line in head + body)
