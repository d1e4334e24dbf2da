// A small Scheme with a late-linking JIT, built as a wasm32-wasi reactor.
//
// The interpreter evaluates a resolved AST over frames on a shadow stack in linear memory.
// Hot functions are compiled into a separate wasm module that imports this module's memory
// and function table; its exported patch code grows the table, fills the new slots and writes
// each function's table index into that function's `jitCode` slot, after which calls dispatch
// to the generated code.  See native/README-layout.md for the memory layouts the host reads.

#include <cctype>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "wasm_builder.h"

#define EXPORT(name) extern "C" __attribute__((export_name(#name)))
// Built with -DJITSCOPE_SEED_ONLY the module has only the seed's interface, like another build
// of the seed's interp.cc: the debugger's tests use it to check what still works without dbg_*.
#ifdef JITSCOPE_SEED_ONLY
#define DEBUG_EXPORT(name) [[maybe_unused]] static
#else
#define DEBUG_EXPORT(name) EXPORT(name)
#endif

extern "C" __attribute__((import_module("env"), import_name("throw_error"))) void throw_error();

// ---------------------------------------------------------------------------------------------
// Values: 64-bit words.  Fixnums have the low bit clear (value << 1); heap pointers are the
// object address + 1; other immediates use the low three bits 011 (constants), 101 (primitive
// procedures, id << 3) and 111 (characters, code << 3).

typedef uint64_t Value;

static const Value FALSE_V = 0x03, TRUE_V = 0x0b, NIL_V = 0x13, UNSPEC_V = 0x1b,
                   UNASSIGNED_V = 0x23;
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
enum ObjType : uint32_t { T_FREE = 0, T_PAIR = 1, T_CLOSURE = 2, T_BOX = 3, T_SYMBOL = 4, T_STRING = 5, T_VECTOR = 6 };
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
  throw_error();
  __builtin_trap();  // a host that returns from throw_error gets a trap instead
}

// ---------------------------------------------------------------------------------------------
// Functions (one per lambda expression) and global variables.  The host reads a Func through
// the layout the module describes (dbg_layout); JIT code reads both at fixed offsets.

// F_LIBRARY: defined by the prelude (source 0).  F_REST: the last parameter takes a list of the
// arguments beyond the required ones (nparams counts it).
enum FuncFlags : uint32_t { F_TOPLEVEL = 1, F_PENDING = 2, F_LIBRARY = 8, F_REST = 16 };

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
  // Not read by the host:
  Node *body;
  std::vector<std::string> slotNames;  // frame slot names, parameters first
  bool hasFree;
  bool rest;         // a rest parameter: callers pack the extra arguments into a list
  uint32_t jitArity;  // the argument count JIT code may pass straight through: nparams, or
                      // ~0u with a rest parameter (the caller must pack through rt_apply)
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

// ---------------------------------------------------------------------------------------------
// Heap: mark-sweep, non-moving.  Small objects live in 1 MiB chunks, carved by bumping and
// recycled through free lists by size, so an address that was once an object start stays an
// object start; large objects are malloc'd and tracked in a set.

static const uint32_t CHUNK_BYTES = 1 << 20, MAX_SMALL_WORDS = 64;
struct Chunk { char *start, *bump, *end; };
static std::vector<Chunk> chunks;
static Obj *freeLists[MAX_SMALL_WORDS + 1];
// Free runs longer than any size class, carved from the front when a size's list is empty.
// Only scrubHeap() makes them (by coalescing); a sweep keeps what it finds.
static Obj *freeRuns;
static std::unordered_set<uintptr_t> largeObjects;

struct HeapStats {
  uint64_t heapBytes;      // chunks + large objects
  uint64_t liveBytes;      // after the last collection
  uint64_t allocatedBytes; // since start
  uint32_t collections;
  uint32_t maxHeapBytes;
};
static HeapStats heap = {0, 0, 0, 0, 256u << 20};
static uint64_t allocSinceGC = 0, gcThreshold = 4u << 20;
static std::vector<Value> permanentRoots;  // quoted constants, symbols, strings in code
static Value lastResult = UNSPEC_V;

static bool validObject(Value v) {
  uintptr_t a = (uintptr_t)obj(v);
  for (auto &c : chunks)
    if (a >= (uintptr_t)c.start && a < (uintptr_t)c.bump) return true;
  return largeObjects.count(a) > 0;
}

static std::vector<Obj *> markStack;

static inline void markValue(Value v) {
  if (!isPtr(v)) return;
  Obj *o = obj(v);
  if (o->type & MARK_BIT || o->type == T_FREE) return;
  o->type |= MARK_BIT;
  markStack.push_back(o);
}

static void traceAll() {
  while (!markStack.empty()) {
    Obj *o = markStack.back();
    markStack.pop_back();
    switch (o->type & ~MARK_BIT) {
      case T_PAIR: markValue(o->slot[0]); markValue(o->slot[1]); break;
      case T_BOX: markValue(o->slot[0]); break;
      case T_CLOSURE:
        for (uint32_t i = 1; i + 1 < o->words; i++) markValue(o->slot[i]);
        break;
      case T_SYMBOL: markValue(o->slot[0]); break;
      case T_VECTOR:
        for (int64_t i = 0, n = fixVal(o->slot[0]); i < n; i++) markValue(o->slot[1 + i]);
        break;
      default: break;
    }
  }
}

static void collect() {
  // Roots: the shadow stack (checked, since dead frames leave stale words behind), globals,
  // permanent roots and the last result.
  for (Value *p = stackBase; p < sp; p++)
    if (isPtr(*p) && validObject(*p)) markValue(*p);
  for (auto *g : globalList) markValue(g->value);
  for (Value v : permanentRoots) markValue(v);
  markValue(lastResult);
  traceAll();

  uint64_t live = 0;
  for (auto &l : freeLists) l = nullptr;
  freeRuns = nullptr;
  for (auto &c : chunks) {
    for (char *p = c.start; p < c.bump;) {
      Obj *o = (Obj *)p;
      uint32_t bytes = o->words * 8;
      if (o->type & MARK_BIT) {
        o->type &= ~MARK_BIT;
        live += bytes;
      } else {
        o->type = T_FREE;
        Obj *&list = o->words > MAX_SMALL_WORDS ? freeRuns : freeLists[o->words];
        o->slot[0] = (Value)(uintptr_t)list;
        list = o;
      }
      p += bytes;
    }
  }
  for (auto it = largeObjects.begin(); it != largeObjects.end();) {
    Obj *o = (Obj *)*it;
    if (o->type & MARK_BIT) {
      o->type &= ~MARK_BIT;
      live += o->words * 8;
      ++it;
    } else {
      heap.heapBytes -= o->words * 8;
      free(o);
      it = largeObjects.erase(it);
    }
  }
  heap.liveBytes = live;
  heap.collections++;
  allocSinceGC = 0;
  gcThreshold = live > (4u << 20) ? live : (4u << 20);
}

// Before a snapshot of linear memory (jitscope snapshot): collect, then zero what the heap
// does not use, so the copy carries live data rather than garbage.  A run of free objects that
// reaches the last chunk's bump pointer goes back to it (bump lowered, bytes zeroed); a run
// longer than any size class, the rest of another chunk included, becomes one free run; other free
// objects keep their header and free-list link and lose their contents.  Both give up "once an
// object start, always one" for the bytes they merge, so the dead part of the shadow stack,
// where stale words could point there, is zeroed too (below sp every word is a root, so
// nothing there points into free memory).  Call only between evaluations.  Returns the bytes
// zeroed.
static uint64_t scrubHeap() {
  collect();
  uint64_t zeroed = 0;
  auto release = [&](Obj *o) {  // zero all but header and link, put on its list
    uint32_t bytes = o->words * 8;
    if (bytes > 16) {
      memset(&o->slot[1], 0, bytes - 16);
      zeroed += bytes - 16;
    }
    Obj *&list = o->words > MAX_SMALL_WORDS ? freeRuns : freeLists[o->words];
    o->slot[0] = (Value)(uintptr_t)list;
    list = o;
  };
  for (auto &l : freeLists) l = nullptr;
  freeRuns = nullptr;
  for (auto &c : chunks) {
    char *tail = c.start;  // where the trailing run of free objects starts
    for (char *p = c.start; p < c.bump;) {
      Obj *o = (Obj *)p;
      p += o->words * 8;
      if (o->type != T_FREE) tail = p;
    }
    zeroed += c.end - tail;
    memset(tail, 0, c.end - tail);
    // Only the last chunk is bumped; in the others the free tail becomes a run.
    c.bump = &c == &chunks.back() || (uint64_t)(c.end - tail) <= (MAX_SMALL_WORDS + 1) * 8
                 ? tail : c.end;
    if (c.bump == c.end) {
      ((Obj *)tail)->words = (c.end - tail) / 8;  // its type is T_FREE (0): zeroed above
      release((Obj *)tail);
    }
    for (char *p = c.start; p < tail;) {
      if (((Obj *)p)->type != T_FREE) {
        p += ((Obj *)p)->words * 8;
        continue;
      }
      char *run = p;  // a run of free objects, ended by a live one (the tail is done)
      while (((Obj *)p)->type == T_FREE) p += ((Obj *)p)->words * 8;
      uint64_t words = (p - run) / 8;
      if (words > MAX_SMALL_WORDS + 1) {  // carving a size class always leaves 0 or >= 2 words
        ((Obj *)run)->words = words;
        release((Obj *)run);
      } else {
        for (char *q = run; q < p; q += ((Obj *)q)->words * 8) release((Obj *)q);
      }
    }
  }
  Value *end = stackBase + STACK_SLOTS;
  zeroed += (end - sp) * sizeof(Value);
  memset(sp, 0, (end - sp) * sizeof(Value));
  return zeroed;
}

static Obj *tryAllocSmall(uint32_t words) {
  if (Obj *o = freeLists[words]) {
    freeLists[words] = (Obj *)(uintptr_t)o->slot[0];
    return o;
  }
  if (Obj *run = freeRuns) {  // carve from the front; the rest stays free (and zeroed)
    freeRuns = (Obj *)(uintptr_t)run->slot[0];
    uint32_t left = run->words - words;  // runs exceed MAX_SMALL_WORDS + 1: 0 or >= 2 left
    if (left) {
      Obj *rest = (Obj *)((char *)run + words * 8);
      rest->type = T_FREE;
      rest->words = left;
      Obj *&list = left > MAX_SMALL_WORDS ? freeRuns : freeLists[left];
      rest->slot[0] = (Value)(uintptr_t)list;
      list = rest;
    }
    return run;
  }
  if (!chunks.empty()) {
    Chunk &c = chunks.back();
    if (c.bump + words * 8 <= c.end) {
      Obj *o = (Obj *)c.bump;
      c.bump += words * 8;
      return o;
    }
  }
  return nullptr;
}

static Pos noPos;

[[noreturn]] static void heapExhausted() {
  raise(E_HEAP, noPos, nullptr, "heap exhausted: live data exceeds the %u MiB heap limit",
        heap.maxHeapBytes >> 20);
}

static Obj *allocate(ObjType type, uint32_t words) {
  uint64_t bytes = (uint64_t)words * 8;
  if (allocSinceGC + bytes > gcThreshold) collect();
  allocSinceGC += bytes;
  heap.allocatedBytes += bytes;
  Obj *o;
  if (words <= MAX_SMALL_WORDS) {
    o = tryAllocSmall(words);
    if (!o) {
      if (heap.heapBytes + CHUNK_BYTES > heap.maxHeapBytes) {
        collect();
        o = tryAllocSmall(words);
        if (!o && heap.heapBytes + CHUNK_BYTES > heap.maxHeapBytes) heapExhausted();
      }
      if (!o) {
        char *mem = (char *)malloc(CHUNK_BYTES);
        if (!mem) heapExhausted();
        chunks.push_back({mem, mem, mem + CHUNK_BYTES});
        heap.heapBytes += CHUNK_BYTES;
        o = tryAllocSmall(words);
      }
    }
  } else {
    if (heap.heapBytes + bytes > heap.maxHeapBytes) {
      collect();
      if (heap.heapBytes + bytes > heap.maxHeapBytes) heapExhausted();
    }
    o = (Obj *)malloc(bytes);
    if (!o) heapExhausted();
    largeObjects.insert((uintptr_t)o);
    heap.heapBytes += bytes;
  }
  o->type = type;
  o->words = words;
  return o;
}

static Value cons(Value a, Value b) {
  Root ra(a), rb(b);
  Obj *o = allocate(T_PAIR, 3);
  o->slot[0] = a;
  o->slot[1] = b;
  return tagged(o);
}

static Value makeBox(Value v) {
  Root r(v);
  Obj *o = allocate(T_BOX, 2);
  o->slot[0] = v;
  return tagged(o);
}

static Value makeString(const char *s, size_t len) {
  Obj *o = allocate(T_STRING, 2 + (len + 8) / 8);
  o->slot[0] = len;
  memcpy(&o->slot[1], s, len);
  ((char *)&o->slot[1])[len] = 0;
  return tagged(o);
}
static inline const char *stringChars(Value v) { return (const char *)&obj(v)->slot[1]; }
static inline size_t stringLength(Value v) { return obj(v)->slot[0]; }

static std::unordered_map<std::string, Value> symbols;

static Value intern(const std::string &name) {
  auto it = symbols.find(name);
  if (it != symbols.end()) return it->second;
  Value str = makeString(name.data(), name.size());
  permanentRoots.push_back(str);
  Root r(str);
  Obj *o = allocate(T_SYMBOL, 2);
  o->slot[0] = str;
  Value sym = tagged(o);
  permanentRoots.push_back(sym);
  symbols[name] = sym;
  return sym;
}
static inline const char *symbolName(Value v) { return stringChars(obj(v)->slot[0]); }

// A vector of `len` elements, each `fill` (which the caller keeps rooted if it is an object).
static Value makeVector(size_t len, Value fill) {
  Obj *o = allocate(T_VECTOR, 2 + len);
  o->slot[0] = mkFix(len);
  for (size_t i = 0; i < len; i++) o->slot[1 + i] = fill;
  return tagged(o);
}
static inline bool isVector(Value v) { return isType(v, T_VECTOR); }
static inline size_t vectorLength(Value v) { return fixVal(obj(v)->slot[0]); }
static inline Value *vectorItems(Value v) { return &obj(v)->slot[1]; }

static inline Func *closureFunc(Value c) { return (Func *)(uintptr_t)obj(c)->slot[0]; }
static inline Value closureFree(Value c, int i) { return obj(c)->slot[1 + i]; }

// ---------------------------------------------------------------------------------------------
// Primitive procedures.

enum Prim {
  P_ADD, P_SUB, P_MUL, P_QUOTIENT, P_REMAINDER, P_MODULO, P_NUM_EQ, P_LT, P_GT, P_LE, P_GE,
  P_NOT, P_EQ, P_EQV, P_EQUAL, P_CONS, P_CAR, P_CDR, P_LIST, P_NULLP, P_PAIRP, P_DISPLAY,
  P_WRITE, P_NEWLINE, P_ZEROP, P_POSITIVEP, P_NEGATIVEP, P_EVENP, P_ODDP, P_ABS, P_MIN, P_MAX,
  P_NUMBERP, P_PROCEDUREP, P_BOOLEANP, P_SYMBOLP, P_STRINGP, P_SET_CAR, P_SET_CDR,
  // Calls its first argument: compiled as a call, spread by apply() (see spreadApply).
  P_APPLY,
  P_VECTORP, P_MAKE_VECTOR, P_VECTOR, P_VECTOR_LENGTH, P_VECTOR_REF, P_VECTOR_SET,
  P_VECTOR_TO_LIST, P_LIST_TO_VECTOR, P_VECTOR_FILL,
  P_STRING_LENGTH, P_STRING_REF, P_SUBSTRING, P_STRING_APPEND, P_STRING_EQ, P_STRING_LT,
  P_STRING_GT, P_STRING, P_MAKE_STRING, P_STRING_TO_LIST, P_LIST_TO_STRING, P_STRING_TO_SYMBOL,
  P_SYMBOL_TO_STRING, P_NUMBER_TO_STRING, P_STRING_TO_NUMBER,
  P_CHARP, P_CHAR_TO_INTEGER, P_INTEGER_TO_CHAR, P_CHAR_EQ, P_CHAR_LT, P_CHAR_GT,
  P_CHAR_UPCASE, P_CHAR_DOWNCASE, P_CHAR_ALPHABETICP, P_CHAR_NUMERICP, P_CHAR_WHITESPACEP,
  P_LISTP, P_INTEGERP, P_ERROR,
  P_CAAR, P_CADR, P_CDAR, P_CDDR, P_CAAAR, P_CAADR, P_CADAR, P_CADDR, P_CDAAR, P_CDADR,
  P_CDDAR, P_CDDDR,
  // For the prelude and for quasiquote: not meant to be called by name.
  P_APPEND2, P_TYPE_ERROR, P_RANGE_ERROR,
  P_COUNT
};

