// The interpreter.
// Part of interp.cc (one translation unit): included there in layer order, after the layers it
// uses.
#pragma once

// ---------------------------------------------------------------------------------------------
// The interpreter.  A frame is the closure (at fp[-1]) followed by the function's slots;
// eval() leaves sp where a call set it and the caller of a function resets it.

static uint32_t tierUpHook = 0;       // table index of `void hook(Func*)`, set by the host
static uint64_t tierUpThreshold = 0;  // interpreted calls that trigger the hook

typedef Value (*Jit0)(Value);
typedef Value (*Jit1)(Value, Value);
typedef Value (*Jit2)(Value, Value, Value);
typedef Value (*Jit3)(Value, Value, Value, Value);
typedef Value (*Jit4)(Value, Value, Value, Value, Value);
typedef Value (*Jit5)(Value, Value, Value, Value, Value, Value);
typedef Value (*Jit6)(Value, Value, Value, Value, Value, Value, Value);
typedef Value (*JitArray)(Value, Value *);  // more than MAX_JIT_ARGS: arguments in memory
static const int MAX_JIT_ARGS = 6;

// The Scheme frames the interpreter is running, outermost first, for the host's call stack:
// where each frame's values start (its closure at fp[-1]), the call it is making, and how
// many JIT activations had been entered from C when it was pushed.  The host merges them with
// wasm's own frames, in which each run of JIT frames is one such activation.
struct Frame { Value *fp; const Node *at; uint32_t jitNest; };
static const uint32_t MAX_FRAMES = 1 << 14;
static Frame frames[MAX_FRAMES];
static uint32_t frameDepth;  // may pass MAX_FRAMES: the frames beyond are not recorded
static uint32_t jitNest;     // JIT activations entered from C, not yet returned

static inline void pushFrame(Value *fp) {
  if (frameDepth < MAX_FRAMES) frames[frameDepth] = {fp, nullptr, jitNest};
  frameDepth++;
}

// The innermost frame is making the call at `site`, unless JIT code makes it.
static inline void noteCallSite(const Node *site) {
  uint32_t top = frameDepth - 1;
  if (top < MAX_FRAMES && frames[top].jitNest == jitNest) frames[top].at = site;
}

// Entry breakpoints: while any is armed (breakArmed, which JIT code reads at its fixed
// address too), each entry asks whether to stop, and the host's hook (a table index) stops.
enum BreakArm : uint32_t { BREAK_FLAGGED = 1, BREAK_ANY_ENTRY = 2 };
uint32_t breakArmed;
static uint32_t breakHook;

__attribute__((noinline)) static void entryBreak(Func *fn, uint32_t jit) {
  bool stop = (breakArmed & BREAK_ANY_ENTRY) || (fn->flags & F_BREAK_ENTER) ||
              (jit && (fn->flags & F_BREAK_JIT_ENTRY) && fn->jitCalls == 0);
  if (stop && breakHook) ((void (*)(Func *, uint32_t))(uintptr_t)breakHook)(fn, jit);
}

static Value callJitCode(Func *fn, Value f, Value *a);

static Value callJit(Func *fn, Value f, Value *a) {
  jitNest++;
  Value r = callJitCode(fn, f, a);
  jitNest--;
  return r;
}

static Value callJitCode(Func *fn, Value f, Value *a) {
  uintptr_t code = fn->jitCode;
  switch (fn->nparams) {
    case 0: return ((Jit0)code)(f);
    case 1: return ((Jit1)code)(f, a[0]);
    case 2: return ((Jit2)code)(f, a[0], a[1]);
    case 3: return ((Jit3)code)(f, a[0], a[1], a[2]);
    case 4: return ((Jit4)code)(f, a[0], a[1], a[2], a[3]);
    case 5: return ((Jit5)code)(f, a[0], a[1], a[2], a[3], a[4]);
    case 6: return ((Jit6)code)(f, a[0], a[1], a[2], a[3], a[4], a[5]);
    default: return ((JitArray)code)(f, a);
  }
}


