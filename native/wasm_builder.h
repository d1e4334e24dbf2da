// A small WebAssembly binary writer: byte buffers with LEB128, an assembler with one method
// per instruction, and a module builder that emits sections with their lengths patched in.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace wasm {

enum ValType : uint8_t { I32 = 0x7f, I64 = 0x7e, F64 = 0x7c, FUNCREF = 0x70 };

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

// Section ids.
enum SectionId : uint8_t {
  CUSTOM_SECTION = 0, TYPE_SECTION = 1, IMPORT_SECTION = 2, FUNCTION_SECTION = 3,
  TABLE_SECTION = 4, MEMORY_SECTION = 5, GLOBAL_SECTION = 6, EXPORT_SECTION = 7,
  START_SECTION = 8, ELEMENT_SECTION = 9, CODE_SECTION = 10, DATA_SECTION = 11,
};

// Opcodes of the instructions the assembler emits (MiscPrefix: table.grow and table.init).
enum Op : uint8_t {
  Unreachable = 0x00,
  Block = 0x02,
  Loop = 0x03,
  If = 0x04,
  Else = 0x05,
  End = 0x0b,
  Br = 0x0c,
  BrTable = 0x0e,
  Return = 0x0f,
  Call = 0x10,
  CallIndirect = 0x11,
  ReturnCall = 0x12,
  ReturnCallIndirect = 0x13,
  Drop = 0x1a,
  LocalGet = 0x20,
  LocalSet = 0x21,
  LocalTee = 0x22,
  GlobalGet = 0x23,
  GlobalSet = 0x24,
  I32Load = 0x28,
  I64Load = 0x29,
  F64Load = 0x2b,
  I32Store = 0x36,
  I64Store = 0x37,
  F64Store = 0x39,
  I32Const = 0x41,
  I64Const = 0x42,
  I32Eqz = 0x45,
  I32Eq = 0x46,
  I32Ne = 0x47,
  I32GtU = 0x4b,
  I64Eqz = 0x50,
  I64Eq = 0x51,
  I64Ne = 0x52,
  I64LtS = 0x53,
  I64GtS = 0x55,
  I64LeS = 0x57,
  I64LeU = 0x58,
  I64GeS = 0x59,
  F64Eq = 0x61,
  F64Lt = 0x63,
  F64Gt = 0x64,
  F64Le = 0x65,
  F64Ge = 0x66,
  I32Add = 0x6a,
  I32Sub = 0x6b,
  I32And = 0x71,
  I32Or = 0x72,
  I64Add = 0x7c,
  I64Sub = 0x7d,
  I64Mul = 0x7e,
  I64DivS = 0x7f,
  I64RemS = 0x81,
  I64And = 0x83,
  I64Or = 0x84,
  I64Xor = 0x85,
  I64Shl = 0x86,
  I64ShrS = 0x87,
  F64Add = 0xa0,
  F64Sub = 0xa1,
  F64Mul = 0xa2,
  I32WrapI64 = 0xa7,
  I64ExtendI32U = 0xad,
  RefNullFunc = 0xd0,
  MiscPrefix = 0xfc,
};

// One method per instruction; the caller keeps the operand stack consistent.
// From `offset` on, the code came from the source span line:col-endLine:endCol.
struct SourceMark {
  uint32_t offset, line, col, endLine, endCol;
  bool sameSpan(const SourceMark &o) const {
    return line == o.line && col == o.col && endLine == o.endLine && endCol == o.endCol;
  }
};

struct Assembler {
  Bytes code;
  std::vector<SourceMark> marks;  // in offset order, for the jitscope.srcmap section
  std::vector<ValType> locals;  // declared locals beyond the parameters
  uint32_t nparams = 0;
  uint32_t depth = 0;  // open blocks, loops and ifs: branch targets are relative to it
  uint32_t calls = 0;  // call and call_indirect emitted (tail calls are not counted)

  uint32_t addLocal(ValType t) {
    locals.push_back(t);
    return nparams + locals.size() - 1;
  }

  // The code emitted from here on comes from `m`'s span (its offset is set here).
  void mark(SourceMark m) {
    m.offset = code.size();
    if (!marks.empty() && marks.back().offset == m.offset) marks.pop_back();  // it had no code
    if (!marks.empty() && marks.back().sameSpan(m)) return;
    marks.push_back(m);
  }

