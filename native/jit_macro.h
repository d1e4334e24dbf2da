// The JIT's macro-assembler: value-aware wasm sequences over one function being compiled
// (runtime calls, failure exits, temporaries and the shadow-stack spill, tag and type checks,
// unboxing, argument stores), on top of the one-method-per-instruction assembler.  The JIT
// compiler (jit.h) walks the AST and emits through these.
// Part of interp.cc (one translation unit): included there in layer order, after the layers it
// uses.
#pragma once

static std::string uniqueName(const std::string &base, std::unordered_set<std::string> &used) {
  std::string name = base;
  for (int k = 2; used.count(name); k++) name = base + "#" + std::to_string(k);
  used.insert(name);
  return name;
}

#define RUNTIME(f) (JitMacro::RuntimeFn{(const void *)&f, #f})

struct JitMacro {
  wasm::ModuleBuilder mb;
  uint32_t sigApply[MAX_JIT_ARGS + 1], sigJit[MAX_JIT_ARGS + 1], sigJitArray;
  uint32_t sigFail, sigCons, sigMakeBox, sigArith, sigCompare, sigBoxFlonum, sigMakeClosure,
      sigSetGlobal, sigPrim;

  // Per-function state.
  Func *fn = nullptr;
  wasm::Assembler *a = nullptr;
  std::vector<uint32_t> slotLocal;
  uint32_t fpLocal = 0, tmp32 = 0;
  uint32_t loopDepth = 0;  // depth of the loop around the body, the target of self tail calls
  // While the fast copy of a loop's body is compiled (see Jit::fastLoop): the depth of the
  // block its slow paths leave by, for the full body to redo the turn; else -1.
  int fastResume = -1;
  bool fastUnsafe = false;  // the fast copy would change state a redone turn sees
  std::vector<GlobalCell *> fastGlobals;  // the fast copy's self tail calls' globals (fastLoop)
  uint32_t fastTurns = 0;  // the fast copy's local of its function's JIT call count
  bool hasFrame = false;
  std::vector<uint32_t> freeTemps, pending;
  std::unordered_map<uint32_t, uint32_t> tempSlot;  // temp local -> frame slot
  std::vector<const Node *> spans;  // the expressions being compiled, innermost last
  uint32_t frameSlots = 0;

  static const uint32_t CLOSURE = 0;  // wasm local 0 holds the closure

  // An evaluated operand: a constant, or a wasm local holding the value.
  struct Operand {
    bool isConst;
    Value c;
    uint32_t local;
    bool temp;
    int slot = -1;     // the frame slot whose local this is, if any
    bool fix = false;  // known to be a fixnum
  };

  // What is known of the frame slots' locals here, for the code that learnt it dominates
  // (branches restore what held before them; a local is only set where it is bound).
  struct Facts {
    // Fixnums: bound to a fixnum-producing expression.  They need no checks and no spilling.
    std::vector<bool> fix;
    // Pairs: past a car or cdr of the local (whose failure does not come back), or where
    // (pair? local) held.  Their car and cdr need no check.
    std::vector<bool> pair;
  };
  Facts facts;

  JitMacro() {
    using namespace wasm;
    for (int n = 0; n <= MAX_JIT_ARGS; n++) {
      std::vector<ValType> ps(n + 1, I64);
      sigJit[n] = mb.type(ps, {I64});
      ps.insert(ps.begin(), I32);
      sigApply[n] = mb.type(ps, {I64});
    }
    sigJitArray = mb.type({I64, I32}, {I64});
    sigFail = mb.type({I32, I32, I64, I64}, {});
    sigCons = mb.type({I64, I64}, {I64});
    sigMakeBox = mb.type({I64}, {I64});
    sigArith = mb.type({I32, I64, I64}, {I64});
    sigCompare = mb.type({I32, I64, I64}, {I32});
    sigBoxFlonum = mb.type({F64}, {I64});
    sigMakeClosure = mb.type({I32, I32}, {I64});
    sigSetGlobal = mb.type({I32, I64, I32}, {});
    sigPrim = mb.type({I32, I32, I32}, {I64});
  }

  // Calls into the runtime go through a small function of the module per runtime function
  // (its trampoline: the call_indirect through the table), called directly.  Cranelift turns
  // each call_indirect into some twenty instructions (table bounds, lazy init, null and
  // signature checks) and a direct call into a few, so the slow paths that make up most of a
  // body take a third less machine code and compile time.
  struct RuntimeFn {
    const void *target;
    const char *name;
  };
  struct Trampoline {
    uint32_t tableIndex, sig;
    const char *name;
  };
  std::vector<Trampoline> trampolines;
  uint32_t trampolineBase = 0;  // the first one's function index: after the Scheme functions

