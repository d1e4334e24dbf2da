// The printer.
// Part of interp.cc (one translation unit): included there in layer order, after the layers it
// uses.
#pragma once

// ---------------------------------------------------------------------------------------------
// Printing.

static void printValue(std::string &out, Value v, bool display);

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

// Characters that end an atom: the reader's, and write's test for a symbol that must be
// written |barred| to read back as itself.
static bool isDelimiter(char c) {
  return c == '(' || c == ')' || c == '[' || c == ']' || c == '"' || c == ';' || c == '\'' ||
         c == '`' || c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

// Number syntax, shared by the reader, string->number and the printer (a symbol that would read
// as a number is written with bars): [#x #b #o #d][#e #i] prefixes in either order, integers
// in the radix, decimals with a fraction or an exponent, +inf.0 -inf.0 +nan.0.  There are no
// bignums and no exact rationals: such a token is an error, never another datum.
struct NumberSyntax {
  enum Kind { NONE, FIXNUM, FLONUM, ERROR } kind = NONE;
  int64_t fix = 0;
  double flo = 0;
  const char *error = "";  // ERROR: what is wrong (the token follows it)
};

static int digitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}

static NumberSyntax parseNumber(const std::string &t, int radix = 10) {
  NumberSyntax r;
  size_t i = 0;
  char exactness = 0;
  bool prefixed = false;
  while (i + 1 < t.size() && t[i] == '#') {
    char p = (char)tolower((unsigned char)t[i + 1]);
    if (p == 'x' || p == 'b' || p == 'o' || p == 'd') radix = p == 'x' ? 16 : p == 'b' ? 2 : p == 'o' ? 8 : 10;
    else if (p == 'e' || p == 'i') { if (exactness) return r; exactness = p; }
    else return r;
    i += 2;
    prefixed = true;
  }
  auto bad = [&](const char *why) { r.kind = NumberSyntax::ERROR; r.error = why; return r; };
  std::string body = t.substr(i);
  if (body.empty()) return prefixed ? bad("bad number syntax") : r;
  bool neg = body[0] == '-';
  size_t k = (body[0] == '-' || body[0] == '+') ? 1 : 0;
  if (k && (body.substr(1) == "inf.0" || body.substr(1) == "nan.0")) {
    r.kind = NumberSyntax::FLONUM;
    r.flo = body[1] == 'i' ? (neg ? -HUGE_VAL : HUGE_VAL) : NAN;
    if (exactness == 'e') return bad("no exact value for");
    return r;
  }
  // Digits in the radix, with at most one '.' and an exponent (radix 10 only).
  size_t digits = 0, j = k;
  bool dot = false;
  int64_t v = 0;
  bool tooBig = false;
  for (; j < body.size(); j++) {
    char c = body[j];
    if (c == '.' && radix == 10 && !dot) { dot = true; continue; }
    int d = digitValue(c);
    if (d >= radix) break;
    digits++;
    if (!dot && (__builtin_mul_overflow(v, radix, &v) || __builtin_add_overflow(v, d, &v) || v > FIX_MAX + 1))
      tooBig = true;
  }
  bool exponent = false;
  if (digits && j < body.size() && radix == 10 && (body[j] == 'e' || body[j] == 'E')) {
    size_t e = j + 1;
    if (e < body.size() && (body[e] == '+' || body[e] == '-')) e++;
    size_t start = e;
    while (e < body.size() && isdigit((unsigned char)body[e])) e++;
    if (e > start) { exponent = true; j = e; }
  }
  if (!digits || (j < body.size() && body[j] == '/')) {
    if (digits) {  // n/d: a rational
      size_t d = j + 1, start = d;
      while (d < body.size() && digitValue(body[d]) < radix) d++;
      if (d == body.size() && d > start && !dot) return bad("exact rationals are not supported:");
    }
    return prefixed || digits ? bad("bad number syntax") : r;
  }
  if (j != body.size()) return bad("bad number syntax");
  if (!dot && !exponent) {
    if (tooBig) return bad("integer out of the fixnum range (62 bits and sign):");
    v = neg ? -v : v;
    if (!fitsFix(v)) return bad("integer out of the fixnum range (62 bits and sign):");
    if (exactness == 'i') { r.kind = NumberSyntax::FLONUM; r.flo = (double)v; return r; }
    r.kind = NumberSyntax::FIXNUM;
    r.fix = v;
    return r;
  }
  double d = strtod(body.c_str(), nullptr);
  if (exactness == 'e') {
    if (d != floor(d) || !(fabs(d) <= (double)FIX_MAX)) return bad("exact rationals are not supported:");
    r.kind = NumberSyntax::FIXNUM;
    r.fix = (int64_t)d;
    return r;
  }
  r.kind = NumberSyntax::FLONUM;
  r.flo = d;
  return r;
}

