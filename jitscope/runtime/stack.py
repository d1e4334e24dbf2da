"""The call stack at a stop, an error or an interrupt, innermost first.

Two sources, merged: the interpreter's Scheme frames (the module's frame list: each frame's
closure, arguments and the call it is making) and wasm's own frames (a trap's, or the live
ones a breakpoint reads), where each run of frames in a JIT module is one activation of JIT
code entered from C.  A Scheme frame records how many such activations were running when it
was pushed, which places it between them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from jitscope.runtime.sites import jit_site, scheme_functions, snippet
from jitscope.wasm.custom import SourceMark

__all__ = ["JIT_MODULE_NAME", "RawFrame", "Stack", "StackFrame", "WasmFrame", "merge_stack"]

#: JIT modules' names in their name section: "jit-module-N".
JIT_MODULE_NAME = "jit-module-"


def expression_at(source: str, line: int, col: int) -> str:
    """The expression that starts at ``line``:``col`` (columns count bytes), cut as
    :func:`snippet` cuts one: a frame records where its call starts, not where it ends."""
    lines = source.encode("utf-8", "surrogateescape").split(b"\n")
    if not 0 < line <= len(lines):
        return ""
    text = b"\n".join(lines[line - 1 :])[col - 1 :]
    end = _expression_end(text)
    body = text[:end].split(b"\n")
    end_col = (col if len(body) == 1 else 1) + len(body[-1])
    return snippet(source, SourceMark(0, line, col, line + len(body) - 1, end_col))


def _expression_end(text: bytes) -> int:
    """Where the datum at the start of ``text`` ends: a list to its closing paren (strings,
    characters and comments skipped), an atom to the next delimiter."""
    if text.startswith(b'"'):
        k = 1
        while k < len(text) and text[k] != ord('"'):
            k += 2 if text[k] == ord("\\") else 1
        return k + 1
    if not text.startswith((b"(", b"[")):
        k = 0
        while k < len(text) and not text[k : k + 1].isspace() and text[k] not in b"()[]":
            k += 1
        return k
    depth, k = 0, 0
    while k < len(text):
        c = text[k]
        if c == ord('"'):
            k += 1
            while k < len(text) and text[k] != ord('"'):
                k += 2 if text[k] == ord("\\") else 1
        elif text.startswith(b"#\\", k):
            k += 2
        elif c == ord(";"):
            k = text.find(b"\n", k)
            if k < 0:
                return len(text)
            continue
        elif c in b"([":
            depth += 1
        elif c in b")]":
            depth -= 1
            if depth == 0:
                return k + 1
        k += 1
    return len(text)


@dataclass(frozen=True, slots=True)
class StackFrame:
    function: str
    tier: str  # "interpreter", "JIT module N", or "" for the top level
    where: str  # "<repl 1>:1:30", "" when not known
    text: str  # the source there, cut
    args: tuple[str, ...] | None  # printed values; None where the frame does not record them

    def call(self) -> str:
        """The frame as a call: ``(fib 3)``; a JIT frame's arguments live in wasm locals."""
        if self.args is None:
            return f"({self.function} …)" if self.tier.startswith("JIT") else self.function
        return "(" + " ".join((self.function, *self.args)) + ")"

    def line(self, k: int) -> str:
        where = f"  {self.where}" if self.where else ""
        text = f"  {self.text}" if self.text else ""
        tier = f"[{self.tier}]" if self.tier else ""
        return f"#{k:<3} {self.call():<28} {tier:<16}{where}{text}".rstrip()


@dataclass(frozen=True, slots=True)
class Stack:
    frames: tuple[StackFrame, ...]
    omitted: int = 0  # outer frames not read (past the limit, or past the module's record)
    note: str = ""  # what could not be merged, said once

    def lines(self, most: int = 40) -> list[str]:
        if not self.frames:
            return ["(no Scheme frames)"]
        shown = self.frames[:most]
        out = [f.line(k) for k, f in enumerate(shown)]
        hidden = len(self.frames) - len(shown) + self.omitted
        if hidden:
            out.append(f"… {hidden:,} outer frame{'s' if hidden != 1 else ''} not shown")
        if self.note:
            out.append(self.note)
        return out


