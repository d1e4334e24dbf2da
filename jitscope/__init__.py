"""jitscope: a terminal debugger for run-time wasm code generation."""

__version__ = "0.1.0"
