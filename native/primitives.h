// The primitives, shared by the interpreter and JIT code.
// Part of interp.cc (one translation unit): included there in layer order, after the layers it
// uses.
#pragma once

// ---------------------------------------------------------------------------------------------
// Primitives, shared by the interpreter and by JIT code (through rt_prim).

static const char *typeName(Value v) {
  if (isNum(v)) return "a number";
  if (v == FALSE_V || v == TRUE_V) return "a boolean";
  if (v == NIL_V) return "the empty list";
  if (v == UNSPEC_V) return "an unspecified value";
  if (v == EOF_V) return "the end-of-file object";
  if (isPrimProc(v)) return "a procedure";
  if (isChar(v)) return "a character";
  if (isPtr(v)) switch (obj(v)->type) {
      case T_PAIR: return "a pair";
      case T_CLOSURE: case T_CONTINUATION: return "a procedure";
      case T_RECORD: return "a record";
      case T_VALUES: return "multiple values";
      case T_PORT: return "a port";
      case T_FLONUM: return "a number";
      case T_SYMBOL: return "a symbol";
      case T_STRING: return "a string";
      case T_VECTOR: return "a vector";
      case T_BYTEVECTOR: return "a bytevector";
    }
  return "a value";
}

[[noreturn]] static void typeError(const Node *site, const char *who, const char *expected, Value got) {
  fail(E_TYPE, site, "%s: expected %s, got %s %s", who, expected, typeName(got), repr(got).c_str());
}

// An exact integer argument (a flonum, even an integral one, is not: no silent truncation).
static inline int64_t num(const Node *site, int id, Value v) {
  if (!isFix(v)) typeError(site, primInfo[id].name, isFlo(v) ? "an exact integer" : "a number", v);
  return fixVal(v);
}

// Any number, as a double (for a flonum result: inexactness is contagious).
static inline double real(const Node *site, int id, Value v) {
  if (isFix(v)) return (double)fixVal(v);
  if (!isFlo(v)) typeError(site, primInfo[id].name, "a number", v);
  return floVal(v);
}

// An integer argument, exact or inexact, as a double (quotient and friends take both).
static double integral(const Node *site, int id, Value v) {
  double d = real(site, id, v);
  if (d != floor(d) || std::isinf(d)) typeError(site, primInfo[id].name, "an integer", v);
  return d;
}

[[noreturn]] static void overflow(const Node *site, int id, int64_t a, int64_t b) {
  fail(E_OVERFLOW, site, "%s: fixnum overflow computing (%s %lld %lld)", primInfo[id].name,
       primInfo[id].name, (long long)a, (long long)b);
}

[[noreturn]] static void divideByZero(const Node *site, int id) {
  fail(E_DIVIDE_BY_ZERO, site, "%s: division by zero", primInfo[id].name);
}

static Value exactArith(const Node *site, int id, int64_t x, int64_t y) {
  int64_t r;
  switch (id) {
    case P_ADD: if (__builtin_add_overflow(x, y, &r) || !fitsFix(r)) overflow(site, id, x, y); return mkFix(r);
    case P_SUB: if (__builtin_sub_overflow(x, y, &r) || !fitsFix(r)) overflow(site, id, x, y); return mkFix(r);
    case P_MUL: if (__builtin_mul_overflow(x, y, &r) || !fitsFix(r)) overflow(site, id, x, y); return mkFix(r);
    case P_DIV:  // exact when it divides; there are no exact rationals
      if (y == 0) divideByZero(site, id);
      if (x % y == 0 && !(x == FIX_MIN && y == -1)) return mkFix(x / y);
      return mkFlo((double)x / (double)y);
    case P_QUOTIENT: case P_REMAINDER: case P_MODULO:
      if (y == 0) divideByZero(site, id);
      if (id == P_QUOTIENT) { r = x / y; if (!fitsFix(r)) overflow(site, id, x, y); return mkFix(r); }
      r = x % y;
      if (id == P_MODULO && r != 0 && ((r < 0) != (y < 0))) r += y;
      return mkFix(r);
    case P_MIN: return mkFix(x < y ? x : y);
    default: return mkFix(x > y ? x : y);  // P_MAX
  }
}

