// The JIT: a set of functions to one wasm module.
// Part of interp.cc (one translation unit): included there in layer order, after the layers it
// uses.
#pragma once

// ---------------------------------------------------------------------------------------------
// The JIT: compiles a set of functions into one module.  Each function becomes a wasm function
// (closure, arg...) -> value.  Scheme locals live in wasm locals; before any call that can
// collect, the values still needed are stored into the function's shadow-stack frame, so the
// collector sees them (it never moves objects, so nothing needs reloading).

struct JitModule {  // read by the host
  uint8_t *data;    // 0
  uint32_t size;    // 4
  uint32_t id;      // 8
  uint32_t nfuncs;  // 12
  Func **funcs;     // 16
};

static uint32_t nextModuleId = 1;

// eqv? is i64.eq unless both sides can be flonums (equal by value, not identity).
static bool inlineEqv(const Node *n) {
  for (const Node *k : n->kids)
    if (k->kind == N_CONST && !isFlo(k->value)) return true;
  return false;
}

// Primitives compiled inline (numbers take the fixnum path, other numbers a runtime call).
static bool inlinePrim(const Node *n) {
  int id = n->index;
  size_t argc = n->kids.size();
  if (argc == 2)
    return id == P_ADD || id == P_SUB || id == P_LT || id == P_GT || id == P_LE || id == P_GE ||
           id == P_NUM_EQ || id == P_EQ || (id == P_EQV && inlineEqv(n));
  if (argc == 1) return id == P_CAR || id == P_CDR || id == P_NULLP || id == P_PAIRP || id == P_NOT || id == P_ZEROP;
  return false;
}

// Primitives called through rt_arith.
static bool arithPrim(int id, size_t argc) {
  return argc == 2 && (id == P_MUL || id == P_QUOTIENT || id == P_REMAINDER || id == P_MODULO ||
                       id == P_MIN || id == P_MAX);
}

static bool fixnumConst(const Node *k) { return k->kind == N_CONST && isFix(k->value); }

// Arithmetic that can make a flonum (an allocation) unless both operands are fixnum constants.
static bool mayAllocateNumber(const Node *n) {
  if (n->kids.size() != 2) return false;
  if (n->index != P_ADD && n->index != P_SUB && !arithPrim(n->index, 2)) return false;
  return !fixnumConst(n->kids[0]) || !fixnumConst(n->kids[1]);
}

// Whether evaluating `n` can reach a collection while this function's frame is live.  A tail
// call cannot (the frame is gone when the callee runs), though its arguments may.  With
// `numbers`, arithmetic that may make a flonum counts too: its slow path collects, but pushes
// a frame of its own where the function has none (see spillForNumber).
static bool mayCollect(const Node *n, bool numbers) {
  switch (n->kind) {
    case N_CALL: if (!n->tail) return true; break;
    case N_LAMBDA: case N_MAKE_BOX: return true;
    case N_PRIM:
      if (!inlinePrim(n) && !arithPrim(n->index, n->kids.size())) return true;
      if (numbers && mayAllocateNumber(n)) return true;
      break;
    default: break;
  }
  for (auto *k : n->kids)
    if (mayCollect(k, numbers)) return true;
  return false;
}

// The compiler over the resolved AST; the sequences it emits are JitMacro's (jit_macro.h).
struct Jit : JitMacro {
  std::unordered_map<Func *, uint32_t> funcIndex;
  std::unordered_map<const Node *, bool> collects, allocates;

  bool producesFixnum(const Node *k) const {
    if (k->kind == N_CONST) return isFix(k->value);
    if (k->kind == N_LOCAL) return !k->checked && facts.fix[k->index];
    if (k->kind != N_PRIM) return false;
    // Fixnums in, a fixnum out (or an overflow error); a flonum operand makes a flonum.
    if (k->kids.size() == 1) return k->index == P_ABS && producesFixnum(k->kids[0]);
    return k->kids.size() == 2 && (k->index == P_ADD || k->index == P_SUB || arithPrim(k->index, 2)) &&
           producesFixnum(k->kids[0]) && producesFixnum(k->kids[1]);
  }

  bool collectsAt(const Node *n) {
    auto it = collects.find(n);
    if (it != collects.end()) return it->second;
    return collects[n] = mayCollect(n, false);
  }
  // Whether a value computed before `n` must be where the collector sees it while `n` runs.
  bool allocatesAt(const Node *n) {
    auto it = allocates.find(n);
    if (it != allocates.end()) return it->second;
    return allocates[n] = mayCollect(n, true);
  }

  // Evaluates nodes left to right; a value computed before a later operand that can collect
  // is kept as a pending temporary so the spill stores it.
  std::vector<Operand> operands(const std::vector<Node *> &nodes, size_t from = 0) {
    std::vector<Operand> ops;
    size_t pendingMark = pending.size();
    for (size_t i = from; i < nodes.size(); i++) {
      Node *k = nodes[i];
      if (k->kind == N_CONST) { ops.push_back({true, k->value, 0, false, -1, isFix(k->value)}); continue; }
      if (k->kind == N_LOCAL && !k->checked) {
        ops.push_back({false, 0, slotLocal[k->index], false, k->index, (bool)facts.fix[k->index]});
        continue;
      }
      bool fix = producesFixnum(k);
      expr(k);
      uint32_t t = takeTemp();
      a->local_set(t);
      ops.push_back({false, 0, t, true, -1, fix});
      bool laterCollects = false;
      for (size_t j = i + 1; j < nodes.size(); j++) laterCollects = laterCollects || allocatesAt(nodes[j]);
      if (laterCollects) pending.push_back(t);
    }
    pending.resize(pendingMark);
    return ops;
  }

  // Compiles an inline comparison to an i32: on fixnums inline, on other numbers (or
  // non-numbers, an error) through rt_compare, which never allocates.
  void compareOp(Node *n) {
    auto ops = operands(n->kids);
    bool slow = n->index != P_EQ && n->index != P_EQV && testNotFixnums(ops);
    if (slow) {
      a->if_(wasm::I32);
      // Two flonums compare inline; anything else (a mix, or not numbers) in the runtime.
      bool flonums = !ops[0].fix && !ops[1].fix;
      if (flonums) {
        testFlonums(ops);
        a->if_(wasm::I32);
        pushFlonum(ops[0]);
        pushFlonum(ops[1]);
        a->f64(n->index == P_LT ? wasm::F64Lt : n->index == P_GT ? wasm::F64Gt
               : n->index == P_LE ? wasm::F64Le : n->index == P_GE ? wasm::F64Ge : wasm::F64Eq);
        a->else_();
      }
      compareSlow(n, ops[0], &ops[1]);
      if (flonums) a->end();
      a->else_();
    }
    pushOperand(ops[0]);
    pushOperand(ops[1]);
    switch (n->index) {
      case P_LT: a->i64_lt_s(); break;
      case P_GT: a->i64_gt_s(); break;
      case P_LE: a->i64_le_s(); break;
      case P_GE: a->i64_ge_s(); break;
      default: a->i64_eq(); break;
    }
    if (slow) a->end();
    release(ops);
  }

