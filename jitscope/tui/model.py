"""Views of session state (frozen copies), and the pure logic the panes render from.

Nothing here imports Textual. A worker thread calls :func:`take_view` while it owns the
Session (wasmtime allows one thread per Store at a time); the UI thread only ever reads the
frozen result, so a pane can render while the next evaluation runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from jitscope.debugger.why import reason_summary
from jitscope.runtime.session import FunctionInfo, JitModule, Session, Stage, TableSlot
from jitscope.runtime.types import JitExit

__all__ = [
    "Changes",
    "EvalCounts",
    "ModuleSnap",
    "PatchSnap",
    "PipelineStep",
    "SessionView",
    "TierUp",
    "UiState",
    "diff",
    "fmt_addr",
    "fmt_count",
    "fmt_seconds",
    "jit_code_fields",
    "redact_hex",
    "take_view",
    "view_module",
]

#: How many evaluations the dispatch history (sparklines) remembers.
HISTORY_LENGTH = 24


@dataclass(frozen=True, slots=True)
class PatchSnap:
    """One relocation of a JIT module: the store into a function's ``jitCode`` field."""

    module_id: int
    index: int
    address: int
    function: int
    element: int
    name: str
    before: int | None
    after: int | None
    now: int  # the field's value when the view was taken
    status: str  # PatchState.status: pending, applied, reverted or replaced

    @property
    def applied(self) -> bool:
        return self.after is not None

    @property
    def label(self) -> str:
        return f"{self.name}.jitCode"


@dataclass(frozen=True, slots=True)
class PipelineStep:
    """One box of the pipeline strip."""

    key: str  # "generate", "compile", ..., "patch:0", "linked"
    label: str
    short: str
    state: str  # "done", "next", "todo", "failed" or "dropped" (module discarded first)


@dataclass(frozen=True, slots=True)
class ModuleSnap:
    """A JIT module as it stood when the view was taken."""

    id: int
    names: tuple[str, ...]
    function_ids: tuple[int, ...]
    stage: Stage
    next_step: str | None
    patches: tuple[PatchSnap, ...]
    table_base: int | None
    table_size_before: int | None
    reuse_base: int | None  # dead slots it fills instead of growing the table
    error: str | None
    data: bytes = field(repr=False)
    timings: tuple[tuple[str, float], ...] = ()
    auto: bool = False  # linked by auto tier-up during an evaluation

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def in_flight(self) -> bool:
        """Generated and not yet linked, discarded or failed: there is a next step."""
        return self.stage < Stage.LINKED

    @property
    def patches_applied(self) -> int:
        return sum(p.applied for p in self.patches)

    @property
    def title(self) -> str:
        names = ", ".join(self.names[:3]) + (" …" if len(self.names) > 3 else "")
        return f"module {self.id} ({names})" if names else f"module {self.id}"

    @property
    def state(self) -> str:
        if self.stage is Stage.SLOTS_FILLED:
            return f"patching {self.patches_applied}/{len(self.patches)}"
        return self.stage.name.lower().replace("_", " ")

    def pipeline(self) -> list[PipelineStep]:
        """The stages of linking this module, each marked done / next / todo."""
        done_keys = {k for k, _ in self.timings} | {"generate"}
        if self.stage is Stage.LINKED:  # a seed module links itself as it is instantiated
            done_keys |= {"compile", "instantiate", "grow", "fill"}
        n = len(self.names)
        steps: list[tuple[str, str, str, bool]] = [
            ("generate", "generate", "gen", True),
            ("compile", "compile (validate)", "comp", "compile" in done_keys),
            ("instantiate", "instantiate", "inst", "instantiate" in done_keys),
            (
                "grow",
                f"reuse {n} dead slot{'s' if n != 1 else ''}"
                if self.reuse_base is not None
                else f"grow table +{n}",
                "reuse" if self.reuse_base is not None else "grow",
                "grow" in done_keys,
            ),
            ("fill", f"fill {n} slot{'s' if n != 1 else ''}", "fill", "fill" in done_keys),
        ]
        for p in self.patches:
            steps.append((f"patch:{p.index}", f"patch {p.label}", f"p{p.index + 1}", p.applied))
        steps.append(("linked", "linked", "ok", self.stage is Stage.LINKED))
        out: list[PipelineStep] = []
        seen_next = False
        for key, label, short, done in steps:
            if done:
                state = "done"
            elif seen_next:
                state = "todo"
            else:
                seen_next = True
                if self.stage is Stage.FAILED:
                    state = "failed"
                elif self.stage is Stage.DISCARDED:
                    state = "dropped"
                else:
                    state = "next" if key != "linked" else "todo"
            if state == "todo" and self.stage is Stage.DISCARDED:
                state = "dropped"
            out.append(PipelineStep(key, label, short, state))
        return out


