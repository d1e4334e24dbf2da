// The resolved AST and the compiler from syntax trees to it.
// Part of interp.cc (one translation unit): included there in layer order, after the layers it
// uses.
#pragma once

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
  Pos pos, end;          // the source span it was compiled from
  Func *owner = nullptr;  // the function this node belongs to, for error messages
  Value value = UNSPEC_V;
  GlobalCell *cell = nullptr;
  Func *fn = nullptr;     // N_LAMBDA: its function
  Func *calleeKnown = nullptr;  // N_CALL through a letrec-bound, never-assigned variable: its
                               // lambda (see Var::known; set once the form compiled)
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

// What a compile makes for itself (variables, scopes, syntax it writes for derived forms):
// dead once the form compiled, and freed when the next compile starts, since a failed one
// unwinds without destructors.
struct CompileScratch {
  std::vector<std::unique_ptr<Var>> vars;
  std::vector<std::unique_ptr<Scope>> scopes;
  std::vector<std::unique_ptr<Sx>> syntax;
  std::vector<std::pair<Node *, Var *>> calls;  // N_CALL through a local variable
};
static CompileScratch scratch;

struct Compiler {
  std::vector<Func *> newFuncs;  // registered once the whole form compiled
  uint32_t src;

  Compiler() {
    scratch = CompileScratch{};
    compileRoots.clear();  // what the last compile quoted is held by its functions' constants
  }

  // The form compiled: calls through a variable learn the lambda it is known to hold.
  void finish() {
    for (auto &[n, v] : scratch.calls) n->calleeKnown = v->known;
  }

  Scope *newScope(Scope *parent, FuncScope *fs) {
    scratch.scopes.emplace_back(new Scope{{}, parent, fs});
    return scratch.scopes.back().get();
  }

  Sx *newSx() {
    scratch.syntax.emplace_back(new Sx());
    return scratch.syntax.back().get();
  }

  void callThrough(Node *call, Var *v) {
    if (v) scratch.calls.push_back({call, v});
  }

  [[noreturn]] void syntax(const Sx *x, const char *fmt, const char *arg = "") {
    raise(E_SYNTAX, x->pos, nullptr, fmt, arg);
  }

  Node *node(NodeKind k, const Sx *x, FuncScope *fs) {
    Node *n = new Node();
    n->kind = k;
    n->pos = x->pos;
    n->end = x->end.line ? x->end : x->pos;  // syntax the compiler made has no end
    n->owner = fs ? fs->fn : nullptr;
    return n;
  }

  Node *constant(Value v, const Sx *x, FuncScope *fs) {
    Node *n = node(N_CONST, x, fs);
    n->value = v;
    if (isPtr(v)) fs->fn->constants.push_back(v);
    return n;
  }