// A binary arithmetic primitive on two numbers: exact on fixnums, a flonum once either is one.
// May allocate (a flonum): callers keep what else they hold rooted.
static Value arith(const Node *site, int id, Value a, Value b) {
  if (isFix(a) && isFix(b)) return exactArith(site, id, fixVal(a), fixVal(b));
  if (id == P_QUOTIENT || id == P_REMAINDER || id == P_MODULO) {
    double x = integral(site, id, a), y = integral(site, id, b);
    if (y == 0) divideByZero(site, id);
    double q = trunc(x / y);
    if (id == P_QUOTIENT) return mkFlo(q);
    double r = fmod(x, y);
    if (id == P_MODULO && r != 0 && ((r < 0) != (y < 0))) r += y;
    return mkFlo(r);
  }
  double x = real(site, id, a), y = real(site, id, b);
  switch (id) {
    case P_ADD: return mkFlo(x + y);
    case P_SUB: return mkFlo(x - y);
    case P_MUL: return mkFlo(x * y);
    case P_DIV:
      if (b == mkFix(0)) divideByZero(site, id);  // an exact zero divides nothing
      return mkFlo(x / y);
    case P_MIN: return mkFlo(x < y || std::isnan(x) ? x : y);
    default: return mkFlo(x > y || std::isnan(x) ? x : y);  // P_MAX
  }
}

template <typename T> static bool compareAs(int id, T x, T y) {
  switch (id) {
    case P_NUM_EQ: return x == y;
    case P_LT: return x < y;
    case P_GT: return x > y;
    case P_LE: return x <= y;
    default: return x >= y;
  }
}

static bool compare(const Node *site, int id, Value a, Value b) {
  if (isFix(a) && isFix(b)) return compareAs(id, fixVal(a), fixVal(b));
  return compareAs(id, real(site, id, a), real(site, id, b));
}

// eqv?: identity, except that flonums are compared by value (their bits: 0.0 and -0.0 differ).
static bool eqv(Value a, Value b) {
  if (a == b) return true;
  return isFlo(a) && isFlo(b) && !memcmp(&obj(a)->slot[0], &obj(b)->slot[0], 8);
}

// Recurses on cars and vector elements, iterates along cdrs.  Past a budget of pairs and
// vectors it remembers which ones it has compared (or is comparing), so data that shares
// structure costs its size, not the number of paths through it: a pair seen again is equal,
// since a difference found the first time would have ended the comparison.
struct EqualState {
  size_t budget = 100000;
  std::unordered_set<uint64_t> seen;  // (a's address << 32) | b's address
  bool visit(Value a, Value b) {  // false: compared already
    if (budget) { budget--; return true; }
    return seen.insert((uint64_t)(uint32_t)a << 32 | (uint32_t)b).second;
  }
};

static bool equal(Value a, Value b, EqualState &st, int depth) {
  for (;;) {
    if (a == b) return true;
    if (!isPtr(a) || !isPtr(b) || depth > 100000) return false;
    uint32_t t = obj(a)->type;
    if (t != obj(b)->type) return false;
    switch (t) {
      case T_PAIR:
        if (!st.visit(a, b)) return true;
        if (!equal(car(a), car(b), st, depth + 1)) return false;
        a = cdr(a);
        b = cdr(b);
        continue;
      case T_STRING: case T_BYTEVECTOR:  // one layout
        return stringLength(a) == stringLength(b) && !memcmp(stringChars(a), stringChars(b), stringLength(a));
      case T_FLONUM: return eqv(a, b);
      case T_VECTOR:
        if (vectorLength(a) != vectorLength(b)) return false;
        if (!st.visit(a, b)) return true;
        for (size_t i = 0; i < vectorLength(a); i++)
          if (!equal(vectorItems(a)[i], vectorItems(b)[i], st, depth + 1)) return false;
        return true;
      default: return false;
    }
  }
}