@dataclass(frozen=True, slots=True)
class TierUp:
    """Auto mode linked ``name`` in module ``module_id``, ``at`` seconds into an evaluation."""

    at: float
    name: str
    module_id: int
    interp_calls: int  # calls the interpreter had taken by then, in this evaluation
    eval_seq: int  # which evaluation
    function_id: int = -1


@dataclass(frozen=True, slots=True)
class SessionView:
    """Everything the panes show, copied out of the Session."""

    seq: int = 0
    debugger: bool = True
    functions: tuple[FunctionInfo, ...] = ()
    last_counts: Mapping[int, tuple[int, int]] = field(default_factory=dict)
    modules: tuple[ModuleSnap, ...] = ()
    slots: tuple[TableSlot, ...] = ()
    initial_table_size: int = 0
    module_path: str = ""
    reasons: Mapping[int, str] = field(default_factory=dict)  # why each ran interpreted
    exits: tuple[JitExit, ...] = ()  # how JIT code left its fast path

    def module(self, module_id: int | None) -> ModuleSnap | None:
        for m in self.modules:
            if m.id == module_id:
                return m
        return None

    def function(self, function_id: int) -> FunctionInfo | None:
        for f in self.functions:
            if f.id == function_id:
                return f
        return None

    @property
    def candidates(self) -> list[FunctionInfo]:
        return [f for f in self.functions if f.state == "candidate"]

    @property
    def in_flight(self) -> list[ModuleSnap]:
        return [m for m in self.modules if m.in_flight]


@dataclass(frozen=True, slots=True)
class Changes:
    """What the last operation changed, for the panes to highlight."""

    functions: frozenset[int] = frozenset()
    slots: frozenset[int] = frozenset()
    patches: frozenset[tuple[int, int]] = frozenset()
    modules: frozenset[int] = frozenset()
    counts: frozenset[int] = frozenset()  # functions whose call counters moved

    def __bool__(self) -> bool:
        return bool(self.functions or self.slots or self.patches or self.modules)


@dataclass(frozen=True, slots=True)
class EvalCounts:
    """Per function id, (interpreter, JIT) entries during one evaluation."""

    seq: int
    counts: Mapping[int, tuple[int, int]]
    seconds: float = 0.0  # wall time of the whole evaluation job


@dataclass(frozen=True, slots=True)
class UiState:
    """What every pane renders from; the app replaces it after each operation."""

    view: SessionView = field(default_factory=SessionView)
    changes: Changes = field(default_factory=Changes)
    selected_module: int | None = None
    history: tuple[EvalCounts, ...] = ()
    tier_ups: tuple[TierUp, ...] = ()
    running: str = ""  # what a worker is doing, "" when idle
    #: The running evaluation waits at a breakpoint; view.last_counts are its calls so far.
    stopped: bool = False
    auto_threshold: int | None = None  # auto tier-up: None when off
    deterministic: bool = False  # snapshot tests: fixed times, redacted addresses

    @property
    def module(self) -> ModuleSnap | None:
        return self.view.module(self.selected_module)


def jit_code_fields(functions: Iterable[FunctionInfo]) -> dict[int, int]:
    """Each function's jitCode field, by its address (what a patch writes), as just read."""
    return {f.jit_code_address: f.jit_code for f in functions}


def view_module(mod: JitModule, fields: dict[int, int], *, auto: bool = False) -> ModuleSnap:
    """``mod`` as the panes show it; ``fields`` (jit_code_fields) give each patched field's
    value now."""
    patches = tuple(
        PatchSnap(
            mod.id,
            i,
            ps.patch.address,
            ps.patch.function,
            ps.patch.element,
            ps.patch.name,
            ps.before,
            ps.after,
            fields[ps.patch.address],
            ps.status(fields[ps.patch.address]),
        )
        for i, ps in enumerate(mod.patches)
    )
    return ModuleSnap(
        id=mod.id,
        names=tuple(mod.names),
        function_ids=tuple(mod.function_ids),
        stage=mod.stage,
        next_step=mod.next_step(),
        patches=patches,
        table_base=mod.table_base,
        table_size_before=mod.table_size_before,
        reuse_base=mod.reuse_base,
        error=mod.error,
        data=mod.data,
        timings=tuple(mod.timings.items()),
        auto=auto,
    )


