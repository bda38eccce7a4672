"""Emptying a QListWidget without crashing PySide."""

from __future__ import annotations

from PySide6.QtWidgets import QListWidget


def take_all_rows(widget: QListWidget) -> None:
    """Take the rows back one by one, each freed through its Python wrapper: `clear()` deletes the items in
    C++ while PySide may still hold their wrappers, which crashed it (a segfault in releaseWrapper after many
    rebuilds, seen under gdb in full test runs)."""
    while widget.count():
        widget.takeItem(widget.count() - 1)
