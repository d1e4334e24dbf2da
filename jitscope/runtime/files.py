"""Files the tool writes (REPL history, exported WAT, snapshots, the compile cache) are written
atomically: a crash or a full disk never leaves half a file where a good one was."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: str | os.PathLike[str], data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory, then rename.
    Text is written as UTF-8.

    A symlink is written through (its target is replaced, the link stays); anything else that
    is not a regular file (a directory, FIFO or device) is refused, as is a directory that does
    not exist.  An existing file keeps its permissions; a new one gets the umask's."""
    target = Path(path)
    if target.is_symlink():
        target = target.resolve()
    if target.exists() and not target.is_file():
        kind = "a directory" if target.is_dir() else "not a regular file"
        raise OSError(
            errno.EISDIR if target.is_dir() else errno.EINVAL,
            f"is {kind}; jitscope writes only regular files",
            str(target),
        )
    if not target.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "no such directory", str(target.parent))
    if target.exists():
        mode = stat.S_IMODE(target.stat().st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
