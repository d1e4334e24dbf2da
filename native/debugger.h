// Start-up and the exported interfaces (the seed's and the debugger's).
// Part of interp.cc (one translation unit): included there in layer order, after the layers it
// uses.
#pragma once

// ---------------------------------------------------------------------------------------------
// Start-up and the exported interfaces.

static void initRuntime() {
  stackBase = (Value *)calloc(STACK_SLOTS, sizeof(Value));
  stackLimit = stackBase + STACK_SLOTS - 256;
  sp = stackBase;
  for (int id = 0; id < P_COUNT; id++) {
    GlobalCell *g = new GlobalCell{mkPrim(id), nullptr, primInfo[id].name, id, nullptr};
    globals[primInfo[id].name] = g;
    globalList.push_back(g);
  }
}

static std::vector<Sx *> arena;  // syntax of the last dbg_read, freed by the next
static std::vector<Sx *> forms;
static uint32_t nextSource = 1;

static void freeSyntax() {
  for (Sx *x : arena) delete x;
  arena.clear();
  forms.clear();
}

static std::vector<Sx *> readAll(const char *text, size_t len, uint32_t src) {
  freeSyntax();
  Reader r(text, len, src, arena);
  r.checkUtf8();
  std::vector<Sx *> out;
  while (Sx *x = r.read()) out.push_back(x);
  return out;
}

static Func *compileToplevel(const std::vector<Sx *> &xs) {
  Func *top = new Func();
  memset((void *)top, 0, offsetof(Func, body));
  top->name = "toplevel";
  top->flags = F_TOPLEVEL;
  top->hasFree = false;
  toplevels.push_back(top);
  Compiler c;
  FuncScope fs{top, nullptr, {}, 0};
  Scope sc{{}, nullptr, &fs};
  std::vector<Node *> items;
  for (Sx *x : xs) items.push_back(c.expr(x, &sc, &fs));
  top->body = c.seq(items, xs[0], &fs);
  c.finish();
  Compiler::markTail(top->body);
  top->nlocals = fs.nslots;
  for (Func *f : c.newFuncs) {
    f->id = funcs.size();
    funcs.push_back(f);
  }
  return top;
}

static Value runToplevel(Func *top) {
  sp = stackBase;
  handlerStack = NIL_V;
  currentInputPort = currentOutputPort = FALSE_V;  // a redirection an escape left ends with its form
  *sp++ = UNSPEC_V;  // the closure slot of a top-level frame
  Value *fp = sp;
  sp = fp + top->nlocals;
  frameDepth = 0;
  jitNest = 0;
  pushFrame(fp);
  Value v = eval(top->body, fp);
  frameDepth = 0;
  sp = stackBase;
  return v;
}

// --- The seed's interface: a host written for the workbench's harness runs unchanged. ---

EXPORT(allocateBytes) void *allocateBytes(int32_t len) { return malloc(len); }
EXPORT(freeBytes) void freeBytes(void *p) { free(p); }

// Parses and compiles a program; its value is what eval() prints.
EXPORT(parse) Func *parse(const char *text) {
  std::vector<Sx *> xs = readAll(text, strlen(text), nextSource++);
  if (xs.empty()) raise(E_READ, noPos, nullptr, "empty program");
  Func *top = compileToplevel(xs);
  freeSyntax();
  return top;
}

// heapSize is accepted for compatibility; the heap grows on demand up to its limit.
EXPORT(eval) void evalProgram(Func *top, int32_t heapSize) {
  (void)heapSize;
  Value v = runToplevel(top);
  std::string s;
  printValue(s, v, false);
  fwrite(output.data(), 1, output.size(), stdout);
  output.clear();
  printf("result: %s\n", s.c_str());
  // The seed's eval does not flush; nor does the seed-only build, so that its tests see what
  // a host of the seed's own module sees: a result that reaches fd 1 only if stdio
  // line-buffers it.
#ifndef JITSCOPE_SEED_ONLY
  fflush(stdout);
#endif
}