@dataclass(frozen=True, slots=True)
class RawFrame:
    """One entry of the module's frame list, read from memory."""

    function: str  # "" for the top level
    args: tuple[str, ...] | None
    at: tuple[int, int, int] | None  # (src, line, col) of the call it is making
    jit_nest: int


@dataclass(frozen=True, slots=True)
class WasmFrame:
    module_name: str
    func_index: int
    func_name: str
    offset: int  # in the module's bytes


def _module_id(f: WasmFrame) -> int:
    return int(f.module_name.removeprefix(JIT_MODULE_NAME) or 0)


def _is_scheme_frame(f: WasmFrame, modules: Mapping[int, bytes]) -> bool:
    data = modules.get(_module_id(f))
    known = scheme_functions(data) if data else None
    return known is None or f.func_index in known


def merge_stack(
    raw: Sequence[RawFrame],
    jit_nest: int,
    wasm: Sequence[WasmFrame],
    modules: Mapping[int, bytes],
    sources: Mapping[int, str],
    texts: Mapping[int, str],
    innermost_at: tuple[int, int, int] | None = None,
    omitted: int = 0,
) -> Stack:
    """The frames innermost first.  ``raw`` is the frame list outermost first; ``jit_nest``
    the activations of JIT code running now; ``wasm`` wasm's frames innermost first;
    ``innermost_at`` where the innermost Scheme frame is, when known better than its last
    call (an error's position)."""
    runs: list[list[WasmFrame]] = []
    inside = False
    for f in wasm:
        in_jit = f.module_name.startswith(JIT_MODULE_NAME)
        if in_jit and not _is_scheme_frame(f, modules):
            continue  # a trampoline into the runtime: part of the call it makes
        if in_jit and not inside:
            runs.append([])
        if in_jit:
            runs[-1].append(f)
        inside = in_jit

    def where(at: tuple[int, int, int] | None) -> tuple[str, str]:
        if at is None or not at[1]:
            return "", ""
        src, line, col = at
        text = expression_at(texts[src], line, col) if src in texts else ""
        return f"{sources.get(src, f'<input {src}>')}:{line}:{col}", text

    def scheme(k: int, first: bool) -> StackFrame:
        f = raw[k]
        at = innermost_at if first and innermost_at is not None else f.at
        pos, text = where(at)
        if not f.function:
            return StackFrame("top level", "", pos, text, None)
        return StackFrame(f.function, "interpreter", pos, text, f.args)

    def jit(f: WasmFrame) -> StackFrame:
        module_id = _module_id(f)
        data = modules.get(module_id)
        site = jit_site(module_id, data, f.func_index, f.offset, sources, texts) if data else None
        name = f.func_name or (site.function if site else f"function {f.func_index}")
        if site is None or site.mark is None:
            return StackFrame(name, f"JIT module {module_id}", "", "", None)
        m = site.mark
        return StackFrame(
            name, f"JIT module {module_id}", f"{site.source}:{m.line}:{m.col}", site.text, None
        )

    frames: list[StackFrame] = []
    note = ""
    if len(runs) == jit_nest:
        # Innermost first: the Scheme frames pushed at the deepest nesting, then the JIT run
        # that nesting entered, and so on out to the frames pushed before any JIT code.
        k = len(raw) - 1
        for level in range(jit_nest, -1, -1):
            while k >= 0 and raw[k].jit_nest >= level:
                frames.append(scheme(k, not frames))
                k -= 1
            if level:
                frames.extend(jit(f) for f in runs[jit_nest - level])
    else:
        frames = [scheme(k, k == len(raw) - 1) for k in range(len(raw) - 1, -1, -1)]
        jit_frames = [jit(f) for run in runs for f in run]
        if jit_frames:
            note = (
                f"(and {len(jit_frames)} JIT frame{'s' if len(jit_frames) != 1 else ''} "
                f"that could not be placed among them: "
                + ", ".join(f.call() for f in jit_frames[:6])
                + ")"
            )
    return Stack(tuple(frames), omitted, note)
