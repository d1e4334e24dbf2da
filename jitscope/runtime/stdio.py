"""WASI for the main module, with standard streams that look like a terminal.

The session captures the module's output in a file.  wasi-libc makes stdout fully buffered
when ``fd_fdstat_get`` says fd 1 is not a character device, so a module that prints without
flushing (the seed workbench's ``eval`` does) would hold each result in its stdio buffer and
the host would show it evaluations later.  Answering ``fd_fdstat_get`` for fds 0-2 as a
terminal would (a character device that cannot seek) makes wasi-libc line-buffer them, with
the module unchanged; writes still go to the capture file.
"""

from __future__ import annotations

import struct

import wasmtime

WASI = "wasi_snapshot_preview1"

# From the WASI preview1 spec (wasi_snapshot_preview1.witx).
_FILETYPE_CHARACTER_DEVICE = 2
_ERRNO_SUCCESS = 0
_ERRNO_BADF = 8
_ERRNO_FAULT = 21
_RIGHT_FD_READ = 1 << 1
_RIGHT_FD_WRITE = 1 << 6
_RIGHT_FD_FILESTAT_GET = 1 << 21
_RIGHT_POLL_FD_READWRITE = 1 << 27
_FDSTAT = struct.Struct("<BxHxxxxQQ")  # filetype, fs_flags, rights_base, rights_inheriting

_TERMINAL_RIGHTS = {
    0: _RIGHT_FD_READ | _RIGHT_FD_FILESTAT_GET | _RIGHT_POLL_FD_READWRITE,
    1: _RIGHT_FD_WRITE | _RIGHT_FD_FILESTAT_GET | _RIGHT_POLL_FD_READWRITE,
    2: _RIGHT_FD_WRITE | _RIGHT_FD_FILESTAT_GET | _RIGHT_POLL_FD_READWRITE,
}


def _fd_fdstat_get(caller: wasmtime.Caller, fd: int, out: int) -> int:
    rights = _TERMINAL_RIGHTS.get(fd)
    if rights is None:
        return _ERRNO_BADF  # the session opens no other files: no preopens
    memory = caller.get("memory")
    if not isinstance(memory, wasmtime.Memory):
        return _ERRNO_FAULT
    record = _FDSTAT.pack(_FILETYPE_CHARACTER_DEVICE, 0, rights, 0)
    if out < 0 or out + len(record) > memory.data_len(caller):
        return _ERRNO_FAULT
    memory.write(caller, record, out)
    return _ERRNO_SUCCESS


def define_wasi(linker: wasmtime.Linker) -> None:
    """WASI preview1 into ``linker``, with fds 0-2 reported as a terminal."""
    linker.define_wasi()
    linker.allow_shadowing = True
    i32 = wasmtime.ValType.i32()
    linker.define_func(
        WASI,
        "fd_fdstat_get",
        wasmtime.FuncType([i32, i32], [i32]),
        _fd_fdstat_get,
        access_caller=True,
    )
    linker.allow_shadowing = False