  void op(Op o) { code.u8(o); }
  void unreachable() { op(Unreachable); }
  void block(int8_t bt = 0x40) { op(Block); code.u8((uint8_t)bt); depth++; }
  void loop(int8_t bt = 0x40) { op(Loop); code.u8((uint8_t)bt); depth++; }
  void if_(int8_t bt = 0x40) { op(If); code.u8((uint8_t)bt); depth++; }
  void else_() { op(Else); }
  void end() { op(End); depth--; }
  void br(uint32_t depth) { op(Br); code.uleb(depth); }
  void br_table(const std::vector<uint32_t> &targets, uint32_t dflt) {
    op(BrTable);
    code.uleb(targets.size());
    for (uint32_t t : targets) code.uleb(t);
    code.uleb(dflt);
  }
  void return_() { op(Return); }
  void call(uint32_t f) { op(Call); code.uleb(f); calls++; }
  void call_indirect(uint32_t type, uint32_t table = 0) {
    op(CallIndirect); code.uleb(type); code.uleb(table); calls++;
  }
  void return_call(uint32_t f) { op(ReturnCall); code.uleb(f); }
  void return_call_indirect(uint32_t type, uint32_t table = 0) {
    op(ReturnCallIndirect); code.uleb(type); code.uleb(table);
  }
  void drop() { op(Drop); }
  void local_get(uint32_t i) { op(LocalGet); code.uleb(i); }
  void local_set(uint32_t i) { op(LocalSet); code.uleb(i); }
  void local_tee(uint32_t i) { op(LocalTee); code.uleb(i); }
  void global_get(uint32_t i) { op(GlobalGet); code.uleb(i); }
  void global_set(uint32_t i) { op(GlobalSet); code.uleb(i); }
  void mem(Op o, uint32_t align, uint32_t offset) { op(o); code.uleb(align); code.uleb(offset); }
  void i32_load(uint32_t offset = 0) { mem(I32Load, 2, offset); }
  void i64_load(uint32_t offset = 0) { mem(I64Load, 3, offset); }
  void i32_store(uint32_t offset = 0) { mem(I32Store, 2, offset); }
  void i64_store(uint32_t offset = 0) { mem(I64Store, 3, offset); }
  void f64_load(uint32_t offset = 0) { mem(F64Load, 3, offset); }
  void f64_store(uint32_t offset = 0) { mem(F64Store, 3, offset); }
  void f64(Op o) { op(o); }  // F64Add ... F64Ge: no immediates
  void i32_const(int32_t v) { op(I32Const); code.sleb(v); }
  void i64_const(int64_t v) { op(I64Const); code.sleb(v); }
  void i32_eqz() { op(I32Eqz); }
  void i32_eq() { op(I32Eq); }
  void i32_ne() { op(I32Ne); }
  void i32_gt_u() { op(I32GtU); }
  void i64_eqz() { op(I64Eqz); }
  void i64_eq() { op(I64Eq); }
  void i64_ne() { op(I64Ne); }
  void i64_lt_s() { op(I64LtS); }
  void i64_gt_s() { op(I64GtS); }
  void i64_le_s() { op(I64LeS); }
  void i64_le_u() { op(I64LeU); }
  void i64_ge_s() { op(I64GeS); }
  void i32_add() { op(I32Add); }
  void i32_sub() { op(I32Sub); }
  void i32_and() { op(I32And); }
  void i32_or() { op(I32Or); }
  void i64_add() { op(I64Add); }
  void i64_sub() { op(I64Sub); }
  void i64_mul() { op(I64Mul); }
  void i64_div_s() { op(I64DivS); }
  void i64_rem_s() { op(I64RemS); }
  void i64_and() { op(I64And); }
  void i64_or() { op(I64Or); }
  void i64_xor() { op(I64Xor); }
  void i64_shl() { op(I64Shl); }
  void i64_shr_s() { op(I64ShrS); }
  void i32_wrap_i64() { op(I32WrapI64); }
  void i64_extend_i32_u() { op(I64ExtendI32U); }
  void ref_null_func() { op(RefNullFunc); code.u8(FUNCREF); }
  void table_grow(uint32_t t = 0) { op(MiscPrefix); code.uleb(15); code.uleb(t); }
  void table_init(uint32_t elem, uint32_t t = 0) { op(MiscPrefix); code.uleb(12); code.uleb(elem); code.uleb(t); }
};

struct FuncType {
  std::vector<ValType> params, results;
  bool operator==(const FuncType &o) const { return params == o.params && results == o.results; }
};

struct Function {
  uint32_t type;
  std::string name;
  std::vector<std::string> localNames;  // parameter and local names for the name section
  uint32_t src = 0;  // the source its marks' lines and columns are in
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
  std::string moduleName;  // in the name section: trap frames name the module by it
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