static std::vector<Func *> candidates() {
  std::vector<Func *> list;
  for (Func *f : funcs)
    if (f && f->interpCalls > 0 && !f->jitCode && !(f->flags & F_PENDING) && !uncompilableReason(f)) list.push_back(f);
  return list;
}

// A self-patching module for every candidate, or 0 when there is nothing to compile.
EXPORT(jitModule) JitModule *jitModule() { return buildModule(candidates(), true); }
EXPORT(moduleData) uint8_t *moduleData(JitModule *m) { return m->data; }
EXPORT(moduleSize) uint32_t moduleSize(JitModule *m) { return m->size; }
EXPORT(freeModule) void freeModule(JitModule *m) {
  free(m->data);
  free(m->funcs);
  delete m;
}

// --- The debugger's interface. ---

// What the host reads after the calls below, at one fixed address (dbg_state): a read of
// memory instead of a call per fact.
struct FormPos { uint32_t line, col, endLine, endCol; };
struct DebugState {
  uint32_t source;          // the source id of the last dbg_read (set before it can fail)
  uint32_t formCount;       // its forms, and where each is
  const FormPos *formPos;
  const char *result;       // the printed value of the last dbg_run_form (a definition: the
  uint32_t resultLength;    // defined name)
  const Touched *touched;   // functions the interpreter entered since that dbg_read
  const Frame *frames;      // the interpreter's frames, outermost first (see Frame)
  const uint32_t *frameDepth;
  const uint32_t *jitNest;
  uint32_t funcSweeps;      // sweeps that freed functions (their ids now give 0: dbg_func)
};
static DebugState debugState = {0, 0, nullptr, "", 0, &touched, frames, &frameDepth, &jitNest, 0};
static std::vector<FormPos> formPositions;
DEBUG_EXPORT(dbg_state) const DebugState *dbg_state() { return &debugState; }

// A top-level form's own tree is dead once it ran (its lambdas' bodies are trees of their
// own), so it is freed: a long session, or thousands of failing evaluations, stay bounded.
static void freeTree(Node *n) {
  for (Node *k : n->kids) freeTree(k);
  delete n;
}

// A lambda nothing live can call again is freed, with its body: no closure of it is in the
// heap, no global holds or will hold it (a define's lambda), no live function's body creates
// it, and no generated code has its address (F_COMPILED); the prelude's stay.  Run between
// evaluations (nothing on the stack; the host has read the functions entered), once as many
// functions were made since the last sweep as were live after it, so its cost is amortised.
static size_t funcsAtSweep = 0, liveAtSweep = 0;

static void sweepFuncs() {
  for (Func *f : funcs)
    if (f) f->reached = (f->flags & (F_LIBRARY | F_COMPILED)) != 0;
  collect();  // marks the functions of live closures
  for (auto *g : globalList) {
    if (g->func) g->func->reached = true;
    if (g->defined) g->defined->reached = true;
  }
  std::vector<Func *> work;
  for (Func *f : funcs)
    if (f && f->reached) work.push_back(f);
  std::vector<Node *> nodes;
  while (!work.empty()) {  // a reached function's body can make closures of the lambdas in it
    Func *f = work.back();
    work.pop_back();
    nodes.assign(1, f->body);
    while (!nodes.empty()) {
      Node *n = nodes.back();
      nodes.pop_back();
      if (!n) continue;
      if (n->kind == N_LAMBDA && n->fn && !n->fn->reached) {
        n->fn->reached = true;
        work.push_back(n->fn);
      }
      nodes.insert(nodes.end(), n->kids.begin(), n->kids.end());
    }
  }
  size_t live = 0, freed = 0;
  for (Func *&f : funcs) {
    if (!f) continue;
    if (f->reached) { live++; continue; }
    if (f->body) freeTree(f->body);
    free((void *)f->name);
    delete f;
    f = nullptr;
    freed++;
  }
  funcsAtSweep = funcs.size();
  liveAtSweep = live;
  if (freed) {
    debugState.funcSweeps++;
    lastError.function = "";  // it may have been one of their names
  }
}