// Whether a token that is not a number starts as one would (a digit, or a sign or '.' before
// one): R7RS has no such identifiers, so it is bad number syntax rather than a symbol.
static bool startsLikeNumber(const std::string &t) {
  size_t k = (!t.empty() && (t[0] == '-' || t[0] == '+')) ? 1 : 0;
  if (k < t.size() && t[k] == '.') k++;
  return k < t.size() && isdigit((unsigned char)t[k]);
}

// The shortest decimal that reads back as the same double, written as Guile and other R7RS
// systems do: positional from 1e-3 to 1e7 (and past it while at most three zeros pad the
// digits), otherwise with an exponent; always with a '.' (1.0, 1.0e21).
static void printFlonum(std::string &out, double d) {
  if (std::isnan(d)) { out += "+nan.0"; return; }
  if (std::isinf(d)) { out += d < 0 ? "-inf.0" : "+inf.0"; return; }
  char buf[40];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
    if (strtod(buf, nullptr) == d) break;
  }
  // buf: [-]D[.DDD]e[+-]XX
  const char *p = buf;
  if (*p == '-') { out += '-'; p++; }
  std::string digits;
  for (; *p != 'e'; p++)
    if (*p != '.') digits += *p;
  int x = atoi(p + 1);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  int len = (int)digits.size();
  bool positional = (x >= -3 && x < 7) || (x >= 7 && x + 1 - len <= 3);
  if (!positional) {
    out += digits[0];
    out += '.';
    out += len > 1 ? digits.substr(1) : "0";
    out += 'e';
    out += std::to_string(x);
  } else if (x < 0) {
    out += "0.";
    out.append(-x - 1, '0');
    out += digits;
  } else if (x + 1 >= len) {
    out += digits;
    out.append(x + 1 - len, '0');
    out += ".0";
  } else {
    out += digits.substr(0, x + 1);
    out += '.';
    out += digits.substr(x + 1);
  }
}

// Whether write shows a character as itself: a graphic character or the space, as Guile and
// Chibi do; the rest (controls, format and separator characters, other spaces, surrogates,
// private use and the noncharacters) it writes as a \x escape.  Unassigned code points print
// as themselves: telling them apart needs Unicode's tables.
static bool printsAsItself(uint32_t c) {
  static const uint32_t hidden[][2] = {
    {0x0, 0x1f}, {0x7f, 0xa0}, {0xad, 0xad}, {0x600, 0x605}, {0x61c, 0x61c}, {0x6dd, 0x6dd},
    {0x70f, 0x70f}, {0x1680, 0x1680}, {0x180e, 0x180e}, {0x2000, 0x200f}, {0x2028, 0x202f},
    {0x205f, 0x2064}, {0x2066, 0x206f}, {0x3000, 0x3000}, {0xd800, 0xf8ff}, {0xfdd0, 0xfdef},
    {0xfeff, 0xfeff}, {0xfff9, 0xfffb}, {0xe0001, 0xe0001}, {0xe0020, 0xe007f},
    {0xf0000, 0x10ffff},
  };
  if ((c & 0xfffe) == 0xfffe) return false;
  for (auto &r : hidden)
    if (c >= r[0] && c <= r[1]) return false;
  return true;
}

// The character whose UTF-8 encoding starts at s[i] (its length in `len`), or -1 if the bytes
// there are not one.
static int64_t utf8At(const char *s, size_t n, size_t i, size_t &len) {
  unsigned char b = s[i];
  len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + len > n) return len = 1, -1;
  int64_t c = len == 1 ? b : b & (0x7f >> len);
  for (size_t k = 1; k < len; k++) {
    if (((unsigned char)s[i + k] & 0xc0) != 0x80) return len = 1, -1;
    c = c << 6 | (s[i + k] & 0x3f);
  }
  return c;
}

// What write shows for the character c in a string or a |symbol|: itself or an escape.
static void writeEscaped(std::string &out, uint32_t c) {
  if (printsAsItself(c)) { appendUtf8(out, c); return; }
  char hex[12];
  snprintf(hex, sizeof hex, "\\x%x;", c);
  out += hex;
}

static bool symbolNeedsBars(const std::string &name) {
  if (name.empty() || name == "." || name[0] == '#' || parseNumber(name).kind != NumberSyntax::NONE ||
      startsLikeNumber(name))
    return true;
  size_t len;
  for (size_t i = 0; i < name.size(); i += len) {
    int64_t c = utf8At(name.data(), name.size(), i, len);
    if (c < 0 || isDelimiter(c) || c == '|' || c == '\\' || !printsAsItself(c)) return true;
  }
  return false;
}

static void printSymbol(std::string &out, const char *name, bool display) {
  std::string s(name);
  if (display || !symbolNeedsBars(s)) { out += s; return; }
  out += '|';
  size_t len;
  for (size_t i = 0; i < s.size(); i += len) {
    int64_t c = utf8At(s.data(), s.size(), i, len);
    if (c == '|' || c == '\\') { out += '\\'; out += (char)c; }
    else if (c < 0) out += s[i];
    else writeEscaped(out, c);
  }
  out += '|';
}

