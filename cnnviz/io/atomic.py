"""Writing a file so that readers see the old one or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cnnviz.io.errors import SessionError
from cnnviz.io.paths import shown_name


def write_atomic(path, data: bytes) -> None:
    """Replace `path` with `data` so that readers see the old file or the new one, never half of one.

    A symlink is followed (its target is replaced, the link stays); a target that exists but is not a
    regular file (/dev/stdout, a pipe) is written straight into, never replaced."""
    given = Path(path)
    if not os.fspath(path):
        raise SessionError(f"{shown_name(path)}: cannot save: no file name was given", path=given)
    if given.is_dir():
        raise SessionError(f"{shown_name(path)}: cannot save: is a folder, not a file name", path=given)
    if not given.parent.is_dir():  # the folder is what is missing: say so, not "no such file"
        raise SessionError(f"{given.name}: cannot save: there is no folder {given.parent}", path=given)
    path = Path(os.path.realpath(path))
    if path.exists() and not path.is_file():
        try:
            with open(path, "wb") as f:
                f.write(data)
        except OSError as e:
            raise SessionError(f"{path.name}: cannot save ({e.strerror or e})", path=path) from None
        return
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    except OSError as e:
        raise SessionError(f"{path.name}: cannot save ({e.strerror or e})", path=path) from None
    try:
        os.chmod(tmp, _file_mode(path))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise SessionError(f"{path.name}: cannot save ({e.strerror or e})", path=path) from None
        raise
    _fsync_dir(path.parent)


def _file_mode(path: Path) -> int:
    """The replaced file's permissions, or what a plain open() would give (mkstemp makes 0600)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); harmless to skip where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
