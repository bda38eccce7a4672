"""The questions the File menu asks (file names, unsaved changes, recovery, PNG scale, animation options, image import).

FileActions asks every question through a `Dialogs`, so tests swap in their own answers.
"""

from __future__ import annotations

import os

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnviz.io import SessionError, load_image
from cnnviz.io.image import default_grid, image_size
from cnnviz.ui.arithmetic.animation_dialog import AnimationOptionsDialog
from cnnviz.ui.channel_change import ask_channel_change
from cnnviz.ui.input_fit import ProportionLink, ask_fit_input


class Dialogs:
    """The questions FileActions asks; each returns the answer (None = cancelled)."""

    def __init__(self, parent: QWidget):
        self.parent = parent

    def open_path(self, title: str, filters: str) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self.parent, title, "", filters)
        return path or None

    def save_path(self, title: str, filters: str, suggested: str = "") -> str | None:
        path, _ = QFileDialog.getSaveFileName(self.parent, title, suggested, filters)
        return path or None

    def save_changes(self, name: str) -> str:
        """"save", "discard" or "cancel"."""
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(self.parent, "Unsaved changes", f"Save the changes to {name}?",
                                      buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
        return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")

    def recover(self, when: str) -> bool:
        answer = QMessageBox.question(
            self.parent, "Recover unsaved work",
            f"cnnviz closed without saving your work ({when}). Open the recovered work?")
        return answer == QMessageBox.StandardButton.Yes

    def error(self, title: str, message: str) -> None:
        QMessageBox.warning(self.parent, title, message)

    def png_scale(self) -> float | None:
        value, ok = QInputDialog.getDouble(self.parent, "PNG scale", "Pixels per figure unit (2 = sharp on slides):",
                                           2.0, 0.25, 8.0, 2)
        return value if ok else None

    def animation_options(self, fps: float, frames: int) -> tuple[float, float] | None:
        """(frames per second, scale) for an animation export."""
        dialog = AnimationOptionsDialog(fps, frames, self.parent)
        return dialog.choice() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def channels(self, layer, old: int, new: int) -> str | None:
        return ask_channel_change(layer, old, new, self.parent)

    def fit_input(self, old_shape, new_shape) -> str | None:
        return ask_fit_input(self.parent, old_shape, new_shape)

    def image_options(self, path: str, shape) -> tuple[tuple[int, int], str] | None:
        dialog = ImageImportDialog(path, shape, self.parent)
        return dialog.choice() if dialog.exec() == QDialog.DialogCode.Accepted else None


class ImageImportDialog(QDialog):
    """Grey or RGB, grid rows × cols, and a live preview of exactly the numbers that will be imported."""

    def __init__(self, path: str, shape, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Import {os.path.basename(path)}")
        self.path = path
        h, w = image_size(path)
        rows, cols = default_grid((h, w), shape[:2])
        channels = shape[2]
        self.grey, self.rgb = QRadioButton("Greyscale (1 channel)"), QRadioButton("RGB (3 channels)")
        (self.rgb if channels == 3 else self.grey).setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.grey)
        group.addButton(self.rgb)
        self.rows, self.cols = QSpinBox(), QSpinBox()
        for box, value in ((self.rows, rows), (self.cols, cols)):
            box.setRange(1, 256)
            box.setValue(value)
            box.valueChanged.connect(self._update)
        self.grey.toggled.connect(self._update)
        self.proportions = ProportionLink(self.rows, self.cols, h, w, self)
        self.preview = QLabel()
        self.preview.setObjectName("imagePreview")
        self.preview.setMinimumSize(220, 220)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b00020;")
        form = QFormLayout()
        form.addRow("Image", QLabel(f"{os.path.basename(path)}: {w}×{h} pixels"))
        mode = QHBoxLayout()
        mode.addWidget(self.grey)
        mode.addWidget(self.rgb)
        form.addRow("Channels", mode)
        size = QHBoxLayout()
        size.addWidget(self.rows)
        size.addWidget(QLabel("rows ×"))
        size.addWidget(self.cols)
        size.addWidget(QLabel("cols"))
        form.addRow("Grid", size)
        form.addRow("", self.proportions.check)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.preview, 1)
        layout.addWidget(QLabel("Values are scaled to 0..1; each cell is the mean of the pixels it covers."))
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self._update()

    def choice(self) -> tuple[tuple[int, int], str]:
        return (self.rows.value(), self.cols.value()), "grey" if self.grey.isChecked() else "rgb"

    def _update(self):
        size, mode = self.choice()
        try:
            array = load_image(self.path, size, mode)
        except SessionError as e:
            self.error.setText(str(e))
            return
        rgb = np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array
        pixels = np.ascontiguousarray((np.clip(rgb, 0, 1) * 255).round().astype(np.uint8))
        image = QImage(pixels.data, pixels.shape[1], pixels.shape[0], pixels.shape[1] * 3, QImage.Format.Format_RGB888)
        side = 220
        self.preview.setPixmap(QPixmap.fromImage(image.copy()).scaled(
            side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation))
