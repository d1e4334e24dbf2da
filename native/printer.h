// The printer.
// Part of interp.cc (one translation unit): included there in layer order, after the layers it
// uses.
#pragma once

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
