// Values, source positions and errors, functions and globals, the shadow stack.
// Part of interp.cc (one translation unit): included there in layer order, after the layers it
// uses.
#pragma once

// ---------------------------------------------------------------------------------------------
// Values: 64-bit words.  Fixnums have the low bit clear (value << 1); heap pointers are the
// object address + 1; other immediates use the low three bits 011 (constants), 101 (primitive
// procedures, id << 3) and 111 (characters, code << 3).

typedef uint64_t Value;

static const Value FALSE_V = 0x03, TRUE_V = 0x0b, NIL_V = 0x13, UNSPEC_V = 0x1b,
                   UNASSIGNED_V = 0x23;
// Not a Scheme value: what JIT code returns when it tail-called an interpreted function, the
// call left pending for its caller to run (see finishTail).  Never reaches Scheme code.
static const Value TAIL_V = 0x2b;
static const Value EOF_V = 0x33;  // the end-of-file object
static const int64_t FIX_MAX = (INT64_C(1) << 62) - 1, FIX_MIN = -(INT64_C(1) << 62);

static inline bool isFix(Value v) { return !(v & 1); }
static inline int64_t fixVal(Value v) { return (int64_t)v >> 1; }
static inline Value mkFix(int64_t n) { return (uint64_t)n << 1; }
static inline bool fitsFix(int64_t n) { return n >= FIX_MIN && n <= FIX_MAX; }
static inline bool isPtr(Value v) { return (v & 7) == 1; }
static inline bool isPrimProc(Value v) { return (v & 7) == 5; }
static inline int primId(Value v) { return (int)(v >> 3); }
static inline Value mkPrim(int id) { return ((Value)id << 3) | 5; }
static inline bool isChar(Value v) { return (v & 7) == 7; }
static inline Value mkBool(bool b) { return b ? TRUE_V : FALSE_V; }

// A vector's slot[0] is its length (a fixnum), its elements follow; a string's slot[0] is its
// byte length (raw), its bytes follow, NUL-terminated.
// A flonum's slot[0] holds the bits of its double.
enum ObjType : uint32_t {
  T_FREE = 0, T_PAIR = 1, T_CLOSURE = 2, T_BOX = 3, T_SYMBOL = 4, T_STRING = 5, T_VECTOR = 6,
  T_FLONUM = 7,
  T_CONTINUATION = 8,  // slot[0]: #t while its call/cc has not returned; slot[1]: the value it
                       // got; slot[2]: its jmp_buf (in the C stack frame of that call/cc)
  T_RECORD = 9,        // slot[0]: its type (a vector: name, field names); the fields follow
  T_VALUES = 10,       // slot[0]: the list of values (values with other than one)
  T_PORT = 11,         // see ports.h
  T_BYTEVECTOR = 12,   // a string's layout: slot[0] its length (raw), its bytes follow
};
static const uint32_t MARK_BIT = 0x80000000u;

struct Obj {
  uint32_t type;   // ObjType, plus MARK_BIT during collection
  uint32_t words;  // total size in 8-byte words, header included
  Value slot[];    // fields
};

static inline Obj *obj(Value v) { return (Obj *)(uintptr_t)(uint32_t)(v - 1); }
static inline Value tagged(Obj *o) { return (Value)(uint32_t)(uintptr_t)o + 1; }
static inline bool isType(Value v, ObjType t) { return isPtr(v) && obj(v)->type == t; }
static inline bool isPair(Value v) { return isType(v, T_PAIR); }
static inline bool isClosure(Value v) { return isType(v, T_CLOSURE); }
static inline bool isFlo(Value v) { return isType(v, T_FLONUM); }
static inline double floVal(Value v) {
  double d;
  memcpy(&d, &obj(v)->slot[0], sizeof d);
  return d;
}
static inline bool isNum(Value v) { return isFix(v) || isFlo(v); }
static inline Value car(Value v) { return obj(v)->slot[0]; }
static inline Value cdr(Value v) { return obj(v)->slot[1]; }

// ---------------------------------------------------------------------------------------------
// Source positions and errors.  An error records its message and position, then calls the
// host's throw_error(), which unwinds the wasm stack; the host resets transient state.

struct Pos {
  uint32_t line = 0, col = 0;
  uint32_t src = 0;  // which dbg_read() call the text came from
};

enum ErrorKind : int32_t {
  E_NONE = 0, E_READ, E_SYNTAX, E_UNBOUND, E_TYPE, E_ARITY, E_NOT_PROCEDURE, E_OVERFLOW,
  E_DIVIDE_BY_ZERO, E_STACK, E_HEAP, E_RANGE, E_JIT, E_USER,  // E_USER: (error ...)
};

struct Func;

// Read by the host: see dbg_error().
struct ErrorInfo {
  int32_t kind;
  uint32_t line, col, src;
  const char *message;
  const char *function;  // name of the Scheme function the error happened in, or ""
};
static ErrorInfo lastError;
// The exception handlers of with-exception-handler, innermost first (a list, a GC root): while
// there are any, an error a program can handle is raised to them (as an error object) instead
// of ending the evaluation; see raiseToHandler in interpreter.h.
static Value handlerStack = NIL_V;
static void (*raiseToHandler)(ErrorKind kind) = nullptr;
static bool handleable(ErrorKind kind) { return kind != E_STACK && kind != E_HEAP && kind != E_JIT && kind != E_SYNTAX; }
static char errorText[1024];