// Functions the interpreter entered since the host's last dbg_read, with their counters
// at that first entry: the host reads these (and the few with JIT code) after an evaluation
// instead of every function record, so its cost follows the work, not the session's history.
struct Touched { uint32_t count; const uint32_t *ids; };
static uint32_t touchEpoch = 1;
static std::vector<uint32_t> touchedIds;
static Touched touched;  // kept in step with touchedIds, for the host

static void touchBegin() {
  touchEpoch++;
  touchedIds.clear();
  touched = {0, touchedIds.data()};
}

static inline InterpReason interpReason(const Func *fn) {
  if (fn->flags & F_PENDING) return R_PENDING;
  if (fn->flags & F_NO_TIERUP) return R_TIERUP_FAILED;
  return fn->flags & F_UNLINKED ? R_UNLINKED : R_NOT_COMPILED;
}

// A call of fn that has no JIT code: after `tierUpThreshold` interpreted calls the tier-up
// hook may link it, and then this call runs JIT code (counted there, not here).
static inline void enterInterpreted(Func *fn, const Node *site) {
  if (fn->touchedEpoch != touchEpoch) {
    fn->touchedEpoch = touchEpoch;
    fn->touchInterp = fn->interpCalls;
    fn->touchJit = fn->jitCalls;
    touchedIds.push_back(fn->id);
    touched = {(uint32_t)touchedIds.size(), touchedIds.data()};
  }
  if (tierUpHook && fn->interpCalls >= tierUpThreshold && !(fn->flags & (F_PENDING | F_TOPLEVEL | F_NO_TIERUP)))
    ((void (*)(Func *))(uintptr_t)tierUpHook)(fn);
  if (fn->jitCode) return;  // its JIT code asks about entry breakpoints
  if (breakArmed) entryBreak(fn, 0);
  fn->interpCalls++;
  fn->interpWhy[interpReason(fn)]++;
  (void)site;
}

[[noreturn]] static void arityError(const Node *site, Func *fn, int nargs) {
  if (fn->rest) {
    uint32_t req = fn->nparams - 1;
    fail(E_ARITY, site, "%s: expects at least %u argument%s, got %d", fn->name, req, req == 1 ? "" : "s", nargs);
  }
  fail(E_ARITY, site, "%s: expects %u argument%s, got %d", fn->name, fn->nparams, fn->nparams == 1 ? "" : "s", nargs);
}

// Fits the arguments at base[1..nargs] to fn's parameters: checks their number and, for a
// rest parameter, packs the arguments beyond the required ones into a list in its slot.
// Needs sp at base + nargs + 1 (so the arguments are roots); leaves it at base + nparams + 1.
__attribute__((noinline)) static void fitArgs(Value *base, int nargs, Func *fn, const Node *site) {
  if (!fn->rest) {
    if ((uint32_t)nargs != fn->nparams) arityError(site, fn, nargs);
    return;
  }
  int req = fn->nparams - 1;
  if (nargs < req) arityError(site, fn, nargs);
  Value rest;
  {
    Root list(NIL_V);
    for (int i = nargs; i > req; i--) *list.at = cons(base[i], *list.at);
    rest = list.get();
  }
  base[req + 1] = rest;
  sp = base + req + 2;
}

// (apply f a ... list) at base[0..nargs], base[0] being apply itself: rewrites it in place to
// (f a ... element ...) and returns the new argument count; sp ends above it.
__attribute__((noinline)) static int spreadApply(Value *base, int nargs, const Node *site) {
  if (nargs < 2) fail(E_ARITY, site, "apply: expects at least 2 arguments, got %d", nargs);
  Value list = base[nargs];
  memmove(base, base + 1, (nargs - 1) * sizeof(Value));
  Value *p = base + nargs - 1;
  Value l = list;
  for (; isPair(l); l = cdr(l)) {
    if (p + 64 > stackLimit) stackExhausted(site);
    *p++ = car(l);
  }
  if (l != NIL_V) typeError(site, "apply", "a list", list);
  sp = p;
  return p - base - 1;
}

