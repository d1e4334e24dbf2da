// Bytevectors: a T_BYTEVECTOR has a string's layout (slot[0] its length, its bytes after), and
// the conversions between them and strings' UTF-8.
// Part of interp.cc (one translation unit): included there in layer order, after the layers it
// uses.
#pragma once

static Value newBytevector(const Node *site, int id, size_t len) {
  if (len > (size_t)MAX_SEQUENCE)
    fail(E_RANGE, site, "%s: a bytevector of %zu bytes is too long", primInfo[id].name, len);
  return tagged(allocateByteObject(T_BYTEVECTOR, len));
}

static inline uint8_t *bytevectorBytes(Value v) { return (uint8_t *)&obj(v)->slot[1]; }
static inline size_t bytevectorLength(Value v) { return obj(v)->slot[0]; }

static Value bytevectorArg(const Node *site, int id, Value v) {
  if (!isType(v, T_BYTEVECTOR)) typeError(site, primInfo[id].name, "a bytevector", v);
  return v;
}

static uint8_t byteArg(const Node *site, int id, Value v) {
  if (!isFix(v) || fixVal(v) < 0 || fixVal(v) > 255) typeError(site, primInfo[id].name, "a byte (0 to 255)", v);
  return fixVal(v);
}

// The [start, end) of args[at] and args[at + 1] (optional) within a sequence of len.
static std::pair<size_t, size_t> spanArgs(const Node *site, int id, Value *args, int n, int at, Value of, size_t len) {
  size_t end = n > at + 1 ? indexArg(site, id, args[at + 1], of, len, true) : len;
  size_t start = n > at ? indexArg(site, id, args[at], of, len, true) : 0;
  if (start > end) fail(E_RANGE, site, "%s: start %zu is after end %zu", primInfo[id].name, start, end);
  return {start, end};
}

static Value bytevectorPrim(int id, Value *args, int n, const Node *site) {
  const char *who = primInfo[id].name;
  switch (id) {
    case P_BYTEVECTORP: return mkBool(isType(args[0], T_BYTEVECTOR));
    case P_MAKE_BYTEVECTOR: {
      size_t len = lengthArg(site, id, args[0]);
      uint8_t fill = n > 1 ? byteArg(site, id, args[1]) : 0;
      Value v = newBytevector(site, id, len);
      memset(bytevectorBytes(v), fill, len);
      return v;
    }
    case P_BYTEVECTOR: {
      for (int i = 0; i < n; i++) byteArg(site, id, args[i]);
      Value v = newBytevector(site, id, n);
      for (int i = 0; i < n; i++) bytevectorBytes(v)[i] = fixVal(args[i]);
      return v;
    }
    case P_BYTEVECTOR_LENGTH: return mkFix(bytevectorLength(bytevectorArg(site, id, args[0])));
    case P_BYTEVECTOR_U8_REF: {
      Value v = bytevectorArg(site, id, args[0]);
      return mkFix(bytevectorBytes(v)[indexArg(site, id, args[1], v, bytevectorLength(v))]);
    }
    case P_BYTEVECTOR_U8_SET: {
      Value v = bytevectorArg(site, id, args[0]);
      size_t i = indexArg(site, id, args[1], v, bytevectorLength(v));
      bytevectorBytes(v)[i] = byteArg(site, id, args[2]);
      return UNSPEC_V;
    }
    case P_BYTEVECTOR_COPY: case P_STRING_TO_UTF8: {  // strings hold UTF-8: their bytes, copied
      Value v = id == P_STRING_TO_UTF8 ? stringArg(site, id, args[0]) : bytevectorArg(site, id, args[0]);
      auto [start, end] = spanArgs(site, id, args, n, 1, v, stringLength(v));  // one layout
      Value r = newBytevector(site, id, end - start);  // v stays rooted in args
      memcpy(bytevectorBytes(r), stringChars(v) + start, end - start);
      return r;
    }
    case P_BYTEVECTOR_COPY_TO: {  // (bytevector-copy! to at from [start end])
      Value to = bytevectorArg(site, id, args[0]);
      size_t at = indexArg(site, id, args[1], to, bytevectorLength(to), true);
      Value from = bytevectorArg(site, id, args[2]);
      auto [start, end] = spanArgs(site, id, args, n, 3, from, bytevectorLength(from));
      if (end - start > bytevectorLength(to) - at)
        fail(E_RANGE, site, "%s: %zu bytes do not fit at %zu of a bytevector of length %zu", who,
             end - start, at, bytevectorLength(to));
      memmove(bytevectorBytes(to) + at, bytevectorBytes(from) + start, end - start);
      return UNSPEC_V;
    }
    case P_BYTEVECTOR_APPEND: {
      size_t len = 0;
      for (int i = 0; i < n; i++) len += bytevectorLength(bytevectorArg(site, id, args[i]));
      Value r = newBytevector(site, id, len);  // args stay rooted on the caller's stack
      size_t at = 0;
      for (int i = 0; i < n; i++) {
        memcpy(bytevectorBytes(r) + at, bytevectorBytes(args[i]), bytevectorLength(args[i]));
        at += bytevectorLength(args[i]);
      }
      return r;
    }
    case P_UTF8_TO_STRING: {
      Value v = bytevectorArg(site, id, args[0]);
      auto [start, end] = spanArgs(site, id, args, n, 1, v, bytevectorLength(v));
      const char *bytes = (const char *)bytevectorBytes(v);
      size_t len;
      for (size_t i = start; i < end; i += len)
        if (utf8At(bytes + start, end - start, i - start, len) < 0)
          fail(E_RANGE, site, "%s: the byte at %zu does not begin a UTF-8 character", who, i);
      Value s = newString(site, id, end - start);  // v stays rooted in args
      memcpy(stringBytes(s), bytevectorBytes(v) + start, end - start);
      return s;
    }
  }
  return UNSPEC_V;
}
