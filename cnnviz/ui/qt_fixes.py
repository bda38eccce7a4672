"""Work-arounds for bugs in the Qt bindings, applied once when cnnviz.ui is imported.

PySide6 6.12.0 on CPython < 3.12 drops a reference to a singleton on two very common paths:
- every call of a C++ method returning void (painter.setPen, fillRect, save, ...) returns None without
  taking a reference to it;
- every `SignalInstance.emit()` returns True without taking a reference to it.
A few thousand such calls (one repaint of one map makes dozens) and CPython aborts with
"Fatal Python error: none_dealloc: deallocating None" (or bool_dealloc). CPython 3.12+ makes these
singletons immortal, which hides the bug. Here we detect each leak and make the singleton effectively
immortal the same way: a reference count so large that it is never used up, and never released.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

_MARGIN = 1 << 40  # references: more leaked calls than any session could make
_PROBES = 16


class _Emitter(QObject):
    ping = Signal()


def _lost_references(obj, call) -> int:
    before = sys.getrefcount(obj)
    for _ in range(_PROBES):
        call()
    return before - sys.getrefcount(obj)


def leaking_singletons() -> list:
    """The singletons this PySide6 build loses references to (empty for a healthy build)."""
    emitter = _Emitter()
    leaks = []
    if _lost_references(None, lambda: emitter.setObjectName("probe")) >= _PROBES:
        leaks.append(None)
    if _lost_references(True, emitter.ping.emit) >= _PROBES:
        leaks.append(True)
    return leaks


def apply() -> None:
    if sys.version_info >= (3, 12):
        return  # immortal singletons: nothing can run out
    for obj in leaking_singletons():
        ctypes.c_ssize_t.from_address(id(obj)).value += _MARGIN
