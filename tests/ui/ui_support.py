"""Helpers for the app's widget tests: a window with private settings, mouse strokes over map cells, and what
the window's backing store holds."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication

from cnnviz.ui import settings


def make_window(qtbot, tmp_path, document=None, size=(1400, 900)):
    from cnnviz.ui.main_window import MainWindow

    settings.use_file(tmp_path / "settings.ini")
    window = MainWindow(document)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    return window


def stroke(qtbot, heatmap, cells, button=Qt.MouseButton.LeftButton, modifier=Qt.KeyboardModifier.NoModifier):
    """Press on the first cell, move through the others, release on the last (as a hand would)."""
    target = heatmap.viewport()
    points = [heatmap.cell_center(r, c) for r, c in cells]
    qtbot.mousePress(target, button, modifier, points[0])
    for p in points[1:]:
        qtbot.mouseMove(target, p)
    qtbot.mouseRelease(target, button, modifier, points[-1])
    QApplication.processEvents()


def hover(qtbot, heatmap, cell):
    qtbot.mouseMove(heatmap.viewport(), heatmap.cell_center(*cell))
    QApplication.processEvents()


def lit(mask) -> set:
    """The cells (or kernel indices) a probe mask lights, as a set of index tuples."""
    import numpy as np

    return {tuple(int(v) for v in i) for i in np.argwhere(mask)}


def highlighted(heatmap) -> set:
    """The (row, col) cells a Heatmap has lit."""
    return set() if heatmap._highlight is None else lit(heatmap._highlight)


def on_screen(window, widget, rect: QRect | None = None):
    """`rect` of the widget (default: all of it) as the window's backing store holds it: what partial repaints
    left on screen, to compare with a fresh drawing."""
    rect = widget.rect() if rect is None else rect
    shot = window.screen().grabWindow(window.winId()).toImage()
    top_left = widget.mapTo(window, rect.topLeft())
    ratio = shot.devicePixelRatio()
    return shot.copy(QRect(top_left * ratio, rect.size() * ratio))