struct PrimInfo { const char *name; int minArgs, maxArgs; };  // maxArgs -1: any number
static const PrimInfo primInfo[] = {
  {"+", 0, -1}, {"-", 1, -1}, {"*", 0, -1}, {"quotient", 2, 2}, {"remainder", 2, 2},
  {"modulo", 2, 2}, {"=", 1, -1}, {"<", 1, -1}, {">", 1, -1}, {"<=", 1, -1}, {">=", 1, -1},
  {"not", 1, 1}, {"eq?", 2, 2}, {"eqv?", 2, 2}, {"equal?", 2, 2}, {"cons", 2, 2},
  {"car", 1, 1}, {"cdr", 1, 1}, {"list", 0, -1}, {"null?", 1, 1}, {"pair?", 1, 1},
  {"display", 1, 1}, {"write", 1, 1}, {"newline", 0, 0}, {"zero?", 1, 1}, {"positive?", 1, 1},
  {"negative?", 1, 1}, {"even?", 1, 1}, {"odd?", 1, 1}, {"abs", 1, 1}, {"min", 1, -1},
  {"max", 1, -1}, {"number?", 1, 1}, {"procedure?", 1, 1}, {"boolean?", 1, 1},
  {"symbol?", 1, 1}, {"string?", 1, 1}, {"set-car!", 2, 2}, {"set-cdr!", 2, 2},
  {"apply", 2, -1},
  {"vector?", 1, 1}, {"make-vector", 1, 2}, {"vector", 0, -1}, {"vector-length", 1, 1},
  {"vector-ref", 2, 2}, {"vector-set!", 3, 3}, {"vector->list", 1, 1}, {"list->vector", 1, 1},
  {"vector-fill!", 2, 2},
  {"string-length", 1, 1}, {"string-ref", 2, 2}, {"substring", 2, 3}, {"string-append", 0, -1},
  {"string=?", 1, -1}, {"string<?", 1, -1}, {"string>?", 1, -1}, {"string", 0, -1},
  {"make-string", 1, 2}, {"string->list", 1, 1}, {"list->string", 1, 1},
  {"string->symbol", 1, 1}, {"symbol->string", 1, 1}, {"number->string", 1, 2},
  {"string->number", 1, 2},
  {"char?", 1, 1}, {"char->integer", 1, 1}, {"integer->char", 1, 1}, {"char=?", 1, -1},
  {"char<?", 1, -1}, {"char>?", 1, -1}, {"char-upcase", 1, 1}, {"char-downcase", 1, 1},
  {"char-alphabetic?", 1, 1}, {"char-numeric?", 1, 1}, {"char-whitespace?", 1, 1},
  {"list?", 1, 1}, {"integer?", 1, 1}, {"error", 1, -1},
  {"caar", 1, 1}, {"cadr", 1, 1}, {"cdar", 1, 1}, {"cddr", 1, 1}, {"caaar", 1, 1},
  {"caadr", 1, 1}, {"cadar", 1, 1}, {"caddr", 1, 1}, {"cdaar", 1, 1}, {"cdadr", 1, 1},
  {"cddar", 1, 1}, {"cdddr", 1, 1},
  {"%append", 2, 2}, {"%type-error", 3, 3}, {"%range-error", 3, 3},
};
static_assert(sizeof primInfo / sizeof primInfo[0] == P_COUNT, "one PrimInfo per primitive");

// ---------------------------------------------------------------------------------------------
// Printing.

static void printValue(std::string &out, Value v, bool display, int depth = 0);

static void appendUtf8(std::string &out, uint32_t c) {
  if (c < 0x80) { out += (char)c; return; }
  if (c < 0x800) { out += (char)(0xc0 | c >> 6); }
  else {
    if (c < 0x10000) out += (char)(0xe0 | c >> 12);
    else { out += (char)(0xf0 | c >> 18); out += (char)(0x80 | ((c >> 12) & 0x3f)); }
    out += (char)(0x80 | ((c >> 6) & 0x3f));
  }
  out += (char)(0x80 | (c & 0x3f));
}

// Character names, shared by the reader and the printer.
static const struct { const char *name; uint32_t code; } charNames[] = {
  {"space", ' '}, {"newline", '\n'}, {"tab", '\t'}, {"null", 0}, {"return", '\r'},
  {"alarm", 7}, {"backspace", 8}, {"delete", 127}, {"escape", 27}, {"nul", 0}, {"linefeed", '\n'},
};

static const char *charName(uint32_t c) {
  for (auto &cn : charNames)
    if (cn.code == c) return cn.name;
  return nullptr;
}

static void printString(std::string &out, Value v, bool display) {
  const char *s = stringChars(v);
  size_t n = stringLength(v);
  if (display) { out.append(s, n); return; }
  out += '"';
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '"' || c == '\\') { out += '\\'; out += c; }
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if ((unsigned char)c < 32 || c == 127) { char hex[8]; snprintf(hex, sizeof hex, "\\x%x;", (unsigned char)c); out += hex; }
    else out += c;
  }
  out += '"';
}

static void printValue(std::string &out, Value v, bool display, int depth) {
  if (out.size() > (1u << 20)) { out += "..."; return; }
  if (isFix(v)) { out += std::to_string(fixVal(v)); return; }
  switch (v) {
    case FALSE_V: out += "#f"; return;
    case TRUE_V: out += "#t"; return;
    case NIL_V: out += "()"; return;
    case UNSPEC_V: out += "#<unspecified>"; return;
    case UNASSIGNED_V: out += "#<unassigned>"; return;
  }
  if (isPrimProc(v)) { out += "#<procedure "; out += primInfo[primId(v)].name; out += '>'; return; }
  if (isChar(v)) {
    uint32_t c = v >> 3;
    if (display) { appendUtf8(out, c); return; }
    out += "#\\";
    if (const char *name = charName(c)) out += name;
    else if (c < 32) { char hex[8]; snprintf(hex, sizeof hex, "x%x", c); out += hex; }
    else appendUtf8(out, c);
    return;
  }
  if (!isPtr(v)) { out += "#<?>"; return; }
  switch (obj(v)->type) {
    case T_PAIR: {
      if (depth > 200) { out += "(...)"; return; }
      out += '(';
      printValue(out, car(v), display, depth + 1);
      Value rest = cdr(v);
      size_t n = 0;
      while (isPair(rest)) {
        if (++n > 100000) { out += " ..."; rest = NIL_V; break; }
        out += ' ';
        printValue(out, car(rest), display, depth + 1);
        rest = cdr(rest);
      }
      if (rest != NIL_V) { out += " . "; printValue(out, rest, display, depth + 1); }
      out += ')';
      return;
    }
    case T_VECTOR: {
      if (depth > 200) { out += "#(...)"; return; }
      out += "#(";
      for (size_t i = 0, n = vectorLength(v); i < n; i++) {
        if (out.size() > (1u << 20)) { out += " ..."; break; }
        if (i) out += ' ';
        printValue(out, vectorItems(v)[i], display, depth + 1);
      }
      out += ')';
      return;
    }
    case T_CLOSURE: out += "#<procedure "; out += closureFunc(v)->name; out += '>'; return;
    case T_BOX: out += "#<box>"; return;
    case T_SYMBOL: out += symbolName(v); return;
    case T_STRING: printString(out, v, display); return;
  }
  out += "#<?>";
}

static std::string repr(Value v) {
  std::string s;
  printValue(s, v, false);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

static std::string output;  // display/write output, flushed to stdout after each evaluation

static void flushOutput() {
  if (!output.empty()) {
    fwrite(output.data(), 1, output.size(), stdout);
    output.clear();
  }
  fflush(stdout);
}

// ---------------------------------------------------------------------------------------------
// Reader: text to syntax trees with positions.

struct Sx {
  enum Kind { LIST, SYMBOL, FIXNUM, BOOLEAN, STRING, CHAR, VECTOR } kind;  // VECTOR: #(items)
  Pos pos, end;
  std::string text;  // symbol name or string contents
  int64_t num = 0;
  std::vector<Sx *> items;
  Sx *dotted = nullptr;  // tail after '.', for quoted improper lists
  bool keyword = false;  // a special form's name written by the compiler: never a variable
};

struct Reader {
  const char *s;
  size_t n, i = 0;
  uint32_t line = 1, col = 1, src;
  std::vector<Sx *> &arena;

  Reader(const char *text, size_t len, uint32_t srcId, std::vector<Sx *> &a)
      : s(text), n(len), src(srcId), arena(a) {}

  Pos here() const { Pos p; p.line = line; p.col = col; p.src = src; return p; }

  [[noreturn]] void fail(const Pos &p, const char *fmt, const char *arg = "") {
    raise(E_READ, p, nullptr, fmt, arg);
  }

  void advance() {
    if (s[i] == '\n') { line++; col = 1; }
    else if (((unsigned char)s[i] & 0xc0) != 0x80) col++;
    i++;
  }

  // Validates UTF-8 up front so every later error can quote text safely.
  void checkUtf8() {
    size_t j = 0;
    uint32_t l = 1, c = 1;
    while (j < n) {
      unsigned char b = s[j];
      int extra = b < 0x80 ? 0 : (b >> 5) == 6 ? 1 : (b >> 4) == 14 ? 2 : (b >> 3) == 30 ? 3 : -1;
      bool ok = extra >= 0 && j + extra < n + (extra == 0);
      for (int k = 1; ok && k <= extra; k++) ok = j + k < n && ((unsigned char)s[j + k] & 0xc0) == 0x80;
      if (!ok || b == 0) {
        Pos p; p.line = l; p.col = c; p.src = src;
        char hex[8];
        snprintf(hex, sizeof hex, "0x%02x", b);
        fail(p, b == 0 ? "NUL byte in source" : "invalid UTF-8 byte %s", hex);
      }
      if (b == '\n') { l++; c = 1; } else c++;
      j += extra + 1;
    }
  }

  static bool delimiter(char c) {
    return c == '(' || c == ')' || c == '[' || c == ']' || c == '"' || c == ';' || c == '\'' ||
           c == '`' || c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
  }

  void skipSpace() {
    for (;;) {
      while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\f'))
        advance();
      if (i >= n) return;
      if (s[i] == ';') {
        while (i < n && s[i] != '\n') advance();
      } else if (s[i] == '#' && i + 1 < n && s[i + 1] == '|') {
        Pos start = here();
        int depth = 0;
        do {
          if (i + 1 < n && s[i] == '#' && s[i + 1] == '|') { depth++; advance(); advance(); }
          else if (i + 1 < n && s[i] == '|' && s[i + 1] == '#') { depth--; advance(); advance(); }
          else if (i < n) advance();
          else fail(start, "unterminated block comment");
        } while (depth > 0);
      } else if (s[i] == '#' && i + 1 < n && s[i + 1] == ';') {
        Pos start = here();
        advance(); advance();
        if (!read()) fail(start, "datum comment #; with no datum after it");
      } else {
        return;
      }
    }
  }

  Sx *make(Sx::Kind k, const Pos &p) {
    Sx *x = new Sx();
    x->kind = k;
    x->pos = p;
    arena.push_back(x);
    return x;
  }

  Sx *wrap(const char *name, Sx *datum, const Pos &p) {
    Sx *l = make(Sx::LIST, p);
    Sx *q = make(Sx::SYMBOL, p);
    q->text = name;
    l->items = {q, datum};
    l->end = datum->end;
    return l;
  }

  // Returns nullptr at the end of input.
  Sx *read(int depth = 0) {
    skipSpace();
    if (i >= n) return nullptr;
    if (depth > 1000) fail(here(), "nesting deeper than 1000 levels");
    Pos p = here();
    char c = s[i];
    if (c == '(' || c == '[') {
      char close = c == '(' ? ')' : ']';
      advance();
      Sx *l = make(Sx::LIST, p);
      for (;;) {
        skipSpace();
        if (i >= n) {
          char msg[96];
          snprintf(msg, sizeof msg, "missing '%c' to close '%c' opened at line %u, column %u",
                   close, c, p.line, p.col);
          fail(here(), "%s", msg);
        }
        if (s[i] == ')' || s[i] == ']') {
          if (s[i] != close) fail(here(), s[i] == ')' ? "')' closes a '['" : "']' closes a '('");
          advance();
          break;
        }
        if (s[i] == '.' && i + 1 < n && delimiter(s[i + 1]) && !l->items.empty()) {
          Pos dot = here();
          advance();
          l->dotted = read(depth + 1);
          if (!l->dotted) fail(dot, "nothing after '.'");
          skipSpace();
          if (i >= n || s[i] != close) fail(dot, "expected one datum and '%s' after '.'", close == ')' ? ")" : "]");
          advance();
          break;
        }
        l->items.push_back(read(depth + 1));
      }
      l->end = here();
      return l;
    }
    if (c == ')' || c == ']') fail(p, c == ')' ? "unexpected ')'" : "unexpected ']'");
    if (c == '#' && i + 1 < n && s[i + 1] == '(') {
      advance();
      Sx *v = read(depth + 1);
      if (v->dotted) fail(p, "a vector literal cannot have a '.'");
      v->kind = Sx::VECTOR;
      v->pos = p;
      return v;
    }
    if (c == '\'' || c == '`' || c == ',') {
      advance();
      const char *name = c == '\'' ? "quote" : c == '`' ? "quasiquote" : "unquote";
      if (c == ',' && i < n && s[i] == '@') { advance(); name = "unquote-splicing"; }
      Sx *d = read(depth + 1);
      if (!d) fail(p, "nothing after %s", name);
      return wrap(name, d, p);
    }
    if (c == '"') {
      advance();
      Sx *x = make(Sx::STRING, p);
      for (;;) {
        if (i >= n) fail(p, "unterminated string");
        char ch = s[i];
        if (ch == '"') { advance(); break; }
        if (ch == '\\') {
          advance();
          if (i >= n) fail(p, "unterminated string");
          char e = s[i];
          Pos ep = here();
          advance();
          switch (e) {
            case 'n': x->text += '\n'; break;
            case 't': x->text += '\t'; break;
            case 'r': x->text += '\r'; break;
            case '\\': x->text += '\\'; break;
            case '"': x->text += '"'; break;
            case 'a': x->text += '\a'; break;
            case '0': x->text += '\0'; break;
            case 'x': case 'X': {  // \xHH; a byte
              uint32_t code = 0;
              int digits = 0;
              while (i < n && isxdigit((unsigned char)s[i]) && digits < 8) {
                code = code * 16 + (isdigit((unsigned char)s[i]) ? s[i] - '0' : (tolower(s[i]) - 'a' + 10));
                advance();
                digits++;
              }
              if (!digits || i >= n || s[i] != ';') fail(ep, "expected hex digits and ';' after \\x");
              advance();
              std::string enc;
              appendUtf8(enc, code);
              x->text += enc;
              break;
            }
            case '\n': while (i < n && (s[i] == ' ' || s[i] == '\t')) advance(); break;
            default: {
              char bad[2] = {e, 0};
              fail(ep, "unknown string escape \\%s", bad);
            }
          }
          continue;
        }
        x->text += ch;
        advance();
      }
      x->end = here();
      return x;
    }
    // An atom: everything up to a delimiter.
    size_t start = i;
    if (c == '#' && i + 1 < n && s[i + 1] == '\\') {
      advance(); advance();
      if (i >= n) fail(p, "character literal #\\ with no character");
      advance();
      while (i < n && !delimiter(s[i])) advance();
    }
    while (i < n && !delimiter(s[i])) advance();
    std::string tok(s + start, i - start);
    Sx *x;
    if (tok[0] == '#') {
      if (tok == "#t" || tok == "#true") { x = make(Sx::BOOLEAN, p); x->num = 1; }
      else if (tok == "#f" || tok == "#false") { x = make(Sx::BOOLEAN, p); x->num = 0; }
      else if (tok.size() >= 3 && tok[1] == '\\') {
        std::string name = tok.substr(2);
        x = make(Sx::CHAR, p);
        x->num = -1;
        if (name.size() == 1) x->num = (unsigned char)name[0];
        for (auto &cn : charNames)
          if (name == cn.name) x->num = cn.code;
        if (x->num < 0 && (name[0] == 'x' || name[0] == 'X') && name.size() > 1 && name.size() <= 7 &&
            name.find_first_not_of("0123456789abcdefABCDEF", 1) == std::string::npos)
          x->num = strtol(name.c_str() + 1, nullptr, 16);
        if (x->num < 0) {  // one UTF-8 encoded character (checkUtf8 validated the encoding)
          unsigned char b = name[0];
          size_t len = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
          if (len > 1 && name.size() == len) {
            int64_t code = b & (0x7f >> len);
            for (size_t k = 1; k < len; k++) code = code << 6 | (name[k] & 0x3f);
            x->num = code;
          }
        }
        if (x->num < 0 || x->num > 0x10ffff) fail(p, "unknown character name #\\%s", name.c_str());
      } else {
        fail(p, "unknown syntax %s", tok.c_str());
      }
    } else if (isNumber(tok)) {
      x = make(Sx::FIXNUM, p);
      bool neg = tok[0] == '-';
      size_t k = (tok[0] == '-' || tok[0] == '+') ? 1 : 0;
      int64_t v = 0;
      for (; k < tok.size(); k++) {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, tok[k] - '0', &v) || v > FIX_MAX + 1)
          fail(p, "integer %s is out of the fixnum range (62 bits and sign)", tok.c_str());
      }
      v = neg ? -v : v;
      if (!fitsFix(v)) fail(p, "integer %s is out of the fixnum range (62 bits and sign)", tok.c_str());
      x->num = v;
    } else {
      x = make(Sx::SYMBOL, p);
      x->text = tok;
    }
    x->end = here();
    return x;
  }

  static bool isNumber(const std::string &t) {
    size_t k = (t[0] == '-' || t[0] == '+') ? 1 : 0;
    if (k == t.size()) return false;
    for (; k < t.size(); k++)
      if (t[k] < '0' || t[k] > '9') return false;
    return true;
  }
};

