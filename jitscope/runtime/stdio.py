"""WASI for the main module, with standard streams that look like a terminal.

wasi-libc makes stdout fully buffered when ``fd_fdstat_get`` says fd 1 is not a character
device, so a module that prints without flushing (the seed workbench's ``eval`` does) would
hold each result in its stdio buffer and the host would show it evaluations later.  Answering
``fd_fdstat_get`` for fds 0-2 as a terminal would (a character device that cannot seek) makes
wasi-libc line-buffer them, with the module unchanged.

``fd_write`` to fds 1 and 2 goes straight into an :class:`OutputCapture` in memory, on the
calling thread: no file to fill a disk or leave behind, no background writer.
"""

from __future__ import annotations

import struct
from functools import partial

import wasmtime

WASI = "wasi_snapshot_preview1"

# From the WASI preview1 spec (wasi_snapshot_preview1.witx).
_FILETYPE_CHARACTER_DEVICE = 2
_FILETYPE_DIRECTORY = 3
_FILETYPE_REGULAR_FILE = 4
_PREOPEN_FD = 3
_ERRNO_SUCCESS = 0
_ERRNO_BADF = 8
_ERRNO_FAULT = 21
_RIGHT_FD_READ = 1 << 1
_RIGHT_FD_WRITE = 1 << 6
_RIGHT_FD_FILESTAT_GET = 1 << 21
_RIGHT_POLL_FD_READWRITE = 1 << 27
# fd_read, fd_seek, fd_fdstat_set_flags, fd_tell, fd_advise, path_open, fd_readdir,
# path_readlink, path_filestat_get, fd_filestat_get: reading and looking, never writing.
_READ_RIGHTS = sum(1 << b for b in (1, 2, 3, 5, 7, 13, 14, 16, 18, 21))
# fd_datasync, fd_write, fd_allocate, path_create_directory, path_create_file,
# fd_filestat_set_size, path_remove_directory, path_unlink_file: what writing files needs.
_WRITE_RIGHTS = sum(1 << b for b in (0, 6, 8, 9, 10, 20, 25, 27))
_FDSTAT = struct.Struct("<BxHxxxxQQ")  # filetype, fs_flags, rights_base, rights_inheriting

_TERMINAL_RIGHTS = {
    0: _RIGHT_FD_READ | _RIGHT_FD_FILESTAT_GET | _RIGHT_POLL_FD_READWRITE,
    1: _RIGHT_FD_WRITE | _RIGHT_FD_FILESTAT_GET | _RIGHT_POLL_FD_READWRITE,
    2: _RIGHT_FD_WRITE | _RIGHT_FD_FILESTAT_GET | _RIGHT_POLL_FD_READWRITE,
}


def _fd_fdstat_get(directory_rights: int, caller: wasmtime.Caller, fd: int, out: int) -> int:
    # fds 0-2 a terminal; fd 3 the program's directory (the one preopen), later ones files
    # opened in it.  The rights only shape what wasi-libc asks path_open for: WASI itself
    # enforces a read-only preopen.
    filetype, rights, inheriting = (
        (_FILETYPE_CHARACTER_DEVICE, _TERMINAL_RIGHTS[fd], 0)
        if fd in _TERMINAL_RIGHTS
        else (_FILETYPE_DIRECTORY, directory_rights, directory_rights)
        if fd == _PREOPEN_FD
        else (_FILETYPE_REGULAR_FILE, _READ_RIGHTS, 0)
    )
    memory = caller.get("memory")
    if not isinstance(memory, wasmtime.Memory):
        return _ERRNO_FAULT
    record = _FDSTAT.pack(filetype, 0, rights, inheriting)
    if out < 0 or out + len(record) > memory.data_len(caller):
        return _ERRNO_FAULT
    memory.write(caller, record, out)
    return _ERRNO_SUCCESS


#: Output kept per evaluation: a program that prints without end keeps only its last
#: this many bytes (and says how much went before), so neither memory nor a view grows.
OUTPUT_LIMIT = 1 << 20


class OutputCapture:
    """What the module writes to stdout and stderr, held in memory up to a bounded tail."""

    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        self.limit = limit
        self._data = bytearray()
        self._elided = 0

    def write(self, data: bytes) -> None:
        self._data += data
        if len(self._data) > 2 * self.limit:  # cut in bulk: amortised O(1) a byte
            cut = len(self._data) - self.limit
            del self._data[:cut]
            self._elided += cut

    def take(self) -> str:
        """Everything written since the last take, with a line saying what was elided."""
        data, elided = bytes(self._data), self._elided
        if len(data) > self.limit:
            elided += len(data) - self.limit
            data = data[-self.limit :]
        self._data.clear()
        self._elided = 0
        text = data.decode("utf-8", "replace")
        if elided:
            text = (
                f"[{_size(elided)} of output elided: the last {_size(len(data))} follow]\n" + text
            )
        return text


def _size(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:,} bytes"


_IOVEC = struct.Struct("<II")  # buf, buf_len


def _fd_write(
    capture: OutputCapture, caller: wasmtime.Caller, fd: int, iovs: int, count: int, out: int
) -> int:
    if fd not in (1, 2):
        return _ERRNO_BADF
    memory = caller.get("memory")
    if not isinstance(memory, wasmtime.Memory):
        return _ERRNO_FAULT
    size = memory.data_len(caller)
    if not (0 <= iovs and iovs + _IOVEC.size * count <= size and 0 <= out <= size - 4):
        return _ERRNO_FAULT
    table = memory.read(caller, iovs, iovs + _IOVEC.size * count)
    written = 0
    for buf, length in _IOVEC.iter_unpack(table):
        if buf + length > size:
            return _ERRNO_FAULT
        if length:
            capture.write(memory.read(caller, buf, buf + length))
            written += length
    memory.write(caller, written.to_bytes(4, "little"), out)
    return _ERRNO_SUCCESS


def define_wasi(linker: wasmtime.Linker, capture: OutputCapture, writable: bool) -> None:
    """WASI preview1 into ``linker``: fds 0-2 look like a terminal, and what the module writes
    to fds 1 and 2 goes to ``capture`` (files are written with fd_pwrite); ``writable``: the
    preopen lets the module write."""
    linker.define_wasi()
    linker.allow_shadowing = True
    i32 = wasmtime.ValType.i32()
    linker.define_func(
        WASI,
        "fd_fdstat_get",
        wasmtime.FuncType([i32, i32], [i32]),
        partial(_fd_fdstat_get, _READ_RIGHTS | (_WRITE_RIGHTS if writable else 0)),
        access_caller=True,
    )
    # A partial of the capture, not of the session: wasmtime-py keeps host functions until
    # the Store goes, and must not keep the Session alive.
    linker.define_func(
        WASI,
        "fd_write",
        wasmtime.FuncType([i32, i32, i32, i32], [i32]),
        partial(_fd_write, capture),
        access_caller=True,
    )
    linker.allow_shadowing = False