// Reads every form of `text`; returns how many.  Starts the list of functions entered.
DEBUG_EXPORT(dbg_read) int32_t dbg_read(const char *text, int32_t len) {
  if (funcs.size() - funcsAtSweep >= std::max<size_t>(256, liveAtSweep)) sweepFuncs();
  touchBegin();
  uint32_t src = nextSource++;
  debugState.source = src;
  debugState.formCount = 0;
  std::vector<Sx *> xs = readAll(text, len, src);
  forms = xs;
  formPositions.clear();
  for (Sx *x : forms) formPositions.push_back({x->pos.line, x->pos.col, x->end.line, x->end.col});
  debugState.formCount = formPositions.size();
  debugState.formPos = formPositions.data();
  return forms.size();
}

static std::string resultText;



static Func *lastToplevel;

static void freeLastToplevel() {
  if (!lastToplevel) return;
  toplevels.erase(std::find(toplevels.begin(), toplevels.end(), lastToplevel));
  freeTree(lastToplevel->body);
  delete lastToplevel;
  lastToplevel = nullptr;
}

// Compiles form k of the last dbg_read; its lambdas are then listed by dbg_func, so a host
// can compile them before the form runs.  Returns a handle for dbg_run_form.
DEBUG_EXPORT(dbg_compile_form) Func *dbg_compile_form(int32_t k) {
  freeLastToplevel();
  lastToplevel = compileToplevel({forms.at(k)});
  return lastToplevel;
}

// Runs a compiled form.  Returns 0 for a value, 1 for a definition, 2 for an unspecified
// value; the DebugState has the printed value (the defined name for a definition).
DEBUG_EXPORT(dbg_run_form) int32_t dbg_run_form(Func *top) {
  lastResult = runToplevel(top);
  flushOutput();
  resultText.clear();
  bool isDefine = top->body->kind == N_DEFINE;
  if (isDefine) resultText = top->body->name;
  if (top == lastToplevel) freeLastToplevel();
  int kind = 0;
  if (isDefine) {
    lastResult = UNSPEC_V;
    kind = 1;
  } else if (lastResult == UNSPEC_V) {
    kind = 2;
  } else {
    printValue(resultText, lastResult, false);
  }
  debugState.result = resultText.c_str();
  debugState.resultLength = resultText.size();
  return kind;
}

DEBUG_EXPORT(dbg_error) ErrorInfo *dbg_error() { return &lastError; }

// Called by the host after a trap or an error unwound an evaluation.
DEBUG_EXPORT(dbg_reset) void dbg_reset() {
  sp = stackBase;
  handlerStack = NIL_V;
  frameDepth = 0;
  jitNest = 0;
  flushOutput();
}

DEBUG_EXPORT(dbg_func_count) int32_t dbg_func_count() { return funcs.size(); }

// 0 for a function sweepFuncs freed.
DEBUG_EXPORT(dbg_func) Func *dbg_func(int32_t i) { return funcs.at(i); }

// Builds a module for the given functions (by id), or for every candidate when n is 0.  Its
// patch is not run at instantiation: the host calls the exported steps.
DEBUG_EXPORT(dbg_jit) JitModule *dbg_jit(const int32_t *ids, int32_t n) {
  std::vector<Func *> list;
  if (n == 0) list = candidates();
  std::unordered_set<Func *> seen;
  for (int32_t i = 0; i < n; i++) {
    if (ids[i] < 0 || (size_t)ids[i] >= funcs.size() || !funcs[ids[i]]) raise(E_JIT, noPos, nullptr, "no function with id %d", ids[i]);
    Func *f = funcs[ids[i]];
    if (const char *why = uncompilableReason(f)) raise(E_JIT, noPos, f->name, "cannot compile %s: %s", f->name, why);
    // Linked or in a module already: one module at a time owns a function's jitCode, so a
    // patch's before-value is always 0 and discarding a module can undo its patches.
    if (f->jitCode || (f->flags & F_PENDING)) continue;
    if (seen.insert(f).second) list.push_back(f);
  }
  return buildModule(list, false);
}

