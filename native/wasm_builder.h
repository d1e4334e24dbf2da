// A small WebAssembly binary writer: byte buffers with LEB128, an assembler with one method
// per instruction, and a module builder that emits sections with their lengths patched in.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace wasm {

enum ValType : uint8_t { I32 = 0x7f, I64 = 0x7e, FUNCREF = 0x70 };

struct Bytes {
  std::vector<uint8_t> b;

  void u8(uint8_t v) { b.push_back(v); }
  void uleb(uint64_t v) {
    do {
      uint8_t byte = v & 0x7f;
      v >>= 7;
      if (v) byte |= 0x80;
      b.push_back(byte);
    } while (v);
  }
  void sleb(int64_t v) {
    bool more = true;
    while (more) {
      uint8_t byte = v & 0x7f;
      v >>= 7;
      if ((v == 0 && !(byte & 0x40)) || (v == -1 && (byte & 0x40)))
        more = false;
      else
        byte |= 0x80;
      b.push_back(byte);
    }
  }
  void name(const std::string &s) {
    uleb(s.size());
    b.insert(b.end(), s.begin(), s.end());
  }
  void append(const Bytes &o) { b.insert(b.end(), o.b.begin(), o.b.end()); }
  size_t size() const { return b.size(); }
};

// One method per instruction; the caller keeps the operand stack consistent.
struct Assembler {
  Bytes code;
  std::vector<ValType> locals;  // declared locals beyond the parameters
  uint32_t nparams = 0;
  uint32_t depth = 0;  // open blocks, loops and ifs: branch targets are relative to it

  uint32_t addLocal(ValType t) {
    locals.push_back(t);
    return nparams + locals.size() - 1;
  }

  void op(uint8_t o) { code.u8(o); }
  void unreachable() { op(0x00); }
  void block(int8_t bt = 0x40) { op(0x02); code.u8((uint8_t)bt); depth++; }
  void loop(int8_t bt = 0x40) { op(0x03); code.u8((uint8_t)bt); depth++; }
  void if_(int8_t bt = 0x40) { op(0x04); code.u8((uint8_t)bt); depth++; }
  void else_() { op(0x05); }
  void end() { op(0x0b); depth--; }
  void br(uint32_t depth) { op(0x0c); code.uleb(depth); }
  void br_table(const std::vector<uint32_t> &targets, uint32_t dflt) {
    op(0x0e);
    code.uleb(targets.size());
    for (uint32_t t : targets) code.uleb(t);
    code.uleb(dflt);
  }
  void return_() { op(0x0f); }
  void call(uint32_t f) { op(0x10); code.uleb(f); }
  void call_indirect(uint32_t type, uint32_t table = 0) { op(0x11); code.uleb(type); code.uleb(table); }
  void return_call(uint32_t f) { op(0x12); code.uleb(f); }
  void return_call_indirect(uint32_t type, uint32_t table = 0) {
    op(0x13); code.uleb(type); code.uleb(table);
  }
  void drop() { op(0x1a); }
  void local_get(uint32_t i) { op(0x20); code.uleb(i); }
  void local_set(uint32_t i) { op(0x21); code.uleb(i); }
  void local_tee(uint32_t i) { op(0x22); code.uleb(i); }
  void global_get(uint32_t i) { op(0x23); code.uleb(i); }
  void global_set(uint32_t i) { op(0x24); code.uleb(i); }
  void mem(uint8_t o, uint32_t align, uint32_t offset) { op(o); code.uleb(align); code.uleb(offset); }
  void i32_load(uint32_t offset = 0) { mem(0x28, 2, offset); }
  void i64_load(uint32_t offset = 0) { mem(0x29, 3, offset); }
  void i32_store(uint32_t offset = 0) { mem(0x36, 2, offset); }
  void i64_store(uint32_t offset = 0) { mem(0x37, 3, offset); }
  void i32_const(int32_t v) { op(0x41); code.sleb(v); }
  void i64_const(int64_t v) { op(0x42); code.sleb(v); }
  void i32_eqz() { op(0x45); }
  void i32_eq() { op(0x46); }
  void i32_ne() { op(0x47); }
  void i32_gt_u() { op(0x4b); }
  void i64_eqz() { op(0x50); }
  void i64_eq() { op(0x51); }
  void i64_ne() { op(0x52); }
  void i64_lt_s() { op(0x53); }
  void i64_gt_s() { op(0x55); }
  void i64_le_s() { op(0x57); }
  void i64_ge_s() { op(0x59); }
  void i32_add() { op(0x6a); }
  void i32_sub() { op(0x6b); }
  void i32_and() { op(0x71); }
  void i64_add() { op(0x7c); }
  void i64_sub() { op(0x7d); }
  void i64_and() { op(0x83); }
  void i64_or() { op(0x84); }
  void i64_xor() { op(0x85); }
  void i64_shl() { op(0x86); }
  void i32_wrap_i64() { op(0xa7); }
  void i64_extend_i32_u() { op(0xad); }
  void ref_null_func() { op(0xd0); code.u8(FUNCREF); }
  void table_grow(uint32_t t = 0) { op(0xfc); code.uleb(15); code.uleb(t); }
  void table_init(uint32_t elem, uint32_t t = 0) { op(0xfc); code.uleb(12); code.uleb(elem); code.uleb(t); }
};

struct FuncType {
  std::vector<ValType> params, results;
  bool operator==(const FuncType &o) const { return params == o.params && results == o.results; }
};

struct Function {
  uint32_t type;
  std::string name;
  std::vector<std::string> localNames;  // parameter and local names for the name section
  Assembler body;
};

