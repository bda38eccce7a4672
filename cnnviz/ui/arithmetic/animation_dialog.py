"""The two questions an animation export asks besides the file name: frames per second and scale."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel

from cnnviz.io.animation import MAX_FPS, MIN_FPS


class AnimationOptionsDialog(QDialog):
    """Frames per second (starting at the step-through's own speed) and pixels per canvas pixel."""

    def __init__(self, fps: float, frames: int, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Export animation")
        self.fps = QDoubleSpinBox()
        self.fps.setRange(MIN_FPS, MAX_FPS)
        self.fps.setDecimals(1)
        self.fps.setValue(fps)
        self.fps.setSuffix(" frames/s")
        self.scale = QDoubleSpinBox()
        self.scale.setRange(0.5, 4.0)
        self.scale.setSingleStep(0.5)
        self.scale.setValue(1.0)
        self.scale.setSuffix(" ×")
        self.scale.setToolTip("Pixels per pixel of the step-through as it is on screen (2 = sharp on slides)")
        self.length = QLabel()
        self._frames = frames
        self.fps.valueChanged.connect(self._say_length)
        self._say_length()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Speed", self.fps)
        form.addRow("Scale", self.scale)
        form.addRow("", self.length)
        form.addRow(buttons)

    def _say_length(self) -> None:
        self.length.setText(f"{self._frames} frames, one per step: {self._frames / self.fps.value():.1f} s")

    def choice(self) -> tuple[float, float]:
        return self.fps.value(), self.scale.value()