  void compareSlow(const Node *n, const Operand &x, const Operand *y) {
    if (fastResume >= 0) { bail(); return; }
    a->i32_const((int32_t)(uintptr_t)n);
    pushOperand(x);
    if (y) pushOperand(*y); else a->i64_const(mkFix(0));
    callRuntime(RUNTIME(rt_compare), sigCompare);
  }

  bool isCompare(const Node *n) {
    return n->kind == N_PRIM && n->kids.size() == 2 &&
           (n->index == P_LT || n->index == P_GT || n->index == P_LE || n->index == P_GE ||
            n->index == P_NUM_EQ || n->index == P_EQ || (n->index == P_EQV && inlineEqv(n)));
  }

  // Compiles a test to an i32 truth value.
  void cond(Node *n) {
    enter(n);
    condCode(n);
    leave();
  }

  void condCode(Node *n) {
    if (isCompare(n)) { compareOp(n); return; }
    if (n->kind == N_PRIM && n->kids.size() == 1) {
      switch (n->index) {
        case P_NOT: cond(n->kids[0]); a->i32_eqz(); return;
        case P_NULLP: expr(n->kids[0]); a->i64_const(NIL_V); a->i64_eq(); return;
        case P_PAIRP: {
          expr(n->kids[0]);
          uint32_t t = takeTemp();
          a->local_set(t);
          testPair(t);
          releaseTemp(t);
          return;
        }
      }
    }
    expr(n);
    a->i64_const(FALSE_V);
    a->i64_ne();
  }

  // Before a runtime call that may make a flonum (and so collect): what the collector must see
  // goes into the frame, or, in a function without one, into a frame pushed for this call.
  void spillForNumber(const Node *site) {
    if (!hasFrame) {
      uint32_t words = fn->nlocals + 1;
      for (uint32_t t : pending) words = std::max(words, tempSlot[t] + 1);
      pushJitFrame(words, site);
    }
    spill();
  }
  void unspillForNumber() {
    if (hasFrame) return;
    a->i32_const((int32_t)(uintptr_t)&sp);
    a->local_get(fpLocal);
    a->i32_store();
  }

  // Leaves an i32: whether both operands are flonums (boxes).
  void testFlonums(const std::vector<Operand> &ops) {
    for (size_t i = 0; i < ops.size(); i++) {
      pushOperand(ops[i]);
      a->i32_wrap_i64();
      testHeapType(T_FLONUM);
      if (i) a->i32_and();
    }
  }
  void pushFlonum(const Operand &o) {
    pushOperand(o);
    a->i32_wrap_i64();
    a->f64_load(offsetof(Obj, slot) - 1);  // a pointer is the address + 1
  }

  // r = n's operation on operands that are not both fixnums: + - * of two flonums inline, a
  // new box from the free list (as cons takes a pair), anything else through rt_arith.
  void numberSlowPath(const Node *n, const std::vector<Operand> &ops, uint32_t r) {
    if (fastResume >= 0) { bail(); return; }
    bool inlined = (n->index == P_ADD || n->index == P_SUB || n->index == P_MUL) && !ops[0].fix &&
                   !ops[1].fix;
    if (inlined) {
      testFlonums(ops);
      a->if_();
      uint32_t d = a->addLocal(wasm::F64);
      pushFlonum(ops[0]);
      pushFlonum(ops[1]);
      a->f64(n->index == P_ADD ? wasm::F64Add : n->index == P_SUB ? wasm::F64Sub : wasm::F64Mul);
      a->local_set(d);
      boxFlonum(n, d, r);
      a->else_();
    }
    spillForNumber(n);
    a->i32_const((int32_t)(uintptr_t)n);
    pushOperand(ops[0]);
    pushOperand(ops[1]);
    callRuntime(RUNTIME(rt_arith), sigArith);
    a->local_set(r);
    unspillForNumber();
    if (inlined) a->end();
  }

  // Inline allocation of a `words`-word object from its free list while no collection is due
  // (mirrors allocate()).  The test: an i32, nonzero when one can be taken, with its address
  // in tmp32 and the allocation count taking it makes in `counted`.
  void testInlineAlloc(uint32_t words, uint32_t counted) {
    a->i32_const((int32_t)(uintptr_t)&allocSinceGC);
    a->i64_load();
    a->i64_const(words * 8);
    a->i64_add();
    a->local_tee(counted);
    a->i32_const((int32_t)(uintptr_t)&gcThreshold);
    a->i64_load();
    a->i64_le_u();
    a->i32_const((int32_t)(uintptr_t)&freeLists[words]);
    a->i32_load();
    a->local_tee(tmp32);
    a->i32_const(0);
    a->i32_ne();
    a->i32_and();
  }
  // Taking it: off the list, counted, its header written; the caller fills its fields and
  // pushes it with pushTakenObject.
  void takeInlineAlloc(uint32_t words, ObjType type, uint32_t counted) {
    a->i32_const((int32_t)(uintptr_t)&freeLists[words]);
    a->local_get(tmp32);
    a->i32_load(offsetof(Obj, slot));
    a->i32_store();
    a->i32_const((int32_t)(uintptr_t)&allocSinceGC);
    a->local_get(counted);
    a->i64_store();
    a->i32_const((int32_t)(uintptr_t)&heap.allocatedBytes);
    a->i32_const((int32_t)(uintptr_t)&heap.allocatedBytes);
    a->i64_load();
    a->i64_const(words * 8);
    a->i64_add();
    a->i64_store();
    a->local_get(tmp32);
    a->i64_const((int64_t)type | ((int64_t)words << 32));  // header: type, then size in words
    a->i64_store();
  }
  // The slow path of an inline allocation: the fast copy of a loop leaves; anywhere else
  // what the collector must see is spilled, and true: the runtime's allocator is called.
  bool spillForAllocator() {
    if (fastResume >= 0) { bail(); return false; }
    spill();
    return true;
  }
  void pushTakenObject() {  // the object takeInlineAlloc took, as a value (address + 1)
    a->local_get(tmp32);
    a->i64_extend_i32_u();
    a->i64_const(1);
    a->i64_or();
  }