struct Export {
  std::string name;
  uint8_t kind;  // 0 func, 1 table, 2 memory, 3 global
  uint32_t index;
};

struct Global {
  ValType type;
  bool mut;
  int64_t init;
  std::string name;
};

// A module that imports memory and the function table from `env` and defines functions.
struct ModuleBuilder {
  std::vector<FuncType> types;
  std::vector<Function> funcs;
  std::vector<Export> exports;
  std::vector<Global> globals;
  std::vector<uint32_t> passiveElems;  // one passive funcref segment, by function index
  std::vector<std::pair<std::string, Bytes>> customs;
  int32_t start = -1;

  uint32_t type(std::vector<ValType> params, std::vector<ValType> results) {
    FuncType t{params, results};
    for (size_t i = 0; i < types.size(); i++)
      if (types[i] == t) return i;
    types.push_back(t);
    return types.size() - 1;
  }

  uint32_t addFunction(uint32_t typeIndex, const std::string &name) {
    Function f;
    f.type = typeIndex;
    f.name = name;
    f.body.nparams = types[typeIndex].params.size();
    funcs.push_back(std::move(f));
    return funcs.size() - 1;
  }

  static void section(Bytes &out, uint8_t id, const Bytes &content) {
    out.u8(id);
    out.uleb(content.size());
    out.append(content);
  }

  Bytes finish() const {
    Bytes out;
    const uint8_t header[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
    out.b.insert(out.b.end(), header, header + 8);

    Bytes s;
    s.uleb(types.size());
    for (auto &t : types) {
      s.u8(0x60);
      s.uleb(t.params.size());
      for (auto p : t.params) s.u8(p);
      s.uleb(t.results.size());
      for (auto r : t.results) s.u8(r);
    }
    section(out, 1, s);

    s = Bytes();
    s.uleb(2);
    s.name("env"); s.name("memory"); s.u8(0x02); s.u8(0x00); s.uleb(0);
    s.name("env"); s.name("__indirect_function_table"); s.u8(0x01); s.u8(FUNCREF); s.u8(0x00); s.uleb(0);
    section(out, 2, s);

    s = Bytes();
    s.uleb(funcs.size());
    for (auto &f : funcs) s.uleb(f.type);
    section(out, 3, s);

    if (!globals.empty()) {
      s = Bytes();
      s.uleb(globals.size());
      for (auto &g : globals) {
        s.u8(g.type);
        s.u8(g.mut ? 1 : 0);
        if (g.type == I32) { s.u8(0x41); s.sleb((int32_t)g.init); }
        else { s.u8(0x42); s.sleb(g.init); }
        s.u8(0x0b);
      }
      section(out, 6, s);
    }

    s = Bytes();
    s.uleb(exports.size());
    for (auto &e : exports) { s.name(e.name); s.u8(e.kind); s.uleb(e.index); }
    section(out, 7, s);

    if (start >= 0) {
      s = Bytes();
      s.uleb(start);
      section(out, 8, s);
    }

    if (!passiveElems.empty()) {
      s = Bytes();
      s.uleb(1);
      s.uleb(1);  // flags: passive, funcref by function index
      s.u8(0x00);  // elemkind funcref
      s.uleb(passiveElems.size());
      for (uint32_t f : passiveElems) s.uleb(f);
      section(out, 9, s);
    }

    s = Bytes();
    s.uleb(funcs.size());
    for (auto &f : funcs) {
      Bytes body;
      // Run-length encode the local declarations.
      std::vector<std::pair<uint32_t, ValType>> runs;
      for (auto t : f.body.locals) {
        if (!runs.empty() && runs.back().second == t) runs.back().first++;
        else runs.push_back({1, t});
      }
      body.uleb(runs.size());
      for (auto &r : runs) { body.uleb(r.first); body.u8(r.second); }
      body.append(f.body.code);
      body.u8(0x0b);
      s.uleb(body.size());
      s.append(body);
    }
    section(out, 10, s);

    for (auto &c : customs) {
      Bytes cs;
      cs.name(c.first);
      cs.append(c.second);
      section(out, 0, cs);
    }

    // The name section: function names (1), local names (2), global names (7).
    Bytes names;
    names.name("name");
    Bytes sub;
    sub.uleb(funcs.size());
    for (size_t i = 0; i < funcs.size(); i++) { sub.uleb(i); sub.name(funcs[i].name); }
    names.u8(1); names.uleb(sub.size()); names.append(sub);
    sub = Bytes();
    uint32_t withLocals = 0;
    for (auto &f : funcs) withLocals += !f.localNames.empty();
    sub.uleb(withLocals);
    for (size_t i = 0; i < funcs.size(); i++) {
      auto &ln = funcs[i].localNames;
      if (ln.empty()) continue;
      sub.uleb(i);
      uint32_t named = 0;
      for (auto &n : ln) named += !n.empty();
      sub.uleb(named);
      for (size_t j = 0; j < ln.size(); j++)
        if (!ln[j].empty()) { sub.uleb(j); sub.name(ln[j]); }
    }
    names.u8(2); names.uleb(sub.size()); names.append(sub);
    if (!globals.empty()) {
      sub = Bytes();
      sub.uleb(globals.size());
      for (size_t i = 0; i < globals.size(); i++) { sub.uleb(i); sub.name(globals[i].name); }
      names.u8(7); names.uleb(sub.size()); names.append(sub);
    }
    section(out, 0, names);
    return out;
  }
};

}  // namespace wasm