// Give up on a module part-way through linking: the patches it applied are undone (each
// before-value is 0, since only functions without JIT code are compiled) and its functions
// go back to the interpreter.
DEBUG_EXPORT(dbg_discard) void dbg_discard(JitModule *m) {
  for (uint32_t i = 0; i < m->nfuncs; i++) {
    Func *f = m->funcs[i];
    if (f->moduleId == m->id) { f->jitCode = 0; f->flags &= ~F_PENDING; f->moduleId = 0; }
  }
}

// Back to the interpreter: calls stop dispatching to JIT code.
DEBUG_EXPORT(dbg_unlink) void dbg_unlink(int32_t id) {
  Func *f = funcs.at(id);
  if (!f) return;
  f->jitCode = 0;
  f->flags = (f->flags & ~F_PENDING) | F_UNLINKED;
  f->moduleId = 0;
}

// A tier-up of this function failed (the host undid it): it stays interpreted, unasked again.
DEBUG_EXPORT(dbg_tierup_failed) void dbg_tierup_failed(int32_t id) {
  if (Func *f = funcs.at(id)) f->flags |= F_NO_TIERUP;
}

DEBUG_EXPORT(dbg_set_tierup) void dbg_set_tierup(uint32_t hookTableIndex, uint32_t threshold) {
  tierUpHook = hookTableIndex;
  tierUpThreshold = threshold;
}

// Entry breakpoints: the host's hook `void hook(Func*, u32 jit)` (a table index, 0 for none)
// and what is armed (BreakArm bits); the functions' own F_BREAK_* flags say which.
DEBUG_EXPORT(dbg_set_breaks) void dbg_set_breaks(uint32_t hookTableIndex, uint32_t armed) {
  breakHook = hookTableIndex;
  breakArmed = hookTableIndex ? armed : 0;
}
// A value as `write` prints it, cut after `limit` bytes (a frame's arguments, for the host).
static std::string valueText;
DEBUG_EXPORT(dbg_write) const char *dbg_write(Value v, uint32_t limit) {
  valueText.clear();
  printValue(valueText, v, false);
  if (valueText.size() > limit) {
    valueText.resize(limit);
    valueText += "...";
  }
  return valueText.c_str();
}
DEBUG_EXPORT(dbg_heap) HeapStats *dbg_heap() { return &heap; }
DEBUG_EXPORT(dbg_collect) void dbg_collect() { collect(); }
DEBUG_EXPORT(dbg_scrub) uint32_t dbg_scrub() { return (uint32_t)scrubHeap(); }
DEBUG_EXPORT(dbg_set_heap_limit) void dbg_set_heap_limit(uint32_t bytes) { heap.maxHeapBytes = bytes; }
DEBUG_EXPORT(dbg_stack_depth) int32_t dbg_stack_depth() { return sp - stackBase; }
DEBUG_EXPORT(dbg_exits) ExitStat *dbg_exits() { return exitStats; }

