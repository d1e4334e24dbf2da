"""The wasm codec: the one place that reads and writes the wasm binary format.

No wasmtime and no Textual here; everything above (the runtime, the static linker, the views)
uses these modules rather than walking bytes of its own.

- :mod:`.leb128` — :class:`Cursor` (LEB128 numbers, names) and the LEB128 encoders
- :mod:`.sections` — the header check, section framing, custom sections, section encoders
- :mod:`.names` — the ``name`` section
- :mod:`.elements` — element segments as table slot → function
- :mod:`.custom` — jitscope's own custom sections (``jitscope.patches``, ``jitscope.snapshot``)
- :mod:`.instructions` — instruction decode/re-encode with index remapping
- :mod:`.module` — a core module split into the parts the static linker rewrites
- :mod:`.tools` — the ``wasm-tools`` binary: WAT, validation, objdump
"""

from jitscope.wasm.leb128 import Cursor, DecodeError

__all__ = ["Cursor", "DecodeError"]