static Value eval(Node *n, Value *fp);

static Value evalPrim(Node *n, Value *fp);

// Leaves (constants, plain locals, bound globals) are most operands: read them without a
// call; go straight to primitives without eval's dispatch.
static inline Value evalFast(Node *n, Value *fp) {
  switch (n->kind) {
    case N_LOCAL: if (!n->checked) return fp[n->index]; break;
    case N_CONST: return n->value;
    case N_GLOBAL: if (n->cell->value != UNASSIGNED_V) return n->cell->value; break;
    case N_PRIM: return evalPrim(n, fp);
    default: break;
  }
  return eval(n, fp);
}

// A tail call from JIT code to an interpreted function, left for the JIT code's caller
// (rt_tail_prepare): the closure, and its arguments (already fitted) in dead stack above the
// caller's frame.  Taken over before anything can allocate or push.
static Value pendingFn;
static Value *pendingArgs;
static uint32_t pendingArgc;

// Runs closure base[0] (of fn) on base[1..nparams], arguments that already fit; from JIT code
// the result may be TAIL_V.
static inline Value enterRaw(Value *base, Func *fn, const Node *site) {
  noteCallSite(site);
  checkCStack(site);
  if (!fn->jitCode) {
    enterInterpreted(fn, site);
    if (!fn->jitCode) {
      Value *fp = base + 1;
      if (fp + fn->nlocals + 64 > stackLimit) stackExhausted(site);
      sp = fp + fn->nlocals;
      pushFrame(fp);
      Value r = eval(fn->body, fp);
      frameDepth--;
      return r;
    }
  }
  return callJit(fn, base[0], base + 1);
}

// Moves the pending tail call to base[0..argc] (which may overlap it); returns its function.
static Func *takePending(Value *base) {
  memmove(base + 1, pendingArgs, pendingArgc * sizeof(Value));
  base[0] = pendingFn;
  sp = base + pendingArgc + 1;
  return closureFunc(pendingFn);
}

// Runs pending tail calls until a value comes back: in a loop, so a chain of tail calls
// between JIT code and the interpreter runs in constant stack.
static Value finishTail(Value r, const Node *site) {
  while (r == TAIL_V) {
    Value *base = sp;
    if (base + pendingArgc + 1 > stackLimit) stackExhausted(site);
    Func *fn = takePending(base);
    r = enterRaw(base, fn, site);
    sp = base;
  }
  return r;
}

static inline Value enterClosure(Value *base, Func *fn, const Node *site) {
  return finishTail(enterRaw(base, fn, site), site);
}

// Error objects: records of a record type made once (message, irritants).
static Value errorObjectType() {
  static Value type = FALSE_V;
  if (type == FALSE_V) {
    Root fields(cons(intern("message"), cons(intern("irritants"), NIL_V)));
    Root name(intern("error-object"));
    type = makeVector(2, UNSPEC_V);
    vectorItems(type)[0] = name.get();
    vectorItems(type)[1] = fields.get();
    permanentRoots.push_back(type);
  }
  return type;
}

static bool isErrorObject(Value v) { return isType(v, T_RECORD) && obj(v)->slot[0] == errorObjectType(); }

static Value makeErrorObject(Value message, Value irritants) {
  Root m(message), i(irritants);
  Value type = errorObjectType();
  Obj *o = allocate(T_RECORD, 4);
  o->slot[0] = type;
  o->slot[1] = m.get();
  o->slot[2] = i.get();
  return tagged(o);
}