static void printString(std::string &out, Value v, bool display) {
  const char *s = stringChars(v);
  size_t n = stringLength(v);
  if (display) { out.append(s, n); return; }
  out += '"';
  size_t len;
  for (size_t i = 0; i < n; i += len) {
    int64_t c = utf8At(s, n, i, len);
    if (c == '"' || c == '\\') { out += '\\'; out += (char)c; }
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c == '\a') out += "\\a";
    else if (c == '\b') out += "\\b";
    else if (c < 0) out += s[i];  // a byte string-set! or a bytevector left: as it is
    else writeEscaped(out, c);
  }
  out += '"';
}

// Where the printer stops, and says so in what it prints: past this many bytes (a circular
// list gets there) and past this depth of nesting (the C stack).
static const size_t PRINT_MAX_BYTES = 1u << 20;
static const int PRINT_MAX_DEPTH = 10000;

struct Printer {
  std::string &out;
  bool display;
  bool elided = false;  // the size limit was reached: print nothing more

  // True when there is no room for more; the first time, it says so in the output.
  bool full() {
    if (out.size() <= PRINT_MAX_BYTES) return false;
    if (!elided) out += " #<elided: the printed form passed 1 MiB>";
    elided = true;
    return true;
  }

  void print(Value v, int depth) {
    if (full()) return;
    if (isFix(v)) { out += std::to_string(fixVal(v)); return; }
    switch (v) {
      case FALSE_V: out += "#f"; return;
      case TRUE_V: out += "#t"; return;
      case NIL_V: out += "()"; return;
      case UNSPEC_V: out += "#<unspecified>"; return;
      case EOF_V: out += "#<eof>"; return;
      case UNASSIGNED_V: out += "#<unassigned>"; return;
    }
    if (isPrimProc(v)) { out += "#<procedure "; out += primInfo[primId(v)].name; out += '>'; return; }
    if (isChar(v)) {
      uint32_t c = v >> 3;
      if (display) { appendUtf8(out, c); return; }
      out += "#\\";
      if (const char *name = charName(c)) out += name;
      else if (!printsAsItself(c)) { char hex[12]; snprintf(hex, sizeof hex, "x%x", c); out += hex; }
      else appendUtf8(out, c);
      return;
    }
    if (!isPtr(v)) { out += "#<?>"; return; }
    bool nested = obj(v)->type == T_PAIR || obj(v)->type == T_VECTOR;
    if (nested && depth >= PRINT_MAX_DEPTH) {
      out += "#<elided: nested deeper than 10000 levels>";
      return;
    }
    switch (obj(v)->type) {
      case T_PAIR: {
        out += '(';
        print(car(v), depth + 1);
        Value rest = cdr(v);
        while (isPair(rest) && !full()) {
          out += ' ';
          print(car(rest), depth + 1);
          rest = cdr(rest);
        }
        if (rest != NIL_V && !isPair(rest) && !full()) { out += " . "; print(rest, depth + 1); }
        out += ')';
        return;
      }
      case T_VECTOR: {
        out += "#(";
        for (size_t i = 0, n = vectorLength(v); i < n && !full(); i++) {
          if (i) out += ' ';
          print(vectorItems(v)[i], depth + 1);
        }
        out += ')';
        return;
      }
      case T_CLOSURE: out += "#<procedure "; out += closureFunc(v)->name; out += '>'; return;
      case T_BOX: out += "#<box>"; return;
      case T_SYMBOL: printSymbol(out, symbolName(v), display); return;
      case T_STRING: printString(out, v, display); return;
      case T_FLONUM: printFlonum(out, floVal(v)); return;
      case T_CONTINUATION: out += "#<continuation>"; return;
      case T_PORT: out += "#<port>"; return;
      case T_BYTEVECTOR: {  // #u8(1 2 3); the bytes sit where a string's do
        out += "#u8(";
        for (size_t i = 0; i < stringLength(v) && !full(); i++) {
          if (i) out += ' ';
          out += std::to_string((unsigned char)stringChars(v)[i]);
        }
        out += ')';
        return;
      }
      case T_VALUES: {  // as a REPL shows several values: side by side
        bool first = true;
        for (Value l = obj(v)->slot[0]; isPair(l) && !full(); l = cdr(l), first = false) {
          if (!first) out += ' ';
          print(car(l), depth + 1);
        }
        return;
      }
      case T_RECORD: {  // #<<point> x: 1 y: 2>
        Value type = obj(v)->slot[0];
        out += "#<";
        print(vectorItems(type)[0], depth + 1);
        Value names = vectorItems(type)[1];
        for (uint32_t i = 1; isPair(names) && !full(); i++, names = cdr(names)) {
          out += ' ';
          print(car(names), depth + 1);
          out += ": ";
          print(obj(v)->slot[i], depth + 1);
        }
        out += '>';
        return;
      }
    }
    out += "#<?>";
  }
};

static void printValue(std::string &out, Value v, bool display) {
  Printer printer{out, display};
  printer.print(v, 0);
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
