"""Fitting the user's picture into another input shape instead of discarding it, and keeping a picture's
proportions while its grid size is typed.

Importing a Keras config whose input is 28×28×1 used to replace the current image with a blank one; now
the user is offered the current image resized into the new shape (each cell the mean of the pixels it
covers when shrinking, the nearest pixel when growing, as image import does).
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QCheckBox, QMessageBox, QSpinBox

RESIZE, BLANK = "resize", "blank"


def fit_input(x: np.ndarray, shape) -> np.ndarray:
    """`x` (H, W, C) resampled to `shape` (h, w, c): grey → colour repeats the grey, colour → grey averages
    the channels, other channel counts are taken cyclically."""
    h, w, c = (int(v) for v in shape)
    if x.shape[2] == c:
        channels = x
    elif c == 1:
        channels = x.mean(axis=2, keepdims=True)
    else:
        channels = x[:, :, [k % x.shape[2] for k in range(c)]]
    out = np.empty((h, w, c), np.float32)
    shrink = h < x.shape[0] or w < x.shape[1]
    resample = Image.Resampling.BOX if shrink else Image.Resampling.NEAREST
    for k in range(c):
        plane = Image.fromarray(np.ascontiguousarray(channels[:, :, k], dtype=np.float32), mode="F")
        out[:, :, k] = np.asarray(plane.resize((w, h), resample=resample), dtype=np.float32)
    return out


def ask_fit_input(parent, old_shape, new_shape) -> str | None:
    """RESIZE, BLANK or None (cancel) for a pipeline that needs another input shape."""
    shape = lambda s: "×".join(map(str, s))  # noqa: E731
    box = QMessageBox(QMessageBox.Icon.Question, "The input changes shape",
                      f"This model takes a {shape(new_shape)} input; the current image is {shape(old_shape)}.",
                      QMessageBox.StandardButton.NoButton, parent)
    box.setInformativeText("Resize the current image into the new input, or start from a blank one?")
    resize = box.addButton(f"Resize image to {shape(new_shape)}", QMessageBox.ButtonRole.AcceptRole)
    blank = box.addButton("Blank input", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(resize)
    box.exec()
    return {resize: RESIZE, blank: BLANK}.get(box.clickedButton())


class ProportionLink:
    """Rows and columns boxes that keep `height / width` while "keep proportions" is checked."""

    def __init__(self, rows: QSpinBox, cols: QSpinBox, height: int, width: int, parent=None):
        self.rows, self.cols, self.ratio = rows, cols, height / max(width, 1)
        self.check = QCheckBox("Keep the picture's proportions", parent)
        self.check.setChecked(True)
        rows.valueChanged.connect(lambda v: self._follow(self.cols, v / self.ratio))
        cols.valueChanged.connect(lambda v: self._follow(self.rows, v * self.ratio))

    def _follow(self, box: QSpinBox, value: float) -> None:
        if self.check.isChecked():
            box.blockSignals(True)  # no ping-pong: the box typed into keeps its value
            box.setValue(max(box.minimum(), min(box.maximum(), round(value))))
            box.blockSignals(False)