[[noreturn]] static void raise(ErrorKind kind, const Pos &pos, const char *function,
                               const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(errorText, sizeof errorText, fmt, ap);
  va_end(ap);
  lastError.kind = kind;
  lastError.line = pos.line;
  lastError.col = pos.col;
  lastError.src = pos.src;
  lastError.message = errorText;
  lastError.function = function ? function : "";
  if (handlerStack != NIL_V && handleable(kind)) raiseToHandler(kind);  // returns only to fail
  throw_error();
  __builtin_trap();  // a host that returns from throw_error gets a trap instead
}

// ---------------------------------------------------------------------------------------------
// Functions (one per lambda expression) and global variables.  The host reads a Func through
// the layout the module describes (dbg_layout); JIT code reads both at fixed offsets.

// F_LIBRARY: defined by the prelude (source 0).  F_REST: the last parameter takes a list of the
// arguments beyond the required ones (nparams counts it).
// F_NO_TIERUP: an auto tier-up of it failed; the hook is not called for it again.
// F_UNLINKED: its JIT code was unlinked (until it is compiled again).
// F_COMPILED: a JIT module was generated for it, so generated code holds its address (its
// counters, guards and direct calls): it is never freed (see sweepFuncs).
enum FuncFlags : uint32_t {
  F_TOPLEVEL = 1, F_PENDING = 2, F_LIBRARY = 8, F_REST = 16, F_NO_TIERUP = 32, F_UNLINKED = 64,
  // Breakpoints the host set (see entryBreak): stop when it is entered; stop when its JIT code
  // is entered for the first time.
  F_BREAK_ENTER = 128, F_BREAK_JIT_ENTRY = 256, F_COMPILED = 512
};

// Why a call ran the interpreter, as the function's state said when it was entered
// (Func::interpWhy counts each; they sum to interpCalls).
enum InterpReason : uint32_t {
  R_NOT_COMPILED,   // never compiled, or its module was discarded
  R_PENDING,        // compiled into a module that is not linked yet
  R_UNLINKED,       // it was linked, then unlinked
  R_TIERUP_FAILED,  // auto tier-up tried and failed; it is not tried again
  R_COUNT
};

struct Node;

struct Func {
  uint32_t jitCode;       // 0: table index of the JIT entry, 0 while interpreted
  uint32_t nparams;       // 4
  uint32_t flags;         // 8: FuncFlags
  uint32_t id;            // 12: index in the function list
  uint64_t interpCalls;   // 16: calls that ran the interpreter on this function's body
  uint64_t jitCalls;      // 24: calls that entered its JIT code
  const char *name;       // 32
  uint32_t line, col;     // 36, 40: where the lambda starts
  uint32_t endLine, endCol;  // 44, 48
  uint32_t src;           // 52
  uint32_t moduleId;      // 56: JIT module that compiled it, 0 if none
  uint32_t nlocals;       // 60: frame slots: parameters first, then let-bound locals
  // The counters when the interpreter first entered it since the last dbg_read (see Touched).
  uint64_t touchInterp, touchJit;
  uint32_t touchedEpoch;
  uint64_t interpWhy[R_COUNT];  // interpreted calls by InterpReason
  // Not read by the host:
  Node *body;
  std::vector<std::string> slotNames;  // frame slot names, parameters first
  bool hasFree;
  bool rest;         // a rest parameter: callers pack the extra arguments into a list
  uint32_t jitArity;  // the argument count JIT code may pass straight through: nparams, or
                      // ~0u with a rest parameter (the caller must pack through rt_apply)
  bool reached = false;  // sweepFuncs: something live can still call it
  std::vector<Value> constants;  // heap data its body quotes: roots for as long as it lives
};

struct GlobalCell {
  Value value;     // 0: UNASSIGNED_V while unbound
  Func *func;      // 8: the lambda of the closure it holds, for guarding direct JIT calls
  const char *name;
  int prim;        // primitive id when the name is a builtin, else -1
  Func *defined;   // the lambda of the latest (define name (lambda ...)) compiled
};
static_assert(offsetof(GlobalCell, func) == 8, "layout");

static std::vector<Func *> funcs;
static std::vector<Func *> toplevels;  // compiled top-level forms not yet freed
static std::unordered_map<std::string, GlobalCell *> globals;
static std::vector<GlobalCell *> globalList;

// ---------------------------------------------------------------------------------------------
// The shadow stack holds every interpreter frame and every value JIT code keeps across a
// call, so the collector finds all roots there.  It only ever holds valid Values.

static const uint32_t STACK_SLOTS = 1 << 20;
static Value *stackBase, *stackLimit;
Value *sp;  // read and written by JIT code at its fixed address

static inline void push(Value v) { *sp++ = v; }

// Keeps a C++-held value visible to the collector for the lifetime of the scope.
struct Root {
  Value *at;
  explicit Root(Value v) : at(sp) { *sp++ = v; }
  ~Root() { sp = at; }
  Value get() const { return *at; }
};