  // r = a flonum box holding f64 local d: from the two-word free list while no collection is
  // due (mirrors allocate()), else from the runtime (which may collect).
  void boxFlonum(const Node *site, uint32_t d, uint32_t r) {
    uint32_t counted = takeTemp();
    testInlineAlloc(2, counted);
    a->if_();
    takeInlineAlloc(2, T_FLONUM, counted);
    a->local_get(tmp32);
    a->local_get(d);
    a->f64_store(offsetof(Obj, slot));
    pushTakenObject();
    a->local_set(r);
    a->else_();
    spillForNumber(site);
    a->local_get(d);
    callRuntime(RUNTIME(rt_box_flonum), sigBoxFlonum);
    a->local_set(r);
    unspillForNumber();
    a->end();
    releaseTemp(counted);
  }

  // A closure of n's lambda, its captures still to fill: from its size's free list while no
  // collection is due (as cons takes a pair), else from the runtime, which may collect.  The
  // captures are stored before anything else can run, so neither path leaves them stale.
  void makeClosure(const Node *n) {
    uint32_t words = 2 + n->captures.size();
    uint32_t counted = takeTemp();
    bool inlined = words <= MAX_SMALL_WORDS;
    if (inlined) {
      testInlineAlloc(words, counted);
      a->if_(wasm::I64);
      takeInlineAlloc(words, T_CLOSURE, counted);
      a->local_get(tmp32);
      a->i64_const((int64_t)(uintptr_t)n->fn);
      a->i64_store(offsetof(Obj, slot));
      pushTakenObject();
      a->else_();
    }
    if (spillForAllocator()) {
      a->i32_const((int32_t)(uintptr_t)n->fn);
      a->i32_const(n->captures.size());
      callRuntime(RUNTIME(rt_make_closure), sigMakeClosure);
    }
    if (inlined) a->end();
    releaseTemp(counted);
  }

  // r = a + b or a - b on fixnums (tagged: the sum of two is one), an overflow an error.
  void fixnumAddSub(const Node *n, const std::vector<Operand> &ops, uint32_t r) {
    bool add = n->index == P_ADD;
    pushOperand(ops[0]);
    pushOperand(ops[1]);
    if (add) a->i64_add(); else a->i64_sub();
    a->local_set(r);
    // Signed overflow.  With a constant c: adding c > 0 (or subtracting c < 0) overflowed
    // when the result went down, and the other way round.  Otherwise: add when both
    // operands differ in sign from the result, subtract when the operands differ in sign
    // and the result differs from the first.
    if (ops[1].isConst && !ops[0].isConst) {
      int64_t c = (int64_t)ops[1].c;
      if (c == 0) return;
      a->local_get(r);
      pushOperand(ops[0]);
      if ((c > 0) == add) a->i64_lt_s(); else a->i64_gt_s();
    } else {
      if (add) {
        pushOperand(ops[0]); a->local_get(r); a->i64_xor();
        pushOperand(ops[1]); a->local_get(r); a->i64_xor();
      } else {
        pushOperand(ops[0]); pushOperand(ops[1]); a->i64_xor();
        pushOperand(ops[0]); a->local_get(r); a->i64_xor();
      }
      a->i64_and();
      a->i64_const(0);
      a->i64_lt_s();
    }
    a->if_();
    failWith(n, JF_OVERFLOW, &ops[0], &ops[1]);
    a->end();
  }

  // r = (quotient a b), (remainder a b) or (modulo a b) on fixnums, b not 0.  On tagged
  // values the remainder comes out tagged (2a rem 2b is 2(a rem b)), the quotient untagged.
  void fixnumDivide(const Node *n, const std::vector<Operand> &ops, uint32_t r) {
    pushOperand(ops[0]);
    pushOperand(ops[1]);
    if (n->index == P_QUOTIENT) {
      a->i64_div_s();
      a->local_set(r);
      a->local_get(r);  // only the fixnum minimum over -1 leaves the fixnum range
      a->i64_const(FIX_MAX);
      a->i64_gt_s();
      a->if_();
      failWith(n, JF_OVERFLOW, &ops[0], &ops[1]);
      a->end();
      a->local_get(r);
      a->i64_const(1);
      a->i64_shl();
      a->local_set(r);
      return;
    }
    a->i64_rem_s();
    a->local_set(r);
    if (n->index != P_MODULO) return;
    // modulo takes the divisor's sign: a nonzero remainder of the other sign moves by b.
    a->local_get(r);
    a->i64_const(0);
    a->i64_ne();
    a->local_get(r);
    pushOperand(ops[1]);
    a->i64_xor();
    a->i64_const(0);
    a->i64_lt_s();
    a->i32_and();
    a->if_();
    a->local_get(r);
    pushOperand(ops[1]);
    a->i64_add();
    a->local_set(r);
    a->end();
  }