static bool equal(Value a, Value b) {
  EqualState st;
  return equal(a, b, st, 0);
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
  else if (isType(of, T_BYTEVECTOR)) { what = "a bytevector"; len = stringLength(of); }
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
  return tagged(allocateByteObject(T_STRING, len));
}
static inline char *stringBytes(Value v) { return (char *)&obj(v)->slot[1]; }

static int compareStrings(Value a, Value b) {
  size_t la = stringLength(a), lb = stringLength(b);
  int c = memcmp(stringChars(a), stringChars(b), la < lb ? la : lb);
  return c ? c : la < lb ? -1 : la > lb;
}

// Which order a comparison primitive asks for between neighbours (c: -1, 0 or 1).
static bool ordered(int id, int c) {
  switch (id) {
    case P_CHAR_LT: case P_CHAR_CI_LT: case P_STRING_LT: case P_STRING_CI_LT: return c < 0;
    case P_CHAR_GT: case P_CHAR_CI_GT: case P_STRING_GT: case P_STRING_CI_GT: return c > 0;
    case P_CHAR_LE: case P_CHAR_CI_LE: case P_STRING_LE: case P_STRING_CI_LE: return c <= 0;
    case P_CHAR_GE: case P_CHAR_CI_GE: case P_STRING_GE: case P_STRING_CI_GE: return c >= 0;
    default: return c == 0;
  }
}
static bool foldsCase(int id) {
  return (id >= P_CHAR_CI_EQ && id <= P_CHAR_CI_GE) || (id >= P_STRING_CI_EQ && id <= P_STRING_CI_GE);
}
static uint32_t foldChar(uint32_t c) { return c < 128 ? tolower(c) : c; }

static int radixArg(const Node *site, int id, Value *args, int n) {
  if (n < 2) return 10;
  if (!isFix(args[1]) || (fixVal(args[1]) != 2 && fixVal(args[1]) != 8 && fixVal(args[1]) != 10 && fixVal(args[1]) != 16))
    typeError(site, primInfo[id].name, "a radix (2, 8, 10 or 16)", args[1]);
  return fixVal(args[1]);
}

[[noreturn]] static void stackExhausted(const Node *site) {
  fail(E_STACK, site, "stack exhausted: recursion too deep (%u frames' worth of values)", STACK_SLOTS);
}

// The C++ stack lies first in linear memory (wasm-ld's stack-first layout), from __stack_low
// up to the data: recursion through C++ frames that keep locals there would trap out of
// bounds below it, so each call checks it keeps a margin (room to report the error).
extern "C" char __stack_low;
static const uintptr_t C_STACK_MARGIN = 256 << 10;

static inline void checkCStack(const Node *site) {
  if ((uintptr_t)__builtin_frame_address(0) < (uintptr_t)&__stack_low + C_STACK_MARGIN)
    fail(E_STACK, site, "stack exhausted: recursion too deep for the C++ stack");
}

static Value apply(Value *base, int nargs, const Node *site);

// A copy of the proper list `list` ending in `tail` (append of two).
static Value appendTo(Value list, Value tail) {
  if (list == NIL_V) return tail;
  Root keepList(list), keepTail(tail);
  Root head(cons(car(list), NIL_V));
  Root last(head.get());
  for (Value l = cdr(keepList.get()); isPair(l); l = cdr(l)) {
    Value cell = cons(car(l), NIL_V);
    obj(*last.at)->slot[1] = cell;
    *last.at = cell;
  }
  obj(*last.at)->slot[1] = keepTail.get();
  return head.get();
}

static bool isProcedure(Value v) { return isPrimProc(v) || isClosure(v) || isType(v, T_CONTINUATION); }

