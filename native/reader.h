// The reader.
// Part of interp.cc (one translation unit): included there in layer order, after the layers it
// uses.
#pragma once

// ---------------------------------------------------------------------------------------------
// Reader: text to syntax trees with positions.

struct Sx {
  // VECTOR: #(items); BYTEVECTOR: #u8(bytes), its bytes in text
  enum Kind { LIST, SYMBOL, FIXNUM, BOOLEAN, STRING, CHAR, VECTOR, FLONUM, BYTEVECTOR } kind;
  Pos pos, end;
  std::string text;  // symbol name or string contents
  int64_t num = 0;
  double flo = 0;
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
    size_t len;
    while (j < n) {
      unsigned char b = s[j];
      if (utf8At(s, n, j, len) < 0 || b == 0) {
        Pos p; p.line = l; p.col = c; p.src = src;
        char hex[8];
        snprintf(hex, sizeof hex, "0x%02x", b);
        fail(p, b == 0 ? "NUL byte in source" : "invalid UTF-8 byte %s", hex);
      }
      if (b == '\n') { l++; c = 1; } else c++;
      j += len;
    }
  }

  static bool delimiter(char c) { return isDelimiter(c); }

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
    if (c == '#' && i + 3 < n && (s[i + 1] == 'u' || s[i + 1] == 'U') && s[i + 2] == '8' && s[i + 3] == '(') {
      advance(); advance(); advance();
      Sx *v = read(depth + 1);
      if (v->dotted) fail(p, "a bytevector literal cannot have a '.'");
      for (Sx *b : v->items) {
        if (b->kind != Sx::FIXNUM || b->num < 0 || b->num > 255) fail(b->pos, "a bytevector holds bytes (0 to 255)");
        v->text += (char)b->num;
      }
      v->items.clear();  // the bytes are in text (the syntax stays in the reader's arena)
      v->kind = Sx::BYTEVECTOR;
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
            case 'b': x->text += '\b'; break;
            case '0': x->text += '\0'; break;
            case 'x': case 'X': appendUtf8(x->text, hexEscape(ep, 8)); break;  // \xHH;
            case ' ': case '\t': case '\n': case '\r': {
              // \ <spaces> <line ending> <spaces> stands for nothing
              char after = e;
              while (after == ' ' || after == '\t') {
                if (i >= n) fail(p, "unterminated string");
                after = s[i];
                advance();
              }
              if (after == '\r' && i < n && s[i] == '\n') advance();
              else if (after != '\r' && after != '\n') fail(ep, "a \\ before spaces must end its line");
              while (i < n && (s[i] == ' ' || s[i] == '\t')) advance();
              break;
            }
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
    if (c == '|') return readBarredSymbol(p);
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
      std::string lower = tok;  // booleans read in any case, as numbers' prefixes do
      for (char &ch : lower) ch = tolower((unsigned char)ch);
      if (lower == "#t" || lower == "#true") { x = make(Sx::BOOLEAN, p); x->num = 1; }
      else if (lower == "#f" || lower == "#false") { x = make(Sx::BOOLEAN, p); x->num = 0; }
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
          size_t len;
          int64_t code = utf8At(name.data(), name.size(), 0, len);
          if (len > 1 && name.size() == len) x->num = code;
        }
        if (x->num < 0 || x->num > 0x10ffff) fail(p, "unknown character name #\\%s", name.c_str());
      } else if (tok.size() >= 2 && strchr("xXbBoOdDeEiI", tok[1])) {
        x = number(tok, p);
      } else {
        fail(p, "unknown syntax %s", tok.c_str());
      }
    } else if (parseNumber(tok).kind != NumberSyntax::NONE || startsLikeNumber(tok)) {
      x = number(tok, p);
    } else {
      x = make(Sx::SYMBOL, p);
      x->text = tok;
    }
    x->end = here();
    return x;
  }

  // A numeric token: a fixnum, a flonum or a read error saying why it is neither.
  Sx *number(const std::string &tok, const Pos &p) {
    NumberSyntax num = parseNumber(tok);
    if (num.kind == NumberSyntax::NONE || num.kind == NumberSyntax::ERROR) {
      std::string msg = num.kind == NumberSyntax::ERROR ? num.error : "bad number syntax";
      msg += ' ';
      msg += tok;
      fail(p, "%s", msg.c_str());
    }
    Sx *x = make(num.kind == NumberSyntax::FIXNUM ? Sx::FIXNUM : Sx::FLONUM, p);
    x->num = num.fix;
    x->flo = num.flo;
    return x;
  }

  // The HH; of an \xHH; escape (after the x): its code.
  uint32_t hexEscape(const Pos &ep, int maxDigits) {
    uint32_t code = 0;
    int digits = 0;
    while (i < n && isxdigit((unsigned char)s[i]) && digits < maxDigits) {
      code = code * 16 + (isdigit((unsigned char)s[i]) ? s[i] - '0' : (tolower(s[i]) - 'a' + 10));
      advance();
      digits++;
    }
    if (!digits || i >= n || s[i] != ';') fail(ep, "expected hex digits and ';' after \\x");
    advance();
    return code;
  }

  // |a b|: a symbol with any characters; \| and \\ stand for themselves, \xHH; for a code.
  Sx *readBarredSymbol(const Pos &p) {
    advance();
    Sx *x = make(Sx::SYMBOL, p);
    for (;;) {
      if (i >= n) fail(p, "unterminated |symbol|");
      char ch = s[i];
      Pos cp = here();
      advance();
      if (ch == '|') break;
      if (ch != '\\') { x->text += ch; continue; }
      if (i >= n) fail(p, "unterminated |symbol|");
      char e = s[i];
      advance();
      if (e == '|' || e == '\\') { x->text += e; continue; }
      if (e != 'x' && e != 'X') {
        char bad[2] = {e, 0};
        fail(cp, "unknown escape \\%s in a |symbol|", bad);
      }
      uint32_t code = hexEscape(cp, 6);
      if (code == 0 || code > 0x10ffff) fail(cp, "a \\x escape in a |symbol| must be from 1 to 10ffff");
      appendUtf8(x->text, code);
    }
    x->end = here();
    return x;
  }
};
