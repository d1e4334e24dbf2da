// Runtime entry points that JIT code calls through the table.
// Part of interp.cc (one translation unit): included there in layer order, after the layers it
// uses.
#pragma once

// ---------------------------------------------------------------------------------------------
// Runtime entry points for JIT code.  JIT modules call them through the table; their table
// indices are embedded in the generated code as constants.

enum JitFailure : int32_t { JF_OVERFLOW, JF_UNBOUND, JF_UNASSIGNED, JF_STACK, JF_PAIR };

// Where the fast copy of a loop's body leaves the loop's variables for the full body (see
// Jit::fastLoop).  Through memory, not wasm locals: Cranelift then allocates the two loops'
// variables apart, and the fast loop's stay in registers.
static const uint32_t MAX_RESUME_VALUES = 16;
static Value resumeValues[MAX_RESUME_VALUES];

// How JIT code left its fast path, by kind (read by the host: dbg_exits): how often, where the
// last one happened, and the order in which the kinds first happened (0: never).
enum ExitKind : uint32_t {
  X_GUARD,        // a call's redefinition guard failed: the global holds another procedure
  X_INTERPRETED,  // a call reached a closure without JIT code: the interpreter runs it
  X_ARITY,        // a closure with JIT code, called with an argument count it does not take
                  // straight (a rest parameter, or an arity error)
  X_PRIMITIVE,    // a primitive procedure called as a value, through the runtime
  X_ERROR,        // a Scheme error raised in JIT code
  X_COUNT
};
struct ExitStat { uint64_t count; uint32_t line, col, src, first; };
static ExitStat exitStats[X_COUNT];
static uint32_t exitsSeen;  // kinds that have happened, for ExitStat::first

static void noteExit(ExitKind kind, const Node *site) {
  ExitStat &e = exitStats[kind];
  if (!e.count++) e.first = ++exitsSeen;
  e.line = site->pos.line; e.col = site->pos.col; e.src = site->pos.src;
}

// A call JIT code could not make straight through the table: which kind of exit it is.
static void noteCallExit(Value f, int32_t argc, const Node *site) {
  if (isPrimProc(f)) { noteExit(X_PRIMITIVE, site); return; }
  if (!isClosure(f)) return;  // not a procedure: the error that follows is the exit
  Func *fn = closureFunc(f);
  noteExit(!fn->jitCode ? X_INTERPRETED : X_ARITY, site);
  (void)argc;
}

// The slow path of a guarded direct call (see Jit::call) reports itself before it runs.
extern "C" void rt_guard_failed(Node *site) { noteExit(X_GUARD, site); }

extern "C" void rt_fail(Node *site, int32_t code, Value a, Value b) {
  noteExit(X_ERROR, site);
  switch (code) {
    case JF_OVERFLOW: overflow(site, site->index, fixVal(a), fixVal(b));
    case JF_UNBOUND: fail(E_UNBOUND, site, "unbound variable %s", site->name);
    case JF_UNASSIGNED: fail(E_UNBOUND, site, "%s used before its definition", site->name);
    case JF_STACK: stackExhausted(site);
    case JF_PAIR: typeError(site, primInfo[site->index].name, "a pair", a);
  }
  __builtin_trap();
}

// JIT code's entry check, taken while an entry breakpoint is armed.
extern "C" void rt_break_entry(Func *fn) { entryBreak(fn, 1); }

extern "C" Value rt_cons(Value a, Value b) { return cons(a, b); }
extern "C" Value rt_make_box(Value v) { return makeBox(v); }
extern "C" Value rt_box_flonum(double d) { return mkFlo(d); }
// Arithmetic and comparisons off the fixnum path: flonums, or (an exit) a type error.
extern "C" Value rt_arith(Node *site, Value a, Value b) {
  if (!isNum(a) || !isNum(b)) noteExit(X_ERROR, site);
  return arith(site, site->index, a, b);
}
extern "C" int32_t rt_compare(Node *site, Value a, Value b) {
  if (!isNum(a) || !isNum(b)) noteExit(X_ERROR, site);
  if (site->index == P_ZEROP) return real(site, P_ZEROP, a) == 0;
  return compare(site, site->index, a, b);
}

extern "C" Value rt_make_closure(Func *fn, int32_t nfree) {
  Obj *o = allocate(T_CLOSURE, 2 + nfree);
  o->slot[0] = (Value)(uintptr_t)fn;
  for (int i = 0; i < nfree; i++) o->slot[1 + i] = UNSPEC_V;
  return tagged(o);
}

extern "C" void rt_set_global(GlobalCell *g, Value v, Node *site) {
  if (site->kind == N_SET_GLOBAL && g->value == UNASSIGNED_V) fail(E_UNBOUND, site, "set!: unbound variable %s", site->name);
  setGlobal(g, v);
}