// raise: the innermost handler is called with the object, in the dynamic environment of the
// raise but with the outer handlers installed.  If it returns, raise-continuable returns what
// it returned; raise makes that an error (raised to the outer handlers in turn).
static Value raiseTo(const Node *site, Value thrown, bool continuable) {
  if (handlerStack == NIL_V) {
    if (isErrorObject(thrown)) {  // the message as display shows it, irritants as write does
      std::string text;
      printValue(text, obj(thrown)->slot[1], true);
      for (Value l = obj(thrown)->slot[2]; isPair(l); l = cdr(l)) {
        text += ' ';
        printValue(text, car(l), false);
        if (text.size() > 800) { text.resize(800); text += "..."; break; }
      }
      fail(E_USER, site, "%s", text.c_str());
    }
    fail(E_USER, site, "uncaught exception: %s", repr(thrown).c_str());
  }
  Root saved(handlerStack);
  Root o(thrown);
  Value *base = sp;
  base[0] = car(handlerStack);
  base[1] = thrown;
  sp = base + 2;
  handlerStack = cdr(handlerStack);
  Value r = apply(base, 1, site);
  sp = base;
  if (!continuable)  // the secondary error goes to the outer handlers, as the handler ran
    fail(E_USER, site, "the exception handler returned from raise (raise-continuable may return): %s",
         repr(o.get()).c_str());
  handlerStack = saved.get();
  return r;
}

// An error the module raised (a type error, a range error ...) while there are handlers: an
// error object with its message, raised to them.  raise() fails as before if this returns.
static Node handlerSite;
static void raiseErrorToHandler(ErrorKind) {
  Value message = makeString(errorText, strlen(errorText));
  Value error = makeErrorObject(message, NIL_V);
  raiseTo(&handlerSite, error, false);
}
static const bool handlerHookSet = (raiseToHandler = &raiseErrorToHandler, true);

// call/cc, for escapes: setjmp here, and calling the continuation longjmps back (wasm
// exception handling unwinds the interpreted and JIT frames in between); restoring the shadow
// stack and frame counts finishes the escape.  Once call/cc returns the continuation is dead:
// calling it then is an error, since re-entry would need the unwound frames.
static Value callcc(const Node *site, Value f) {
  if (!isProcedure(f)) typeError(site, "call-with-current-continuation", "a procedure", f);
  Root f_(f);
  Obj *o = allocate(T_CONTINUATION, 4);
  jmp_buf escape;
  o->slot[0] = TRUE_V;
  o->slot[1] = UNSPEC_V;
  o->slot[2] = (Value)(uintptr_t)&escape;  // not a Scheme value: the collector skips it
  Root k(tagged(o));
  Root handlers(handlerStack);  // an escape leaves the handlers it passes
  Value *const base = sp;
  const uint32_t depth = frameDepth, nest = jitNest;
  Value r;
  if (setjmp(escape) == 0) {
    base[0] = f;
    base[1] = k.get();
    sp = base + 2;
    r = apply(base, 1, site);
  } else {
    frameDepth = depth;
    jitNest = nest;
    handlerStack = handlers.get();
    r = obj(k.get())->slot[1];
  }
  sp = base;
  obj(k.get())->slot[0] = FALSE_V;
  return r;
}

// base[0] is the procedure, base[1..nargs] its arguments; the caller resets sp to base.
static Value apply(Value *base, int nargs, const Node *site) {
  Value f = base[0];
  while (f == mkPrim(P_APPLY)) {
    nargs = spreadApply(base, nargs, site);
    f = base[0];
  }
  if (isPrimProc(f)) return primApply(primId(f), base + 1, nargs, site);
  if (isType(f, T_CONTINUATION)) escapeTo(f, base + 1, nargs, site);
  if (!isClosure(f)) fail(E_NOT_PROCEDURE, site, "not a procedure: %s %s", typeName(f), repr(f).c_str());
  Func *fn = closureFunc(f);
  if ((uint32_t)nargs != fn->nparams || fn->rest) fitArgs(base, nargs, fn, site);
  return enterClosure(base, fn, site);
}

static Value makeClosure(Node *n, Value *fp) {
  Obj *o = allocate(T_CLOSURE, 2 + n->captures.size());
  o->slot[0] = (Value)(uintptr_t)n->fn;
  for (size_t i = 0; i < n->captures.size(); i++) {
    const Capture &c = n->captures[i];
    o->slot[1 + i] = c.fromFree ? closureFree(fp[-1], c.index) : fp[c.index];
  }
  return tagged(o);
}

