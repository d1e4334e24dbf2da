"""What a Session hands its callers: results, function facts, JIT modules and their stages,
table slots, and the capture the static linker works from (plain data, no wasmtime calls)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import wasmtime

from jitscope.wasm.custom import Patch

if TYPE_CHECKING:
    from jitscope.runtime.session import EvalError

__all__ = [
    "Capture",
    "CapturedModule",
    "CapturedSlot",
    "FormResult",
    "FunctionInfo",
    "JitModule",
    "PatchState",
    "Stage",
    "TableSlot",
]


@dataclass(frozen=True, slots=True)
class FormResult:
    """The outcome of one top-level form."""

    kind: str  # "value", "definition", "void" or "error"
    text: str  # printed value, defined name, or the error's one-line message
    output: str  # what display/newline wrote while it ran
    seconds: float
    line: int = 0
    col: int = 0
    error: EvalError | None = None


@dataclass(frozen=True, slots=True)
class FunctionInfo:
    """A lambda the interpreter knows, with its dispatch counters."""

    id: int
    name: str
    source: str
    line: int
    col: int
    end_line: int
    end_col: int
    nparams: int
    interp_calls: int
    jit_calls: int
    jit_code_address: int  # where the patch writes
    jit_code: int  # table index of its JIT code, 0 while interpreted
    module_id: int  # the JIT module that last compiled it
    pending: bool  # compiled into a module not linked yet
    library: bool = False  # defined by the prelude (source <prelude>), not by the user
    rest: bool = False  # its last parameter takes the remaining arguments as a list

    @property
    def state(self) -> str:
        if self.jit_code:
            return "linked"
        if self.pending:
            return f"compiled in module {self.module_id}"
        return "candidate" if self.interp_calls else "interpreted"

    @property
    def span(self) -> str:
        return f"{self.source}:{self.line}:{self.col}-{self.end_line}:{self.end_col}"


class Stage(enum.IntEnum):
    """Where a JIT module is in its life; steps go forward one stage (or one patch) at a time."""

    GENERATED = 0
    COMPILED = 1
    INSTANTIATED = 2
    TABLE_GROWN = 3
    SLOTS_FILLED = 4
    LINKED = 5
    DISCARDED = 6
    FAILED = 7


@dataclass(slots=True)
class PatchState:
    patch: Patch
    before: int | None = None
    after: int | None = None

    @property
    def applied(self) -> bool:
        return self.after is not None

    def status(self, now: int) -> str:
        """Where the patch stands, given its field's value ``now`` (read from memory):
        "pending", "applied", "reverted" (back to its before-value: unlinked or discarded) or
        "replaced" (another value since)."""
        if self.after is None:
            return "pending"
        if now == self.after:
            return "applied"
        return "reverted" if now == self.before else "replaced"


@dataclass(eq=False, slots=True)
class JitModule:
    """A generated module and how far it has been linked."""

    id: int
    data: bytes
    function_ids: list[int]
    names: list[str]
    patches: list[PatchState]
    stage: Stage = Stage.GENERATED
    module: wasmtime.Module | None = None
    instance: wasmtime.Instance | None = None
    # Its exported functions, read once: wasmtime-py builds the whole export list on each
    # exports() call, which made patching quadratic in the module's size.
    functions: dict[str, wasmtime.Func] = field(default_factory=dict)
    #: Each export's identity (see Session.capture), kept once the module is linked and its
    #: instance and functions are let go.
    export_identities: dict[str, object] = field(default_factory=dict)
    patches_done: int = 0
    table_base: int | None = None
    table_size_before: int | None = None
    #: Dead table slots (of unlinked or discarded code) it will fill instead of growing the
    #: table: reserved for it when it was instantiated.
    reuse_base: int | None = None
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    #: The module whose compiled code this one shares (its own id unless identical code was
    #: compiled before): wasm's frames in this module's code carry that module's name.
    compiled_as: int = 0

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def patches_applied(self) -> int:
        """Patches run so far (they run in order: these are the first ones)."""
        return self.patches_done

    def next_step(self) -> str | None:
        """A short description of what :meth:`Session.step` would do next, None when done."""
        if self.stage is Stage.GENERATED:
            return "compile (validate)"
        if self.stage is Stage.COMPILED:
            return "instantiate"
        if self.stage is Stage.INSTANTIATED:
            if self.reuse_base is not None:
                last = self.reuse_base + len(self.names) - 1
                span = str(last) if last == self.reuse_base else f"{self.reuse_base}-{last}"
                return f"reuse dead table slot{'s' if len(self.names) != 1 else ''} {span}"
            return f"grow table by {len(self.names)}"
        if self.stage is Stage.TABLE_GROWN:
            return f"fill {len(self.names)} slot{'s' if len(self.names) != 1 else ''}"
        if self.stage is Stage.SLOTS_FILLED:
            p = self.patches[self.patches_applied].patch
            return f"patch {p.name}.jitCode @ 0x{p.address:x}"
        return None


@dataclass(frozen=True, slots=True)
class JitExit:
    """One way JIT code left its fast path: how often, and where it last happened."""

    kind: str  # in words ("redefinition guard failed")
    count: int
    source: str
    line: int
    col: int
    first: int  # the order in which the kinds first happened (1 for the first)

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}:{self.col}" if self.line else "(no position)"


@dataclass(frozen=True, slots=True)
class TableSlot:
    index: int
    name: str
    owner: str  # "main", "jit N", "host" or "" for an empty slot
    empty: bool
    grown: bool  # added after the main module was instantiated
    dead: str = ""  # why no function dispatches to its JIT code: "unlinked" or "discarded"
    reused: bool = False  # it held dead code, and a later module's code replaced it


@dataclass(frozen=True, slots=True)
class CapturedSlot:
    """A live table slot: the type of the function in it (None when empty) and a token equal
    for the same function (None where wasmtime-py cannot tell)."""

    type: tuple[tuple[str, ...], tuple[str, ...]] | None
    identity: object | None


@dataclass(frozen=True, slots=True)
class CapturedModule:
    """A JIT module as the static linker needs it."""

    id: int
    data: bytes
    stage: Stage
    table_base: int | None
    table_size_before: int | None
    export_identities: dict[str, object]  # exported function name -> identity token
    reused_slots: bool = False  # it filled dead slots below table_size_before
    overwritten: frozenset[int] = frozenset()  # its slots a later module refilled


@dataclass(frozen=True, slots=True)
class Capture:
    """Everything of a live session that a snapshot bakes in, copied out at one moment (see
    :meth:`Session.capture`); the static linker is a function of this alone."""

    main_wasm: bytes
    modules: tuple[CapturedModule, ...]
    table: tuple[CapturedSlot, ...]
    host_slots: frozenset[int]  # slots the host filled (the tier-up hook)
    auto_hook: int | None  # the tier-up hook's slot while auto mode was on
    memory: bytes
    pages: int
    globals: dict[str, object]  # exported globals' live values
    sources: dict[int, str]
    zeroed_bytes: int  # garbage dbg_scrub cleared first
    source_texts: dict[int, str] = field(default_factory=dict)  # for baked code's srcmap
