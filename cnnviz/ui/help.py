"""Help ▸ Keys and mouse (made from the window's own actions, so it never lists a stale shortcut) and
Help ▸ Guide (the README that comes with cnnviz)."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QMessageBox

README = Path(__file__).resolve().parents[2] / "README.md"
PROJECT_README = QUrl("https://pypi.org/project/cnnviz/")  # the same guide, when cnnviz runs from a wheel

MOUSE = (
    ("Paint mode (Ctrl+B, cross cursor): left-drag", "paint the brush value on the input or a filter"),
    ("Paint mode: right-drag or Shift+drag", "paint 0"),
    ("Select mode (arrow cursor): click", "select the cell without changing it"),
    ("Double-click, or type a number", "edit the exact value (Enter writes it, Escape leaves it as it was)"),
    ("Arrow keys, Delete, Space", "move the cursor cell, set it to 0, paint the brush value"),
    ("Hover a map cell", "light the cells and weights it comes from; click to pin"),
)


def shortcut_rows(window) -> list[tuple[str, str]]:
    """(what, keys) for every action of `window` that has a shortcut, in menu order, each once."""
    rows, seen = [], set()
    for action in window.findChildren(QAction):
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts() if not k.isEmpty()]
        name = action.text().replace("&", "")
        if keys and name and (name, tuple(keys)) not in seen:
            seen.add((name, tuple(keys)))
            rows.append((name, " / ".join(keys)))
    return sorted(rows)


def keys_html(window) -> str:
    def table(rows):
        cells = "".join(f"<tr><td>{html.escape(a)}</td><td><b>{html.escape(b)}</b></td></tr>" for a, b in rows)
        return f"<table cellspacing='6'>{cells}</table>"

    return (
        "<h3>Mouse</h3>" + table(MOUSE) + "<h3>Keys</h3>" + table(shortcut_rows(window))
        + "<p>The maps zoom with the zoom control in the status bar or the keys above.</p>"
    )


def show_keys(window) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.NoIcon, "Keys and mouse", keys_html(window), QMessageBox.StandardButton.Close,
                      window)
    box.setObjectName("keysHelp")
    box.open()
    return box


def open_guide() -> bool:
    """Open the README in the system's viewer (the copy beside the package, or the project page)."""
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(README)) if README.is_file() else PROJECT_README)
