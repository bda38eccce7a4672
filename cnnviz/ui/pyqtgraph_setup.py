"""pyqtgraph's global options, set before any of its items exists (the app and the main window both call it)."""

from __future__ import annotations

import pyqtgraph as pg


def configure_pyqtgraph() -> None:
    """Row 0 of an array is the top row (pyqtgraph's default is column-major), no antialiasing, white."""
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background="w", foreground="k")