// The records the host reads, described by the module itself: an entry "Record.field" per
// field (offset, size), one "Record" per record (its size) and one "Enum.NAME" per constant
// (value, size 0).  The host builds its readers from this table at load and refuses a module
// that lacks a field it needs, so the struct definitions above are the one source of truth.
struct LayoutEntry { const char *name; uint32_t value, size; };
static_assert(sizeof(LayoutEntry) == 12, "the host reads entries as three u32");
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Winvalid-offsetof"  // Func is not standard-layout (its tail)
#define LAYOUT_RECORD(T) {#T, (uint32_t)sizeof(T), 0}
#define LAYOUT_FIELD(T, f) {#T "." #f, (uint32_t)offsetof(T, f), (uint32_t)sizeof(((T *)nullptr)->f)}
#define LAYOUT_CONST(E, c) {#E "." #c, (uint32_t)c, 0}
static const LayoutEntry LAYOUT[] = {
  LAYOUT_RECORD(Func),
  LAYOUT_FIELD(Func, jitCode), LAYOUT_FIELD(Func, nparams), LAYOUT_FIELD(Func, flags),
  LAYOUT_FIELD(Func, id), LAYOUT_FIELD(Func, interpCalls), LAYOUT_FIELD(Func, jitCalls),
  LAYOUT_FIELD(Func, name), LAYOUT_FIELD(Func, line), LAYOUT_FIELD(Func, col),
  LAYOUT_FIELD(Func, endLine), LAYOUT_FIELD(Func, endCol), LAYOUT_FIELD(Func, src),
  LAYOUT_FIELD(Func, moduleId), LAYOUT_FIELD(Func, nlocals), LAYOUT_FIELD(Func, touchInterp),
  LAYOUT_FIELD(Func, touchJit), LAYOUT_FIELD(Func, touchedEpoch), LAYOUT_FIELD(Func, interpWhy),
  LAYOUT_RECORD(ExitStat), LAYOUT_FIELD(ExitStat, count), LAYOUT_FIELD(ExitStat, line),
  LAYOUT_FIELD(ExitStat, col), LAYOUT_FIELD(ExitStat, src), LAYOUT_FIELD(ExitStat, first),
  LAYOUT_RECORD(Touched), LAYOUT_FIELD(Touched, count), LAYOUT_FIELD(Touched, ids),
  LAYOUT_RECORD(DebugState),
  LAYOUT_FIELD(DebugState, source), LAYOUT_FIELD(DebugState, formCount),
  LAYOUT_FIELD(DebugState, formPos), LAYOUT_FIELD(DebugState, result),
  LAYOUT_FIELD(DebugState, resultLength), LAYOUT_FIELD(DebugState, touched),
  LAYOUT_FIELD(DebugState, frames), LAYOUT_FIELD(DebugState, frameDepth),
  LAYOUT_FIELD(DebugState, jitNest), LAYOUT_FIELD(DebugState, funcSweeps),
  LAYOUT_RECORD(Frame), LAYOUT_FIELD(Frame, fp), LAYOUT_FIELD(Frame, at), LAYOUT_FIELD(Frame, jitNest),
  {"Node.line", (uint32_t)(offsetof(Node, pos) + offsetof(Pos, line)), 4},
  {"Node.col", (uint32_t)(offsetof(Node, pos) + offsetof(Pos, col)), 4},
  {"Node.src", (uint32_t)(offsetof(Node, pos) + offsetof(Pos, src)), 4},
  LAYOUT_RECORD(Node),
  LAYOUT_CONST(FuncFlags, F_BREAK_ENTER), LAYOUT_CONST(FuncFlags, F_BREAK_JIT_ENTRY),
  LAYOUT_CONST(BreakArm, BREAK_FLAGGED), LAYOUT_CONST(BreakArm, BREAK_ANY_ENTRY),
  LAYOUT_CONST(Limit, MAX_FRAMES),
  LAYOUT_RECORD(ErrorInfo),
  LAYOUT_FIELD(ErrorInfo, kind), LAYOUT_FIELD(ErrorInfo, line), LAYOUT_FIELD(ErrorInfo, col),
  LAYOUT_FIELD(ErrorInfo, src), LAYOUT_FIELD(ErrorInfo, message),
  LAYOUT_FIELD(ErrorInfo, function),
  LAYOUT_RECORD(HeapStats),
  LAYOUT_FIELD(HeapStats, heapBytes), LAYOUT_FIELD(HeapStats, liveBytes),
  LAYOUT_FIELD(HeapStats, allocatedBytes), LAYOUT_FIELD(HeapStats, collections),
  LAYOUT_FIELD(HeapStats, maxHeapBytes),
  LAYOUT_RECORD(JitModule),
  LAYOUT_FIELD(JitModule, data), LAYOUT_FIELD(JitModule, size), LAYOUT_FIELD(JitModule, id),
  LAYOUT_FIELD(JitModule, nfuncs), LAYOUT_FIELD(JitModule, funcs),
  LAYOUT_RECORD(FormPos),
  LAYOUT_FIELD(FormPos, line), LAYOUT_FIELD(FormPos, col), LAYOUT_FIELD(FormPos, endLine),
  LAYOUT_FIELD(FormPos, endCol),
  LAYOUT_CONST(FuncFlags, F_TOPLEVEL), LAYOUT_CONST(FuncFlags, F_PENDING),
  LAYOUT_CONST(FuncFlags, F_LIBRARY), LAYOUT_CONST(FuncFlags, F_REST),
  LAYOUT_RECORD(Obj), LAYOUT_FIELD(Obj, type), LAYOUT_FIELD(Obj, words),
  LAYOUT_CONST(ObjType, T_FREE), LAYOUT_CONST(ObjType, T_PAIR), LAYOUT_CONST(ObjType, T_CLOSURE),
  LAYOUT_CONST(ObjType, T_BOX), LAYOUT_CONST(ObjType, T_SYMBOL), LAYOUT_CONST(ObjType, T_STRING),
  LAYOUT_CONST(ObjType, T_VECTOR), LAYOUT_CONST(ObjType, T_FLONUM),
  LAYOUT_CONST(ObjType, T_CONTINUATION), LAYOUT_CONST(ObjType, T_RECORD),
  LAYOUT_CONST(ObjType, T_VALUES), LAYOUT_CONST(ObjType, T_PORT), LAYOUT_CONST(ObjType, T_BYTEVECTOR),
  LAYOUT_CONST(Value, FALSE_V), LAYOUT_CONST(Value, TRUE_V), LAYOUT_CONST(Value, NIL_V),
  LAYOUT_CONST(Value, UNSPEC_V), LAYOUT_CONST(Value, UNASSIGNED_V),
  LAYOUT_CONST(InterpReason, R_NOT_COMPILED), LAYOUT_CONST(InterpReason, R_PENDING),
  LAYOUT_CONST(InterpReason, R_UNLINKED), LAYOUT_CONST(InterpReason, R_TIERUP_FAILED), LAYOUT_CONST(InterpReason, R_COUNT),
  LAYOUT_CONST(ExitKind, X_GUARD), LAYOUT_CONST(ExitKind, X_INTERPRETED),
  LAYOUT_CONST(ExitKind, X_ARITY), LAYOUT_CONST(ExitKind, X_PRIMITIVE),
  LAYOUT_CONST(ExitKind, X_ERROR), LAYOUT_CONST(ExitKind, X_COUNT),
  LAYOUT_CONST(ErrorKind, E_READ), LAYOUT_CONST(ErrorKind, E_SYNTAX),
  LAYOUT_CONST(ErrorKind, E_UNBOUND), LAYOUT_CONST(ErrorKind, E_TYPE),
  LAYOUT_CONST(ErrorKind, E_ARITY), LAYOUT_CONST(ErrorKind, E_NOT_PROCEDURE),
  LAYOUT_CONST(ErrorKind, E_OVERFLOW), LAYOUT_CONST(ErrorKind, E_DIVIDE_BY_ZERO),
  LAYOUT_CONST(ErrorKind, E_STACK), LAYOUT_CONST(ErrorKind, E_HEAP),
  LAYOUT_CONST(ErrorKind, E_RANGE), LAYOUT_CONST(ErrorKind, E_JIT), LAYOUT_CONST(ErrorKind, E_USER),
};
#undef LAYOUT_RECORD
#undef LAYOUT_FIELD
#undef LAYOUT_CONST
#pragma clang diagnostic pop
struct LayoutTable { uint32_t count; const LayoutEntry *entries; };
static const LayoutTable layoutTable = {sizeof LAYOUT / sizeof LAYOUT[0], LAYOUT};
DEBUG_EXPORT(dbg_layout) const LayoutTable *dbg_layout() { return &layoutTable; }
