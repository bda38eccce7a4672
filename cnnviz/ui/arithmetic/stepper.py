"""The step-through dock: the lecture's walk of a sliding layer's window, one output number at a time (and of
a Dense's units, a ZeroPadding2D's or Cropping2D's cells: step_kinds).

The steps and their numbers come from the step models (step_kinds), the picture from step_painter, the timer
and controls from step_playback; this view picks the layer from the Document, links hover probes both ways and writes
the sum under the picture.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QRadioButton, QToolButton, QWidget

from cnnviz.core.layers import Conv2DTranspose
from cnnviz.ui.arithmetic.base import ArithmeticView, find_layer, scene_rect
from cnnviz.ui.arithmetic.step_kinds import KIND_NAMES, STEPPED_KINDS, step_model_for
from cnnviz.ui.arithmetic.step_model import LayerSteps, Step, StepModel
from cnnviz.ui.arithmetic.step_painter import crop_cells, paint_step, window_needs, window_readable
from cnnviz.ui.arithmetic.step_playback import PlaybackBar, StepPlayback

__all__ = ["Step", "StepperView"]

MAX_CANVAS_HEIGHT = 900  # a taller picture would not fit any screen: beyond it the cells stay as they are
HEIGHT_STEP = 4  # the readable height, to this many px


class StepperView(ArithmeticView):
    """Play / pause / step / scrub through the window positions of the selected sliding layer."""

    def __init__(self, document, parent=None):
        super().__init__(document, "arithmeticStepper", parent=parent)
        self.model: LayerSteps | None = None
        self._readable: dict = {}  # (parameters and shapes, step, room, number patterns) -> readable_height's answer
        self.playback = StepPlayback(self._show, self)
        self.header = QLabel()  # the layer and its shapes, beside the position and the export button
        self.header.setWordWrap(True)
        self.shapes = QLabel()  # how the output shape comes about: the whole width, one line where it fits
        self.shapes.setWordWrap(True)
        self.transpose_switch = TransposeSwitch()
        self.transpose_switch.changed.connect(self.refresh)
        # the main window connects it to File ▸ Export figure ▸ Step-through animation
        self.export_action = QAction("Export animation…", self)
        self.export_action.setToolTip("Every step as an animated GIF, an APNG or numbered PNG frames, for slides")
        export = QToolButton()
        export.setDefaultAction(self.export_action)
        self.bar = PlaybackBar(self.playback)
        self.addActions(self.bar.step_actions())  # their shortcuts work wherever the focus is in the view
        # the position and the export button beside the header's first line; the shape arithmetic under them
        # takes the whole width (beside them it wrapped to three lines, height the picture needed)
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.bar.position, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(export, 0, Qt.AlignmentFlag.AlignTop)
        self.layout().insertLayout(0, top)
        self.layout().insertWidget(1, self.shapes)
        self.layout().insertWidget(2, self.transpose_switch)
        self.layout().addWidget(self.bar)
        self.scroll_canvas()  # a short dock: a readable crop of the picture that scrolls (follows the window)
        self.start()

    def readable_height(self, width: int, height: int) -> int:
        """Tall enough for the input's and the filter's numbers (window_readable; found by bisection: the cells
        grow with the height until the width stops them), or 0 when the view's height will do or more would not
        help.

        Kept by the layer's parameters and shapes, the step, the room and the cell sides the numbers need: painting
        0.25 over 0.75 keeps them, so it does not search again (laying out every channel arrangement a dozen times
        per edit was half of an input paint's time), while −12.25 over 1 needs larger cells and searches again."""
        if self.model is None:
            return 0
        model = self.model
        key = (model.layout_key, self.step, width, height, window_needs(scene_rect(width, height), model, self.step))
        if key not in self._readable:
            if len(self._readable) >= 16:  # shapes and rooms seen long ago: search them again if they return
                self._readable.clear()
            self._readable[key] = self._search_readable_height(width, height)
        return self._readable[key]

    def _search_readable_height(self, width: int, height: int) -> int:
        def readable(step: int) -> bool:
            return window_readable(scene_rect(width, step * HEIGHT_STEP), self.model, self.step)

        # bisected over multiples of HEIGHT_STEP, the same in every room: the heights probed after one edit are
        # mostly those probed after another, and their layouts are kept
        low, high = height // HEIGHT_STEP, MAX_CANVAS_HEIGHT // HEIGHT_STEP
        if window_readable(scene_rect(width, height), self.model, self.step) or not readable(high):
            return 0
        while high - low > 1:  # low: unreadable, high: readable
            middle = (low + high) // 2
            low, high = (low, middle) if readable(middle) else (middle, high)
        return high * HEIGHT_STEP

    def _follow_window(self) -> None:
        """Keep the current window of a scrolled picture in view (as it was last painted)."""
        if self.scroll.verticalScrollBar().maximum() == 0 or not isinstance(self.model, StepModel):
            return
        if self.model.transposed:
            return
        geo = next((g for key, g in self.canvas.geometries.items() if key[0] == "input"), None)
        if geo is None:
            return
        _, _, (r0, c0) = self.model.input_view(self.step, 0, self.crop_cells())
        cells = [geo.cell_rect(r - r0, c - c0) for r, c in self.model.window(self.step)]
        if cells:
            self.scroll_to(cells[0].united(cells[-1]))

    # the controls, named as before the split (the View menu and the tests reach them here)
    play_action = property(lambda self: self.bar.play_action)
    back_action = property(lambda self: self.bar.back_action)
    forward_action = property(lambda self: self.bar.forward_action)
    restart_action = property(lambda self: self.bar.restart_action)
    row_slider = property(lambda self: self.bar.row_slider)
    col_slider = property(lambda self: self.bar.col_slider)
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
        index = find_layer(self.document, STEPPED_KINDS)
        direct = self.transpose_switch.as_convolution
        try:
            layers, levels = self.document.pipeline.layers, self.document.levels
            model = step_model_for(layers, levels, index, direct) if index else None
        except IndexError:  # outputs not computed for this pipeline (an error is shown elsewhere)
            index, model = 0, None
        # another layer, or the other way of stepping a transpose: the steps mean other cells
        same = index == self._index and (self.model is None or self.model.direct is None) == (
            model is None or model.direct is None)
        step = self.playback.step if same else 0
        self._index, self.model = index, model
        self.transpose_switch.setVisible(isinstance(self.layer, Conv2DTranspose))
        self.export_action.setEnabled(model is not None)
        if model is not None:
            self.bar.set_dims(model.steps.dims, model.transposed, model.axis_names)
        self.fit_canvas()
        self.playback.reset(len(self.steps), step)

    def _show(self, step: int) -> None:
        self.bar.show_step(step)
        first, _, rest = self._header_text().partition("<br>")
        self.header.setText(first)
        self.shapes.setText(rest)
        self.shapes.setVisible(bool(rest))
        self.formula.setText(self.formula_text())
        self.canvas.update()
        self._follow_window()

    def _header_text(self) -> str:
        if self.model is None:
            return f"Add a layer to step through it: the step-through shows {KIND_NAMES} layers."
        text = self.model.header_text()
        if self._index != self.document.selected_layer:
            first, _, rest = text.partition("<br>")
            text = first + "  <i>(the selected layer has no step-through; showing this one)</i><br>" + rest
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
        """The level and cell a grid cell of the picture stands for (the model knows its grids; a sliding layer's
        through the crops the canvas draws)."""
        if isinstance(self.model, StepModel):
            return self.model.probe_target(self.step, key, cell, self.crop_cells())
        return self.model.probe_target(self.step, key, cell) if self.model else None

    def crop_cells(self) -> tuple[int, int]:
        """(rows, cols) of the crops the canvas draws a large sliding layer's grids with now."""
        return crop_cells(scene_rect(self.canvas.width(), self.canvas.height()), self.model, self.step)

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


class TransposeSwitch(QWidget):
    """How a Conv2DTranspose is stepped: scattering input cells, or as a convolution of the flipped kernel
    over the zero-inserted, padded input (the same output numbers)."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.scatter = QRadioButton("scatter (input cell × kernel)")
        self.direct = QRadioButton("a convolution (zeros inserted, kernel flipped)")
        self.scatter.setChecked(True)
        self.direct.setToolTip("Dumoulin & Visin's view: the same output, computed like a forward Conv2D")
        group = QButtonGroup(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Step through it as"))
        for button in (self.scatter, self.direct):
            group.addButton(button)
            layout.addWidget(button)
        layout.addStretch(1)
        self.direct.toggled.connect(lambda _: self.changed.emit())

    @property
    def as_convolution(self) -> bool:
        return self.direct.isChecked()