static Value callcc(const Node *site, Value f);  // in interpreter.h
static Value raiseTo(const Node *site, Value obj, bool continuable);  // in interpreter.h
static Value makeErrorObject(Value message, Value irritants);        // in interpreter.h
static bool isErrorObject(Value v);                                  // in interpreter.h
static Value portPrim(int id, Value *args, int n, const Node *site);  // in ports.h
static Value bytevectorPrim(int id, Value *args, int n, const Node *site);  // in bytevectors.h

[[noreturn]] static void escapeTo(Value k, Value *args, int n, const Node *site) {
  if (obj(k)->slot[0] != TRUE_V)
    fail(E_USER, site, "this continuation's call/cc has returned: continuations only escape (no re-entry)");
  if (n != 1) fail(E_ARITY, site, "continuation: expects 1 argument, got %d", n);
  obj(k)->slot[1] = args[0];
  longjmp(*(jmp_buf *)(uintptr_t)obj(k)->slot[2], 1);
}

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
    case P_STRING_EQ: case P_STRING_LT: case P_STRING_GT: case P_STRING_LE: case P_STRING_GE:
    case P_STRING_CI_EQ: case P_STRING_CI_LT: case P_STRING_CI_GT: case P_STRING_CI_LE:
    case P_STRING_CI_GE: {
      for (int i = 0; i < n; i++) stringArg(site, id, args[i]);
      for (int i = 0; i + 1 < n; i++) {
        int c;
        if (foldsCase(id)) {
          std::string a(stringChars(args[i]), stringLength(args[i])), b(stringChars(args[i + 1]), stringLength(args[i + 1]));
          for (char &ch : a) ch = (char)foldChar((unsigned char)ch);
          for (char &ch : b) ch = (char)foldChar((unsigned char)ch);
          c = a < b ? -1 : a > b;
        } else {
          c = compareStrings(args[i], args[i + 1]);
        }
        if (!ordered(id, c < 0 ? -1 : c > 0)) return FALSE_V;
      }
      return TRUE_V;
    }
    case P_STRING_SET: {  // strings are bytes: an ASCII character replaces one
      Value s = stringArg(site, id, args[0]);
      size_t i = indexArg(site, id, args[1], s, stringLength(s));
      uint32_t c = charArg(site, id, args[2]);
      if (c > 127) typeError(site, who, "an ASCII character", args[2]);
      stringBytes(s)[i] = (char)c;
      return UNSPEC_V;
    }
    case P_STRING_FILL: case P_STRING_COPY: {
      Value s = stringArg(site, id, args[0]);
      int at = id == P_STRING_FILL ? 2 : 1;  // where start and end are
      size_t len = stringLength(s);
      size_t end = n > at + 1 ? indexArg(site, id, args[at + 1], s, len, true) : len;
      size_t start = n > at ? indexArg(site, id, args[at], s, len, true) : 0;
      if (start > end) fail(E_RANGE, site, "%s: start %zu is after end %zu", who, start, end);
      if (id == P_STRING_COPY) {
        Value r = newString(site, id, end - start);
        memcpy(stringBytes(r), stringChars(s) + start, end - start);
        return r;
      }
      uint32_t c = charArg(site, id, args[1]);
      if (c > 127) typeError(site, who, "an ASCII character", args[1]);
      memset(stringBytes(s) + start, (int)c, end - start);
      return UNSPEC_V;
    }
    case P_STRING_UPCASE: case P_STRING_DOWNCASE: {
      Value s = stringArg(site, id, args[0]);
      Root keep(s);
      Value r = newString(site, id, stringLength(s));
      for (size_t i = 0; i < stringLength(s); i++) {
        unsigned char ch = stringChars(s)[i];
        stringBytes(r)[i] = ch < 128 ? (char)(id == P_STRING_UPCASE ? toupper(ch) : tolower(ch)) : (char)ch;
      }
      return r;
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
    {  // a copy: strings are mutable, a symbol's name is not
      Value name = obj(args[0])->slot[0];
      Root keep(name);
      Value r = newString(site, id, stringLength(name));
      memcpy(stringBytes(r), stringChars(name), stringLength(name));
      return r;
    }
    case P_NUMBER_TO_STRING: {
      int radix = radixArg(site, id, args, n);
      if (isFlo(args[0])) {
        if (radix != 10) typeError(site, who, "an exact integer (for a radix other than 10)", args[0]);
        std::string text;
        printFlonum(text, floVal(args[0]));
        Value r = newString(site, id, text.size());
        memcpy(stringBytes(r), text.data(), text.size());
        return r;
      }
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
      NumberSyntax num = parseNumber(std::string(stringChars(s), stringLength(s)), radix);
      if (num.kind == NumberSyntax::FIXNUM) return mkFix(num.fix);
      return num.kind == NumberSyntax::FLONUM ? mkFlo(num.flo) : FALSE_V;
    }
    case P_CHARP: return mkBool(isChar(args[0]));
    case P_CHAR_TO_INTEGER: return mkFix(charArg(site, id, args[0]));
    case P_INTEGER_TO_CHAR: {
      int64_t c = num(site, id, args[0]);
      if (c < 0 || c > 0x10ffff || (c >= 0xd800 && c < 0xe000))
        fail(E_RANGE, site, "integer->char: %lld is not a Unicode scalar value", (long long)c);
      return mkChar(c);
    }
    case P_CHAR_EQ: case P_CHAR_LT: case P_CHAR_GT: case P_CHAR_LE: case P_CHAR_GE:
    case P_CHAR_CI_EQ: case P_CHAR_CI_LT: case P_CHAR_CI_GT: case P_CHAR_CI_LE: case P_CHAR_CI_GE: {
      for (int i = 0; i < n; i++) charArg(site, id, args[i]);
      for (int i = 0; i + 1 < n; i++) {
        uint32_t a = args[i] >> 3, b = args[i + 1] >> 3;
        if (foldsCase(id)) { a = foldChar(a); b = foldChar(b); }
        if (!ordered(id, a < b ? -1 : a > b)) return FALSE_V;
      }
      return TRUE_V;
    }
    case P_CHAR_UPPER_CASEP: { uint32_t c = charArg(site, id, args[0]); return mkBool(c < 128 && isupper(c)); }
    case P_CHAR_LOWER_CASEP: { uint32_t c = charArg(site, id, args[0]); return mkBool(c < 128 && islower(c)); }
    case P_DIGIT_VALUE: { uint32_t c = charArg(site, id, args[0]); return c < 128 && isdigit(c) ? mkFix(c - '0') : FALSE_V; }
    case P_CHAR_UPCASE: { uint32_t c = charArg(site, id, args[0]); return mkChar(c < 128 ? toupper(c) : c); }
    case P_CHAR_DOWNCASE: { uint32_t c = charArg(site, id, args[0]); return mkChar(c < 128 ? tolower(c) : c); }
    case P_CHAR_ALPHABETICP: { uint32_t c = charArg(site, id, args[0]); return mkBool(c < 128 && isalpha(c)); }
    case P_CHAR_NUMERICP: { uint32_t c = charArg(site, id, args[0]); return mkBool(c < 128 && isdigit(c)); }
    case P_CHAR_WHITESPACEP: { uint32_t c = charArg(site, id, args[0]); return mkBool(c < 128 && isspace(c)); }
    case P_LISTP: return mkBool(listLength(args[0]) >= 0);
    case P_CAAR: case P_CADR: case P_CDAR: case P_CDDR: case P_CAAAR: case P_CAADR: case P_CADAR:
    case P_CADDR: case P_CDAAR: case P_CDADR: case P_CDDAR: case P_CDDDR: case P_CAAAAR:
    case P_CAAADR: case P_CAADAR: case P_CAADDR: case P_CADAAR: case P_CADADR: case P_CADDAR:
    case P_CADDDR: case P_CDAAAR: case P_CDAADR: case P_CDADAR: case P_CDADDR: case P_CDDAAR:
    case P_CDDADR: case P_CDDDAR: case P_CDDDDR: {
      // c[ad]+r: the letters apply right to left.
      Value v = args[0];
      for (const char *c = who + strlen(who) - 2; *c != 'c'; c--) {
        if (!isPair(v)) typeError(site, who, "a pair", v);
        v = *c == 'a' ? car(v) : cdr(v);
      }
      return v;
    }
    case P_INTEGERP:
      return mkBool(isFix(args[0]) || (isFlo(args[0]) && floVal(args[0]) == floor(floVal(args[0])) &&
                                       !std::isinf(floVal(args[0]))));
    case P_EXACT_INTEGERP: case P_EXACTP: case P_INEXACTP:
      if (id != P_EXACT_INTEGERP) real(site, id, args[0]);
      return mkBool(id == P_INEXACTP ? isFlo(args[0]) : isFix(args[0]));
    case P_NANP: return mkBool(std::isnan(real(site, id, args[0])));
    case P_INFINITEP: return mkBool(std::isinf(real(site, id, args[0])));
    case P_FINITEP: return mkBool(std::isfinite(real(site, id, args[0])));
    case P_SQRT: {
      double x = real(site, id, args[0]);
      if (x < 0)
        fail(E_RANGE, site, "sqrt: %s has no real square root (there are no complex numbers)", repr(args[0]).c_str());
      double r = sqrt(x);
      if (isFix(args[0]) && r == floor(r) && (int64_t)r * (int64_t)r == fixVal(args[0])) return mkFix((int64_t)r);
      return mkFlo(r);
    }
    case P_EXP: return mkFlo(exp(real(site, id, args[0])));
    case P_LOG: {
      double x = real(site, id, args[0]);
      if (n == 2) return mkFlo(log(x) / log(real(site, id, args[1])));
      return mkFlo(log(x));
    }
    case P_SIN: return mkFlo(sin(real(site, id, args[0])));
    case P_COS: return mkFlo(cos(real(site, id, args[0])));
    case P_TAN: return mkFlo(tan(real(site, id, args[0])));
    case P_ASIN: return mkFlo(asin(real(site, id, args[0])));
    case P_ACOS: return mkFlo(acos(real(site, id, args[0])));
    case P_ATAN:
      if (n == 2) return mkFlo(atan2(real(site, id, args[0]), real(site, id, args[1])));
      return mkFlo(atan(real(site, id, args[0])));
    case P_FLOOR: case P_CEILING: case P_ROUND: case P_TRUNCATE: {
      if (isFix(args[0])) return args[0];
      double x = real(site, id, args[0]);
      return mkFlo(id == P_FLOOR ? floor(x) : id == P_CEILING ? ceil(x) : id == P_ROUND ? nearbyint(x) : trunc(x));
    }
    case P_EXACT: case P_INEXACT_TO_EXACT: {
      if (isFix(args[0])) return args[0];
      double x = real(site, id, args[0]);
      if (x != floor(x) || !(fabs(x) <= (double)FIX_MAX))
        fail(E_RANGE, site, "%s: %s has no exact value (there are no exact rationals or bignums)", who, repr(args[0]).c_str());
      return mkFix((int64_t)x);
    }
    case P_INEXACT: case P_EXACT_TO_INEXACT:
      return isFlo(args[0]) ? args[0] : mkFlo(real(site, id, args[0]));
    case P_CALLCC: return callcc(site, args[0]);
    case P_EXPT: {
      Value b = args[0], e = args[1];
      if (isFix(b) && isFix(e) && fixVal(e) >= 0) {  // exact, by squaring
        int64_t base = fixVal(b), k = fixVal(e), r = 1;
        while (k) {
          if ((k & 1) && (__builtin_mul_overflow(r, base, &r) || !fitsFix(r))) overflow(site, id, fixVal(b), fixVal(e));
          k >>= 1;
          if (k && (__builtin_mul_overflow(base, base, &base) || !fitsFix(base))) overflow(site, id, fixVal(b), fixVal(e));
        }
        return mkFix(r);
      }
      return mkFlo(pow(real(site, id, b), real(site, id, e)));
    }
    case P_ERROR: {  // an error object, raised to the handlers (with none, the error's text)
      Root irritants(NIL_V);
      for (int i = n; i-- > 1;) *irritants.at = cons(args[i], *irritants.at);
      return raiseTo(site, makeErrorObject(args[0], irritants.get()), false);
    }
    case P_APPEND2: case P_APPEND: {  // copies of every list but the last, which the result shares
      if (n == 0) return NIL_V;
      for (int i = 0; i + 1 < n; i++)
        if (listLength(args[i]) < 0) typeError(site, "append", "a list", args[i]);
      Root result(args[n - 1]);
      for (int i = n - 1; i-- > 0;) *result.at = appendTo(args[i], result.get());
      return result.get();
    }
    case P_RECORD_TYPE: {  // (%record-type 'name '(field ...)): a record type, as a vector
      Value v = makeVector(2, UNSPEC_V);
      vectorItems(v)[0] = args[0];
      vectorItems(v)[1] = args[1];
      return v;
    }
    case P_MAKE_RECORD: {  // (%make-record type field-value ...)
      Obj *o = allocate(T_RECORD, 1 + n);
      for (int i = 0; i < n; i++) o->slot[i] = args[i];
      return tagged(o);
    }
    case P_RECORDP: return mkBool(isType(args[0], T_RECORD) && obj(args[0])->slot[0] == args[1]);
    case P_RECORD_REF: case P_RECORD_SET: {  // (%record-ref r type index 'who), (%record-set! r type index v 'who)
      Value r = args[0];
      if (!isType(r, T_RECORD) || obj(r)->slot[0] != args[1]) {
        std::string what = "a record of type ";
        printValue(what, vectorItems(args[1])[0], true);
        typeError(site, symbolName(args[id == P_RECORD_REF ? 3 : 4]), what.c_str(), r);
      }
      Value &field = obj(r)->slot[1 + fixVal(args[2])];
      if (id == P_RECORD_REF) return field;
      field = args[3];
      return UNSPEC_V;
    }
    case P_MAKE_VALUES: {  // (%make-values list): values other than one
      Root l(args[0]);
      Obj *o = allocate(T_VALUES, 2);
      o->slot[0] = l.get();
      return tagged(o);
    }
    case P_VALUES_TO_LIST:  // one value: a list of it
      return isType(args[0], T_VALUES) ? obj(args[0])->slot[0] : cons(args[0], NIL_V);
    case P_WRITE_CHAR: case P_WRITE_STRING: case P_CURRENT_OUTPUT_PORT: case P_CURRENT_INPUT_PORT:
    case P_OPEN_INPUT_STRING: case P_OPEN_OUTPUT_STRING: case P_GET_OUTPUT_STRING:
    case P_OPEN_INPUT_FILE: case P_FILE_EXISTSP: case P_CLOSE_PORT: case P_READ_CHAR:
    case P_PEEK_CHAR: case P_CHAR_READYP: case P_READ_LINE: case P_READ: case P_EOF_OBJECT:
    case P_EOF_OBJECTP: case P_PORTP: case P_INPUT_PORTP: case P_OUTPUT_PORTP:
    case P_FLUSH_OUTPUT: case P_SET_CURRENT_INPUT: case P_SET_CURRENT_OUTPUT:
    case P_OPEN_OUTPUT_FILE: case P_DELETE_FILE:
      return portPrim(id, args, n, site);
    case P_BYTEVECTORP: case P_MAKE_BYTEVECTOR: case P_BYTEVECTOR: case P_BYTEVECTOR_LENGTH:
    case P_BYTEVECTOR_U8_REF: case P_BYTEVECTOR_U8_SET: case P_BYTEVECTOR_COPY:
    case P_BYTEVECTOR_COPY_TO: case P_BYTEVECTOR_APPEND: case P_UTF8_TO_STRING:
    case P_STRING_TO_UTF8:
      return bytevectorPrim(id, args, n, site);
    case P_WITH_EXCEPTION_HANDLER: {
      if (!isProcedure(args[0])) typeError(site, who, "a procedure", args[0]);
      if (!isProcedure(args[1])) typeError(site, who, "a procedure", args[1]);
      Root saved(handlerStack);
      handlerStack = cons(args[0], handlerStack);
      Value *base = sp;
      base[0] = args[1];
      sp = base + 1;
      Value r = apply(base, 0, site);
      sp = base;
      handlerStack = saved.get();
      return r;
    }
    case P_RAISE: case P_RAISE_CONTINUABLE: return raiseTo(site, args[0], id == P_RAISE_CONTINUABLE);
    case P_ERROR_OBJECTP: case P_ERROR_OBJECT_MESSAGE: case P_ERROR_OBJECT_IRRITANTS: {
      bool is = isErrorObject(args[0]);
      if (id == P_ERROR_OBJECTP) return mkBool(is);
      if (!is) typeError(site, who, "an error object", args[0]);
      return obj(args[0])->slot[id == P_ERROR_OBJECT_MESSAGE ? 1 : 2];
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
  char msg[128];
  if (!primArityOk(pi, n, msg, sizeof msg)) fail(E_ARITY, site, "%s", msg);
  switch (id) {
    case P_ADD: case P_MUL: {
      Root acc(mkFix(id == P_ADD ? 0 : 1));  // a flonum made by one step lives through the next
      for (int i = 0; i < n; i++) *acc.at = arith(site, id, *acc.at, args[i]);
      return acc.get();
    }
    case P_SUB: case P_DIV: {
      if (n == 1) return arith(site, id, mkFix(id == P_SUB ? 0 : 1), args[0]);
      Root acc(args[0]);
      for (int i = 1; i < n; i++) *acc.at = arith(site, id, *acc.at, args[i]);
      return acc.get();
    }
    case P_MIN: case P_MAX: {
      Root acc(args[0]);
      real(site, id, args[0]);
      for (int i = 1; i < n; i++) *acc.at = arith(site, id, *acc.at, args[i]);
      return acc.get();
    }
    case P_QUOTIENT: case P_REMAINDER: case P_MODULO: return arith(site, id, args[0], args[1]);
    case P_NUM_EQ: case P_LT: case P_GT: case P_LE: case P_GE: {
      if (n == 1) { real(site, id, args[0]); return TRUE_V; }
      bool ok = true;
      for (int i = 0; i + 1 < n; i++) ok = compare(site, id, args[i], args[i + 1]) && ok;
      return mkBool(ok);
    }
    case P_NOT: return mkBool(args[0] == FALSE_V);
    case P_EQ: return mkBool(args[0] == args[1]);
    case P_EQV: return mkBool(eqv(args[0], args[1]));
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
    case P_DISPLAY: case P_WRITE: case P_NEWLINE: return portPrim(id, args, n, site);
    case P_ZEROP: return mkBool(real(site, id, args[0]) == 0);
    case P_POSITIVEP: return mkBool(real(site, id, args[0]) > 0);
    case P_NEGATIVEP: return mkBool(real(site, id, args[0]) < 0);
    case P_EVENP: return mkBool(fmod(integral(site, id, args[0]), 2) == 0);
    case P_ODDP: return mkBool(fmod(integral(site, id, args[0]), 2) != 0);
    case P_ABS: {
      if (isFlo(args[0])) return mkFlo(fabs(floVal(args[0])));
      int64_t x = num(site, id, args[0]);
      if (x == FIX_MIN) fail(E_OVERFLOW, site, "abs: fixnum overflow computing (abs %lld)", (long long)x);
      return mkFix(x < 0 ? -x : x);
    }
    case P_NUMBERP: return mkBool(isNum(args[0]));
    case P_PROCEDUREP: return mkBool(isProcedure(args[0]));
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
