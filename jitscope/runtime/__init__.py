"""The runtime: wasm and wasmtime, no Textual (see DESIGN.md)."""