def take_view(session: Session, seq: int) -> SessionView:
    """Copy what the panes need out of ``session``; call only from the thread that owns it."""
    auto = {module_id for _, _, module_id in session.tier_up_events}
    functions = tuple(session.functions())
    fields = jit_code_fields(functions)
    return SessionView(
        seq=seq,
        debugger=session.debugger,
        functions=functions,
        last_counts=dict(session.last_counts),
        modules=tuple(view_module(m, fields, auto=m.id in auto) for m in session.modules),
        slots=tuple(session.table_slots()),
        initial_table_size=session.initial_table_size,
        module_path=str(session.path),
        reasons={
            f.id: reason_summary(session.interp_reasons(f))
            for f in functions
            if f.interp_calls and session.debugger
        },
        exits=tuple(session.exits()) if session.debugger else (),
    )


def diff(before: SessionView, after: SessionView) -> Changes:
    """Which functions, slots, patches and modules differ between two views.

    The first view (``before.seq == 0``) changes nothing: there was nothing to compare to.
    """
    if before.seq == 0:
        return Changes()
    old_f = {f.id: f for f in before.functions}
    functions = frozenset(
        f.id
        for f in after.functions
        if (o := old_f.get(f.id)) is None
        or (o.state, o.jit_code, o.module_id) != (f.state, f.jit_code, f.module_id)
    )
    counts = frozenset(
        f.id
        for f in after.functions
        if (o := old_f.get(f.id)) is None
        or (o.interp_calls, o.jit_calls) != (f.interp_calls, f.jit_calls)
    )
    old_s = {s.index: s for s in before.slots}
    slots = frozenset(
        s.index
        for s in after.slots
        if (os_ := old_s.get(s.index)) is None
        or (os_.name, os_.owner, os_.empty, os_.dead, os_.reused)
        != (s.name, s.owner, s.empty, s.dead, s.reused)
    )
    old_p = {(p.module_id, p.index): p for m in before.modules for p in m.patches}
    patches = frozenset(
        (p.module_id, p.index)
        for m in after.modules
        for p in m.patches
        if (op := old_p.get((p.module_id, p.index))) is None or op.status != p.status
    )
    old_m = {m.id: m for m in before.modules}
    modules = frozenset(
        m.id
        for m in after.modules
        if (om := old_m.get(m.id)) is None
        or (om.stage, om.patches_applied) != (m.stage, m.patches_applied)
    )
    return Changes(functions, slots, patches, modules, counts)


# --------------------------------------------------------------------------------- formatting


def fmt_count(n: int) -> str:
    return f"{n:,}"


def fmt_count_fit(n: int, width: int) -> str:
    """``n`` in full when it fits ``width`` cells, else compact (``700.5M``): never cut."""
    full = f"{n:,}"
    if len(full) <= width:
        return full
    for unit, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f}{unit}"
    return full


def fmt_seconds(seconds: float, deterministic: bool = False) -> str:
    """Elapsed time for the log; a fixed string in snapshot tests, where times vary."""
    if deterministic:
        return "…ms"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_addr(address: int | None, deterministic: bool = False) -> str:
    if address is None:
        return "—"
    return "0x……" if deterministic else f"0x{address:x}"


_HEX_ADDRESS = re.compile(r"0x[0-9a-fA-F]{5,}")


def redact_hex(text: str) -> str:
    """``0x1130f90`` → ``0x……``: addresses in messages, for snapshot tests."""
    return _HEX_ADDRESS.sub("0x……", text)


def record_history(
    history: tuple[EvalCounts, ...],
    seq: int,
    counts: Mapping[int, tuple[int, int]],
    seconds: float = 0.0,
) -> tuple[EvalCounts, ...]:
    """Append one evaluation's counters, keeping the last :data:`HISTORY_LENGTH`."""
    return (*history, EvalCounts(seq, dict(counts), seconds))[-HISTORY_LENGTH:]