  void prim(Node *n) {
    size_t argc = n->kids.size();
    int id = n->index;
    if (isCompare(n) || (argc == 1 && (id == P_NOT || id == P_NULLP || id == P_PAIRP))) {
      cond(n);
      boolFromI32();
      return;
    }
    if (argc == 2 && (id == P_ADD || id == P_SUB)) {
      auto ops = operands(n->kids);
      uint32_t r = takeTemp();
      bool slow = testNotFixnums(ops);
      if (slow) {  // not two fixnums: flonums inline, the rest in the runtime
        a->if_();
        numberSlowPath(n, ops, r);
        a->else_();
      }
      fixnumAddSub(n, ops, r);
      if (slow) a->end();
      a->local_get(r);
      releaseTemp(r);
      release(ops);
      return;
    }
    if (argc == 1 && (id == P_CAR || id == P_CDR)) {
      const Node *k = n->kids[0];
      int slot = k->kind == N_LOCAL && !k->checked ? k->index : -1;
      expr(n->kids[0]);
      if (slot < 0 || !facts.pair[slot]) {
        uint32_t t = takeTemp();
        a->local_set(t);
        testPair(t);
        a->i32_eqz();
        a->if_();
        Operand o = inLocal(t);
        failWith(n, JF_PAIR, &o);
        a->end();
        a->local_get(t);
        releaseTemp(t);
        if (slot >= 0) facts.pair[slot] = true;
      }
      a->i32_wrap_i64();
      a->i64_load(id == P_CAR ? 7 : 15);
      return;
    }
    if (argc == 1 && id == P_ZEROP) {
      auto ops = operands(n->kids);
      bool slow = testNotFixnums(ops);
      if (slow) {
        a->if_(wasm::I32);
        compareSlow(n, ops[0], nullptr);
        a->else_();
      }
      pushOperand(ops[0]);
      a->i64_eqz();
      if (slow) a->end();
      boolFromI32();
      release(ops);
      return;
    }
    if (argc == 2 && id == P_MUL) {
      auto ops = operands(n->kids);
      uint32_t r = takeTemp();
      // Two fixnums under 2^31 in magnitude inline (their product fits a fixnum); the rest (a
      // larger product and its overflow check included) in the runtime.
      bool notFixnums = testNotFixnums(ops);
      for (size_t i = 0; i < 2; i++) {
        // |x| < 2^31: tagged (2x, even) from -2^32 + 2 to 2^32 - 2, shifted to start at 0
        pushOperand(ops[i]);
        a->i64_const((INT64_C(1) << 32) - 2);
        a->i64_add();
        a->i64_const((INT64_C(1) << 33) - 4);
        a->i64_le_u();
        if (i) a->i32_and();
      }
      a->i32_eqz();
      if (notFixnums) a->i32_or();
      a->if_();
      numberSlowPath(n, ops, r);
      a->else_();
      pushOperand(ops[0]);  // tagged a times untagged b: the tagged product
      pushOperand(ops[1]);
      a->i64_const(1);
      a->i64_shr_s();
      a->i64_mul();
      a->local_set(r);
      a->end();
      a->local_get(r);
      releaseTemp(r);
      release(ops);
      return;
    }
    if (argc == 2 && (id == P_QUOTIENT || id == P_REMAINDER || id == P_MODULO)) {
      auto ops = operands(n->kids);
      uint32_t r = takeTemp();
      // Two fixnums and a divisor other than 0 inline; the rest (a division by zero's error
      // included) in the runtime.
      bool notFixnums = testNotFixnums(ops);
      pushOperand(ops[1]);
      a->i64_eqz();
      if (notFixnums) a->i32_or();
      a->if_();
      numberSlowPath(n, ops, r);
      a->else_();
      fixnumDivide(n, ops, r);
      a->end();
      a->local_get(r);
      releaseTemp(r);
      release(ops);
      return;
    }
    if (arithPrim(id, argc)) {
      auto ops = operands(n->kids);
      uint32_t r = takeTemp();
      numberSlowPath(n, ops, r);
      a->local_get(r);
      releaseTemp(r);
      release(ops);
      return;
    }
    if (argc == 2 && id == P_CONS) {
      auto ops = operands(n->kids);
      // A pair from the free list inline; otherwise (and while it is empty) the runtime's.
      uint32_t counted = takeTemp();
      testInlineAlloc(3, counted);
      a->if_(wasm::I64);
      takeInlineAlloc(3, T_PAIR, counted);
      a->local_get(tmp32);
      pushOperand(ops[0]);
      a->i64_store(offsetof(Obj, slot));
      a->local_get(tmp32);
      pushOperand(ops[1]);
      a->i64_store(offsetof(Obj, slot) + 8);
      pushTakenObject();
      a->else_();
      if (spillForAllocator()) {
        pushOperand(ops[0]);
        pushOperand(ops[1]);
        callRuntime(RUNTIME(rt_cons), sigCons);
      }
      a->end();
      releaseTemp(counted);
      release(ops);
      return;
    }
    auto ops = operands(n->kids);
    spill();
    storeArgs(ops);
    a->i32_const((int32_t)(uintptr_t)n);
    a->local_get(tmp32);
    a->i32_const(argc);
    callRuntime(RUNTIME(rt_prim), sigPrim);
    release(ops);
  }

  Func *knownCallee(Node *n, bool &guarded) {
    size_t argc = n->kids.size() - 1;
    Node *op = n->kids[0];
    Func *f = nullptr;
    guarded = false;
    // A global: the lambda it holds now, or (before its define has run) the one it will hold.
    if (op->kind == N_GLOBAL && (op->cell->func || op->cell->defined)) {
      f = op->cell->func ? op->cell->func : op->cell->defined;
      guarded = true;
    }
    else if (n->calleeKnown) f = n->calleeKnown;
    if (!f || f->jitArity != argc || !funcIndex.count(f)) return nullptr;
    return f;
  }

  void genericCall(Node *n, const std::vector<Operand> &ops) {
    size_t argc = ops.size() - 1;
    if (argc > (size_t)MAX_JIT_ARGS) {
      if (n->tail) { tailCallSlow(n, ops); return; }
      storeArgs(ops);
      a->i32_const((int32_t)(uintptr_t)n);
      a->local_get(tmp32);
      a->i32_const(argc);
      callRuntime(RUNTIME(rt_apply_v), sigPrim);
      return;
    }
    static const RuntimeFn appliers[] = {RUNTIME(rt_apply0), RUNTIME(rt_apply1), RUNTIME(rt_apply2),
                                         RUNTIME(rt_apply3), RUNTIME(rt_apply4), RUNTIME(rt_apply5),
                                         RUNTIME(rt_apply6)};
    // Fast path: a closure with JIT code and the right arity is called (or tail-called)
    // straight through the table; anything else goes through rt_apply, which checks,
    // reports errors and runs the interpreter.
    pushOperand(ops[0]);
    a->i32_wrap_i64();
    testHeapType(T_CLOSURE);
    a->if_(wasm::I32);
    a->local_get(tmp32);
    a->i32_load(7);
    a->local_tee(tmp32);
    a->i32_load(offsetof(Func, jitArity));
    a->i32_const(argc);
    a->i32_eq();
    a->if_(wasm::I32);
    a->local_get(tmp32);
    a->i32_load(offsetof(Func, jitCode));
    a->else_();
    a->i32_const(0);
    a->end();
    a->else_();
    a->i32_const(0);
    a->end();
    a->local_tee(tmp32);
    a->if_(wasm::I64);
    for (auto &o : ops) pushOperand(o);
    a->local_get(tmp32);
    if (n->tail) { popFrame(); a->return_call_indirect(sigJit[argc]); }
    else { a->call_indirect(sigJit[argc]); finishTailCall(n); }
    a->else_();
    if (n->tail) {
      tailCallSlow(n, ops);
    } else {
      a->i32_const((int32_t)(uintptr_t)n);
      for (auto &o : ops) pushOperand(o);
      callRuntime(appliers[argc], sigApply[argc]);
    }
    a->end();
  }

  // A tail call the fast path does not take (apply, a rest parameter, a primitive, an
  // interpreted closure, a wrong argument count): rt_tail_prepare fits the arguments in
  // memory; when the callee has JIT code it is tail-called from there, else the result is
  // there.  Only the parameter counts the callee can have after packing are dispatched on.
  // (Closures the fast path misses that still reach here with JIT code have a rest
  // parameter, unless the callee came through apply.)
  const wasm::Assembler *slowOwner = nullptr;
  uint32_t slowLocal = 0;

