// The prelude: its Scheme text, prelude.scm, is embedded at build time (jitscope/buildwasm.py
// generates prelude.scm.inc).
// Part of interp.cc (one translation unit): included there in layer order.
#pragma once

// The prelude: list library procedures written in Scheme.  They are ordinary functions (source
// 0, flagged F_LIBRARY) that the debugger lists, counts and compiles like the user's own, and
// ordinary globals that a program may redefine.  Each keeps to itself (loops are named lets),
// so redefining one does not change the others.

static const char PRELUDE[] =
#include "prelude.scm.inc"
    ;

static void loadPrelude() {
  std::vector<Sx *> xs = readAll(PRELUDE, sizeof PRELUDE - 1, 0);
  size_t first = funcs.size();
  Func *top = compileToplevel(xs);
  freeSyntax();
  for (size_t i = first; i < funcs.size(); i++) funcs[i]->flags |= F_LIBRARY;
  runToplevel(top);
}

// The prelude's text, for a host that shows the source of library functions (source 0).
DEBUG_EXPORT(dbg_prelude) const char *dbg_prelude() { return PRELUDE; }