  void callRuntime(RuntimeFn fn, uint32_t sig) {
    uint32_t index = tableIndex(fn.target), k = 0;
    while (k < trampolines.size() && (trampolines[k].tableIndex != index || trampolines[k].sig != sig)) k++;
    if (k == trampolines.size()) trampolines.push_back({index, sig, fn.name});
    a->call(trampolineBase + k);
  }

  // Once every body is compiled (adding functions earlier would move the one being built).
  void addTrampolines(std::unordered_set<std::string> &usedNames) {
    for (const Trampoline &t : trampolines) {
      uint32_t f = mb.addFunction(t.sig, uniqueName(std::string(t.name) + ".trampoline", usedNames));
      wasm::Assembler &body = mb.funcs[f].body;
      for (uint32_t i = 0; i < body.nparams; i++) body.local_get(i);
      body.i32_const(t.tableIndex);
      body.call_indirect(t.sig);
    }
  }

  // After a non-tail call of JIT code, whose result is on the stack: a callee that tail-called
  // an interpreted function returned TAIL_V, its call pending; rt_finish_tail runs it.
  void finishTailCall(const Node *site) {
    uint32_t t = takeTemp();
    a->local_tee(t);
    a->i64_const((int64_t)TAIL_V);
    a->i64_eq();
    a->if_(wasm::I64);
    a->i32_const((int32_t)(uintptr_t)site);
    callRuntime(RUNTIME(rt_finish_tail), mb.type({wasm::I32}, {wasm::I64}));
    a->else_();
    a->local_get(t);
    a->end();
    releaseTemp(t);
  }

  // In the fast copy of a loop body: leave it; the full body redoes the turn from the loop's
  // variables (the parameters and the closure), which go to it through resumeValues.
  void bail() { a->br(a->depth - 1 - fastResume); }
  void storeLoopVariables() {
    uint32_t k = 0;
    for (uint32_t local : loopVariables()) {
      a->i32_const((int32_t)(uintptr_t)&resumeValues[k++]);
      a->local_get(local);
      a->i64_store();
    }
  }
  void loadLoopVariables() {
    uint32_t k = 0;
    for (uint32_t local : loopVariables()) {
      a->i32_const((int32_t)(uintptr_t)&resumeValues[k++]);
      a->i64_load();
      a->local_set(local);
    }
  }
  std::vector<uint32_t> loopVariables() const {
    std::vector<uint32_t> v(slotLocal.begin(), slotLocal.begin() + fn->nparams);
    if (fn->hasFree) v.push_back(CLOSURE);
    return v;
  }

  // Calls rt_fail; control does not come back.  (The fast copy bails instead: the full body
  // fails at the same place.)
  void failWith(const Node *site, JitFailure code, const Operand *x = nullptr, const Operand *y = nullptr) {
    if (fastResume >= 0) { bail(); return; }
    a->i32_const((int32_t)(uintptr_t)site);
    a->i32_const(code);
    if (x) pushOperand(*x); else a->i64_const(0);
    if (y) pushOperand(*y); else a->i64_const(0);
    callRuntime(RUNTIME(rt_fail), sigFail);
    a->unreachable();
  }

  static Operand inLocal(uint32_t local) { return Operand{false, 0, local, false, -1, false}; }

  uint32_t takeTemp() {
    if (!freeTemps.empty()) {
      uint32_t t = freeTemps.back();
      freeTemps.pop_back();
      return t;
    }
    uint32_t t = a->addLocal(wasm::I64);
    tempSlot[t] = frameSlots++;
    return t;
  }
  void releaseTemp(uint32_t t) { freeTemps.push_back(t); }

  // Stores every value the collector must see: locals, the closure, pending temporaries.
  void spill() {
    for (size_t i = 0; i < fn->nlocals; i++) {
      if (facts.fix[i]) continue;
      a->local_get(fpLocal);
      a->local_get(slotLocal[i]);
      a->i64_store(8 * i);
    }
    if (fn->hasFree) {
      a->local_get(fpLocal);
      a->local_get(CLOSURE);
      a->i64_store(8 * fn->nlocals);
    }
    for (uint32_t t : pending) {
      a->local_get(fpLocal);
      a->local_get(t);
      a->i64_store(8 * tempSlot[t]);
    }
  }

