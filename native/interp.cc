// A small Scheme with a late-linking JIT, built as a wasm32-wasi reactor.
//
// The interpreter evaluates a resolved AST over frames on a shadow stack in linear memory.
// Hot functions are compiled into a separate wasm module that imports this module's memory
// and function table; its exported patch code grows the table, fills the new slots and writes
// each function's table index into that function's `jitCode` slot, after which calls dispatch
// to the generated code.  The records the host reads are described by dbg_layout (debugger.h).
//
// One translation unit, in layers (each header uses only those before it): values and errors,
// heap and collector, builtins, printer, reader, compiler, primitives, interpreter, the runtime
// JIT code calls, the JIT's macro-assembler and compiler, the exported interfaces, and the prelude (prelude.scm).

#include <cctype>
#include <cmath>
#include <cerrno>
#include <csetjmp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#define EXPORT(name) extern "C" __attribute__((export_name(#name)))
// Built with -DJITSCOPE_SEED_ONLY the module has only the seed's interface, like another build
// of the seed's interp.cc: the debugger's tests use it to check what still works without dbg_*.
#ifdef JITSCOPE_SEED_ONLY
#define DEBUG_EXPORT(name) [[maybe_unused]] static
#else
#define DEBUG_EXPORT(name) EXPORT(name)
#endif

extern "C" __attribute__((import_module("env"), import_name("throw_error"))) void throw_error();

// The layers, each using only those before it.
#include "wasm_builder.h"  // the wasm assembler
#include "values.h"
#include "heap.h"
#include "builtins.h"
#include "printer.h"
#include "reader.h"
#include "compiler.h"
#include "primitives.h"
#include "ports.h"
#include "bytevectors.h"
#include "interpreter.h"
#include "jit_runtime.h"
#include "jit_macro.h"
#include "jit.h"
#include "debugger.h"
#include "prelude.h"

// Runs with the other static initialisers, after every table above exists: the runtime, then
// the prelude.
static const struct Startup { Startup() { initRuntime(); loadPrelude(); } } startup;