// ---------------------------------------------------------------------------------------------
// The resolved AST.  Variables are frame slots (locals), closure fields (free) or global
// cells; a variable that is assigned, or letrec-bound and captured, lives in a box.

enum NodeKind : uint8_t {
  N_CONST, N_LOCAL, N_LOCAL_BOX, N_FREE, N_FREE_BOX, N_GLOBAL,
  N_SET_LOCAL, N_SET_LOCAL_BOX, N_SET_FREE_BOX, N_SET_GLOBAL, N_DEFINE, N_MAKE_BOX,
  N_IF, N_SEQ, N_AND, N_OR, N_LAMBDA, N_CALL, N_PRIM,
};

struct Capture {
  bool fromFree;  // taken from the enclosing closure's fields, else from its frame
  int index;
};

struct Node {
  NodeKind kind;
  bool tail = false;     // a call in tail position of its function
  bool checked = false;  // N_LOCAL of a letrec variable: may be read before it is set
  int index = 0;         // slot, free index or primitive id
  Pos pos;
  Func *owner = nullptr;  // the function this node belongs to, for error messages
  Value value = UNSPEC_V;
  GlobalCell *cell = nullptr;
  Func *fn = nullptr;     // N_LAMBDA: its function
  struct Var *calleeVar = nullptr;  // N_CALL through a local variable: see Var::known
  const char *name = "";  // variable name, for error messages
  std::vector<Node *> kids;
  std::vector<Capture> captures;
};

static const char *ownerName(const Node *n) { return n->owner ? n->owner->name : ""; }