  // fp = sp, and sp past `words` slots of frame (a stack-exhausted error at `site` if they do
  // not fit).
  void pushJitFrame(uint32_t words, const Node *site) {
    a->i32_const((int32_t)(uintptr_t)&sp);
    a->i32_load();
    a->local_tee(fpLocal);
    a->i32_const(8 * words);
    a->i32_add();
    a->local_tee(tmp32);
    a->i32_const((int32_t)(uintptr_t)stackLimit);
    a->i32_gt_u();
    a->if_();
    failWith(site, JF_STACK);
    a->end();
    a->i32_const((int32_t)(uintptr_t)&sp);
    a->local_get(tmp32);
    a->i32_store();
  }

  void popFrame() {
    if (!hasFrame) return;
    a->i32_const((int32_t)(uintptr_t)&sp);
    a->local_get(fpLocal);
    a->i32_store();
  }

  void pushOperand(const Operand &o) {
    if (o.isConst) a->i64_const((int64_t)o.c);
    else a->local_get(o.local);
  }

  void release(const std::vector<Operand> &ops) {
    for (auto &o : ops)
      if (o.temp) releaseTemp(o.local);
  }

  void boolFromI32() {
    a->i64_extend_i32_u();
    a->i64_const(3);
    a->i64_shl();
    a->i64_const(3);
    a->i64_or();
  }

  // Pushes an i32, nonzero when an operand not known to be a fixnum is not one; false (and
  // nothing pushed) when all are known fixnums.  Nothing is learnt for the code after it: the
  // other side of the test goes on with a flonum.
  bool testNotFixnums(const std::vector<Operand> &ops) {
    size_t tested = 0;
    for (auto &o : ops) {
      if (o.fix) continue;
      pushOperand(o);
      if (tested++) a->i64_or();
    }
    if (!tested) return false;
    a->i32_wrap_i64();
    a->i32_const(1);
    a->i32_and();
    return true;
  }

  // Replaces the value's low word (an i32 on the stack) by whether it points to a heap
  // object of `type`; the low word stays in tmp32 (the object's address + 1).
  void testHeapType(ObjType type) {
    a->local_tee(tmp32);
    a->i32_const(7);
    a->i32_and();
    a->i32_const(1);
    a->i32_eq();
    a->if_(wasm::I32);
    a->local_get(tmp32);
    a->i32_const(1);
    a->i32_sub();
    a->i32_load();
    a->i32_const(type);
    a->i32_eq();
    a->else_();
    a->i32_const(0);
    a->end();
  }

  // Leaves an i32 that is non-zero when `v` (a wasm local) is a pair.
  void testPair(uint32_t v) {
    a->local_get(v);
    a->i32_wrap_i64();
    testHeapType(T_PAIR);
  }

  void loadFree(int i) {
    a->local_get(CLOSURE);
    a->i32_wrap_i64();
    a->i64_load(15 + 8 * i);
  }

  // Replaces the box on the stack by its contents, failing if it is still unassigned.
  void unbox(const Node *site) {
    a->i32_wrap_i64();
    a->i64_load(7);
    checkAssigned(site, JF_UNASSIGNED);
  }

  void checkAssigned(const Node *site, JitFailure code) {
    uint32_t t = takeTemp();
    a->local_tee(t);
    a->i64_const(UNASSIGNED_V);
    a->i64_eq();
    a->if_();
    failWith(site, code);
    a->end();
    a->local_get(t);
    releaseTemp(t);
  }

  // Writes operands to the shadow stack above this frame; leaves the base address in tmp32.
  void storeArgs(const std::vector<Operand> &ops) {
    a->i32_const((int32_t)(uintptr_t)&sp);
    a->i32_load();
    a->local_set(tmp32);
    for (size_t i = 0; i < ops.size(); i++) {
      a->local_get(tmp32);
      pushOperand(ops[i]);
      a->i64_store(8 * i);
    }
  }

  // The JIT code of the closure at base[0] (base in tmp32), after popping this frame.
  void slowCallee() {
    a->local_get(tmp32);
    a->i32_load();
    a->i32_load(7);
    a->i32_load(offsetof(Func, jitCode));
    popFrame();
  }

  uint32_t signature(const Func *f) const {
    return f->nparams > (uint32_t)MAX_JIT_ARGS ? sigJitArray : sigJit[f->nparams];
  }
};