static void setGlobal(GlobalCell *g, Value v) {
  g->value = v;
  g->func = isClosure(v) ? closureFunc(v) : nullptr;
}

static Value boxRead(const Node *n, Value box) {
  Value v = obj(box)->slot[0];
  if (v == UNASSIGNED_V) fail(E_UNBOUND, n, "%s used before its definition", n->name);
  return v;
}

static Value evalPrim(Node *n, Value *fp) {
  size_t argc = n->kids.size();
  Value *base = sp;
  if (argc == 2) {
    Value a = evalFast(n->kids[0], fp);
    Node *k1 = n->kids[1];
    Value b;
    if (k1->kind == N_CONST || (k1->kind == N_LOCAL && !k1->checked)) {
      b = evalFast(k1, fp);
    } else {
      *sp++ = a;  // root a while b is computed
      b = eval(k1, fp);
      sp = base;
    }
    switch (n->index) {
      case P_ADD: {
        int64_t r;
        if (isFix(a) && isFix(b) && !__builtin_add_overflow((int64_t)a, (int64_t)b, &r)) return (Value)r;
        return arith(n, P_ADD, a, b);
      }
      case P_SUB: {
        int64_t r;
        if (isFix(a) && isFix(b) && !__builtin_sub_overflow((int64_t)a, (int64_t)b, &r)) return (Value)r;
        return arith(n, P_SUB, a, b);
      }
      case P_LT: if (isFix(a) && isFix(b)) return mkBool((int64_t)a < (int64_t)b); break;
      case P_GT: if (isFix(a) && isFix(b)) return mkBool((int64_t)a > (int64_t)b); break;
      case P_LE: if (isFix(a) && isFix(b)) return mkBool((int64_t)a <= (int64_t)b); break;
      case P_GE: if (isFix(a) && isFix(b)) return mkBool((int64_t)a >= (int64_t)b); break;
      case P_NUM_EQ: if (isFix(a) && isFix(b)) return mkBool(a == b); break;
      case P_EQ: return mkBool(a == b);
      case P_EQV: if (a == b || !isFlo(a) || !isFlo(b)) return mkBool(a == b); break;
    }
    base[0] = a;
    base[1] = b;
    sp = base + 2;
    Value r = primApply(n->index, base, 2, n);
    sp = base;
    return r;
  }
  if (argc == 1) {
    Value a = evalFast(n->kids[0], fp);
    switch (n->index) {
      case P_CAR: if (isPair(a)) return car(a); break;
      case P_CDR: if (isPair(a)) return cdr(a); break;
      case P_NULLP: return mkBool(a == NIL_V);
      case P_PAIRP: return mkBool(isPair(a));
      case P_NOT: return mkBool(a == FALSE_V);
      case P_ZEROP: if (isFix(a)) return mkBool(a == 0); break;
    }
    *sp++ = a;
    Value r = primApply(n->index, base, 1, n);
    sp = base;
    return r;
  }
  for (auto *k : n->kids) {
    Value v = evalFast(k, fp);
    *sp++ = v;
  }
  Value r = primApply(n->index, base, argc, n);
  sp = base;
  return r;
}