[[noreturn]] static void fail(ErrorKind kind, const Node *n, const char *fmt, ...) {
  char msg[900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  raise(kind, n->pos, ownerName(n), "%s", msg);
}

// ---------------------------------------------------------------------------------------------
// Compiler: syntax trees to the resolved AST.

struct FuncScope;

struct Var {
  std::string name;
  FuncScope *owner;
  int slot;
  bool boxed;
  bool checked;        // letrec-bound and not boxed: check for use before initialisation
  Func *known = nullptr;  // letrec-bound to this lambda and never assigned
};

struct Scope {
  std::vector<Var *> vars;
  Scope *parent;
  FuncScope *fs;
};

struct FuncScope {
  Func *fn;
  FuncScope *parent;
  std::vector<Var *> captured;  // free variables, in closure field order
  int nslots = 0;
};

static char *dupString(const std::string &s) {
  char *p = (char *)malloc(s.size() + 1);
  memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

// Names in nodes, shared and never freed, so a freed tree leaves no strings behind.
static const char *internName(const std::string &s) {
  static std::unordered_set<std::string> names;
  return names.insert(s).first->c_str();
}

static bool isSym(const Sx *x, const char *name) { return x->kind == Sx::SYMBOL && x->text == name; }

// Syntactic scans, conservative (they ignore shadowing): enough to decide boxing.
static inline bool hasItems(const Sx *x) { return x->kind == Sx::LIST || x->kind == Sx::VECTOR; }

static bool assignedIn(const Sx *x, const std::string &name) {
  if (!hasItems(x)) return false;
  if (x->items.size() >= 2 && isSym(x->items[0], "set!") && x->items[1]->kind == Sx::SYMBOL &&
      x->items[1]->text == name)
    return true;
  if (!x->items.empty() && isSym(x->items[0], "quote")) return false;
  for (auto *k : x->items)
    if (assignedIn(k, name)) return true;
  return false;
}

static bool mentions(const Sx *x, const std::string &name) {
  if (x->kind == Sx::SYMBOL) return x->text == name;
  if (!hasItems(x)) return false;
  if (!x->items.empty() && isSym(x->items[0], "quote")) return false;
  for (auto *k : x->items)
    if (mentions(k, name)) return true;
  return false;
}

static bool isLambdaForm(const Sx *x) {
  return x->kind == Sx::LIST && !x->items.empty() && isSym(x->items[0], "lambda");
}

static bool capturedIn(const Sx *x, const std::string &name) {
  if (!hasItems(x)) return false;
  if (!x->items.empty() && isSym(x->items[0], "quote")) return false;
  if (isLambdaForm(x) || (x->items.size() >= 2 && isSym(x->items[0], "define") &&
                          x->items[1]->kind == Sx::LIST))
    return mentions(x, name);
  // A named let's body is a lambda too, and so is a do loop.
  if (x->items.size() >= 3 && isSym(x->items[0], "let") && x->items[1]->kind == Sx::SYMBOL) {
    for (size_t i = 3; i < x->items.size(); i++)
      if (mentions(x->items[i], name)) return true;
  }
  if (x->items.size() >= 2 && isSym(x->items[0], "do")) return mentions(x, name);
  for (auto *k : x->items)
    if (capturedIn(k, name)) return true;
  return false;
}

struct Compiler {
  std::vector<Func *> newFuncs;  // registered once the whole form compiled
  uint32_t src;

  [[noreturn]] void syntax(const Sx *x, const char *fmt, const char *arg = "") {
    raise(E_SYNTAX, x->pos, nullptr, fmt, arg);
  }

  Node *node(NodeKind k, const Sx *x, FuncScope *fs) {
    Node *n = new Node();
    n->kind = k;
    n->pos = x->pos;
    n->owner = fs ? fs->fn : nullptr;
    return n;
  }

  Node *constant(Value v, const Sx *x, FuncScope *fs) {
    Node *n = node(N_CONST, x, fs);
    n->value = v;
    if (isPtr(v)) permanentRoots.push_back(v);
    return n;
  }

  Value quoted(const Sx *x) {
    switch (x->kind) {
      case Sx::FIXNUM: return mkFix(x->num);
      case Sx::BOOLEAN: return mkBool(x->num);
      case Sx::CHAR: return ((Value)x->num << 3) | 7;
      case Sx::STRING: {
        Value s = makeString(x->text.data(), x->text.size());
        permanentRoots.push_back(s);
        return s;
      }
      case Sx::SYMBOL: return intern(x->text);
      case Sx::LIST: {
        Value tail = x->dotted ? quoted(x->dotted) : NIL_V;
        Root r(tail);
        for (size_t i = x->items.size(); i-- > 0;) {
          Value item = quoted(x->items[i]);
          *r.at = cons(item, *r.at);
        }
        Value v = r.get();
        permanentRoots.push_back(v);
        return v;
      }
      case Sx::VECTOR: {
        Value v = makeVector(x->items.size(), UNSPEC_V);
        permanentRoots.push_back(v);
        for (size_t i = 0; i < x->items.size(); i++) {
          Value item = quoted(x->items[i]);
          vectorItems(v)[i] = item;
        }
        return v;
      }
    }
    return UNSPEC_V;
  }

  Var *lookup(Scope *sc, const std::string &name) {
    for (; sc; sc = sc->parent)
      for (size_t i = sc->vars.size(); i-- > 0;)
        if (sc->vars[i]->name == name) return sc->vars[i];
    return nullptr;
  }

  // Index of `v` among fs's free variables, capturing it through every enclosing function.
  int captureIndex(FuncScope *fs, Var *v) {
    for (size_t i = 0; i < fs->captured.size(); i++)
      if (fs->captured[i] == v) return i;
    if (fs->parent != v->owner) captureIndex(fs->parent, v);
    fs->captured.push_back(v);
    fs->fn->hasFree = true;
    return fs->captured.size() - 1;
  }

  GlobalCell *globalCell(const std::string &name) {
    auto it = globals.find(name);
    if (it != globals.end()) return it->second;
    GlobalCell *g = new GlobalCell{UNASSIGNED_V, nullptr, dupString(name), -1, nullptr};
    globals[name] = g;
    globalList.push_back(g);
    return g;
  }

  Node *reference(const Sx *x, Scope *sc, FuncScope *fs) {
    Var *v = lookup(sc, x->text);
    Node *n;
    if (!v) {
      GlobalCell *g = globalCell(x->text);
      if (g->prim >= 0) return constant(g->value, x, fs);
      n = node(N_GLOBAL, x, fs);
      n->cell = g;
    } else if (v->owner == fs) {
      n = node(v->boxed ? N_LOCAL_BOX : N_LOCAL, x, fs);
      n->index = v->slot;
      n->checked = v->checked;
    } else {
      n = node(v->boxed ? N_FREE_BOX : N_FREE, x, fs);
      n->index = captureIndex(fs, v);
    }
    n->name = internName(x->text);
    return n;
  }

  Var *declare(Scope *sc, FuncScope *fs, const Sx *nameSx, bool boxed, bool checked) {
    if (nameSx->kind != Sx::SYMBOL) syntax(nameSx, "expected a variable name");
    for (auto *v : sc->vars)
      if (v->name == nameSx->text) syntax(nameSx, "duplicate binding of %s", nameSx->text.c_str());
    Var *v = new Var{nameSx->text, fs, fs->nslots++, boxed, checked && !boxed};
    sc->vars.push_back(v);
    fs->fn->slotNames.push_back(nameSx->text);
    return v;
  }

  Node *seq(std::vector<Node *> items, const Sx *x, FuncScope *fs) {
    if (items.size() == 1) return items[0];
    Node *n = node(N_SEQ, x, fs);
    n->kids = std::move(items);
    return n;
  }

  Node *setVar(Var *v, Node *val, const Sx *x, Scope *sc, FuncScope *fs) {
    Node *n;
    if (v->owner == fs) {
      n = node(v->boxed ? N_SET_LOCAL_BOX : N_SET_LOCAL, x, fs);
      n->index = v->slot;
    } else {
      if (!v->boxed) syntax(x, "internal error: assignment to an unboxed captured variable");
      n = node(N_SET_FREE_BOX, x, fs);
      n->index = captureIndex(fs, v);
    }
    n->name = internName(v->name);
    n->kids = {val};
    (void)sc;
    return n;
  }

  static std::string bindingName(const Sx *b) {
    return b->kind == Sx::LIST && !b->items.empty() && b->items[0]->kind == Sx::SYMBOL ? b->items[0]->text : "";
  }

  // A lambda: parameters, then a body.
  Node *lambda(const Sx *x, const Sx *params, size_t bodyStart, const std::string &name,
               Scope *sc, FuncScope *outer) {
    Func *f = new Func();
    memset((void *)f, 0, offsetof(Func, body));
    // Names of compiler-made variables start with '#' (e.g. "#do"): the function drops it.
    f->name = dupString(name.empty() ? "lambda" : name[0] == '#' ? name.substr(1) : name);
    f->line = x->pos.line; f->col = x->pos.col;
    f->endLine = x->end.line; f->endCol = x->end.col;
    f->src = x->pos.src;
    f->hasFree = false;
    FuncScope fs{f, outer, {}, 0};
    Scope inner{{}, sc, &fs};
    // (a b), (a b . rest) or args: a rest parameter is the last frame slot of the parameters.
    std::vector<const Sx *> ps;
    const Sx *restParam = nullptr;
    if (params->kind == Sx::SYMBOL) restParam = params;
    else if (params->kind == Sx::LIST) { ps.assign(params->items.begin(), params->items.end()); restParam = params->dotted; }
    else syntax(params, "lambda: expected a parameter list");
    if (restParam) ps.push_back(restParam);
    std::vector<const Sx *> body(x->items.begin() + bodyStart, x->items.end());
    // Arguments arrive in the first slots; an assigned parameter gets a box in a slot of its
    // own, filled from its argument on entry.
    Scope arguments{{}, sc, &fs};
    std::vector<std::pair<Var *, const Sx *>> boxedParams;
    for (auto *p : ps) {
      bool boxed = false;
      if (p->kind == Sx::SYMBOL)
        for (auto *b : body) boxed = boxed || assignedIn(b, p->text);
      if (boxed) boxedParams.push_back({declare(&arguments, &fs, p, false, false), p});
      else declare(&inner, &fs, p, false, false);
    }
    std::vector<Node *> entry;
    for (auto &bp : boxedParams) {
      Var *v = declare(&inner, &fs, bp.second, true, false);
      entry.push_back(initVar(v, localRef(bp.first, bp.second, &fs), bp.second, &fs));
    }
    f->nparams = ps.size();
    f->rest = restParam != nullptr;
    f->jitArity = f->rest ? ~0u : f->nparams;
    if (f->rest) f->flags |= F_REST;
    if (body.empty()) syntax(x, "lambda: empty body");
    f->body = compileBody(body, x, &inner, &fs);
    if (!entry.empty()) {
      entry.push_back(f->body);
      f->body = seq(entry, x, &fs);
    }
    markTail(f->body);
    f->nlocals = fs.nslots;
    newFuncs.push_back(f);
    Node *n = node(N_LAMBDA, x, outer);
    n->fn = f;
    for (Var *v : fs.captured) {
      if (v->owner == outer) n->captures.push_back({false, v->slot});
      else n->captures.push_back({true, captureIndex(outer, v)});
    }
    return n;
  }

  static void markTail(Node *n) {
    switch (n->kind) {
      case N_IF: markTail(n->kids[1]); markTail(n->kids[2]); break;
      case N_SEQ: case N_AND: case N_OR: markTail(n->kids.back()); break;
      case N_CALL: n->tail = true; break;
      default: break;
    }
  }

  // Nodes that make letrec-style variables "not yet assigned": a fresh box, or the marker.
  std::vector<Node *> unassigned(const std::vector<Var *> &vars, const Sx *x, FuncScope *fs) {
    std::vector<Node *> items;
    for (Var *v : vars) {
      if (v->boxed) {
        Node *mb = node(N_MAKE_BOX, x, fs);
        mb->index = v->slot;
        items.push_back(mb);
      } else {
        Node *init = node(N_SET_LOCAL, x, fs);
        init->index = v->slot;
        init->kids = {constant(UNASSIGNED_V, x, fs)};
        items.push_back(init);
      }
    }
    return items;
  }

  // letrec* bindings (also internal defines): boxed when captured by a lambda or assigned.
  struct Binding { const Sx *name; const Sx *init; const Sx *where; };

  Node *letrec(const std::vector<Binding> &bs, const std::vector<const Sx *> &scopeForms, const Sx *x, Scope *sc, FuncScope *fs,
               Scope *into = nullptr) {
    Scope *inner = into ? into : new Scope{{}, sc, fs};
    std::vector<Var *> vars;
    for (auto &b : bs) {
      bool boxed = false;
      if (b.name->kind == Sx::SYMBOL)
        for (auto *f : scopeForms) boxed = boxed || capturedIn(f, b.name->text) || assignedIn(f, b.name->text);
      vars.push_back(declare(inner, fs, b.name, boxed, true));
    }
    std::vector<Node *> items = unassigned(vars, x, fs);
    for (size_t i = 0; i < bs.size(); i++) {
      Node *val = expr(bs[i].init, inner, fs, bs[i].name->text);
      if (val->kind == N_LAMBDA) {
        bool assigned = false;
        for (auto *f : scopeForms) assigned = assigned || assignedIn(f, vars[i]->name);
        if (!assigned) vars[i]->known = val->fn;
      }
      items.push_back(setVar(vars[i], val, bs[i].where, inner, fs));
    }
    return seq(items, x, fs);
  }

  static bool isForm(const Sx *f, const char *keyword) {
    return f->kind == Sx::LIST && !f->items.empty() && isSym(f->items[0], keyword);
  }
  static bool holdsDefine(const Sx *f) {
    if (isForm(f, "define")) return true;
    if (!isForm(f, "begin")) return false;
    for (size_t i = 1; i < f->items.size(); i++)
      if (holdsDefine(f->items[i])) return true;
    return false;
  }
  // (begin ...) forms in a body that hold definitions are spliced into the body.
  static void spliceBegins(const Sx *f, std::vector<const Sx *> &out) {
    if (isForm(f, "begin") && holdsDefine(f)) {
      for (size_t i = 1; i < f->items.size(); i++) spliceBegins(f->items[i], out);
    } else {
      out.push_back(f);
    }
  }

  // A body: internal defines become letrec* bindings over the whole body.
  Node *compileBody(const std::vector<const Sx *> &bodyForms, const Sx *x, Scope *sc, FuncScope *fs) {
    std::vector<const Sx *> forms;
    for (auto *f : bodyForms) spliceBegins(f, forms);
    if (forms.empty()) syntax(x, "a body needs at least one expression");
    std::vector<Binding> defs;
    for (auto *f : forms)
      if (f->kind == Sx::LIST && !f->items.empty() && isSym(f->items[0], "define")) defs.push_back(defineParts(f));
    if (defs.empty()) {
      std::vector<Node *> items;
      for (auto *f : forms) items.push_back(expr(f, sc, fs));
      return seq(items, x, fs);
    }
    // Interleave: definitions initialise in order, expressions run where they stand.
    Scope *inner = new Scope{{}, sc, fs};
    std::vector<Var *> vars;
    for (auto &b : defs) {
      bool boxed = false;
      for (auto *f : forms) boxed = boxed || capturedIn(f, b.name->text) || assignedIn(f, b.name->text);
      vars.push_back(declare(inner, fs, b.name, boxed, true));
    }
    std::vector<Node *> items = unassigned(vars, x, fs);
    size_t d = 0;
    for (auto *f : forms) {
      if (f->kind == Sx::LIST && !f->items.empty() && isSym(f->items[0], "define")) {
        Var *v = vars[d];
        Node *val = expr(defs[d].init, inner, fs, v->name);
        bool assigned = false;
        for (auto *g : forms) assigned = assigned || assignedIn(g, v->name);
        if (val->kind == N_LAMBDA && !assigned) v->known = val->fn;
        items.push_back(setVar(v, val, f, inner, fs));
        d++;
      } else {
        items.push_back(expr(f, inner, fs));
      }
    }
    if (forms.back()->kind == Sx::LIST && !forms.back()->items.empty() && isSym(forms.back()->items[0], "define"))
      syntax(forms.back(), "a body must end with an expression, not a definition");
    return seq(items, x, fs);
  }

  // (define name expr) or (define (name . params) body...): the name and the init form.
  Sx *lambdaFromDefine(const Sx *x) {
    const Sx *head = x->items[1];
    Sx *lam = new Sx();
    lam->kind = Sx::LIST;
    lam->pos = x->pos;
    lam->end = x->end;
    Sx *kw = new Sx();
    kw->kind = Sx::SYMBOL;
    kw->text = "lambda";
    kw->keyword = true;
    kw->pos = x->pos;
    Sx *params = new Sx();
    params->kind = Sx::LIST;
    params->pos = head->pos;
    params->items.assign(head->items.begin() + 1, head->items.end());
    params->dotted = head->dotted;
    lam->items.push_back(kw);
    lam->items.push_back(params);
    for (size_t i = 2; i < x->items.size(); i++) lam->items.push_back(x->items[i]);
    return lam;
  }

  Binding defineParts(const Sx *x) {
    if (x->items.size() < 2) syntax(x, "define: expected a name");
    const Sx *head = x->items[1];
    if (head->kind == Sx::LIST) {
      if (head->items.empty() || head->items[0]->kind != Sx::SYMBOL) syntax(head, "define: expected (name parameter ...)");
      if (x->items.size() < 3) syntax(x, "define: empty body");
      return {head->items[0], lambdaFromDefine(x), x};
    }
    if (head->kind != Sx::SYMBOL) syntax(head, "define: expected a name");
    if (x->items.size() != 3) syntax(x, "define: expected (define name expression)");
    return {head, x->items[2], x};
  }

  Node *ifNode(Node *c, Node *t, Node *e, const Sx *x, FuncScope *fs) {
    Node *n = node(N_IF, x, fs);
    n->kids = {c, t, e};
    return n;
  }

  Node *expr(const Sx *x, Scope *sc, FuncScope *fs, const std::string &nameHint = "") {
    switch (x->kind) {
      case Sx::FIXNUM: case Sx::BOOLEAN: case Sx::CHAR: case Sx::STRING: case Sx::VECTOR:
        return constant(quoted(x), x, fs);
      case Sx::SYMBOL: return reference(x, sc, fs);
      case Sx::LIST: break;
    }
    if (x->items.empty()) syntax(x, "empty combination (); write '() for the empty list");
    if (x->dotted) syntax(x, "a dotted list is not an expression");
    const Sx *head = x->items[0];
    size_t argc = x->items.size() - 1;
    if (head->kind == Sx::SYMBOL && (head->keyword || !lookup(sc, head->text))) {
      const std::string &k = head->text;
      if (k == "quote") {
        if (argc != 1) syntax(x, "quote: expected one datum");
        return constant(quoted(x->items[1]), x, fs);
      }
      if (k == "if") {
        if (argc != 2 && argc != 3) syntax(x, "if: expected (if test then [else])");
        return ifNode(expr(x->items[1], sc, fs), expr(x->items[2], sc, fs),
                      argc == 3 ? expr(x->items[3], sc, fs) : constant(UNSPEC_V, x, fs), x, fs);
      }
      if (k == "define") {
        if (fs->fn->flags & F_TOPLEVEL && fs->parent == nullptr && sc->parent == nullptr) {
          Binding b = defineParts(x);
          GlobalCell *g = globalCell(b.name->text);
          if (g->prim >= 0) syntax(b.name, "cannot redefine the builtin procedure %s", b.name->text.c_str());
          Node *n = node(N_DEFINE, x, fs);
          n->cell = g;
          n->name = g->name;
          n->kids = {expr(b.init, sc, fs, b.name->text)};
          if (n->kids[0]->kind == N_LAMBDA) g->defined = n->kids[0]->fn;
          return n;
        }
        syntax(x, "define: only allowed at top level or at the start of a body");
      }
      if (k == "set!") {
        if (argc != 2 || x->items[1]->kind != Sx::SYMBOL) syntax(x, "set!: expected (set! name expression)");
        const Sx *name = x->items[1];
        Node *val = expr(x->items[2], sc, fs);
        Var *v = lookup(sc, name->text);
        if (v) return setVar(v, val, x, sc, fs);
        GlobalCell *g = globalCell(name->text);
        if (g->prim >= 0) syntax(name, "cannot assign the builtin procedure %s", name->text.c_str());
        Node *n = node(N_SET_GLOBAL, x, fs);
        n->cell = g;
        n->name = g->name;
        n->kids = {val};
        return n;
      }
      if (k == "lambda") {
        if (argc < 2) syntax(x, "lambda: expected (lambda (parameter ...) body ...)");
        return lambda(x, x->items[1], 2, nameHint, sc, fs);
      }
      if (k == "begin") {
        if (argc == 0) return constant(UNSPEC_V, x, fs);
        std::vector<Node *> items;
        for (size_t i = 1; i < x->items.size(); i++) items.push_back(expr(x->items[i], sc, fs));
        return seq(items, x, fs);
      }
      if (k == "let" || k == "let*" || k == "letrec" || k == "letrec*") return let(x, k, sc, fs);
      if (k == "and" || k == "or") {
        if (argc == 0) return constant(mkBool(k == "and"), x, fs);
        if (argc == 1) return expr(x->items[1], sc, fs);
        Node *n = node(k == "and" ? N_AND : N_OR, x, fs);
        for (size_t i = 1; i < x->items.size(); i++) n->kids.push_back(expr(x->items[i], sc, fs));
        return n;
      }
      if (k == "when" || k == "unless") {
        if (argc < 2) syntax(x, "%s: expected a test and a body", k.c_str());
        std::vector<Node *> body;
        for (size_t i = 2; i < x->items.size(); i++) body.push_back(expr(x->items[i], sc, fs));
        Node *b = seq(body, x, fs), *u = constant(UNSPEC_V, x, fs);
        Node *c = expr(x->items[1], sc, fs);
        return k == "when" ? ifNode(c, b, u, x, fs) : ifNode(c, u, b, x, fs);
      }
      if (k == "cond") return cond(x, 1, sc, fs);
      if (k == "case") return caseForm(x, sc, fs);
      if (k == "do") return doLoop(x, sc, fs);
      if (k == "quasiquote") {
        if (argc != 1) syntax(x, "quasiquote: expected one template");
        return quasi(x->items[1], 1, x, sc, fs);
      }
      if (k == "unquote" || k == "unquote-splicing") syntax(x, "%s: not inside a quasiquote", k.c_str());
    }
    // An application.
    Node *fn = expr(head, sc, fs);
    if (fn->kind == N_CONST && isPrimProc(fn->value)) {
      int id = primId(fn->value);
      checkPrimArity(id, argc, x, fs);
      if (id == P_APPLY) {  // a call: the interpreter spreads it in place, tail calls stay tail calls
        Node *n = node(N_CALL, x, fs);
        n->kids.push_back(fn);
        for (size_t i = 1; i < x->items.size(); i++) n->kids.push_back(expr(x->items[i], sc, fs));
        return n;
      }
      Node *n = node(N_PRIM, x, fs);
      n->index = id;
      for (size_t i = 1; i < x->items.size(); i++) n->kids.push_back(expr(x->items[i], sc, fs));
      return n;
    }
    Node *n = node(N_CALL, x, fs);
    n->kids.push_back(fn);
    if (head->kind == Sx::SYMBOL) n->calleeVar = lookup(sc, head->text);
    for (size_t i = 1; i < x->items.size(); i++) n->kids.push_back(expr(x->items[i], sc, fs));
    return n;
  }

  void checkPrimArity(int id, size_t argc, const Sx *x, FuncScope *fs) {
    const PrimInfo &pi = primInfo[id];
    if ((int)argc < pi.minArgs || (pi.maxArgs >= 0 && (int)argc > pi.maxArgs)) {
      char msg[128];
      if (pi.maxArgs < 0) snprintf(msg, sizeof msg, "%s: expects at least %d argument%s, got %zu", pi.name, pi.minArgs, pi.minArgs == 1 ? "" : "s", argc);
      else if (pi.minArgs == pi.maxArgs) snprintf(msg, sizeof msg, "%s: expects %d argument%s, got %zu", pi.name, pi.minArgs, pi.minArgs == 1 ? "" : "s", argc);
      else snprintf(msg, sizeof msg, "%s: expects %d to %d arguments, got %zu", pi.name, pi.minArgs, pi.maxArgs, argc);
      raise(E_ARITY, x->pos, fs->fn->name, "%s", msg);
    }
  }

  // A call of an already compiled procedure expression on compiled arguments.
  Node *callNode(Node *fn, std::vector<Node *> args, const Sx *x, FuncScope *fs) {
    Node *n;
    if (fn->kind == N_CONST && isPrimProc(fn->value) && primId(fn->value) != P_APPLY) {
      checkPrimArity(primId(fn->value), args.size(), x, fs);
      n = node(N_PRIM, x, fs);
      n->index = primId(fn->value);
    } else {
      n = node(N_CALL, x, fs);
      n->kids.push_back(fn);
    }
    for (Node *a : args) n->kids.push_back(a);
    return n;
  }

  // A hidden frame slot for a value a form needs more than once (case keys, cond => tests).
  // Its name starts with '#', which no symbol the reader makes can.
  Var *temporary(const char *name, const Sx *x, Scope *sc, FuncScope *fs) {
    Sx *nameSx = new Sx();
    nameSx->kind = Sx::SYMBOL;
    nameSx->text = name;
    nameSx->pos = x->pos;
    Scope *inner = new Scope{{}, sc, fs};
    return declare(inner, fs, nameSx, false, false);
  }

  Node *localRef(Var *v, const Sx *x, FuncScope *fs) {
    Node *n = node(N_LOCAL, x, fs);
    n->index = v->slot;
    n->name = dupString(v->name);
    return n;
  }

  Node *primNode(int id, std::vector<Node *> kids, const Sx *x, FuncScope *fs) {
    Node *n = node(N_PRIM, x, fs);
    n->index = id;
    n->kids = std::move(kids);
    return n;
  }

  Sx *synth(Sx::Kind kind, const char *text, const Sx *at, bool keyword = false) {
    Sx *s = new Sx();
    s->kind = kind;
    s->text = text;
    s->pos = at->pos;
    s->end = at->end;
    s->keyword = keyword;
    return s;
  }

  // (case key ((datum ...) expr ...) ... (else expr ...)): eqv? tests on the key, kept in a
  // hidden slot; a clause may also be (... => receiver).
  Node *caseForm(const Sx *x, Scope *sc, FuncScope *fs) {
    if (x->items.size() < 2) syntax(x, "case: expected (case key clause ...)");
    Node *key = expr(x->items[1], sc, fs);
    Var *t = temporary("#key", x, sc, fs);
    Node *set = node(N_SET_LOCAL, x, fs);
    set->index = t->slot;
    set->name = dupString(t->name);
    set->kids = {key};
    struct Clause { const Sx *sx; Node *test, *body; };
    std::vector<Clause> clauses;
    for (size_t i = 2; i < x->items.size(); i++) {
      const Sx *c = x->items[i];
      if (c->kind != Sx::LIST || c->items.size() < 2) syntax(c, "case: expected a clause ((datum ...) expression ...)");
      Node *test = nullptr;
      if (isSym(c->items[0], "else")) {
        if (i + 1 != x->items.size()) syntax(c, "case: else must be the last clause");
      } else {
        if (c->items[0]->kind != Sx::LIST || c->items[0]->dotted) syntax(c->items[0], "case: expected a list of data");
        std::vector<Node *> tests;
        for (const Sx *d : c->items[0]->items)
          tests.push_back(primNode(P_EQV, {localRef(t, c, fs), constant(quoted(d), d, fs)}, d, fs));
        if (tests.empty()) test = constant(FALSE_V, c, fs);
        else if (tests.size() == 1) test = tests[0];
        else { test = node(N_OR, c, fs); test->kids = tests; }
      }
      Node *body;
      if (isSym(c->items[1], "=>")) {
        if (c->items.size() != 3) syntax(c, "case: expected (... => receiver)");
        body = callNode(expr(c->items[2], sc, fs), {localRef(t, c, fs)}, c, fs);
      } else {
        std::vector<Node *> items;
        for (size_t j = 1; j < c->items.size(); j++) items.push_back(expr(c->items[j], sc, fs));
        body = seq(items, c, fs);
      }
      clauses.push_back({c, test, body});
    }
    Node *rest = constant(UNSPEC_V, x, fs);
    for (size_t i = clauses.size(); i-- > 0;)
      rest = clauses[i].test ? ifNode(clauses[i].test, clauses[i].body, rest, clauses[i].sx, fs) : clauses[i].body;
    return seq({set, rest}, x, fs);
  }

  // (do ((var init step) ...) (test result ...) command ...) is the named let
  // (let #do ((var init) ...) (if test (begin result ...) (begin command ... (#do step ...)))).
  Node *doLoop(const Sx *x, Scope *sc, FuncScope *fs) {
    if (x->items.size() < 3 || x->items[1]->kind != Sx::LIST || x->items[2]->kind != Sx::LIST ||
        x->items[2]->items.empty())
      syntax(x, "do: expected (do ((variable init step) ...) (test result ...) command ...)");
    Sx *loop = synth(Sx::SYMBOL, "#do", x);
    Sx *bindings = synth(Sx::LIST, "", x->items[1]);
    Sx *next = synth(Sx::LIST, "", x);
    next->items.push_back(loop);
    for (const Sx *b : x->items[1]->items) {
      if (b->kind != Sx::LIST || b->items.size() < 2 || b->items.size() > 3 || b->items[0]->kind != Sx::SYMBOL)
        syntax(b, "do: expected (variable init [step])");
      Sx *binding = synth(Sx::LIST, "", b);
      binding->items = {b->items[0], b->items[1]};
      bindings->items.push_back(binding);
      next->items.push_back(b->items.size() == 3 ? b->items[2] : b->items[0]);
    }
    const Sx *exit = x->items[2];
    Sx *result = synth(Sx::LIST, "", exit);
    result->items.push_back(synth(Sx::SYMBOL, "begin", exit, true));
    result->items.insert(result->items.end(), exit->items.begin() + 1, exit->items.end());
    Sx *commands = synth(Sx::LIST, "", x);
    commands->items.push_back(synth(Sx::SYMBOL, "begin", x, true));
    commands->items.insert(commands->items.end(), x->items.begin() + 3, x->items.end());
    commands->items.push_back(next);
    Sx *body = synth(Sx::LIST, "", x);
    body->items = {synth(Sx::SYMBOL, "if", x, true), exit->items[0], result, commands};
    Sx *let = synth(Sx::LIST, "", x);
    let->items = {synth(Sx::SYMBOL, "let", x, true), loop, bindings, body};
    return namedLet(let, sc, fs);
  }

  static bool hasUnquote(const Sx *x) {
    if (!hasItems(x)) return false;
    if (!x->items.empty() && (isSym(x->items[0], "unquote") || isSym(x->items[0], "unquote-splicing"))) return true;
    for (auto *k : x->items)
      if (hasUnquote(k)) return true;
    return x->dotted && hasUnquote(x->dotted);
  }

  // A quasiquote template at nesting `depth`: constant where nothing is unquoted, else code
  // that conses the list (and appends what ,@ splices) left to right.
  Node *quasi(const Sx *x, int depth, const Sx *form, Scope *sc, FuncScope *fs) {
    if (!hasUnquote(x)) return constant(quoted(x), x, fs);
    if (x->kind == Sx::LIST && x->items.size() == 2 && x->items[0]->kind == Sx::SYMBOL && !x->dotted) {
      const std::string &k = x->items[0]->text;
      if (k == "unquote" && depth == 1) return expr(x->items[1], sc, fs);
      if (k == "unquote-splicing" && depth == 1) syntax(x, "unquote-splicing: not inside a list");
      int inner = k == "quasiquote" ? depth + 1 : (k == "unquote" || k == "unquote-splicing") ? depth - 1 : depth;
      if (inner != depth)
        return primNode(P_LIST, {constant(quoted(x->items[0]), x, fs), quasi(x->items[1], inner, form, sc, fs)}, x, fs);
    }
    // The suffix with nothing unquoted is one constant.
    size_t last = x->items.size();
    if (!(x->dotted && hasUnquote(x->dotted)))
      while (last > 0 && !hasUnquote(x->items[last - 1])) last--;
    Node *tail;
    if (x->dotted && hasUnquote(x->dotted)) {
      tail = quasi(x->dotted, depth, form, sc, fs);
    } else {
      Value v = x->dotted && x->kind == Sx::LIST ? quoted(x->dotted) : NIL_V;
      Root r(v);
      for (size_t i = x->items.size(); i-- > last;) {
        Value item = quoted(x->items[i]);
        *r.at = cons(item, *r.at);
      }
      tail = constant(r.get(), x, fs);
    }
    // Operands are compiled left to right, so build the list's nodes in order.
    std::vector<Node *> heads;
    std::vector<bool> spliced;
    for (size_t i = 0; i < last; i++) {
      const Sx *item = x->items[i];
      bool splice = depth == 1 && item->kind == Sx::LIST && item->items.size() == 2 && isSym(item->items[0], "unquote-splicing");
      heads.push_back(splice ? expr(item->items[1], sc, fs) : quasi(item, depth, form, sc, fs));
      spliced.push_back(splice);
    }
    for (size_t i = last; i-- > 0;) tail = primNode(spliced[i] ? P_APPEND2 : P_CONS, {heads[i], tail}, x->items[i], fs);
    if (x->kind == Sx::VECTOR) tail = primNode(P_LIST_TO_VECTOR, {tail}, x, fs);
    return tail;
  }

  Node *cond(const Sx *x, size_t i, Scope *sc, FuncScope *fs) {
    if (i >= x->items.size()) return constant(UNSPEC_V, x, fs);
    const Sx *clause = x->items[i];
    if (clause->kind != Sx::LIST || clause->items.empty()) syntax(clause, "cond: expected a clause (test expression ...)");
    if (isSym(clause->items[0], "else")) {
      if (i + 1 != x->items.size()) syntax(clause, "cond: else must be the last clause");
      if (clause->items.size() < 2) syntax(clause, "cond: else with no expressions");
      std::vector<Node *> body;
      for (size_t j = 1; j < clause->items.size(); j++) body.push_back(expr(clause->items[j], sc, fs));
      return seq(body, clause, fs);
    }
    Node *test = expr(clause->items[0], sc, fs);
    Node *rest = cond(x, i + 1, sc, fs);
    if (clause->items.size() == 1) {
      Node *n = node(N_OR, clause, fs);
      n->kids = {test, rest};
      return n;
    }
    if (isSym(clause->items[1], "=>")) {
      // (test => receiver): the receiver is called on the test's value, in tail position.
      if (clause->items.size() != 3) syntax(clause, "cond: expected (test => receiver)");
      Var *t = temporary("#test", clause, sc, fs);
      Node *set = node(N_SET_LOCAL, clause, fs);
      set->index = t->slot;
      set->name = dupString(t->name);
      set->kids = {test};
      Node *receiver = expr(clause->items[2], sc, fs);
      Node *call = callNode(receiver, {localRef(t, clause, fs)}, clause, fs);
      return seq({set, ifNode(localRef(t, clause, fs), call, rest, clause, fs)}, clause, fs);
    }
    std::vector<Node *> body;
    for (size_t j = 1; j < clause->items.size(); j++) body.push_back(expr(clause->items[j], sc, fs));
    return ifNode(test, seq(body, clause, fs), rest, clause, fs);
  }

  Node *let(const Sx *x, const std::string &k, Scope *sc, FuncScope *fs) {
    size_t argc = x->items.size() - 1;
    if (argc >= 2 && k == "let" && x->items[1]->kind == Sx::SYMBOL) return namedLet(x, sc, fs);
    if (argc < 2 || x->items[1]->kind != Sx::LIST) syntax(x, "%s: expected (%s ((name value) ...) body ...)", k.c_str());
    std::vector<Binding> bs;
    for (auto *b : x->items[1]->items) {
      if (b->kind != Sx::LIST || b->items.size() != 2 || b->items[0]->kind != Sx::SYMBOL)
        syntax(b, "expected a binding (name value)");
      bs.push_back({b->items[0], b->items[1], b});
    }
    std::vector<const Sx *> body(x->items.begin() + 2, x->items.end());
    if (k == "letrec" || k == "letrec*") {
      std::vector<const Sx *> scopeForms(x->items.begin() + 1, x->items.end());
      Scope *inner = new Scope{{}, sc, fs};
      // The body may have internal defines of its own: compile it as a body in the new scope.
      Node *inits = letrec(bs, scopeForms, x, sc, fs, inner);
      Node *b = compileBody(body, x, inner, fs);
      return seq({inits, b}, x, fs);
    }
    std::vector<Node *> items;
    Scope *cur = sc;
    if (k == "let") {
      // Evaluate every init in the outer scope first, then bind.
      std::vector<Node *> vals;
      for (auto &b : bs) vals.push_back(expr(b.init, sc, fs, b.name->text));
      Scope *inner = new Scope{{}, sc, fs};
      for (size_t i = 0; i < bs.size(); i++) {
        bool boxed = false;
        for (auto *f : body) boxed = boxed || assignedIn(f, bs[i].name->text);
        Var *v = declare(inner, fs, bs[i].name, boxed, false);
        items.push_back(initVar(v, vals[i], bs[i].where, fs));
      }
      cur = inner;
    } else {
      for (size_t i = 0; i < bs.size(); i++) {
        Node *val = expr(bs[i].init, cur, fs, bs[i].name->text);
        Scope *inner = new Scope{{}, cur, fs};
        bool boxed = false;
        for (size_t j = i + 1; j < bs.size(); j++) boxed = boxed || assignedIn(bs[j].init, bs[i].name->text);
        for (auto *f : body) boxed = boxed || assignedIn(f, bs[i].name->text);
        Var *v = declare(inner, fs, bs[i].name, boxed, false);
        items.push_back(initVar(v, val, bs[i].where, fs));
        cur = inner;
      }
    }
    items.push_back(compileBody(body, x, cur, fs));
    return seq(items, x, fs);
  }

  // Binds a fresh variable: boxed ones get a new box holding the value.
  Node *initVar(Var *v, Node *val, const Sx *where, FuncScope *fs) {
    Node *n = node(N_SET_LOCAL, where, fs);
    n->index = v->slot;
    n->name = internName(v->name);
    if (v->boxed) {
      Node *mb = node(N_MAKE_BOX, where, fs);
      mb->index = v->slot;
      Node *set = node(N_SET_LOCAL_BOX, where, fs);
      set->index = v->slot;
      set->name = n->name;
      set->kids = {val};
      return seq({mb, set}, where, fs);
    }
    n->kids = {val};
    return n;
  }

  // (let name ((v init) ...) body) => ((letrec ((name (lambda (v ...) body))) name) init ...)
  Node *namedLet(const Sx *x, Scope *sc, FuncScope *fs) {
    if (x->items.size() < 4 || x->items[2]->kind != Sx::LIST) syntax(x, "let: expected (let name ((var init) ...) body ...)");
    const Sx *name = x->items[1];
    Sx *params = new Sx();
    params->kind = Sx::LIST;
    params->pos = x->items[2]->pos;
    std::vector<const Sx *> inits;
    for (auto *b : x->items[2]->items) {
      if (b->kind != Sx::LIST || b->items.size() != 2 || b->items[0]->kind != Sx::SYMBOL)
        syntax(b, "expected a binding (name value)");
      params->items.push_back(b->items[0]);
      inits.push_back(b->items[1]);
    }
    Sx *lam = new Sx();
    lam->kind = Sx::LIST;
    lam->pos = x->pos;
    lam->end = x->end;
    Sx *kw = new Sx();
    kw->kind = Sx::SYMBOL;
    kw->text = "lambda";
    kw->keyword = true;
    kw->pos = x->pos;
    lam->items = {kw, params};
    for (size_t i = 3; i < x->items.size(); i++) lam->items.push_back(x->items[i]);
    // The initial arguments are evaluated outside the loop's scope.
    std::vector<Node *> args;
    for (auto *i : inits) args.push_back(expr(i, sc, fs));
    Scope *inner = new Scope{{}, sc, fs};
    Node *inits2 = letrec({{name, lam, x}}, {lam}, x, sc, fs, inner);
    Node *call = node(N_CALL, x, fs);
    call->kids.push_back(reference(name, inner, fs));
    call->calleeVar = lookup(inner, name->text);
    for (auto *a : args) call->kids.push_back(a);
    return seq({inits2, call}, x, fs);
  }
};

// ---------------------------------------------------------------------------------------------
// Primitives, shared by the interpreter and by JIT code (through rt_prim).

static const char *typeName(Value v) {
  if (isFix(v)) return "a number";
  if (v == FALSE_V || v == TRUE_V) return "a boolean";
  if (v == NIL_V) return "the empty list";
  if (v == UNSPEC_V) return "an unspecified value";
  if (isPrimProc(v)) return "a procedure";
  if (isChar(v)) return "a character";
  if (isPtr(v)) switch (obj(v)->type) {
      case T_PAIR: return "a pair";
      case T_CLOSURE: return "a procedure";
      case T_SYMBOL: return "a symbol";
      case T_STRING: return "a string";
      case T_VECTOR: return "a vector";
    }
  return "a value";
}

[[noreturn]] static void typeError(const Node *site, const char *who, const char *expected, Value got) {
  fail(E_TYPE, site, "%s: expected %s, got %s %s", who, expected, typeName(got), repr(got).c_str());
}

static inline int64_t num(const Node *site, int id, Value v) {
  if (!isFix(v)) typeError(site, primInfo[id].name, "a number", v);
  return fixVal(v);
}

[[noreturn]] static void overflow(const Node *site, int id, int64_t a, int64_t b) {
  fail(E_OVERFLOW, site, "%s: fixnum overflow computing (%s %lld %lld)", primInfo[id].name,
       primInfo[id].name, (long long)a, (long long)b);
}

static Value arith(const Node *site, int id, Value a, Value b) {
  int64_t x = num(site, id, a), y = num(site, id, b), r;
  switch (id) {
    case P_ADD: if (__builtin_add_overflow(x, y, &r) || !fitsFix(r)) overflow(site, id, x, y); return mkFix(r);
    case P_SUB: if (__builtin_sub_overflow(x, y, &r) || !fitsFix(r)) overflow(site, id, x, y); return mkFix(r);
    case P_MUL: if (__builtin_mul_overflow(x, y, &r) || !fitsFix(r)) overflow(site, id, x, y); return mkFix(r);
    case P_QUOTIENT: case P_REMAINDER: case P_MODULO:
      if (y == 0) fail(E_DIVIDE_BY_ZERO, site, "%s: division by zero", primInfo[id].name);
      if (id == P_QUOTIENT) { r = x / y; if (!fitsFix(r)) overflow(site, id, x, y); return mkFix(r); }
      r = x % y;
      if (id == P_MODULO && r != 0 && ((r < 0) != (y < 0))) r += y;
      return mkFix(r);
    case P_MIN: return x < y ? a : b;
    case P_MAX: return x > y ? a : b;
  }
  return UNSPEC_V;
}

static bool compare(const Node *site, int id, Value a, Value b) {
  int64_t x = num(site, id, a), y = num(site, id, b);
  switch (id) {
    case P_NUM_EQ: return x == y;
    case P_LT: return x < y;
    case P_GT: return x > y;
    case P_LE: return x <= y;
    default: return x >= y;
  }
}

// Recurses on cars and vector elements, iterates along cdrs.
static bool equal(Value a, Value b, int depth = 0) {
  for (;;) {
    if (a == b) return true;
    if (!isPtr(a) || !isPtr(b) || depth > 100000) return false;
    uint32_t t = obj(a)->type;
    if (t != obj(b)->type) return false;
    switch (t) {
      case T_PAIR:
        if (!equal(car(a), car(b), depth + 1)) return false;
        a = cdr(a);
        b = cdr(b);
        continue;
      case T_STRING:
        return stringLength(a) == stringLength(b) && !memcmp(stringChars(a), stringChars(b), stringLength(a));
      case T_VECTOR:
        if (vectorLength(a) != vectorLength(b)) return false;
        for (size_t i = 0; i < vectorLength(a); i++)
          if (!equal(vectorItems(a)[i], vectorItems(b)[i], depth + 1)) return false;
        return true;
      default: return false;
    }
  }
}

// Elements of a proper list, or -1 (an improper or circular list).
static int64_t listLength(Value l) {
  int64_t n = 0;
  Value slow = l;
  while (isPair(l)) {
    l = cdr(l);
    n++;
    if (!isPair(l)) break;
    l = cdr(l);
    n++;
    slow = cdr(slow);
    if (l == slow) return -1;
  }
  return l == NIL_V ? n : -1;
}

static const int64_t MAX_SEQUENCE = 1 << 27;  // elements of a vector, bytes of a string

[[noreturn]] static void rangeError(const Node *site, const char *who, Value index, Value of) {
  const char *what = "a list";
  int64_t len = 0;
  if (isVector(of)) { what = "a vector"; len = vectorLength(of); }
  else if (isType(of, T_STRING)) { what = "a string"; len = stringLength(of); }
  else for (Value l = of; isPair(l); l = cdr(l)) len++;
  fail(E_RANGE, site, "%s: index %s is out of range for %s of length %lld", who, repr(index).c_str(), what, (long long)len);
}

// An index into a sequence of `len` elements (`end`: len itself is allowed too).
static size_t indexArg(const Node *site, int id, Value k, Value of, size_t len, bool end = false) {
  if (!isFix(k)) typeError(site, primInfo[id].name, "an index", k);
  int64_t i = fixVal(k);
  if (i < 0 || (size_t)i > len || ((size_t)i == len && !end)) rangeError(site, primInfo[id].name, k, of);
  return i;
}

static Value vectorArg(const Node *site, int id, Value v) {
  if (!isVector(v)) typeError(site, primInfo[id].name, "a vector", v);
  return v;
}
static Value stringArg(const Node *site, int id, Value v) {
  if (!isType(v, T_STRING)) typeError(site, primInfo[id].name, "a string", v);
  return v;
}
static uint32_t charArg(const Node *site, int id, Value v) {
  if (!isChar(v)) typeError(site, primInfo[id].name, "a character", v);
  return v >> 3;
}
static inline Value mkChar(uint32_t c) { return ((Value)c << 3) | 7; }

// A length argument: a fixnum from 0 to MAX_SEQUENCE.
static size_t lengthArg(const Node *site, int id, Value k) {
  if (!isFix(k)) typeError(site, primInfo[id].name, "a length", k);
  if (fixVal(k) < 0 || fixVal(k) > MAX_SEQUENCE)
    fail(E_RANGE, site, "%s: length %lld is out of range (0 to %lld)", primInfo[id].name, (long long)fixVal(k), (long long)MAX_SEQUENCE);
  return fixVal(k);
}

static Value newString(const Node *site, int id, size_t len) {
  if (len > (size_t)MAX_SEQUENCE) fail(E_RANGE, site, "%s: a string of %zu bytes is too long", primInfo[id].name, len);
  Obj *o = allocate(T_STRING, 2 + (len + 8) / 8);
  o->slot[0] = len;
  ((char *)&o->slot[1])[len] = 0;
  return tagged(o);
}
static inline char *stringBytes(Value v) { return (char *)&obj(v)->slot[1]; }

static int compareStrings(Value a, Value b) {
  size_t la = stringLength(a), lb = stringLength(b);
  int c = memcmp(stringChars(a), stringChars(b), la < lb ? la : lb);
  return c ? c : la < lb ? -1 : la > lb;
}

static int radixArg(const Node *site, int id, Value *args, int n) {
  if (n < 2) return 10;
  if (!isFix(args[1]) || (fixVal(args[1]) != 2 && fixVal(args[1]) != 8 && fixVal(args[1]) != 10 && fixVal(args[1]) != 16))
    typeError(site, primInfo[id].name, "a radix (2, 8, 10 or 16)", args[1]);
  return fixVal(args[1]);
}

[[noreturn]] static void stackExhausted(const Node *site) {
  fail(E_STACK, site, "stack exhausted: recursion too deep (%u frames' worth of values)", STACK_SLOTS);
}

static Value apply(Value *base, int nargs, const Node *site);

// The primitives added for strings, characters, vectors and the prelude.
__attribute__((noinline)) static Value primApplyMore(int id, Value *args, int n, const Node *site) {
  const char *who = primInfo[id].name;
  switch (id) {
    case P_APPLY: {
      // Only reached when apply itself is applied by a primitive path; calls re-enter apply().
      Value *base = sp;
      if (base + n + 64 > stackLimit) stackExhausted(site);
      base[0] = mkPrim(P_APPLY);
      for (int i = 0; i < n; i++) base[1 + i] = args[i];
      sp = base + n + 1;
      Value r = apply(base, n, site);
      sp = base;
      return r;
    }
    case P_VECTORP: return mkBool(isVector(args[0]));
    case P_MAKE_VECTOR: return makeVector(lengthArg(site, id, args[0]), n > 1 ? args[1] : FALSE_V);
    case P_VECTOR: {
      Value v = makeVector(n, UNSPEC_V);
      for (int i = 0; i < n; i++) vectorItems(v)[i] = args[i];
      return v;
    }
    case P_VECTOR_LENGTH: return mkFix(vectorLength(vectorArg(site, id, args[0])));
    case P_VECTOR_REF: {
      Value v = vectorArg(site, id, args[0]);
      return vectorItems(v)[indexArg(site, id, args[1], v, vectorLength(v))];
    }
    case P_VECTOR_SET: {
      Value v = vectorArg(site, id, args[0]);
      vectorItems(v)[indexArg(site, id, args[1], v, vectorLength(v))] = args[2];
      return UNSPEC_V;
    }
    case P_VECTOR_FILL: {
      Value v = vectorArg(site, id, args[0]);
      for (size_t i = 0; i < vectorLength(v); i++) vectorItems(v)[i] = args[1];
      return UNSPEC_V;
    }
    case P_VECTOR_TO_LIST: {
      Value v = vectorArg(site, id, args[0]);
      Root r(NIL_V);
      for (size_t i = vectorLength(v); i-- > 0;) *r.at = cons(vectorItems(v)[i], *r.at);
      return r.get();
    }
    case P_LIST_TO_VECTOR: {
      int64_t len = listLength(args[0]);
      if (len < 0) typeError(site, who, "a list", args[0]);
      if (len > MAX_SEQUENCE) fail(E_RANGE, site, "%s: a list of %lld elements is too long", who, (long long)len);
      Value v = makeVector(len, UNSPEC_V);
      Value l = args[0];
      for (int64_t i = 0; i < len; i++, l = cdr(l)) vectorItems(v)[i] = car(l);
      return v;
    }
    case P_STRING_LENGTH: return mkFix(stringLength(stringArg(site, id, args[0])));
    case P_STRING_REF: {
      Value s = stringArg(site, id, args[0]);
      return mkChar((unsigned char)stringChars(s)[indexArg(site, id, args[1], s, stringLength(s))]);
    }
    case P_SUBSTRING: {
      Value s = stringArg(site, id, args[0]);
      size_t len = stringLength(s);
      size_t end = n > 2 ? indexArg(site, id, args[2], s, len, true) : len;
      size_t start = indexArg(site, id, args[1], s, len, true);
      if (start > end) fail(E_RANGE, site, "substring: start %zu is after end %zu", start, end);
      Value r = newString(site, id, end - start);
      memcpy(stringBytes(r), stringChars(s) + start, end - start);
      return r;
    }
    case P_STRING_APPEND: {
      size_t len = 0;
      for (int i = 0; i < n; i++) len += stringLength(stringArg(site, id, args[i]));
      Value r = newString(site, id, len);
      char *p = stringBytes(r);
      for (int i = 0; i < n; i++) {
        memcpy(p, stringChars(args[i]), stringLength(args[i]));
        p += stringLength(args[i]);
      }
      return r;
    }
    case P_STRING_EQ: case P_STRING_LT: case P_STRING_GT: {
      for (int i = 0; i < n; i++) stringArg(site, id, args[i]);
      for (int i = 0; i + 1 < n; i++) {
        int c = compareStrings(args[i], args[i + 1]);
        if (id == P_STRING_EQ ? c != 0 : id == P_STRING_LT ? c >= 0 : c <= 0) return FALSE_V;
      }
      return TRUE_V;
    }
    case P_STRING: case P_LIST_TO_STRING: {
      // From characters (as arguments, or in a list); characters past 127 take UTF-8 bytes.
      std::string text;
      if (id == P_STRING) {
        for (int i = 0; i < n; i++) appendUtf8(text, charArg(site, id, args[i]));
      } else {
        if (listLength(args[0]) < 0) typeError(site, who, "a list", args[0]);
        for (Value l = args[0]; isPair(l); l = cdr(l)) {
          if (!isChar(car(l))) typeError(site, who, "a list of characters", args[0]);
          appendUtf8(text, car(l) >> 3);
        }
      }
      Value r = newString(site, id, text.size());
      memcpy(stringBytes(r), text.data(), text.size());
      return r;
    }
    case P_MAKE_STRING: {
      size_t len = lengthArg(site, id, args[0]);
      uint32_t c = n > 1 ? charArg(site, id, args[1]) : ' ';
      if (c > 127) typeError(site, who, "an ASCII character", args[1]);
      Value r = newString(site, id, len);
      memset(stringBytes(r), c, len);
      return r;
    }
    case P_STRING_TO_LIST: {
      Value s = stringArg(site, id, args[0]);
      Root r(NIL_V);
      for (size_t i = stringLength(s); i-- > 0;) *r.at = cons(mkChar((unsigned char)stringChars(s)[i]), *r.at);
      return r.get();
    }
    case P_STRING_TO_SYMBOL: {
      Value s = stringArg(site, id, args[0]);
      return intern(std::string(stringChars(s), stringLength(s)));
    }
    case P_SYMBOL_TO_STRING:
      if (!isType(args[0], T_SYMBOL)) typeError(site, who, "a symbol", args[0]);
      return obj(args[0])->slot[0];  // strings are immutable: share the name
    case P_NUMBER_TO_STRING: {
      int radix = radixArg(site, id, args, n);
      int64_t x = num(site, id, args[0]);
      char buf[80], *p = buf + sizeof buf;
      uint64_t u = x < 0 ? -(uint64_t)x : (uint64_t)x;
      do { *--p = "0123456789abcdef"[u % radix]; u /= radix; } while (u);
      if (x < 0) *--p = '-';
      size_t len = buf + sizeof buf - p;
      Value r = newString(site, id, len);
      memcpy(stringBytes(r), p, len);
      return r;
    }
    case P_STRING_TO_NUMBER: {
      Value s = stringArg(site, id, args[0]);
      int radix = radixArg(site, id, args, n);
      const char *p = stringChars(s), *e = p + stringLength(s);
      bool neg = false;
      if (p < e && (*p == '-' || *p == '+')) neg = *p++ == '-';
      if (p == e) return FALSE_V;
      int64_t v = 0;
      for (; p < e; p++) {
        int d = isdigit((unsigned char)*p) ? *p - '0' : isalpha((unsigned char)*p) ? tolower(*p) - 'a' + 10 : 99;
        if (d >= radix) return FALSE_V;
        if (__builtin_mul_overflow(v, radix, &v) || __builtin_add_overflow(v, d, &v) || v > FIX_MAX + 1) return FALSE_V;
      }
      v = neg ? -v : v;
      return fitsFix(v) ? mkFix(v) : FALSE_V;
    }
    case P_CHARP: return mkBool(isChar(args[0]));
    case P_CHAR_TO_INTEGER: return mkFix(charArg(site, id, args[0]));
    case P_INTEGER_TO_CHAR: {
      int64_t c = num(site, id, args[0]);
      if (c < 0 || c > 0x10ffff || (c >= 0xd800 && c < 0xe000))
        fail(E_RANGE, site, "integer->char: %lld is not a Unicode scalar value", (long long)c);
      return mkChar(c);
    }
    case P_CHAR_EQ: case P_CHAR_LT: case P_CHAR_GT: {
      for (int i = 0; i < n; i++) charArg(site, id, args[i]);
      for (int i = 0; i + 1 < n; i++) {
        Value a = args[i], b = args[i + 1];
        if (id == P_CHAR_EQ ? a != b : id == P_CHAR_LT ? a >= b : a <= b) return FALSE_V;
      }
      return TRUE_V;
    }
    case P_CHAR_UPCASE: { uint32_t c = charArg(site, id, args[0]); return mkChar(c < 128 ? toupper(c) : c); }
    case P_CHAR_DOWNCASE: { uint32_t c = charArg(site, id, args[0]); return mkChar(c < 128 ? tolower(c) : c); }
    case P_CHAR_ALPHABETICP: { uint32_t c = charArg(site, id, args[0]); return mkBool(c < 128 && isalpha(c)); }
    case P_CHAR_NUMERICP: { uint32_t c = charArg(site, id, args[0]); return mkBool(c < 128 && isdigit(c)); }
    case P_CHAR_WHITESPACEP: { uint32_t c = charArg(site, id, args[0]); return mkBool(c < 128 && isspace(c)); }
    case P_LISTP: return mkBool(listLength(args[0]) >= 0);
    case P_CAAR: case P_CADR: case P_CDAR: case P_CDDR: case P_CAAAR: case P_CAADR: case P_CADAR:
    case P_CADDR: case P_CDAAR: case P_CDADR: case P_CDDAR: case P_CDDDR: {
      // c[ad]+r: the letters apply right to left.
      Value v = args[0];
      for (const char *c = who + strlen(who) - 2; *c != 'c'; c--) {
        if (!isPair(v)) typeError(site, who, "a pair", v);
        v = *c == 'a' ? car(v) : cdr(v);
      }
      return v;
    }
    case P_INTEGERP: return mkBool(isFix(args[0]));
    case P_ERROR: {
      // (error message irritant ...): the message as display shows it, irritants as write does.
      std::string text;
      printValue(text, args[0], true);
      for (int i = 1; i < n; i++) {
        text += ' ';
        printValue(text, args[i], false);
        if (text.size() > 800) { text.resize(800); text += "..."; break; }
      }
      fail(E_USER, site, "%s", text.c_str());
    }
    case P_APPEND2: {
      // A copy of the first list ending in the second.
      if (listLength(args[0]) < 0) typeError(site, "append", "a list", args[0]);
      if (args[0] == NIL_V) return args[1];
      Root head(cons(car(args[0]), NIL_V));
      Root tail(head.get());
      for (Value l = cdr(args[0]); isPair(l); l = cdr(l)) {
        Value cell = cons(car(l), NIL_V);
        obj(*tail.at)->slot[1] = cell;
        *tail.at = cell;
      }
      obj(*tail.at)->slot[1] = args[1];
      return head.get();
    }
    case P_TYPE_ERROR:  // (%type-error 'who "expected" value)
      if (!isType(args[0], T_SYMBOL) || !isType(args[1], T_STRING)) typeError(site, who, "a symbol and a string", args[0]);
      typeError(site, symbolName(args[0]), stringChars(args[1]), args[2]);
    case P_RANGE_ERROR:  // (%range-error 'who index sequence)
      if (!isType(args[0], T_SYMBOL)) typeError(site, who, "a symbol", args[0]);
      rangeError(site, symbolName(args[0]), args[1], args[2]);
  }
  return UNSPEC_V;
}

// Applies primitive `id` to args[0..n), which the caller keeps on the shadow stack.
static Value primApply(int id, Value *args, int n, const Node *site) {
  const PrimInfo &pi = primInfo[id];
  if (n < pi.minArgs || (pi.maxArgs >= 0 && n > pi.maxArgs)) {
    if (pi.maxArgs < 0) fail(E_ARITY, site, "%s: expects at least %d argument%s, got %d", pi.name, pi.minArgs, pi.minArgs == 1 ? "" : "s", n);
    fail(E_ARITY, site, "%s: expects %d argument%s, got %d", pi.name, pi.minArgs, pi.minArgs == 1 ? "" : "s", n);
  }
  switch (id) {
    case P_ADD: case P_MUL: {
      Value acc = mkFix(id == P_ADD ? 0 : 1);
      for (int i = 0; i < n; i++) acc = arith(site, id, acc, args[i]);
      return acc;
    }
    case P_SUB: {
      if (n == 1) return arith(site, id, mkFix(0), args[0]);
      Value acc = args[0];
      for (int i = 1; i < n; i++) acc = arith(site, id, acc, args[i]);
      return acc;
    }
    case P_MIN: case P_MAX: {
      Value acc = args[0];
      num(site, id, acc);
      for (int i = 1; i < n; i++) acc = arith(site, id, acc, args[i]);
      return acc;
    }
    case P_QUOTIENT: case P_REMAINDER: case P_MODULO: return arith(site, id, args[0], args[1]);
    case P_NUM_EQ: case P_LT: case P_GT: case P_LE: case P_GE: {
      if (n == 1) { num(site, id, args[0]); return TRUE_V; }
      bool ok = true;
      for (int i = 0; i + 1 < n; i++) ok = compare(site, id, args[i], args[i + 1]) && ok;
      return mkBool(ok);
    }
    case P_NOT: return mkBool(args[0] == FALSE_V);
    case P_EQ: case P_EQV: return mkBool(args[0] == args[1]);
    case P_EQUAL: return mkBool(equal(args[0], args[1]));
    case P_CONS: return cons(args[0], args[1]);
    case P_CAR: if (!isPair(args[0])) typeError(site, "car", "a pair", args[0]); return car(args[0]);
    case P_CDR: if (!isPair(args[0])) typeError(site, "cdr", "a pair", args[0]); return cdr(args[0]);
    case P_LIST: {
      Root r(NIL_V);
      for (int i = n; i-- > 0;) *r.at = cons(args[i], *r.at);
      return r.get();
    }
    case P_NULLP: return mkBool(args[0] == NIL_V);
    case P_PAIRP: return mkBool(isPair(args[0]));
    case P_DISPLAY: case P_WRITE:
      printValue(output, args[0], id == P_DISPLAY);
      if (output.size() > 4096) flushOutput();
      return UNSPEC_V;
    case P_NEWLINE: output += '\n'; if (output.size() > 4096) flushOutput(); return UNSPEC_V;
    case P_ZEROP: return mkBool(num(site, id, args[0]) == 0);
    case P_POSITIVEP: return mkBool(num(site, id, args[0]) > 0);
    case P_NEGATIVEP: return mkBool(num(site, id, args[0]) < 0);
    case P_EVENP: return mkBool((num(site, id, args[0]) & 1) == 0);
    case P_ODDP: return mkBool((num(site, id, args[0]) & 1) != 0);
    case P_ABS: {
      int64_t x = num(site, id, args[0]);
      if (x == FIX_MIN) overflow(site, P_SUB, 0, x);
      return mkFix(x < 0 ? -x : x);
    }
    case P_NUMBERP: return mkBool(isFix(args[0]));
    case P_PROCEDUREP: return mkBool(isPrimProc(args[0]) || isClosure(args[0]));
    case P_BOOLEANP: return mkBool(args[0] == TRUE_V || args[0] == FALSE_V);
    case P_SYMBOLP: return mkBool(isType(args[0], T_SYMBOL));
    case P_STRINGP: return mkBool(isType(args[0], T_STRING));
    case P_SET_CAR: case P_SET_CDR:
      if (!isPair(args[0])) typeError(site, pi.name, "a pair", args[0]);
      obj(args[0])->slot[id == P_SET_CDR] = args[1];
      return UNSPEC_V;
    default: return primApplyMore(id, args, n, site);
  }
  return UNSPEC_V;
}

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

static Value callJit(Func *fn, Value f, Value *a) {
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


static inline void enterInterpreted(Func *fn, const Node *site) {
  fn->interpCalls++;
  if (tierUpHook && fn->interpCalls >= tierUpThreshold && !(fn->flags & (F_PENDING | F_TOPLEVEL)))
    ((void (*)(Func *))(uintptr_t)tierUpHook)(fn);
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

// Runs closure base[0] (of fn) on base[1..nparams], arguments that already fit.
static inline Value enterClosure(Value *base, Func *fn, const Node *site) {
  if (!fn->jitCode) {
    enterInterpreted(fn, site);
    if (!fn->jitCode) {
      Value *fp = base + 1;
      if (fp + fn->nlocals + 64 > stackLimit) stackExhausted(site);
      sp = fp + fn->nlocals;
      return eval(fn->body, fp);
    }
  }
  return callJit(fn, base[0], base + 1);
}

// base[0] is the procedure, base[1..nargs] its arguments; the caller resets sp to base.
static Value apply(Value *base, int nargs, const Node *site) {
  Value f = base[0];
  while (f == mkPrim(P_APPLY)) {
    nargs = spreadApply(base, nargs, site);
    f = base[0];
  }
  if (isPrimProc(f)) return primApply(primId(f), base + 1, nargs, site);
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
      case P_EQ: case P_EQV: return mkBool(a == b);
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
          if (!fn->jitCode) enterInterpreted(fn, n);
          if (!fn->jitCode) {
            // Reuse this frame: move the closure and arguments down over it.
            memmove(fp - 1, base, (argc + 1) * sizeof(Value));
            if (fp + fn->nlocals + 64 > stackLimit) stackExhausted(n);
            sp = fp + fn->nlocals;
            n = fn->body;
            continue;
          }
          Value r = callJit(fn, f, base + 1);
          sp = base;
          return r;
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

// ---------------------------------------------------------------------------------------------
// Runtime entry points for JIT code.  JIT modules call them through the table; their table
// indices are embedded in the generated code as constants.

enum JitFailure : int32_t { JF_NUMBER, JF_OVERFLOW, JF_UNBOUND, JF_UNASSIGNED, JF_STACK, JF_PAIR };

extern "C" void rt_fail(Node *site, int32_t code, Value a, Value b) {
  switch (code) {
    case JF_NUMBER: num(site, site->index, a); num(site, site->index, b); break;
    case JF_OVERFLOW: overflow(site, site->index, fixVal(a), fixVal(b));
    case JF_UNBOUND: fail(E_UNBOUND, site, "unbound variable %s", site->name);
    case JF_UNASSIGNED: fail(E_UNBOUND, site, "%s used before its definition", site->name);
    case JF_STACK: stackExhausted(site);
    case JF_PAIR: typeError(site, primInfo[site->index].name, "a pair", a);
  }
  __builtin_trap();
}

extern "C" Value rt_cons(Value a, Value b) { return cons(a, b); }
extern "C" Value rt_make_box(Value v) { return makeBox(v); }
extern "C" Value rt_arith(Node *site, Value a, Value b) { return arith(site, site->index, a, b); }

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
    Value r = enterClosure(base, fn, site);  // interpreted (or tiered up on this call)
    base[0] = r;
    sp = base;
    return 0;
  }
  Value r = apply(base, n, site);
  base[0] = r;
  sp = base;
  return 0;
}

#define APPLY_PROLOGUE(n) Value *base = sp; *sp++ = f;
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

static bool inlinePrim(int id, size_t argc) {
  if (argc == 2)
    return id == P_ADD || id == P_SUB || id == P_LT || id == P_GT || id == P_LE || id == P_GE ||
           id == P_NUM_EQ || id == P_EQ || id == P_EQV;
  if (argc == 1) return id == P_CAR || id == P_CDR || id == P_NULLP || id == P_PAIRP || id == P_NOT || id == P_ZEROP;
  return false;
}

// Primitives called through rt_arith: they may fail but never allocate.
static bool arithPrim(int id, size_t argc) {
  return argc == 2 && (id == P_MUL || id == P_QUOTIENT || id == P_REMAINDER || id == P_MODULO ||
                       id == P_MIN || id == P_MAX);
}

// Whether evaluating `n` can reach a collection while this function's frame is live.  A tail
// call cannot (the frame is gone when the callee runs), though its arguments may.
static bool mayCollect(const Node *n) {
  switch (n->kind) {
    case N_CALL: if (!n->tail) return true; break;
    case N_LAMBDA: case N_MAKE_BOX: return true;
    case N_PRIM:
      if (!inlinePrim(n->index, n->kids.size()) && !arithPrim(n->index, n->kids.size())) return true;
      break;
    default: break;
  }
  for (auto *k : n->kids)
    if (mayCollect(k)) return true;
  return false;
}

struct Jit {
  wasm::ModuleBuilder mb;
  std::vector<Func *> fs;
  std::unordered_map<Func *, uint32_t> funcIndex;
  uint32_t sigApply[MAX_JIT_ARGS + 1], sigJit[MAX_JIT_ARGS + 1], sigJitArray;
  uint32_t sigFail, sigCons, sigMakeBox, sigArith, sigMakeClosure, sigSetGlobal, sigPrim;

  // Per-function state.
  Func *fn = nullptr;
  wasm::Assembler *a = nullptr;
  std::vector<uint32_t> slotLocal;
  uint32_t fpLocal = 0, tmp32 = 0;
  uint32_t loopDepth = 0;  // depth of the loop around the body, the target of self tail calls
  bool hasFrame = false;
  std::vector<uint32_t> freeTemps, pending;
  std::unordered_map<uint32_t, uint32_t> tempSlot;  // temp local -> frame slot
  uint32_t frameSlots = 0;
  std::unordered_map<const Node *, bool> collects;

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

  // Frame slots whose locals are known to hold fixnums here: set by a type check, kept for
  // the code the check dominates (branches restore what held before them).  Known fixnums
  // need no further checks and no spilling.
  std::vector<bool> fixSlot;

  bool producesFixnum(const Node *k) const {
    if (k->kind == N_CONST) return isFix(k->value);
    if (k->kind == N_LOCAL) return !k->checked && fixSlot[k->index];
    if (k->kind != N_PRIM) return false;
    if (k->kids.size() == 1) return k->index == P_ABS;
    return k->kids.size() == 2 && (k->index == P_ADD || k->index == P_SUB || arithPrim(k->index, 2));
  }

  Jit() {
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
    sigMakeClosure = mb.type({I32, I32}, {I64});
    sigSetGlobal = mb.type({I32, I64, I32}, {});
    sigPrim = mb.type({I32, I32, I32}, {I64});
  }

  bool collectsAt(const Node *n) {
    auto it = collects.find(n);
    if (it != collects.end()) return it->second;
    return collects[n] = mayCollect(n);
  }

  void callRuntime(const void *target, uint32_t sig) {
    a->i32_const(tableIndex(target));
    a->call_indirect(sig);
  }

  // Calls rt_fail; control does not come back.
  void failWith(const Node *site, JitFailure code, const Operand *x = nullptr, const Operand *y = nullptr) {
    a->i32_const((int32_t)(uintptr_t)site);
    a->i32_const(code);
    if (x) pushOperand(*x); else a->i64_const(0);
    if (y) pushOperand(*y); else a->i64_const(0);
    callRuntime((const void *)&rt_fail, sigFail);
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
      if (fixSlot[i]) continue;
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

  // Evaluates nodes left to right; a value computed before a later operand that can collect
  // is kept as a pending temporary so the spill stores it.
  std::vector<Operand> operands(const std::vector<Node *> &nodes, size_t from = 0) {
    std::vector<Operand> ops;
    size_t pendingMark = pending.size();
    for (size_t i = from; i < nodes.size(); i++) {
      Node *k = nodes[i];
      if (k->kind == N_CONST) { ops.push_back({true, k->value, 0, false, -1, isFix(k->value)}); continue; }
      if (k->kind == N_LOCAL && !k->checked) {
        ops.push_back({false, 0, slotLocal[k->index], false, k->index, (bool)fixSlot[k->index]});
        continue;
      }
      bool fix = producesFixnum(k);
      expr(k);
      uint32_t t = takeTemp();
      a->local_set(t);
      ops.push_back({false, 0, t, true, -1, fix});
      bool laterCollects = false;
      for (size_t j = i + 1; j < nodes.size(); j++) laterCollects = laterCollects || collectsAt(nodes[j]);
      if (laterCollects) pending.push_back(t);
    }
    pending.resize(pendingMark);
    return ops;
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

  // Fails unless every non-constant operand is a fixnum.
  void checkFixnums(const Node *site, const std::vector<Operand> &ops) {
    std::vector<const Operand *> vars;
    for (auto &o : ops) {
      if (o.fix) continue;
      vars.push_back(&o);
    }
    if (vars.empty()) return;
    for (auto *o : vars)
      if (o->slot >= 0) fixSlot[o->slot] = true;  // for the code after this check
    for (size_t i = 0; i < vars.size(); i++) {
      pushOperand(*vars[i]);
      if (i) a->i64_or();
    }
    a->i32_wrap_i64();
    a->i32_const(1);
    a->i32_and();
    a->if_();
    failWith(site, JF_NUMBER, &ops[0], ops.size() > 1 ? &ops[1] : nullptr);
    a->end();
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

  // Compiles an inline comparison to an i32.
  void compareOp(Node *n) {
    auto ops = operands(n->kids);
    if (n->index != P_EQ && n->index != P_EQV) checkFixnums(n, ops);
    pushOperand(ops[0]);
    pushOperand(ops[1]);
    switch (n->index) {
      case P_LT: a->i64_lt_s(); break;
      case P_GT: a->i64_gt_s(); break;
      case P_LE: a->i64_le_s(); break;
      case P_GE: a->i64_ge_s(); break;
      default: a->i64_eq(); break;
    }
    release(ops);
  }

  bool isCompare(const Node *n) {
    return n->kind == N_PRIM && n->kids.size() == 2 &&
           (n->index == P_LT || n->index == P_GT || n->index == P_LE || n->index == P_GE ||
            n->index == P_NUM_EQ || n->index == P_EQ || n->index == P_EQV);
  }

  // Compiles a test to an i32 truth value.
  void cond(Node *n) {
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
      checkFixnums(n, ops);
      uint32_t r = takeTemp();
      pushOperand(ops[0]);
      pushOperand(ops[1]);
      if (id == P_ADD) a->i64_add(); else a->i64_sub();
      a->local_set(r);
      // Signed overflow.  With a constant c: adding c > 0 (or subtracting c < 0) overflowed
      // when the result went down, and the other way round.  Otherwise: add when both
      // operands differ in sign from the result, subtract when the operands differ in sign
      // and the result differs from the first.
      if (ops[1].isConst && !ops[0].isConst) {
        int64_t c = (int64_t)ops[1].c;
        if (c == 0) { a->local_get(r); releaseTemp(r); release(ops); return; }
        a->local_get(r);
        pushOperand(ops[0]);
        if ((c > 0) == (id == P_ADD)) a->i64_lt_s(); else a->i64_gt_s();
      } else if (id == P_ADD) {
        pushOperand(ops[0]); a->local_get(r); a->i64_xor();
        pushOperand(ops[1]); a->local_get(r); a->i64_xor();
      } else {
        pushOperand(ops[0]); pushOperand(ops[1]); a->i64_xor();
        pushOperand(ops[0]); a->local_get(r); a->i64_xor();
      }
      if (!ops[1].isConst || ops[0].isConst) {
        a->i64_and();
        a->i64_const(0);
        a->i64_lt_s();
      }
      a->if_();
      failWith(n, JF_OVERFLOW, &ops[0], &ops[1]);
      a->end();
      a->local_get(r);
      releaseTemp(r);
      release(ops);
      return;
    }
    if (argc == 1 && (id == P_CAR || id == P_CDR)) {
      expr(n->kids[0]);
      uint32_t t = takeTemp();
      a->local_set(t);
      testPair(t);
      a->i32_eqz();
      a->if_();
      Operand o = inLocal(t);
      failWith(n, JF_PAIR, &o);
      a->end();
      a->local_get(t);
      a->i32_wrap_i64();
      a->i64_load(id == P_CAR ? 7 : 15);
      releaseTemp(t);
      return;
    }
    if (argc == 1 && id == P_ZEROP) {
      auto ops = operands(n->kids);
      checkFixnums(n, ops);
      pushOperand(ops[0]);
      a->i64_eqz();
      boolFromI32();
      release(ops);
      return;
    }
    if (arithPrim(id, argc)) {
      auto ops = operands(n->kids);
      a->i32_const((int32_t)(uintptr_t)n);
      pushOperand(ops[0]);
      pushOperand(ops[1]);
      callRuntime((const void *)&rt_arith, sigArith);
      release(ops);
      return;
    }
    if (argc == 2 && id == P_CONS) {
      auto ops = operands(n->kids);
      // Inline allocation from the pair free list while no collection is due; otherwise
      // (and while the list is empty) the runtime allocates.  Mirrors allocate().
      uint32_t counted = takeTemp();
      a->i32_const((int32_t)(uintptr_t)&allocSinceGC);
      a->i64_load();
      a->i64_const(3 * 8);
      a->i64_add();
      a->local_tee(counted);
      a->i32_const((int32_t)(uintptr_t)&gcThreshold);
      a->i64_load();
      a->op(0x58);  // i64.le_u
      a->i32_const((int32_t)(uintptr_t)&freeLists[3]);
      a->i32_load();
      a->local_tee(tmp32);
      a->i32_const(0);
      a->i32_ne();
      a->i32_and();
      a->if_(wasm::I64);
      a->i32_const((int32_t)(uintptr_t)&freeLists[3]);
      a->local_get(tmp32);
      a->i32_load(offsetof(Obj, slot));
      a->i32_store();
      a->i32_const((int32_t)(uintptr_t)&allocSinceGC);
      a->local_get(counted);
      a->i64_store();
      a->i32_const((int32_t)(uintptr_t)&heap.allocatedBytes);
      a->i32_const((int32_t)(uintptr_t)&heap.allocatedBytes);
      a->i64_load();
      a->i64_const(3 * 8);
      a->i64_add();
      a->i64_store();
      a->local_get(tmp32);
      a->i64_const((int64_t)T_PAIR | ((int64_t)3 << 32));  // header: type, then size in words
      a->i64_store();
      a->local_get(tmp32);
      pushOperand(ops[0]);
      a->i64_store(offsetof(Obj, slot));
      a->local_get(tmp32);
      pushOperand(ops[1]);
      a->i64_store(offsetof(Obj, slot) + 8);
      a->local_get(tmp32);
      a->i64_extend_i32_u();
      a->i64_const(1);
      a->i64_or();
      a->else_();
      spill();
      pushOperand(ops[0]);
      pushOperand(ops[1]);
      callRuntime((const void *)&rt_cons, sigCons);
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
    callRuntime((const void *)&rt_prim, sigPrim);
    release(ops);
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
    else if (n->calleeVar && n->calleeVar->known) f = n->calleeVar->known;
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
      callRuntime((const void *)&rt_apply_v, sigPrim);
      return;
    }
    static const void *appliers[] = {(const void *)&rt_apply0, (const void *)&rt_apply1, (const void *)&rt_apply2,
                                     (const void *)&rt_apply3, (const void *)&rt_apply4, (const void *)&rt_apply5,
                                     (const void *)&rt_apply6};
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
    else a->call_indirect(sigJit[argc]);
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
    if (slowOwner != a) { slowLocal = a->addLocal(I32); slowOwner = a; }
    size_t argc = ops.size() - 1;
    bool isApply = namesApply(n);  // as rt_tail_prepare expects: see tailDispatchable
    uint32_t maxParams = isApply ? MAX_JIT_ARGS + 1 : argc + 1;
    storeArgs(ops);  // the base address in tmp32
    a->i32_const((int32_t)(uintptr_t)n);
    a->local_get(tmp32);
    a->i32_const(argc);
    callRuntime((const void *)&rt_tail_prepare, mb.type({I32, I32, I32}, {I32}));
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

  void directCall(Node *n, Func *f, const std::vector<Operand> &ops) {
    if (n->tail && f == fn) {
      // A tail call to itself: assign the parameters (all values first, so each argument
      // sees the old ones) and branch back to the loop around the body.
      for (size_t i = 1; i < ops.size(); i++) pushOperand(ops[i]);
      for (size_t i = ops.size() - 1; i >= 1; i--) a->local_set(slotLocal[i - 1]);
      if (f->hasFree) { pushOperand(ops[0]); a->local_set(CLOSURE); }
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
    else a->call(funcIndex[f]);
  }

  void call(Node *n) {
    bool guarded;
    Func *known = knownCallee(n, guarded);
    if (known && guarded) {
      // A global may be redefined: check it still holds a closure of the compiled lambda.
      GlobalCell *g = n->kids[0]->cell;
      std::vector<Node *> args(n->kids.begin() + 1, n->kids.end());
      auto ops = operands(args);
      if (!n->tail) spill();
      // The callee reads its closure only if it has free variables; otherwise pass 0 and
      // save the load.  The slow path always loads the real value.
      uint32_t fv = takeTemp();
      ops.insert(ops.begin(), Operand{false, 0, fv, true, -1, false});
      a->i32_const((int32_t)(uintptr_t)g);
      a->i32_load(8);
      a->i32_const((int32_t)(uintptr_t)known);
      a->i32_eq();
      a->if_(wasm::I64);
      if (known->hasFree) {
        a->i32_const((int32_t)(uintptr_t)g);
        a->i64_load(0);
      } else {
        a->i64_const(0);
      }
      a->local_set(fv);
      directCall(n, known, ops);
      a->else_();
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
    auto ops = operands(n->kids);
    if (!n->tail) spill();
    if (known) directCall(n, known, ops);
    else genericCall(n, ops);
    release(ops);
  }

  void expr(Node *n) {
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
        bool fix = producesFixnum(n->kids[0]);
        expr(n->kids[0]);
        a->local_set(slotLocal[n->index]);
        fixSlot[n->index] = fix;
        a->i64_const(UNSPEC_V);
        return;
      }
      case N_SET_LOCAL_BOX: case N_SET_FREE_BOX:
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
        callRuntime((const void *)&rt_set_global, sigSetGlobal);
        a->i64_const(UNSPEC_V);
        return;
      case N_MAKE_BOX:
        spill();
        a->i64_const(UNASSIGNED_V);
        callRuntime((const void *)&rt_make_box, sigMakeBox);
        a->local_set(slotLocal[n->index]);
        a->i64_const(UNSPEC_V);
        return;
      case N_IF: {
        cond(n->kids[0]);
        std::vector<bool> before = fixSlot;
        a->if_(wasm::I64);
        expr(n->kids[1]);
        fixSlot = before;
        a->else_();
        expr(n->kids[2]);
        fixSlot = before;
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
        spill();
        a->i32_const((int32_t)(uintptr_t)n->fn);
        a->i32_const(n->captures.size());
        callRuntime((const void *)&rt_make_closure, sigMakeClosure);
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

  void andFrom(Node *n, size_t i) {
    if (i + 1 == n->kids.size()) { expr(n->kids[i]); return; }
    cond(n->kids[i]);
    std::vector<bool> before = fixSlot;
    a->if_(wasm::I64);
    andFrom(n, i + 1);
    fixSlot = before;
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
    std::vector<bool> before = fixSlot;
    a->if_(wasm::I64);
    a->local_get(t);
    a->else_();
    releaseTemp(t);
    orFrom(n, i + 1);
    fixSlot = before;
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

  void compileFunction(Func *f) {
    wasm::Function &wf = mb.funcs[funcIndex[f]];
    fn = f;
    a = &wf.body;
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
    fixSlot.assign(f->nlocals, false);

    // With self tail calls the body runs in a loop they branch back to; each turn counts as
    // a call entered through JIT code.  Without, no loop: wasmtime checks the epoch at every
    // loop header, which would cost each call a second check.
    bool loops = selfTailCalls(f->body);
    if (loops) {
      a->loop(wasm::I64);
      loopDepth = a->depth - 1;
    }
    a->i32_const((int32_t)(uintptr_t)f);
    a->i32_const((int32_t)(uintptr_t)f);
    a->i64_load(offsetof(Func, jitCalls));
    a->i64_const(1);
    a->i64_add();
    a->i64_store(offsetof(Func, jitCalls));
    expr(f->body);
    if (loops) a->end();
    wasm::Bytes body = std::move(a->code);
    a->code = wasm::Bytes();

    // Prologue, now that the frame size is known: take arguments passed in memory, push the
    // frame, count the call.
    if (argsInMemory) {
      for (uint32_t i = 0; i < f->nparams; i++) {
        a->local_get(1);
        a->i64_load(8 * i);
        a->local_set(slotLocal[i]);
      }
    }
    if (hasFrame) {
      a->i32_const((int32_t)(uintptr_t)&sp);
      a->i32_load();
      a->local_tee(fpLocal);
      a->i32_const(8 * frameSlots);
      a->i32_add();
      a->local_tee(tmp32);
      a->i32_const((int32_t)(uintptr_t)stackLimit);
      a->i32_gt_u();
      a->if_();
      failWith(f->body, JF_STACK);
      a->end();
      a->i32_const((int32_t)(uintptr_t)&sp);
      a->local_get(tmp32);
      a->i32_store();
    }
    a->code.append(body);
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

static std::string uniqueName(const std::string &base, std::unordered_set<std::string> &used) {
  std::string name = base;
  for (int k = 2; used.count(name); k++) name = base + "#" + std::to_string(k);
  used.insert(name);
  return name;
}

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
  jit.fs = list;
  std::unordered_set<std::string> used = {"patch", "grow_table", "fill_table", "apply_reloc"};
  std::vector<std::string> names;
  std::vector<uint32_t> indices;
  for (Func *f : list) {
    names.push_back(uniqueName(f->name, used));
    uint32_t idx = jit.mb.addFunction(jit.signature(f), names.back());
    jit.funcIndex[f] = idx;
    indices.push_back(idx);
  }
  for (Func *f : list) jit.compileFunction(f);

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
  mb.exports.push_back({"fill_table", 0, fill});
  mb.exports.push_back({"apply_reloc", 0, reloc});
  mb.exports.push_back({"table_base", 3, 0});
  for (size_t i = 0; i < list.size(); i++) mb.exports.push_back({names[i], 0, indices[i]});
  mb.customs.push_back({"jitscope.patches", patchSection(list, indices, names)});

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
    list[i]->flags |= F_PENDING;
    list[i]->moduleId = m->id;
  }
  return m;
}

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
  Compiler c;
  FuncScope fs{top, nullptr, {}, 0};
  Scope sc{{}, nullptr, &fs};
  std::vector<Node *> items;
  for (Sx *x : xs) items.push_back(c.expr(x, &sc, &fs));
  top->body = c.seq(items, xs[0], &fs);
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
  *sp++ = UNSPEC_V;  // the closure slot of a top-level frame
  Value *fp = sp;
  sp = fp + top->nlocals;
  Value v = eval(top->body, fp);
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
  flushOutput();
  printf("result: %s\n", s.c_str());
  fflush(stdout);
}

static std::vector<Func *> candidates() {
  std::vector<Func *> list;
  for (Func *f : funcs)
    if (f->interpCalls > 0 && !f->jitCode && !(f->flags & F_PENDING) && !uncompilableReason(f)) list.push_back(f);
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

// Reads every form of `text`; returns how many.  Positions refer to source dbg_source().
DEBUG_EXPORT(dbg_read) int32_t dbg_read(const char *text, int32_t len) {
  uint32_t src = nextSource++;
  std::vector<Sx *> xs = readAll(text, len, src);
  forms = xs;
  return forms.size();
}
DEBUG_EXPORT(dbg_source) uint32_t dbg_source() { return nextSource - 1; }

// Position of form k (a FormPos, described by dbg_layout).
struct FormPos { uint32_t line, col, endLine, endCol; };
static FormPos formPos;
DEBUG_EXPORT(dbg_form_pos) FormPos *dbg_form_pos(int32_t k) {
  Sx *x = forms.at(k);
  formPos = {x->pos.line, x->pos.col, x->end.line, x->end.col};
  return &formPos;
}

static std::string resultText;


// A top-level form's own tree is dead once it ran (its lambdas' bodies are trees of their
// own), so it is freed: a long session, or thousands of failing evaluations, stay bounded.
static void freeTree(Node *n) {
  for (Node *k : n->kids) freeTree(k);
  delete n;
}

static Func *lastToplevel;

static void freeLastToplevel() {
  if (!lastToplevel) return;
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
// value; dbg_result() has the printed value (the defined name for a definition).
DEBUG_EXPORT(dbg_run_form) int32_t dbg_run_form(Func *top) {
  lastResult = runToplevel(top);
  flushOutput();
  resultText.clear();
  bool isDefine = top->body->kind == N_DEFINE;
  if (isDefine) resultText = top->body->name;
  if (top == lastToplevel) freeLastToplevel();
  if (isDefine) {
    lastResult = UNSPEC_V;
    return 1;
  }
  if (lastResult == UNSPEC_V) return 2;
  printValue(resultText, lastResult, false);
  return 0;
}

DEBUG_EXPORT(dbg_result) const char *dbg_result() { return resultText.c_str(); }
DEBUG_EXPORT(dbg_result_length) uint32_t dbg_result_length() { return resultText.size(); }

DEBUG_EXPORT(dbg_error) ErrorInfo *dbg_error() { return &lastError; }

// Called by the host after a trap or an error unwound an evaluation.
DEBUG_EXPORT(dbg_reset) void dbg_reset() {
  sp = stackBase;
  flushOutput();
}

DEBUG_EXPORT(dbg_func_count) int32_t dbg_func_count() { return funcs.size(); }
DEBUG_EXPORT(dbg_func) Func *dbg_func(int32_t i) { return funcs.at(i); }

// Builds a module for the given functions (by id), or for every candidate when n is 0.  Its
// patch is not run at instantiation: the host calls the exported steps.
DEBUG_EXPORT(dbg_jit) JitModule *dbg_jit(const int32_t *ids, int32_t n) {
  std::vector<Func *> list;
  if (n == 0) list = candidates();
  std::unordered_set<Func *> seen;
  for (int32_t i = 0; i < n; i++) {
    if (ids[i] < 0 || (size_t)ids[i] >= funcs.size()) raise(E_JIT, noPos, nullptr, "no function with id %d", ids[i]);
    Func *f = funcs[ids[i]];
    if (const char *why = uncompilableReason(f)) raise(E_JIT, noPos, f->name, "cannot compile %s: %s", f->name, why);
    if (seen.insert(f).second) list.push_back(f);
  }
  return buildModule(list, false);
}

// A module that will not be linked: its functions become candidates again.
DEBUG_EXPORT(dbg_discard) void dbg_discard(JitModule *m) {
  for (uint32_t i = 0; i < m->nfuncs; i++) {
    Func *f = m->funcs[i];
    if (f->moduleId == m->id && !f->jitCode) { f->flags &= ~F_PENDING; f->moduleId = 0; }
  }
}

// Back to the interpreter: calls stop dispatching to JIT code.
DEBUG_EXPORT(dbg_unlink) void dbg_unlink(int32_t id) {
  Func *f = funcs.at(id);
  f->jitCode = 0;
  f->flags &= ~F_PENDING;
  f->moduleId = 0;
}

DEBUG_EXPORT(dbg_set_tierup) void dbg_set_tierup(uint32_t hookTableIndex, uint32_t threshold) {
  tierUpHook = hookTableIndex;
  tierUpThreshold = threshold;
}

DEBUG_EXPORT(dbg_heap) HeapStats *dbg_heap() { return &heap; }
DEBUG_EXPORT(dbg_collect) void dbg_collect() { collect(); }
DEBUG_EXPORT(dbg_scrub) uint32_t dbg_scrub() { return (uint32_t)scrubHeap(); }
DEBUG_EXPORT(dbg_set_heap_limit) void dbg_set_heap_limit(uint32_t bytes) { heap.maxHeapBytes = bytes; }
DEBUG_EXPORT(dbg_stack_depth) int32_t dbg_stack_depth() { return sp - stackBase; }

// ---------------------------------------------------------------------------------------------
// The prelude: list library procedures written in Scheme.  They are ordinary functions (source
// 0, flagged F_LIBRARY) that the debugger lists, counts and compiles like the user's own, and
// ordinary globals that a program may redefine.  Each keeps to itself (loops are named lets),
// so redefining one does not change the others.

static const char PRELUDE[] = R"scheme(
(define (length lst)
  (let length/loop ((l lst) (n 0))
    (cond ((pair? l) (length/loop (cdr l) (+ n 1)))
          ((null? l) n)
          (else (%type-error 'length "a list" lst)))))

(define (reverse lst)
  (let reverse/loop ((l lst) (acc '()))
    (cond ((pair? l) (reverse/loop (cdr l) (cons (car l) acc)))
          ((null? l) acc)
          (else (%type-error 'reverse "a list" lst)))))

(define (append . lists)
  (let append/loop ((ls lists))
    (cond ((null? ls) '())
          ((null? (cdr ls)) (car ls))
          (else (%append (car ls) (append/loop (cdr ls)))))))

(define (list-tail lst k)
  (unless (integer? k) (%type-error 'list-tail "an index" k))
  (let list-tail/loop ((l lst) (i k))
    (cond ((= i 0) l)
          ((pair? l) (list-tail/loop (cdr l) (- i 1)))
          (else (%range-error 'list-tail k lst)))))

(define (list-ref lst k)
  (unless (integer? k) (%type-error 'list-ref "an index" k))
  (let list-ref/loop ((l lst) (i k))
    (cond ((not (pair? l)) (%range-error 'list-ref k lst))
          ((= i 0) (car l))
          (else (list-ref/loop (cdr l) (- i 1))))))

(define (memq x lst)
  (let memq/loop ((l lst))
    (cond ((pair? l) (if (eq? x (car l)) l (memq/loop (cdr l))))
          ((null? l) #f)
          (else (%type-error 'memq "a list" lst)))))

(define (memv x lst)
  (let memv/loop ((l lst))
    (cond ((pair? l) (if (eqv? x (car l)) l (memv/loop (cdr l))))
          ((null? l) #f)
          (else (%type-error 'memv "a list" lst)))))

(define (member x lst . compare)
  (let ((same? (if (pair? compare) (car compare) equal?)))
    (let member/loop ((l lst))
      (cond ((pair? l) (if (same? x (car l)) l (member/loop (cdr l))))
            ((null? l) #f)
            (else (%type-error 'member "a list" lst))))))

(define (assq x alist)
  (let assq/loop ((l alist))
    (cond ((and (pair? l) (pair? (car l))) (if (eq? x (car (car l))) (car l) (assq/loop (cdr l))))
          ((null? l) #f)
          (else (%type-error 'assq "a list of pairs" alist)))))

(define (assv x alist)
  (let assv/loop ((l alist))
    (cond ((and (pair? l) (pair? (car l))) (if (eqv? x (car (car l))) (car l) (assv/loop (cdr l))))
          ((null? l) #f)
          (else (%type-error 'assv "a list of pairs" alist)))))

(define (assoc x alist . compare)
  (let ((same? (if (pair? compare) (car compare) equal?)))
    (let assoc/loop ((l alist))
      (cond ((and (pair? l) (pair? (car l))) (if (same? x (car (car l))) (car l) (assoc/loop (cdr l))))
            ((null? l) #f)
            (else (%type-error 'assoc "a list of pairs" alist))))))

(define (%cars ls) (if (pair? ls) (cons (car (car ls)) (%cars (cdr ls))) '()))
(define (%cdrs ls) (if (pair? ls) (cons (cdr (car ls)) (%cdrs (cdr ls))) '()))
(define (%all-pairs? ls) (or (null? ls) (and (pair? (car ls)) (%all-pairs? (cdr ls)))))

(define (map f lst . lists)
  (let ((head (cons #f '())))
    (if (null? lists)
        (let map/loop ((l lst) (tail head))
          (cond ((pair? l)
                 (let ((cell (cons (f (car l)) '())))
                   (set-cdr! tail cell)
                   (map/loop (cdr l) cell)))
                ((null? l) (cdr head))
                (else (%type-error 'map "a list" lst))))
        (let map/lists ((ls (cons lst lists)) (tail head))
          (if (%all-pairs? ls)
              (let ((cell (cons (apply f (%cars ls)) '())))
                (set-cdr! tail cell)
                (map/lists (%cdrs ls) cell))
              (cdr head))))))

(define (for-each f lst . lists)
  (if (null? lists)
      (let for-each/loop ((l lst))
        (cond ((pair? l) (f (car l)) (for-each/loop (cdr l)))
              ((not (null? l)) (%type-error 'for-each "a list" lst))))
      (let for-each/lists ((ls (cons lst lists)))
        (when (%all-pairs? ls)
          (apply f (%cars ls))
          (for-each/lists (%cdrs ls))))))

(define (filter keep? lst)
  (let ((head (cons #f '())))
    (let filter/loop ((l lst) (tail head))
      (cond ((pair? l)
             (if (keep? (car l))
                 (let ((cell (cons (car l) '())))
                   (set-cdr! tail cell)
                   (filter/loop (cdr l) cell))
                 (filter/loop (cdr l) tail)))
            ((null? l) (cdr head))
            (else (%type-error 'filter "a list" lst))))))

(define (fold-left f acc lst)
  (let fold-left/loop ((acc acc) (l lst))
    (cond ((pair? l) (fold-left/loop (f acc (car l)) (cdr l)))
          ((null? l) acc)
          (else (%type-error 'fold-left "a list" lst)))))

(define (fold-right f acc lst)
  (let fold-right/loop ((l (let fold-right/reverse ((l lst) (r '()))
                             (cond ((pair? l) (fold-right/reverse (cdr l) (cons (car l) r)))
                                   ((null? l) r)
                                   (else (%type-error 'fold-right "a list" lst)))))
                        (acc acc))
    (if (pair? l) (fold-right/loop (cdr l) (f (car l) acc)) acc)))

(define (vector-map f v)
  (let* ((n (vector-length v)) (r (make-vector n #f)))
    (let vector-map/loop ((i 0))
      (if (= i n) r
          (begin (vector-set! r i (f (vector-ref v i))) (vector-map/loop (+ i 1)))))))

(define (vector-for-each f v)
  (let ((n (vector-length v)))
    (let vector-for-each/loop ((i 0))
      (when (< i n) (f (vector-ref v i)) (vector-for-each/loop (+ i 1))))))
)scheme";

static void loadPrelude() {
  std::vector<Sx *> xs = readAll(PRELUDE, sizeof PRELUDE - 1, 0);
  size_t first = funcs.size();
  Func *top = compileToplevel(xs);
  freeSyntax();
  for (size_t i = first; i < funcs.size(); i++) funcs[i]->flags |= F_LIBRARY;
  runToplevel(top);
}

// The prelude's text, for a host that shows the source of library functions (source 0).
DEBUG_EXPORT(dbg_prelude) const char *dbg_prelude() { return PRELUDE; }

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
  LAYOUT_FIELD(Func, moduleId), LAYOUT_FIELD(Func, nlocals),
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

// Runs with the other static initialisers, after every table above exists: the runtime, then
// the prelude.
static const struct Startup { Startup() { initRuntime(); loadPrelude(); } } startup;
