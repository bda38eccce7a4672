"""The step-through dock: the lecture's walk of a sliding layer's window, one output number at a time.

The steps and their numbers come from step_model, the picture from step_painter, the timer and controls
from step_playback; this view picks the layer from the Document, links hover probes both ways and writes
the sum under the picture.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QLabel

from cnnviz.ui.arithmetic.base import ArithmeticView, find_layer
from cnnviz.ui.arithmetic.step_model import SLIDING_KINDS, Step, StepModel
from cnnviz.ui.arithmetic.step_painter import paint_step
from cnnviz.ui.arithmetic.step_playback import PlaybackBar, StepPlayback

__all__ = ["Step", "StepperView"]


class StepperView(ArithmeticView):
    """Play / pause / step / scrub through the window positions of the selected sliding layer."""

    def __init__(self, document, parent=None):
        super().__init__(document, "arithmeticStepper", parent=parent)
        self.model: StepModel | None = None
        self.playback = StepPlayback(self._show, self)
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.bar = PlaybackBar(self.playback)
        self.addActions(self.bar.step_actions())  # their shortcuts work wherever the focus is in the view
        self.layout().insertWidget(0, self.header)
        self.layout().addWidget(self.bar)
        self.start()

    # the controls, named as before the split (the View menu and the tests reach them here)
    play_action = property(lambda self: self.bar.play_action)
    back_action = property(lambda self: self.bar.back_action)
    forward_action = property(lambda self: self.bar.forward_action)
    restart_action = property(lambda self: self.bar.restart_action)
    slider = property(lambda self: self.bar.slider)
    position = property(lambda self: self.bar.position)
    speed = property(lambda self: self.bar.speed)

    # ------------------------------------------------------------------ state read from the document
    @property
    def layer(self):
        return self.model.layer if self.model else None

    @property
    def step(self) -> int:
        return self.playback.step

    @property
    def steps(self) -> Sequence[Step]:
        return self.model.steps if self.model else []

    @property
    def playing(self) -> bool:
        return self.playback.playing

    def refresh(self) -> None:
        index = find_layer(self.document, SLIDING_KINDS)
        try:
            levels = self.document.levels
            model = StepModel(self.document.layer(index), levels[index - 1], levels[index], index) if index else None
        except IndexError:  # outputs not computed for this pipeline (an error is shown elsewhere)
            index, model = 0, None
        step = 0 if index != self._index else self.playback.step
        self._index, self.model = index, model
        self.playback.reset(len(self.steps), step)

    def _show(self, step: int) -> None:
        self.bar.show_step(step)
        self.header.setText(self._header_text())
        self.formula.setText(self.formula_text())
        self.canvas.update()

    def _header_text(self) -> str:
        if self.model is None:
            return "Add a Conv2D, pooling or Conv2DTranspose layer to step through it."
        text = self.model.header_text()
        if self._index != self.document.selected_layer:
            first, _, rest = text.partition("<br>")
            text = first + "  <i>(the selected layer does not slide a window; showing this one)</i><br>" + rest
        return text

    # ------------------------------------------------------------------ controls
    def set_step(self, step: int) -> None:
        self.playback.set_step(step)

    def step_by(self, delta: int) -> None:
        self.playback.step_by(delta)

    def restart(self) -> None:
        self.playback.restart()

    def play(self) -> None:
        self.playback.play()

    def pause(self) -> None:
        self.playback.pause()

    def toggle_play(self) -> None:
        self.playback.toggle()

    # ------------------------------------------------------------------ linking
    def probe_changed(self, probe) -> None:
        """A hovered or pinned cell of this layer's output (or a transpose's input) pauses and moves there."""
        if probe is None or probe.cell is None or not self.steps:
            return
        step = self.step_for_cell(probe.level, tuple(probe.cell))
        if step is not None:
            self.pause()
            self.set_step(step)

    def step_for_cell(self, level: int, cell: tuple) -> int | None:
        return self.model.step_for_cell(level, cell, self.step) if self.model else None

    def probe_target(self, key, cell):
        """Grid keys are ("output", channel) or ("input", channel): the level and cell they stand for."""
        if not isinstance(key, tuple) or key[0] not in ("input", "output"):
            return None
        level = self._index if key[0] == "output" else self._index - 1
        return level, (cell[0], cell[1], key[1])

    # ------------------------------------------------------------------ what one step shows
    def provenance(self):
        """The core's provenance of the output cell the current step fills (Conv2D and pooling)."""
        return self.model.provenance(self.step)

    def transpose_canvas(self, upto: int | None = None):
        return self.model.transpose_canvas(self.step if upto is None else upto)

    def scatter_targets(self, upto: int | None = None):
        return self.model.scatter_targets(self.step if upto is None else upto)

    def formula_text(self) -> str:
        lines = self.formula_lines()
        return "<br>".join(line.replace("  ", "&nbsp;&nbsp;") for line in lines)

    def formula_lines(self) -> list[str]:
        return self.model.formula_lines(self.step) if self.steps else []

    # ------------------------------------------------------------------ painting
    def empty_message(self) -> str:
        return "" if self.steps else self._header_text().replace("<b>", "").replace("</b>", "")

    def paint_layer(self, painter, rect: QRectF) -> dict:
        return paint_step(painter, rect, self.model, self.step)
