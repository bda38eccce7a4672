"""Crash recovery: where unsaved work is autosaved, which recovery files a crashed window left behind,
the lock a running window holds on its own file, and the worker that writes a snapshot off the GUI thread.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from PySide6.QtCore import QLockFile, QStandardPaths

from cnnviz.io import SessionError, save_session

RECOVERY_GLOB = "recovery*.cnnviz.json"  # recovery-<pid>-<n>.cnnviz.json, one per window, + ".lock" while open


def recovery_dir() -> Path:
    """Where unsaved work is autosaved: $CNNVIZ_RECOVERY_DIR (tests), else the app's data folder."""
    override = os.environ.get("CNNVIZ_RECOVERY_DIR")
    base = override or QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".cnnviz")



def age(path: Path) -> str:
    minutes = max(0, int((time.time() - path.stat().st_mtime) // 60))
    return "just now" if minutes < 1 else f"{minutes} minute{'s' if minutes != 1 else ''} ago" if minutes < 120 \
        else f"{minutes // 60} hours ago"


def lock_path(recovery: Path) -> str:
    return str(recovery) + ".lock"


def held_lock(recovery: Path) -> QLockFile | None:
    """This window's claim on its recovery file (None if the folder cannot hold one: autosave still works)."""
    try:
        recovery.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    lock = QLockFile(lock_path(recovery))
    lock.setStaleLockTime(0)  # stale only when its process is gone, however long a session runs
    return lock if lock.tryLock(0) else None


def left_behind(folder: Path) -> list[Path]:
    """Recovery files no running window holds, newest first."""
    orphans = []
    for path in folder.glob(RECOVERY_GLOB) if folder.is_dir() else []:
        lock = QLockFile(lock_path(path))
        lock.setStaleLockTime(0)
        if lock.tryLock(0):  # free, or left by a process that no longer runs
            lock.unlock()
            orphans.append(path)
    return sorted(orphans, key=lambda p: p.stat().st_mtime, reverse=True)


def remove(path: Path):
    try:
        path.unlink()
    except OSError:
        pass


class BackgroundSaver:
    """Writes session snapshots in a worker thread, so the window never waits for a big session's JSON (0.6 s
    for 256×256×8). One save at a time: a snapshot that arrives while one is written waits for the next turn
    (autosave runs every 30 s), so the file on disk is always one whole snapshot."""

    def __init__(self):
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def save(self, session, path: Path) -> bool:
        """Start writing `session` (a snapshot nobody else changes) to `path`; False while a save runs."""
        if self.busy:
            return False
        self._thread = threading.Thread(target=_write, args=(session, path), name="cnnviz-autosave", daemon=True)
        self._thread.start()
        return True

    def wait(self) -> None:
        """Let a running save finish (before the file is removed or the window closes)."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def _write(session, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_session(session, path)
    except (SessionError, OSError):
        pass  # autosave is a safety net: never interrupt the user over it