static Value eval(Node *n, Value *fp) {
  for (;;) {
    switch (n->kind) {
      case N_CONST: return n->value;
      case N_LOCAL: {
        Value v = fp[n->index];
        if (n->checked && v == UNASSIGNED_V) fail(E_UNBOUND, n, "%s used before its definition", n->name);
        return v;
      }
      case N_LOCAL_BOX: return boxRead(n, fp[n->index]);
      case N_FREE: return closureFree(fp[-1], n->index);
      case N_FREE_BOX: return boxRead(n, closureFree(fp[-1], n->index));
      case N_GLOBAL: {
        Value v = n->cell->value;
        if (v == UNASSIGNED_V) fail(E_UNBOUND, n, "unbound variable %s", n->name);
        return v;
      }
      case N_SET_LOCAL: fp[n->index] = eval(n->kids[0], fp); return UNSPEC_V;
      case N_SET_LOCAL_BOX: {
        Value v = eval(n->kids[0], fp);
        obj(fp[n->index])->slot[0] = v;
        return UNSPEC_V;
      }
      case N_SET_FREE_BOX: {
        Value v = eval(n->kids[0], fp);
        obj(closureFree(fp[-1], n->index))->slot[0] = v;
        return UNSPEC_V;
      }
      case N_SET_GLOBAL:
        if (n->cell->value == UNASSIGNED_V) fail(E_UNBOUND, n, "set!: unbound variable %s", n->name);
        setGlobal(n->cell, eval(n->kids[0], fp));
        return UNSPEC_V;
      case N_DEFINE: setGlobal(n->cell, eval(n->kids[0], fp)); return UNSPEC_V;
      case N_MAKE_BOX: fp[n->index] = makeBox(UNASSIGNED_V); return UNSPEC_V;
      case N_IF: n = evalFast(n->kids[0], fp) != FALSE_V ? n->kids[1] : n->kids[2]; continue;
      case N_SEQ: {
        size_t last = n->kids.size() - 1;
        for (size_t i = 0; i < last; i++) eval(n->kids[i], fp);
        n = n->kids[last];
        continue;
      }
      case N_AND: {
        size_t last = n->kids.size() - 1;
        for (size_t i = 0; i < last; i++)
          if (eval(n->kids[i], fp) == FALSE_V) return FALSE_V;
        n = n->kids[last];
        continue;
      }
      case N_OR: {
        size_t last = n->kids.size() - 1;
        for (size_t i = 0; i < last; i++) {
          Value v = eval(n->kids[i], fp);
          if (v != FALSE_V) return v;
        }
        n = n->kids[last];
        continue;
      }
      case N_LAMBDA: return makeClosure(n, fp);
      case N_PRIM: return evalPrim(n, fp);
      case N_CALL: {
        Value *base = sp;
        size_t argc = n->kids.size() - 1;
        if (base + argc + 1 > stackLimit) stackExhausted(n);
        for (auto *k : n->kids) {
          Value v = evalFast(k, fp);
          *sp++ = v;
        }
        Value f = base[0];
        while (f == mkPrim(P_APPLY)) {  // spread in place: (apply f ... list) is a call of f
          argc = spreadApply(base, argc, n);
          f = base[0];
        }
        if (n->tail && isClosure(f)) {
          Func *fn = closureFunc(f);
          if (argc != fn->nparams || fn->rest) {
            fitArgs(base, argc, fn, n);
            argc = fn->nparams;
          }
          noteCallSite(n);
          for (;;) {
            if (!fn->jitCode) enterInterpreted(fn, n);
            if (!fn->jitCode) break;
            Value r = callJit(fn, base[0], base + 1);
            if (r != TAIL_V) { sp = base; return r; }
            // The JIT code tail-called an interpreted function: this frame takes that call.
            fn = takePending(base);
          }
          // Reuse this frame: move the closure and arguments down over it.
          memmove(fp - 1, base, (fn->nparams + 1) * sizeof(Value));
          if (frameDepth - 1 < MAX_FRAMES) frames[frameDepth - 1].at = nullptr;  // fn's now
          if (fp + fn->nlocals + 64 > stackLimit) stackExhausted(n);
          sp = fp + fn->nlocals;
          n = fn->body;
          continue;
        }
        if (isClosure(f)) {
          // apply()'s closure path, inlined: one wasm frame less per Scheme call.
          Func *fn = closureFunc(f);
          if (argc != fn->nparams || fn->rest) fitArgs(base, argc, fn, n);
          Value r = enterClosure(base, fn, n);
          sp = base;
          return r;
        }
        Value r = apply(base, argc, n);
        sp = base;
        return r;
      }
    }
  }
}