  void tailCallSlow(Node *n, const std::vector<Operand> &ops) {
    using namespace wasm;
    if (fastResume >= 0) { bail(); return; }
    if (slowOwner != a) { slowLocal = a->addLocal(I32); slowOwner = a; }
    size_t argc = ops.size() - 1;
    bool isApply = namesApply(n);  // as rt_tail_prepare expects: see tailDispatchable
    uint32_t maxParams = isApply ? MAX_JIT_ARGS + 1 : argc + 1;
    storeArgs(ops);  // the base address in tmp32
    a->i32_const((int32_t)(uintptr_t)n);
    a->local_get(tmp32);
    a->i32_const(argc);
    callRuntime(RUNTIME(rt_tail_prepare), mb.type({I32, I32, I32}, {I32}));
    a->local_tee(slowLocal);
    a->i32_eqz();
    a->if_(I64);
    a->local_get(tmp32);
    a->i64_load(0);
    a->else_();
    // Without apply the fast path only misses a JIT callee with a rest parameter: 1 or more.
    for (uint32_t k = isApply ? 0 : 1; k <= (uint32_t)MAX_JIT_ARGS && k <= maxParams; k++) {
      a->local_get(slowLocal);
      a->i32_const(k + 1);
      a->i32_eq();
      a->if_();
      for (uint32_t i = 0; i <= k; i++) {
        a->local_get(tmp32);
        a->i64_load(8 * i);
      }
      slowCallee();
      a->return_call_indirect(sigJit[k]);
      a->end();
    }
    if (maxParams > (uint32_t)MAX_JIT_ARGS) {  // arguments stay in memory
      a->local_get(tmp32);
      a->i64_load(0);
      a->local_get(tmp32);
      a->i32_const(8);
      a->i32_add();
      slowCallee();
      a->return_call_indirect(sigJitArray);
    } else {
      a->unreachable();
    }
    a->end();
  }

  void directCall(Node *n, Func *f, const std::vector<Operand> &ops) {
    if (n->tail && f == fn) {
      // A tail call to itself: assign the parameters (all values first, so each argument
      // sees the old ones), enter (see fastLoop) and branch back to the loop around the body.
      for (size_t i = 1; i < ops.size(); i++) pushOperand(ops[i]);
      for (size_t i = ops.size() - 1; i >= 1; i--) a->local_set(slotLocal[i - 1]);
      bool sameClosure = !ops[0].isConst && ops[0].local == CLOSURE;
      if (f->hasFree && !sameClosure) { pushOperand(ops[0]); a->local_set(CLOSURE); }
      if (tailEnters) {
        if (fastResume >= 0) {  // (the fast copy runs only while no breakpoint is armed)
          countFastTurn();
        } else {
          breakOnEntry();
          countEntry();
        }
      }
      a->br(a->depth - 1 - loopDepth);
      return;
    }
    if (f->nparams > (uint32_t)MAX_JIT_ARGS) {
      // The callee loads its arguments from memory above this frame before anything can
      // overwrite them.
      storeArgs(std::vector<Operand>(ops.begin() + 1, ops.end()));
      pushOperand(ops[0]);
      a->local_get(tmp32);
    } else {
      for (auto &o : ops) pushOperand(o);
    }
    if (n->tail) { popFrame(); a->return_call(funcIndex[f]); }
    else { a->call(funcIndex[f]); finishTailCall(n); }
  }

  // fv = the closure a direct call to `known` through g passes: g's value if known reads it
  // (it has free variables), else 0, which saves the load.
  void knownClosure(Func *known, GlobalCell *g, uint32_t fv) {
    if (known->hasFree) {
      a->i32_const((int32_t)(uintptr_t)g);
      a->i64_load(0);
    } else {
      a->i64_const(0);
    }
    a->local_set(fv);
  }

  void pushHolds(GlobalCell *g, Func *f) {  // an i32: whether g holds a closure of f
    a->i32_const((int32_t)(uintptr_t)g);
    a->i32_load(8);
    a->i32_const((int32_t)(uintptr_t)f);
    a->i32_eq();
  }

  void call(Node *n) {
    bool guarded;
    Func *known = knownCallee(n, guarded);
    if (known && guarded) {
      // A global may be redefined: check it still holds a closure of the compiled lambda.
      GlobalCell *g = n->kids[0]->cell;
      std::vector<Node *> args(n->kids.begin() + 1, n->kids.end());
      auto ops = operands(args);
      bool checkedAtEntry = fastResume >= 0 && n->tail && known == fn &&
                            std::find(fastGlobals.begin(), fastGlobals.end(), g) != fastGlobals.end();
      if (!n->tail) spill();
      // The slow path always loads the real closure.
      uint32_t fv = takeTemp();
      ops.insert(ops.begin(), Operand{false, 0, fv, true, -1, false});
      if (checkedAtEntry) {  // (see fastLoop)
        knownClosure(known, g, fv);
        directCall(n, known, ops);
        release(ops);
        return;
      }
      pushHolds(g, known);
      a->if_(wasm::I64);
      knownClosure(known, g, fv);
      directCall(n, known, ops);
      a->else_();
      if (fastResume >= 0) {  // redefined
        bail();
        a->end();
        release(ops);
        return;
      }
      a->i32_const((int32_t)(uintptr_t)n);
      callRuntime(RUNTIME(rt_guard_failed), mb.type({wasm::I32}, {}));
      a->i32_const((int32_t)(uintptr_t)g);
      a->i64_load(0);
      a->local_tee(fv);
      checkAssigned(n->kids[0], JF_UNBOUND);
      a->drop();
      genericCall(n, ops);
      a->end();
      release(ops);
      return;
    }
    std::vector<Operand> ops;
    if (known == fn && n->kids[0]->kind == N_FREE_BOX) {  // (unguarded: known is calleeKnown)
      // A letrec-bound function calling itself: its variable holds the closure running now
      // (boxed, set once, right after that closure was made and before anything could call
      // it), so the closure is passed as it is, with no loads and no unassigned check.
      std::vector<Node *> args(n->kids.begin() + 1, n->kids.end());
      ops = operands(args);
      ops.insert(ops.begin(), inLocal(CLOSURE));
    } else {
      ops = operands(n->kids);
    }
    if (!n->tail) spill();
    if (known) directCall(n, known, ops);
    else genericCall(n, ops);
    release(ops);
  }

  // Code emitted for `n` (and not for one of its parts) is marked with n's span.
  void expr(Node *n) {
    enter(n);
    exprCode(n);
    leave();
  }

  void enter(const Node *n) {
    spans.push_back(n);
    markSpan(n->pos, n->end);
  }