// Arguments at base[0..n), written there by JIT code above its frame.
extern "C" Value rt_prim(Node *site, Value *base, int32_t n) {
  sp = base + n;
  Value r = primApply(site->index, base, n, site);
  sp = base;
  return r;
}

// base[0] is the procedure, base[1..n] the arguments.
extern "C" Value rt_apply_v(Node *site, Value *base, int32_t n) {
  noteCallExit(base[0], n, site);
  sp = base + n + 1;
  Value r = apply(base, n, site);
  sp = base;
  return r;
}

// A tail call from JIT code that its fast path did not take.  base[0] is the procedure,
// base[1..n] the arguments.  Spreads apply and packs rest arguments in place; if the callee
// then has JIT code, returns its parameter count + 1 and leaves closure and arguments at
// base[0..nparams] for the caller to tail-call it (so such loops run in constant stack).
// Otherwise runs the call and returns 0 with the result at base[0].
// The JIT caller dispatches on the callee's parameter counts it can see coming (see
// Jit::tailCallSlow): any count when the call names apply itself, else 1 to n + 1.
static bool namesApply(const Node *call) {
  return call->kids[0]->kind == N_CONST && call->kids[0]->value == mkPrim(P_APPLY);
}
static bool tailDispatchable(const Node *call, int32_t argc, uint32_t nparams) {
  if (namesApply(call)) return true;
  uint32_t most = argc + 1;
  return nparams >= 1 && (nparams <= (uint32_t)MAX_JIT_ARGS ? nparams <= most : most > (uint32_t)MAX_JIT_ARGS);
}

extern "C" int32_t rt_tail_prepare(Node *site, Value *base, int32_t n) {
  int32_t argc = n;
  noteCallExit(base[0], n, site);
  sp = base + n + 1;
  Value f = base[0];
  while (f == mkPrim(P_APPLY)) {
    n = spreadApply(base, n, site);
    f = base[0];
  }
  if (isClosure(f)) {
    Func *fn = closureFunc(f);
    if ((uint32_t)n != fn->nparams || fn->rest) fitArgs(base, n, fn, site);
    if (fn->jitCode && tailDispatchable(site, argc, fn->nparams)) {
      sp = base;
      return fn->nparams + 1;
    }
    // Interpreted: not run from here, under this JIT frame, but left pending for the JIT
    // code's caller (finishTail), so the chain does not grow the stack.
    pendingFn = f;
    pendingArgs = base + 1;
    pendingArgc = fn->nparams;
    base[0] = TAIL_V;
    sp = base;
    return 0;
  }
  Value r = apply(base, n, site);
  base[0] = r;
  sp = base;
  return 0;
}

// After a non-tail call of JIT code that returned TAIL_V: run the pending call.
extern "C" Value rt_finish_tail(Node *site) { return finishTail(TAIL_V, site); }

#define APPLY_PROLOGUE(n) noteCallExit(f, n, site); Value *base = sp; *sp++ = f;
#define APPLY_EPILOGUE(n) Value r = apply(base, n, site); sp = base; return r;
extern "C" Value rt_apply0(Node *site, Value f) { APPLY_PROLOGUE(0) APPLY_EPILOGUE(0) }
extern "C" Value rt_apply1(Node *site, Value f, Value a) { APPLY_PROLOGUE(1) push(a); APPLY_EPILOGUE(1) }
extern "C" Value rt_apply2(Node *site, Value f, Value a, Value b) { APPLY_PROLOGUE(2) push(a); push(b); APPLY_EPILOGUE(2) }
extern "C" Value rt_apply3(Node *site, Value f, Value a, Value b, Value c) { APPLY_PROLOGUE(3) push(a); push(b); push(c); APPLY_EPILOGUE(3) }
extern "C" Value rt_apply4(Node *site, Value f, Value a, Value b, Value c, Value d) { APPLY_PROLOGUE(4) push(a); push(b); push(c); push(d); APPLY_EPILOGUE(4) }
extern "C" Value rt_apply5(Node *site, Value f, Value a, Value b, Value c, Value d, Value e) { APPLY_PROLOGUE(5) push(a); push(b); push(c); push(d); push(e); APPLY_EPILOGUE(5) }
extern "C" Value rt_apply6(Node *site, Value f, Value a, Value b, Value c, Value d, Value e, Value g) { APPLY_PROLOGUE(6) push(a); push(b); push(c); push(d); push(e); push(g); APPLY_EPILOGUE(6) }
#undef APPLY_PROLOGUE
#undef APPLY_EPILOGUE

static uint32_t tableIndex(const void *fnptr) { return (uint32_t)(uintptr_t)fnptr; }
