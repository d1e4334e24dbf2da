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

static bool isDecimalInteger(const std::string &t) {
  size_t k = (!t.empty() && (t[0] == '-' || t[0] == '+')) ? 1 : 0;
  if (k == t.size()) return false;
  for (; k < t.size(); k++)
    if (t[k] < '0' || t[k] > '9') return false;
  return true;
}

static bool symbolNeedsBars(const std::string &name) {
  if (name.empty() || name == "." || name[0] == '#' || isDecimalInteger(name)) return true;
  for (unsigned char c : name)
    if (isDelimiter(c) || c == '|' || c == '\\' || c < 32 || c == 127) return true;
  return false;
}

static void printSymbol(std::string &out, const char *name, bool display) {
  std::string s(name);
  if (display || !symbolNeedsBars(s)) { out += s; return; }
  out += '|';
  for (unsigned char c : s) {
    if (c == '|' || c == '\\') { out += '\\'; out += (char)c; }
    else if (c < 32 || c == 127) { char hex[8]; snprintf(hex, sizeof hex, "\\x%x;", c); out += hex; }
    else out += (char)c;
  }
  out += '|';
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