  void leave() {
    spans.pop_back();
    if (!spans.empty()) markSpan(spans.back()->pos, spans.back()->end);
  }

  void markSpan(const Pos &from, const Pos &to) {  // see jitscope.srcmap in wasm_builder.h
    a->mark({0, from.line, from.col, to.line, to.col});
  }

  void exprCode(Node *n) {
    switch (n->kind) {
      case N_CONST: a->i64_const((int64_t)n->value); return;
      case N_LOCAL:
        a->local_get(slotLocal[n->index]);
        if (n->checked) checkAssigned(n, JF_UNASSIGNED);
        return;
      case N_LOCAL_BOX: a->local_get(slotLocal[n->index]); unbox(n); return;
      case N_FREE: loadFree(n->index); return;
      case N_FREE_BOX: loadFree(n->index); unbox(n); return;
      case N_GLOBAL:
        a->i32_const((int32_t)(uintptr_t)n->cell);
        a->i64_load(0);
        checkAssigned(n, JF_UNBOUND);
        return;
      case N_SET_LOCAL: {
        if (n->index < fn->nparams) fastUnsafe = true;  // a redone turn would see the new value
        bool fix = producesFixnum(n->kids[0]);
        expr(n->kids[0]);
        a->local_set(slotLocal[n->index]);
        facts.fix[n->index] = fix;
        facts.pair[n->index] = false;
        a->i64_const(UNSPEC_V);
        return;
      }
      case N_SET_LOCAL_BOX: case N_SET_FREE_BOX:
        fastUnsafe = true;
        if (n->kind == N_SET_LOCAL_BOX) a->local_get(slotLocal[n->index]);
        else loadFree(n->index);
        a->i32_wrap_i64();
        expr(n->kids[0]);
        a->i64_store(7);
        a->i64_const(UNSPEC_V);
        return;
      case N_SET_GLOBAL: case N_DEFINE:
        a->i32_const((int32_t)(uintptr_t)n->cell);
        expr(n->kids[0]);
        a->i32_const((int32_t)(uintptr_t)n);
        callRuntime(RUNTIME(rt_set_global), sigSetGlobal);
        a->i64_const(UNSPEC_V);
        return;
      case N_MAKE_BOX:
        spill();
        a->i64_const(UNASSIGNED_V);
        callRuntime(RUNTIME(rt_make_box), sigMakeBox);
        a->local_set(slotLocal[n->index]);
        a->i64_const(UNSPEC_V);
        return;
      case N_IF: {
        cond(n->kids[0]);
        Facts before = facts;
        a->if_(wasm::I64);
        learnFromTest(n->kids[0], true);
        expr(n->kids[1]);
        facts = before;
        a->else_();
        learnFromTest(n->kids[0], false);
        expr(n->kids[2]);
        facts = before;
        a->end();
        return;
      }
      case N_SEQ:
        for (size_t i = 0; i < n->kids.size(); i++) {
          expr(n->kids[i]);
          if (i + 1 < n->kids.size()) a->drop();
        }
        return;
      case N_AND: andFrom(n, 0); return;
      case N_OR: orFrom(n, 0); return;
      case N_LAMBDA: {
        makeClosure(n);
        if (n->captures.empty()) return;
        uint32_t t = takeTemp();
        a->local_set(t);
        for (size_t i = 0; i < n->captures.size(); i++) {
          a->local_get(t);
          a->i32_wrap_i64();
          const Capture &c = n->captures[i];
          if (c.fromFree) loadFree(c.index);
          else a->local_get(slotLocal[c.index]);
          a->i64_store(15 + 8 * i);
        }
        a->local_get(t);
        releaseTemp(t);
        return;
      }
      case N_PRIM: prim(n); return;
      case N_CALL: call(n); return;
    }
  }

  // Where `test` came out `truth`: (pair? x) of a local makes it a known pair.
  void learnFromTest(const Node *test, bool truth) {
    if (test->kind != N_PRIM || test->kids.size() != 1) return;
    const Node *k = test->kids[0];
    if (test->index == P_NOT) learnFromTest(k, !truth);
    else if (test->index == P_PAIRP && truth && k->kind == N_LOCAL && !k->checked) facts.pair[k->index] = true;
  }

  void andFrom(Node *n, size_t i) {
    if (i + 1 == n->kids.size()) { expr(n->kids[i]); return; }
    cond(n->kids[i]);
    Facts before = facts;
    a->if_(wasm::I64);
    learnFromTest(n->kids[i], true);
    andFrom(n, i + 1);
    facts = before;
    a->else_();
    a->i64_const(FALSE_V);
    a->end();
  }

  void orFrom(Node *n, size_t i) {
    if (i + 1 == n->kids.size()) { expr(n->kids[i]); return; }
    expr(n->kids[i]);
    uint32_t t = takeTemp();
    a->local_tee(t);
    a->i64_const(FALSE_V);
    a->i64_ne();
    Facts before = facts;
    a->if_(wasm::I64);
    a->local_get(t);
    a->else_();
    releaseTemp(t);
    orFrom(n, i + 1);
    facts = before;
    a->end();
  }

  // Whether `n` holds a tail call that directCall() turns into a branch to the body's loop.
  bool selfTailCalls(Node *n) {
    if (n->kind == N_CALL && n->tail) {
      bool guarded;
      if (knownCallee(n, guarded) == fn) return true;
    }
    if (n->kind == N_LAMBDA) return false;  // another function's body
    for (Node *k : n->kids)
      if (selfTailCalls(k)) return true;
    return false;
  }
  // The globals n's self tail calls go through (the guard of each checks it still holds fn).
  void selfTailGlobals(Node *n, std::vector<GlobalCell *> &cells) {
    if (n->kind == N_CALL && n->tail) {
      bool guarded;
      if (knownCallee(n, guarded) == fn && guarded &&
          std::find(cells.begin(), cells.end(), n->kids[0]->cell) == cells.end())
        cells.push_back(n->kids[0]->cell);
    }
    if (n->kind == N_LAMBDA) return;
    for (Node *k : n->kids) selfTailGlobals(k, cells);
  }

  bool tailEnters = false;  // self tail calls enter (break, count) before branching back

