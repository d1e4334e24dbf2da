"""write_atomic: regular files only, through symlinks, modes kept, no parents made silently."""

from __future__ import annotations

import os
import stat

import pytest

from jitscope.runtime.files import write_atomic


def test_an_existing_file_keeps_its_mode_and_a_new_one_follows_the_umask(tmp_path):
    old = tmp_path / "old.txt"
    old.write_text("a")
    old.chmod(0o640)
    write_atomic(old, "b")
    assert old.read_text() == "b" and stat.S_IMODE(old.stat().st_mode) == 0o640
    umask = os.umask(0o022)
    try:
        write_atomic(tmp_path / "new.txt", "c")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o644


def test_a_symlink_is_written_through(tmp_path):
    real = tmp_path / "real.wasm"
    real.write_bytes(b"old")
    link = tmp_path / "link.wasm"
    link.symlink_to(real)
    write_atomic(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new"


def test_non_regular_targets_and_missing_directories_are_refused(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        write_atomic(fifo, b"x")
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # still a FIFO
    with pytest.raises(OSError, match="is a directory"):
        write_atomic(tmp_path, b"x")
    with pytest.raises(FileNotFoundError, match="no such directory"):
        write_atomic(tmp_path / "missing" / "out.wasm", b"x")
    assert not (tmp_path / "missing").exists()