  static void section(Bytes &out, SectionId id, const Bytes &content) {
    out.u8(id);
    out.uleb(content.size());
    out.append(content);
  }

  // Custom section "jitscope.srcmap", version 1 (after the code section, only when some
  // function has marks): which source expression each stretch of a function's code came from.
  //   u8 version = 1
  //   uleb count: the functions with a map
  //   count times: uleb function index, uleb src (the source the lines are in), uleb entries
  //     entries times: uleb offset (from the start of the function's body: its local
  //                    declarations), uleb line, uleb col, uleb endLine, uleb endCol
  // An entry covers the code from its offset to the next entry's, or to the body's end.
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
    section(out, TYPE_SECTION, s);

    s = Bytes();
    s.uleb(2);
    s.name("env"); s.name("memory"); s.u8(0x02); s.u8(0x00); s.uleb(0);
    s.name("env"); s.name("__indirect_function_table"); s.u8(0x01); s.u8(FUNCREF); s.u8(0x00); s.uleb(0);
    section(out, IMPORT_SECTION, s);

    s = Bytes();
    s.uleb(funcs.size());
    for (auto &f : funcs) s.uleb(f.type);
    section(out, FUNCTION_SECTION, s);

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
      section(out, GLOBAL_SECTION, s);
    }

    s = Bytes();
    s.uleb(exports.size());
    for (auto &e : exports) { s.name(e.name); s.u8(e.kind); s.uleb(e.index); }
    section(out, EXPORT_SECTION, s);

    if (start >= 0) {
      s = Bytes();
      s.uleb(start);
      section(out, START_SECTION, s);
    }

    if (!passiveElems.empty()) {
      s = Bytes();
      s.uleb(1);
      s.uleb(1);  // flags: passive, funcref by function index
      s.u8(0x00);  // elemkind funcref
      s.uleb(passiveElems.size());
      for (uint32_t f : passiveElems) s.uleb(f);
      section(out, ELEMENT_SECTION, s);
    }

    s = Bytes();
    s.uleb(funcs.size());
    Bytes srcmap;
    uint32_t mapped = 0;
    for (auto &f : funcs) mapped += !f.body.marks.empty() && f.body.marks[0].offset < f.body.code.size();
    srcmap.u8(1);
    srcmap.uleb(mapped);
    for (size_t i = 0; i < funcs.size(); i++) {
      auto &f = funcs[i];
      Bytes body;
      // Run-length encode the local declarations.
      std::vector<std::pair<uint32_t, ValType>> runs;
      for (auto t : f.body.locals) {
        if (!runs.empty() && runs.back().second == t) runs.back().first++;
        else runs.push_back({1, t});
      }
      body.uleb(runs.size());
      for (auto &r : runs) { body.uleb(r.first); body.u8(r.second); }
      // A last mark with no code after it (an epilogue that emitted nothing) is dropped.
      size_t nmarks = f.body.marks.size();
      if (nmarks && f.body.marks.back().offset >= f.body.code.size()) nmarks--;
      if (nmarks) {
        srcmap.uleb(i);
        srcmap.uleb(f.src);
        srcmap.uleb(nmarks);
        for (size_t k = 0; k < nmarks; k++) {
          const SourceMark &m = f.body.marks[k];
          srcmap.uleb(body.size() + m.offset);
          srcmap.uleb(m.line); srcmap.uleb(m.col); srcmap.uleb(m.endLine); srcmap.uleb(m.endCol);
        }
      }
      body.append(f.body.code);
      body.u8(0x0b);
      s.uleb(body.size());
      s.append(body);
    }
    section(out, CODE_SECTION, s);

    for (auto &c : customs) {
      Bytes cs;
      cs.name(c.first);
      cs.append(c.second);
      section(out, CUSTOM_SECTION, cs);
    }
    if (mapped) {
      Bytes cs;
      cs.name("jitscope.srcmap");
      cs.append(srcmap);
      section(out, CUSTOM_SECTION, cs);
    }

    // The name section: module name (0), function names (1), local names (2), global
    // names (7).
    Bytes names;
    names.name("name");
    Bytes sub;
    if (!moduleName.empty()) {
      sub.name(moduleName);
      names.u8(0); names.uleb(sub.size()); names.append(sub);
      sub = Bytes();
    }
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
    section(out, CUSTOM_SECTION, names);
    return out;
  }
};

}  // namespace wasm