  Value quoted(const Sx *x) {
    switch (x->kind) {
      case Sx::FIXNUM: return mkFix(x->num);
      case Sx::FLONUM: {
        Value f = mkFlo(x->flo);
        compileRoots.push_back(f);
        return f;
      }
      case Sx::BOOLEAN: return mkBool(x->num);
      case Sx::CHAR: return ((Value)x->num << 3) | 7;
      case Sx::STRING: {
        Value s = makeString(x->text.data(), x->text.size());
        compileRoots.push_back(s);
        return s;
      }
      case Sx::SYMBOL: return intern(x->text);
      case Sx::BYTEVECTOR: {
        Obj *o = allocateByteObject(T_BYTEVECTOR, x->text.size());
        memcpy(&o->slot[1], x->text.data(), x->text.size());
        compileRoots.push_back(tagged(o));
        return tagged(o);
      }
      case Sx::LIST: {
        Value tail = x->dotted ? quoted(x->dotted) : NIL_V;
        Root r(tail);
        for (size_t i = x->items.size(); i-- > 0;) {
          Value item = quoted(x->items[i]);
          *r.at = cons(item, *r.at);
        }
        Value v = r.get();
        compileRoots.push_back(v);
        return v;
      }
      case Sx::VECTOR: {
        Value v = makeVector(x->items.size(), UNSPEC_V);
        compileRoots.push_back(v);
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
    scratch.vars.emplace_back(new Var{nameSx->text, fs, fs->nslots++, boxed, checked && !boxed});
    Var *v = scratch.vars.back().get();
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
    Scope *inner = into ? into : newScope(sc, fs);
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
    if (isForm(f, "define") || isForm(f, "define-record-type") || isForm(f, "define-values")) return true;
    if (!isForm(f, "begin")) return false;
    for (size_t i = 1; i < f->items.size(); i++)
      if (holdsDefine(f->items[i])) return true;
    return false;
  }
  // (begin ...) forms in a body that hold definitions are spliced into the body.
  void spliceBegins(const Sx *f, std::vector<const Sx *> &out) {
    f = definitions(f);
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
    Scope *inner = newScope(sc, fs);
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
    Sx *params = newSx();
    params->kind = Sx::LIST;
    params->pos = head->pos;
    params->items.assign(head->items.begin() + 1, head->items.end());
    params->dotted = head->dotted;
    return makeLambda(x, params, 2);
  }

  // (lambda params x[bodyFrom] ...), positioned at x: the lambda a derived form stands for.
  Sx *makeLambda(const Sx *x, Sx *params, size_t bodyFrom) {
    Sx *lam = newSx();
    lam->kind = Sx::LIST;
    lam->pos = x->pos;
    lam->end = x->end;
    Sx *kw = newSx();
    kw->kind = Sx::SYMBOL;
    kw->text = "lambda";
    kw->keyword = true;
    kw->pos = x->pos;
    lam->items = {kw, params};
    for (size_t i = bodyFrom; i < x->items.size(); i++) lam->items.push_back(x->items[i]);
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

  // An import set names a (scheme ...) library, perhaps inside only, except, prefix or rename.
  void importSet(const Sx *set) {
    if (set->kind != Sx::LIST || set->items.empty() || set->items[0]->kind != Sx::SYMBOL)
      syntax(set, "import: expected a library name such as (scheme base)");
    const std::string &head = set->items[0]->text;
    if ((head == "only" || head == "except" || head == "prefix" || head == "rename") &&
        set->items.size() >= 2 && set->items[1]->kind == Sx::LIST) {
      if (head == "prefix" || head == "rename")
        syntax(set, "import: %s is not supported (the standard names are always bound)", head.c_str());
      importSet(set->items[1]);
      return;
    }
    if (head != "scheme") {
      std::string name = "(";
      for (const Sx *part : set->items) {
        if (name.size() > 1) name += ' ';
        name += part->kind == Sx::FIXNUM ? std::to_string(part->num) : part->kind == Sx::SYMBOL ? part->text : "...";
      }
      name += ')';
      syntax(set, "import: no library %s (only the (scheme ...) libraries, which are built in)",
             name.c_str());
    }
  }

  Node *expr(const Sx *x, Scope *sc, FuncScope *fs, const std::string &nameHint = "") {
    switch (x->kind) {
      case Sx::FIXNUM: case Sx::FLONUM: case Sx::BOOLEAN: case Sx::CHAR: case Sx::STRING:
      case Sx::VECTOR: case Sx::BYTEVECTOR:
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
      if (k == "define-record-type" || k == "define-values") return expr(definitions(x), sc, fs);
      if (k == "let-values" || k == "let*-values") return expr(letValues(x, k == "let*-values"), sc, fs);
      if (k == "guard") return expr(guardForm(x), sc, fs);
      if (k == "import") {
        // A program's (import (scheme base) ...): the standard libraries are all built in.
        if (!(fs->fn->flags & F_TOPLEVEL && fs->parent == nullptr && sc->parent == nullptr))
          syntax(x, "import: only allowed at top level");
        for (size_t i = 1; i < x->items.size(); i++) importSet(x->items[i]);
        return constant(UNSPEC_V, x, fs);
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
      delete fn;  // the primitive is in n->index
      for (size_t i = 1; i < x->items.size(); i++) n->kids.push_back(expr(x->items[i], sc, fs));
      return n;
    }
    Node *n = node(N_CALL, x, fs);
    n->kids.push_back(fn);
    if (head->kind == Sx::SYMBOL) callThrough(n, lookup(sc, head->text));
    for (size_t i = 1; i < x->items.size(); i++) n->kids.push_back(expr(x->items[i], sc, fs));
    return n;
  }

  void checkPrimArity(int id, size_t argc, const Sx *x, FuncScope *fs) {
    char msg[128];
    if (!primArityOk(primInfo[id], (long)argc, msg, sizeof msg)) {
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
      delete fn;  // the primitive is in n->index
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
    Sx *nameSx = newSx();
    nameSx->kind = Sx::SYMBOL;
    nameSx->text = name;
    nameSx->pos = x->pos;
    Scope *inner = newScope(sc, fs);
    return declare(inner, fs, nameSx, false, false);
  }

  Node *localRef(Var *v, const Sx *x, FuncScope *fs) {
    Node *n = node(N_LOCAL, x, fs);
    n->index = v->slot;
    n->name = internName(v->name);
    return n;
  }

  Node *primNode(int id, std::vector<Node *> kids, const Sx *x, FuncScope *fs) {
    Node *n = node(N_PRIM, x, fs);
    n->index = id;
    n->kids = std::move(kids);
    return n;
  }

  // Syntax the compiler writes as Scheme text: each %N symbol stands for parts[N], everything
  // else takes the position of `at`, and special forms' names are keywords (a local variable
  // named like one does not capture them).
  Sx *expand(const std::string &text, const std::vector<const Sx *> &parts, const Sx *at) {
    std::vector<Sx *> made;
    Reader r(text.data(), text.size(), at->pos.src, made);
    Sx *x = r.read();
    for (Sx *m : made) scratch.syntax.emplace_back(m);
    return place(x, parts, at);
  }
  Sx *place(Sx *x, const std::vector<const Sx *> &parts, const Sx *at) {
    if (x->kind == Sx::SYMBOL && x->text.size() > 1 && x->text[0] == '%' && isdigit((unsigned char)x->text[1]))
      return const_cast<Sx *>(parts.at(atoi(x->text.c_str() + 1)));
    x->pos = at->pos;
    x->end = at->end;
    static const std::unordered_set<std::string> forms = {"define", "lambda", "let", "begin", "quote", "set!", "if", "cond", "else"};
    if (x->kind == Sx::SYMBOL && forms.count(x->text)) x->keyword = true;
    for (Sx *&item : x->items) item = place(item, parts, at);
    if (x->dotted) x->dotted = place(x->dotted, parts, at);
    return x;
  }

  // Definition forms written as defines: (define-record-type ...) and (define-values ...).
  const Sx *definitions(const Sx *x) {
    if (isForm(x, "define-record-type")) return recordType(x);
    if (isForm(x, "define-values")) return defineValues(x);
    return x;
  }

  // (define-record-type <name> (constructor field ...) predicate (field accessor [modifier]) ...)
  const Sx *recordType(const Sx *x) {
    const char *usage = "define-record-type: expected (define-record-type <name> (constructor field ...) predicate (field accessor [modifier]) ...)";
    if (x->items.size() < 3 || x->items[1]->kind != Sx::SYMBOL) syntax(x, "%s", usage);
    std::vector<const Sx *> parts = {x->items[1]};
    std::vector<std::string> fields;
    std::string text = "(begin (define %0 (%record-type '%0 '(";
    for (size_t i = 4; i < x->items.size(); i++) {
      const Sx *f = x->items[i];
      if (f->kind != Sx::LIST || f->items.size() < 2 || f->items.size() > 3) syntax(f, "%s", usage);
      for (const Sx *part : f->items)
        if (part->kind != Sx::SYMBOL) syntax(part, "%s", usage);
      fields.push_back(f->items[0]->text);
      text += "%" + std::to_string(parts.size()) + " ";
      parts.push_back(f->items[0]);
    }
    text += ")))";
    auto part = [&](const Sx *s) {
      parts.push_back(s);
      return "%" + std::to_string(parts.size() - 1);
    };
    const Sx *ctor = x->items[2];
    if (ctor->kind == Sx::LIST && !ctor->items.empty() && ctor->items[0]->kind == Sx::SYMBOL) {
      std::string params, args;
      for (size_t i = 1; i < ctor->items.size(); i++) {
        const Sx *p = ctor->items[i];
        if (p->kind != Sx::SYMBOL || std::find(fields.begin(), fields.end(), p->text) == fields.end())
          syntax(p, "define-record-type: the constructor's %s is not a field", p->kind == Sx::SYMBOL ? p->text.c_str() : "argument");
        params += " " + part(p);
      }
      for (auto &f : fields) {
        bool given = false;
        for (size_t i = 1; i < ctor->items.size(); i++) given = given || ctor->items[i]->text == f;
        args += given ? " " + f : " #f";
      }
      text += " (define (" + part(ctor->items[0]) + params + ") (%make-record %0" + args + "))";
    } else if (ctor->kind == Sx::SYMBOL) {
      syntax(ctor, "define-record-type: write the constructor as (name field ...)");
    } else if (!(ctor->kind == Sx::BOOLEAN && !ctor->num)) {
      syntax(ctor, "%s", usage);
    }
    if (x->items.size() < 4 || x->items[3]->kind != Sx::SYMBOL) syntax(x, "%s", usage);
    text += " (define (" + part(x->items[3]) + " obj) (%record? obj %0))";
    for (size_t i = 4; i < x->items.size(); i++) {
      const Sx *f = x->items[i];
      std::string index = std::to_string(i - 4);
      std::string acc = part(f->items[1]);
      text += " (define (" + acc + " obj) (%record-ref obj %0 " + index + " '" + acc + "))";
      if (f->items.size() == 3) {
        std::string mod = part(f->items[2]);
        text += " (define (" + mod + " obj value) (%record-set! obj %0 " + index + " value '" + mod + "))";
      }
    }
    return expand(text + ")", parts, x);
  }

  // The variables of formals as a lambda takes them ((a b), (a . rest) or args), each checked.
  std::vector<const Sx *> formalVariables(const Sx *formals, const char *who) {
    std::vector<const Sx *> vars;
    if (formals->kind == Sx::SYMBOL) vars.push_back(formals);
    else if (formals->kind == Sx::LIST) {
      vars.assign(formals->items.begin(), formals->items.end());
      if (formals->dotted) vars.push_back(formals->dotted);
    } else syntax(formals, "%s: expected (variable ...)", who);
    for (const Sx *v : vars)
      if (v->kind != Sx::SYMBOL) syntax(v, "%s: expected a variable", who);
    return vars;
  }
  // Formals of the same shape over other names (one per variable): (n0 n1), (n0 . n1) or n0.
  static std::string sameShape(const Sx *formals, const std::vector<std::string> &names) {
    if (formals->kind == Sx::SYMBOL) return names[0];
    std::string text = "(";
    for (size_t i = 0; i < names.size(); i++)
      text += (i ? formals->dotted && i + 1 == names.size() ? " . " : " " : "") + names[i];
    return text + ")";
  }

  // (define-values formals expression): each variable defined, then set from the values.
  const Sx *defineValues(const Sx *x) {
    if (x->items.size() != 3) syntax(x, "define-values: expected (define-values (variable ...) expression)");
    const Sx *formals = x->items[1];
    std::vector<const Sx *> vars = formalVariables(formals, "define-values"), parts = {x->items[2]};
    std::string text = "(begin", sets;
    std::vector<std::string> temps;
    for (size_t i = 0; i < vars.size(); i++) {
      std::string v = "%" + std::to_string(parts.size());
      parts.push_back(vars[i]);
      text += " (define " + v + " #f)";
      temps.push_back("%v" + std::to_string(i));
      sets += " (set! " + v + " " + temps.back() + ")";
    }
    text += " (define %define-values (call-with-values (lambda () %0) (lambda " +
            sameShape(formals, temps) + sets + " #f))))";
    return expand(text, parts, x);
  }

  // (let-values (((formals) expression) ...) body ...): every expression in the outer scope,
  // then the body with all the variables; let*-values nests.
  const Sx *letValues(const Sx *x, bool sequential) {
    const char *name = sequential ? "let*-values" : "let-values";
    if (x->items.size() < 3 || x->items[1]->kind != Sx::LIST)
      syntax(x, sequential ? "let*-values: expected (let*-values (((variable ...) expression) ...) body ...)"
                           : "let-values: expected (let-values (((variable ...) expression) ...) body ...)");
    const Sx *bindings = x->items[1];
    std::vector<const Sx *> parts;
    auto part = [&](const Sx *s) {
      parts.push_back(s);
      return "%" + std::to_string(parts.size() - 1);
    };
    std::string body;
    for (size_t i = 2; i < x->items.size(); i++) body += " " + part(x->items[i]);
    if (bindings->items.empty()) return expand("(let ()" + body + ")", parts, x);
    std::string text, closing, rebind;
    int temp = 0;
    for (const Sx *b : bindings->items) {
      if (b->kind != Sx::LIST || b->items.size() != 2) syntax(b, "%s: expected ((variable ...) expression)", name);
      const Sx *formals = b->items[0];
      std::vector<std::string> names;
      for (const Sx *v : formalVariables(formals, name)) {
        // let-values: temporaries, so a later expression does not see an earlier binding
        names.push_back(sequential ? part(v) : "%lv" + std::to_string(temp++));
        if (!sequential) rebind += " (" + part(v) + " " + names.back() + ")";
      }
      text += "(call-with-values (lambda () " + part(b->items[1]) + ") (lambda " + sameShape(formals, names) + " ";
      closing += "))";
    }
    text += sequential ? "(let ()" + body + ")" : "(let (" + rebind + ")" + body + ")";
    return expand(text + closing, parts, x);
  }

  // (guard (variable clause ...) body ...): the body under a handler that escapes to the
  // guard and runs the cond clauses there; with no clause taken the object is raised again
  // (from the guard: the raise's own dynamic environment is gone).
  const Sx *guardForm(const Sx *x) {
    if (x->items.size() < 3 || x->items[1]->kind != Sx::LIST || x->items[1]->items.empty() ||
        x->items[1]->items[0]->kind != Sx::SYMBOL)
      syntax(x, "guard: expected (guard (variable clause ...) body ...)");
    const Sx *spec = x->items[1];
    std::vector<const Sx *> parts = {spec->items[0]};
    std::string clauses, body;
    for (size_t i = 1; i < spec->items.size(); i++) {
      clauses += " %" + std::to_string(parts.size());
      parts.push_back(spec->items[i]);
    }
    const Sx *last = spec->items.size() > 1 ? spec->items.back() : nullptr;
    if (!(last && isForm(last, "else"))) clauses += " (else (raise-continuable %condition))";
    for (size_t i = 2; i < x->items.size(); i++) {
      body += " %" + std::to_string(parts.size());
      parts.push_back(x->items[i]);
    }
    std::string text =
        "((call-with-current-continuation (lambda (%guard-k) (with-exception-handler"
        " (lambda (%condition) (%guard-k (lambda () (let ((%0 %condition)) (cond" + clauses + ")))))"
        " (lambda () (call-with-values (lambda ()" + body + ")"
        " (lambda %results (%guard-k (lambda () (apply values %results))))))))))";
    return expand(text, parts, x);
  }

  Sx *synth(Sx::Kind kind, const char *text, const Sx *at, bool keyword = false) {
    Sx *s = newSx();
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
    set->name = internName(t->name);
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
      set->name = internName(t->name);
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
      Scope *inner = newScope(sc, fs);
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
      Scope *inner = newScope(sc, fs);
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
        Scope *inner = newScope(cur, fs);
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
    Sx *params = newSx();
    params->kind = Sx::LIST;
    params->pos = x->items[2]->pos;
    std::vector<const Sx *> inits;
    for (auto *b : x->items[2]->items) {
      if (b->kind != Sx::LIST || b->items.size() != 2 || b->items[0]->kind != Sx::SYMBOL)
        syntax(b, "expected a binding (name value)");
      params->items.push_back(b->items[0]);
      inits.push_back(b->items[1]);
    }
    Sx *lam = makeLambda(x, params, 3);
    // The initial arguments are evaluated outside the loop's scope.
    std::vector<Node *> args;
    for (auto *i : inits) args.push_back(expr(i, sc, fs));
    Scope *inner = newScope(sc, fs);
    Node *inits2 = letrec({{name, lam, x}}, {lam}, x, sc, fs, inner);
    Node *call = node(N_CALL, x, fs);
    call->kids.push_back(reference(name, inner, fs));
    callThrough(call, lookup(inner, name->text));
    for (auto *a : args) call->kids.push_back(a);
    return seq({inits2, call}, x, fs);
  }
};