  void pushBreakArmed() {  // an i32: nonzero while an entry breakpoint is armed
    a->i32_const((int32_t)(uintptr_t)&breakArmed);
    a->i32_load();
  }
  // While an entry breakpoint is armed, ask before counting (a first entry has 0 calls).
  void breakOnEntry() {
    pushBreakArmed();
    a->if_();
    a->i32_const((int32_t)(uintptr_t)fn);
    callRuntime(RUNTIME(rt_break_entry), mb.type({wasm::I32}, {}));
    a->end();
  }
  void countEntry() {
    a->i32_const((int32_t)(uintptr_t)fn);
    a->i32_const((int32_t)(uintptr_t)fn);
    a->i64_load(offsetof(Func, jitCalls));
    a->i64_const(1);
    a->i64_add();
    a->i64_store(offsetof(Func, jitCalls));
  }
  // The fast copy counts in a local and stores it at each turn (nothing else runs to change
  // the count meanwhile): memory stays exact for an interrupt, and no turn waits on the last
  // one's store to load it back.
  void countFastTurn() {
    a->i32_const((int32_t)(uintptr_t)fn);
    a->local_get(fastTurns);
    a->i64_const(1);
    a->i64_add();
    a->local_tee(fastTurns);
    a->i64_store(offsetof(Func, jitCalls));
  }

  // A loop's body twice: a fast copy for fixnums and no calls, then the full body.  Any slow
  // path of the fast copy (another type, an overflow, an empty free list, an error, a
  // redefinition, an armed breakpoint) leaves it, and the full body redoes that turn from
  // the same parameters (nothing the fast copy did before is seen: it writes no variable and
  // no object but the ones it allocates) and runs the rest of the loop.  Code that makes no
  // call cannot arm a breakpoint or redefine a global, so the fast copy checks both once, at
  // its entry, rather than at each turn.  With no call in it, Cranelift keeps the loop's
  // variables in registers; a call on any path inside a loop makes it spill them around
  // every turn.  Entering (the breakpoint check and the count)
  // moves from the loop's head to the function's entry and each self tail call.  False, with
  // nothing emitted, when the body cannot have a fast copy.
  bool fastLoop(Func *f) {
    using namespace wasm;
    if (loopVariables().size() > MAX_RESUME_VALUES) return false;
    size_t codeMark = a->code.size(), marksMark = a->marks.size(), localsMark = a->locals.size();
    uint32_t callsMark = a->calls, depthMark = a->depth, slotsMark = frameSlots;
    auto tempsMark = freeTemps;
    auto slotOfTemp = tempSlot;
    Facts factsMark = facts;
    tailEnters = true;
    a->block(I64);
    uint32_t done = a->depth - 1;
    a->block();
    uint32_t resume = a->depth - 1;  // reached with the loop's variables in resumeValues
    a->block();
    fastResume = a->depth - 1;  // reached with them in their locals
    a->block();
    uint32_t enterArmed = a->depth - 1;
    // An armed entry breakpoint, or a global of a self tail call that no longer holds this
    // function, takes the full body from the start; else count, and loop.
    pushBreakArmed();
    fastGlobals.clear();
    selfTailGlobals(f->body, fastGlobals);
    for (GlobalCell *g : fastGlobals) {
      pushHolds(g, fn);
      a->i32_eqz();
      a->i32_or();
    }
    a->if_();
    storeLoopVariables();
    a->br(a->depth - 1 - enterArmed);
    a->end();
    fastTurns = a->addLocal(I64);
    a->i32_const((int32_t)(uintptr_t)fn);
    a->i64_load(offsetof(Func, jitCalls));
    a->local_set(fastTurns);
    countFastTurn();
    fastUnsafe = false;
    uint32_t fastCalls = a->calls;
    a->loop();
    loopDepth = a->depth - 1;
    expr(f->body);
    a->br(a->depth - 1 - done);
    a->end();
    fastResume = -1;
    if (a->calls != fastCalls || fastUnsafe) {
      a->code.b.resize(codeMark);
      a->marks.resize(marksMark);
      a->locals.resize(localsMark);
      a->calls = callsMark;
      a->depth = depthMark;
      frameSlots = slotsMark;
      freeTemps = tempsMark;
      tempSlot = slotOfTemp;
      facts = factsMark;
      tailEnters = false;
      return false;
    }
    a->end();
    // Entered with the breakpoint armed (or a global redefined): stop (the variables out of
    // resumeValues, which code run at the stop may use), count, and on as from a fast turn
    // that bailed.
    loadLoopVariables();
    breakOnEntry();
    countEntry();
    storeLoopVariables();
    a->br(a->depth - 1 - resume);
    a->end();
    storeLoopVariables();  // a turn the fast copy left
    a->end();
    loadLoopVariables();
    facts = factsMark;
    a->loop(I64);
    loopDepth = a->depth - 1;
    expr(f->body);
    a->end();
    a->end();
    return true;
  }

  void compileFunction(Func *f) {
    wasm::Function &wf = mb.funcs[funcIndex[f]];
    fn = f;
    a = &wf.body;
    wf.src = f->src;
    spans.clear();
    slotLocal.clear();
    freeTemps.clear();
    pending.clear();
    tempSlot.clear();
    bool argsInMemory = f->nparams > (uint32_t)MAX_JIT_ARGS;
    wf.localNames.push_back("closure");
    if (argsInMemory) wf.localNames.push_back("argv");
    for (uint32_t i = 0; i < f->nlocals; i++) {
      slotLocal.push_back(i < f->nparams && !argsInMemory ? i + 1 : a->addLocal(wasm::I64));
      wf.localNames.push_back(i < f->slotNames.size() ? f->slotNames[i] : "");
    }
    fpLocal = a->addLocal(wasm::I32);
    tmp32 = a->addLocal(wasm::I32);
    wf.localNames.push_back("fp");
    wf.localNames.push_back("tmp");
    hasFrame = collectsAt(f->body);
    frameSlots = f->nlocals + 1;
    facts = {std::vector<bool>(f->nlocals, false), std::vector<bool>(f->nlocals, false)};

    // With self tail calls the body runs in a loop they branch back to; each turn counts as
    // a call entered through JIT code.  Without, no loop: wasmtime checks the epoch at every
    // loop header, which would cost each call a second check.
    bool loops = selfTailCalls(f->body);
    Pos fnStart{f->line, f->col, f->src}, fnEnd{f->endLine, f->endCol, f->src};
    markSpan(fnStart, fnEnd);
    tailEnters = false;
    if (!loops || !fastLoop(f)) {
      if (loops) {
        a->loop(wasm::I64);
        loopDepth = a->depth - 1;
      }
      breakOnEntry();
      countEntry();
      expr(f->body);
      if (loops) a->end();
    }
    wasm::Bytes body = std::move(a->code);
    std::vector<wasm::SourceMark> bodyMarks = std::move(a->marks);
    a->code = wasm::Bytes();
    a->marks.clear();
    markSpan(fnStart, fnEnd);  // the prologue and epilogue belong to the whole lambda

    // Prologue, now that the frame size is known: take arguments passed in memory, push the
    // frame, count the call.
    if (argsInMemory) {
      for (uint32_t i = 0; i < f->nparams; i++) {
        a->local_get(1);
        a->i64_load(8 * i);
        a->local_set(slotLocal[i]);
      }
    }
    if (hasFrame) pushJitFrame(frameSlots, f->body);
    uint32_t shift = a->code.size();
    for (wasm::SourceMark m : bodyMarks) {
      m.offset += shift;
      if (!a->marks.empty() && a->marks.back().offset == m.offset) a->marks.pop_back();
      if (a->marks.empty() || !a->marks.back().sameSpan(m)) a->marks.push_back(m);
    }
    a->code.append(body);
    markSpan(fnStart, fnEnd);
    wf.localNames.resize(a->nparams + a->locals.size());  // temporaries stay unnamed
    if (hasFrame) {
      uint32_t r = a->addLocal(wasm::I64);
      wf.localNames.push_back("result");
      a->local_set(r);
      popFrame();
      a->local_get(r);
    }
  }
};

