"""The backward step-through in the Backpropagation dock: play / step / scrub the picked gradient's sum one
window position (or one gathered term) at a time, with the same controls as the forward step-through, and
export it as an animation (the main window connects `export_action` to File ▸ Export's animation path)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from cnnviz.ui.arithmetic.backward_steps import BackwardSteps
from cnnviz.ui.arithmetic.base import SceneCanvas, draw_message
from cnnviz.ui.arithmetic.step_playback import PlaybackBar, StepPlayback

EMPTY = "Click a weight of W or dL/dW, a bias, or a cell of x, to step through how its gradient is summed."


class BackwardStepper(QWidget):
    """The picture, the sum of the step shown, and the playback bar of one BackwardSteps (or none)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("backwardStepper")
        self.model: BackwardSteps | None = None
        self.playback = StepPlayback(self._show, self)
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.canvas = SceneCanvas(self._paint_scene)
        self.canvas.setMinimumHeight(280)  # a 6×6 map keeps cells its numbers fit in
        self.formula = QLabel()
        self.formula.setWordWrap(True)
        self.formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.export_action = QAction("Export animation…", self)
        self.export_action.setToolTip("Every step of this sum as an animated GIF, an APNG or numbered PNG frames")
        export = QToolButton()
        export.setDefaultAction(self.export_action)
        self.bar = PlaybackBar(self.playback)
        self.bar.describe = lambda k: self.model.position_text(k)
        self.addActions(self.bar.step_actions())
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.bar.position, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(export, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.formula)
        layout.addWidget(self.bar)
        self.set_model(None)

    speed = property(lambda self: self.bar.speed)

    @property
    def steps(self):
        return self.model.steps if self.model else []

    @property
    def step(self) -> int:
        return self.playback.step

    def set_model(self, model: BackwardSteps | None) -> None:
        """Show `model`; the same sum of the same layer (the numbers changed) keeps its step."""
        same = model is not None and self.model is not None and _identity(model) == _identity(self.model)
        step = self.playback.step if same else 0
        self.model = model
        self.export_action.setEnabled(bool(self.steps))
        if model is not None:
            self.bar.set_dims(model.dims, False)
        self.playback.reset(len(self.steps), step)
        if not self.steps:
            self.header.setText("" if model is None else model.header_text())
            self.formula.setText("")
            self.canvas.update()

    def set_step(self, step: int) -> None:
        self.playback.set_step(step)

    def _show(self, step: int) -> None:
        self.bar.show_step(step)
        if not self.steps:
            return
        self.header.setText(self.model.header_text())
        self.formula.setText("<br>".join(self.model.formula_lines(step)))
        self.canvas.update()

    def _paint_scene(self, painter, rect: QRectF) -> dict:
        if not self.steps:
            draw_message(painter, rect, EMPTY if self.model is None else
                         f"{self.model.symbol}: no output read this cell, its gradient is 0.")
            return {}
        return self.model.paint(painter, rect, self.playback.step)


def _identity(model: BackwardSteps):
    return model.kind, model.symbol, model.cell, model.channel, model.filter, id(type(model.layer)), model.layer.name
