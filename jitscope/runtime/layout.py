"""Memory layouts of the structures interplib.wasm shares with its host.

They mirror the C++ structs in native/interp.cc (``Func``, ``ErrorInfo``, ``HeapStats``,
``JitModule``), whose offsets are pinned there with static_asserts.
"""

from __future__ import annotations

import struct

# struct Func: jitCode, nparams, flags, id, interpCalls, jitCalls, name, line, col, endLine,
# endCol, src, moduleId, nlocals.
FUNC = struct.Struct("<IIIIQQIIIIIIII")
FUNC_JIT_CODE = 0

# struct ErrorInfo: kind, line, col, src, message, function.
ERROR = struct.Struct("<iIIIII")

# struct HeapStats: heapBytes, liveBytes, allocatedBytes, collections, maxHeapBytes.
HEAP = struct.Struct("<QQQII")

# struct JitModule: data, size, id, nfuncs, funcs.
JIT_MODULE = struct.Struct("<IIIII")

# FuncFlags
F_TOPLEVEL = 1
F_PENDING = 2
F_LIBRARY = 8  # defined by the Scheme prelude
F_REST = 16  # has a rest parameter (counted in nparams)

# ErrorKind, as the user reads it.
ERROR_KINDS = {
    1: "read",
    2: "syntax",
    3: "unbound",
    4: "type",
    5: "arity",
    6: "not-procedure",
    7: "overflow",
    8: "divide-by-zero",
    9: "stack",
    10: "heap",
    11: "range",
    12: "jit",
    13: "error",
}