// Custom section "jitscope.patches", version 1: every relocation the patch will apply.
//   u8 version = 1
//   uleb count
//   count times: uleb address  (the linear-memory address of a Func's jitCode slot)
//                uleb function (index of the function in this module)
//                uleb element  (offset of its table slot from the table base)
//                uleb length, bytes: the Scheme name
static wasm::Bytes patchSection(const std::vector<Func *> &fs, const std::vector<uint32_t> &indices,
                                const std::vector<std::string> &names) {
  wasm::Bytes s;
  s.u8(1);
  s.uleb(fs.size());
  for (size_t i = 0; i < fs.size(); i++) {
    s.uleb((uint32_t)(uintptr_t)&fs[i]->jitCode);
    s.uleb(indices[i]);
    s.uleb(i);
    s.name(names[i]);
  }
  return s;
}

static const char *uncompilableReason(Func *f) {
  if (f->flags & F_TOPLEVEL) return "top-level forms are not compiled";
  return nullptr;
}

// Builds a module for `list`.  With `selfPatching` (the seed's interface) the patch runs as
// the start function; otherwise it is exported in steps: grow_table, fill_table, apply_reloc.
static JitModule *buildModule(const std::vector<Func *> &list, bool selfPatching) {
  if (list.empty()) return nullptr;
  Jit jit;
  std::unordered_set<std::string> used = {"patch", "grow_table", "use_slots", "fill_table", "apply_reloc"};
  std::vector<std::string> names;
  std::vector<uint32_t> indices;
  for (Func *f : list) {
    f->flags |= F_COMPILED;  // its address goes into the code: never freed
    names.push_back(uniqueName(f->name, used));
    uint32_t idx = jit.mb.addFunction(jit.signature(f), names.back());
    jit.funcIndex[f] = idx;
    indices.push_back(idx);
  }
  jit.trampolineBase = jit.mb.funcs.size();
  for (Func *f : list) jit.compileFunction(f);
  jit.addTrampolines(used);

  using namespace wasm;
  ModuleBuilder &mb = jit.mb;
  uint32_t n = list.size();
  mb.globals.push_back({I32, true, 0, "table_base"});
  mb.passiveElems = indices;

  uint32_t grow = mb.addFunction(mb.type({}, {I32}), "grow_table");
  Assembler &g = mb.funcs[grow].body;
  g.ref_null_func();
  g.i32_const(n);
  g.table_grow();
  uint32_t r = g.addLocal(I32);
  g.local_tee(r);
  g.i32_const(-1);
  g.i32_eq();
  g.if_();
  g.unreachable();  // the table cannot grow
  g.end();
  g.local_get(r);
  g.global_set(0);
  g.local_get(r);

  // Instead of grow_table: fill dead slots from `base` on (the host found n in a row).
  uint32_t reuse = mb.addFunction(mb.type({I32}, {}), "use_slots");
  Assembler &us = mb.funcs[reuse].body;
  mb.funcs[reuse].localNames = {"base"};
  us.local_get(0);
  us.global_set(0);

  uint32_t fill = mb.addFunction(mb.type({}, {}), "fill_table");
  Assembler &fl = mb.funcs[fill].body;
  fl.global_get(0);
  fl.i32_const(0);
  fl.i32_const(n);
  fl.table_init(0);

  uint32_t reloc = mb.addFunction(mb.type({I32}, {}), "apply_reloc");
  Assembler &rl = mb.funcs[reloc].body;
  mb.funcs[reloc].localNames = {"k"};
  rl.block();
  for (uint32_t i = 0; i < n; i++) rl.block();
  rl.local_get(0);
  std::vector<uint32_t> targets;
  for (uint32_t i = 0; i < n; i++) targets.push_back(i);
  rl.br_table(targets, n);
  for (uint32_t i = 0; i < n; i++) {
    rl.end();
    rl.i32_const((int32_t)(uintptr_t)&list[i]->jitCode);
    rl.global_get(0);
    rl.i32_const(i);
    rl.i32_add();
    rl.i32_store();
    rl.return_();
  }
  rl.end();
  rl.unreachable();  // no such relocation

  uint32_t patch = mb.addFunction(mb.type({}, {}), "patch");
  Assembler &p = mb.funcs[patch].body;
  p.call(grow);
  p.drop();
  p.call(fill);
  for (uint32_t i = 0; i < n; i++) { p.i32_const(i); p.call(reloc); }

  if (selfPatching) mb.start = patch;
  mb.exports.push_back({"patch", 0, patch});
  mb.exports.push_back({"grow_table", 0, grow});
  mb.exports.push_back({"use_slots", 0, reuse});
  mb.exports.push_back({"fill_table", 0, fill});
  mb.exports.push_back({"apply_reloc", 0, reloc});
  mb.exports.push_back({"table_base", 3, 0});
  for (size_t i = 0; i < list.size(); i++) mb.exports.push_back({names[i], 0, indices[i]});
  mb.customs.push_back({"jitscope.patches", patchSection(list, indices, names)});
  mb.moduleName = "jit-module-" + std::to_string(nextModuleId);  // m->id, below

  Bytes out = mb.finish();
  JitModule *m = new JitModule();
  m->size = out.size();
  m->data = (uint8_t *)malloc(out.size());
  memcpy(m->data, out.b.data(), out.size());
  m->id = nextModuleId++;
  m->nfuncs = n;
  m->funcs = (Func **)malloc(sizeof(Func *) * n);
  for (uint32_t i = 0; i < n; i++) {
    m->funcs[i] = list[i];
    list[i]->flags = (list[i]->flags | F_PENDING) & ~F_UNLINKED;
    list[i]->moduleId = m->id;
  }
  return m;
}
