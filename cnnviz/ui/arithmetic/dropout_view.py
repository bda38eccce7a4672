"""Dropout opened up: the mask the layer uses, the 1/(1−rate) scaling with numbers, training vs inference.

The mask shown is the Dropout layer's own (`layer.mask`), the one the core multiplies by, so what the student
sees is what produced the next layer's input. Training mode, a new mask and the seed are Document edits
(undoable); the view keeps none of them.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QSpinBox, QStyle

from cnnviz.core import ConfigError
from cnnviz.core.layers import Dropout
from cnnviz.ui.arithmetic import formulas
from cnnviz.ui.arithmetic.base import ArithmeticView, ChannelBox, draw_symbol, find_layer, split_row
from cnnviz.ui.colormaps import GREYS, level_style
from cnnviz.ui.grid_painter import Grid, paint_grids

NO_SEED = -1  # the seed box's "none" value (a fresh random mask each run, as Keras without a seed)


def as_map(a):
    """A level as (H, W, C): a vector (after Flatten or Dense) is drawn as one row of cells."""
    return a if a is None or a.ndim == 3 else a.reshape(1, -1, 1)


class DropoutView(ArithmeticView):
    """Input × mask = output for the selected Dropout layer, with the mode, mask and seed controls."""

    EMPTY = "Add a Dropout layer to see its mask."

    def __init__(self, document, parent=None):
        super().__init__(document, "arithmeticDropout", parent=parent)
        self.training_button = QPushButton("Training")
        self.training_button.setToolTip("Training: cells are dropped and the kept ones scaled by 1/(1−rate)")
        self.inference_button = QPushButton("Inference")
        self.inference_button.setToolTip("Inference (prediction): Dropout does nothing, y = x")
        self.mode = QButtonGroup(self)
        for button in (self.training_button, self.inference_button):
            button.setCheckable(True)
            self.mode.addButton(button)
        self.training_button.toggled.connect(lambda on: self.document.set_training(on))
        self.new_mask_button = QPushButton("New mask")
        self.new_mask_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_BrowserReload))
        self.new_mask_button.setToolTip("Draw another random mask (undoable)")
        self.new_mask_button.clicked.connect(lambda: self.document.new_dropout_mask(self._index))
        self.seed = QSpinBox()
        self.seed.setRange(NO_SEED, 99_999)
        self.seed.setSpecialValueText("none")
        self.seed.setToolTip("The random seed of the mask (Keras Dropout(seed=…)); 'none' draws a fresh one")
        self.seed.editingFinished.connect(self._seed_edited)
        self.channel = ChannelBox("Which channel of the mask to draw")
        self.channel.valueChanged.connect(lambda _: self.refresh())
        self.rate = QLabel()
        controls = QHBoxLayout()
        for widget in (
            self.training_button,
            self.inference_button,
            self.new_mask_button,
            QLabel("Seed"),
            self.seed,
            self.channel,
            self.rate,
        ):
            controls.addWidget(widget)
        controls.addStretch(1)
        controls.setSpacing(4)
        self.layout().insertLayout(0, controls)
        self.start()

    @property
    def layer(self):
        return self.document.layer(self._index) if self._index else None

    def refresh(self) -> None:
        self._index = find_layer(self.document, (Dropout,))
        layer = self.layer
        for widget in (self.training_button, self.inference_button, self.new_mask_button, self.seed, self.channel):
            widget.setEnabled(layer is not None)
        self.rate.setText("")
        if layer is None:
            self.channel.set_count(0)
        else:
            x = as_map(self.document.levels[self._index - 1])
            for widget, value in (
                (self.seed, NO_SEED if layer.seed is None else layer.seed),
                (self.training_button, self.document.training),
                (self.inference_button, not self.document.training),
            ):
                widget.blockSignals(True)
                widget.setValue(value) if isinstance(widget, QSpinBox) else widget.setChecked(value)
                widget.blockSignals(False)
            self.channel.set_count(x.shape[2])
            self.rate.setText(f"rate {formulas.format_value(layer.rate)}")
        self.new_mask_button.setEnabled(layer is not None and self.document.training)
        self.formula.setText(self.formula_text())
        self.canvas.update()

    def _seed_edited(self) -> None:
        layer = self.layer
        value = self.seed.value()
        seed = None if value == NO_SEED else value
        if layer is None or seed == layer.seed:
            return
        try:
            self.document.set_layer_param(self._index, "seed", seed)
        except ConfigError as exc:
            self.formula.setText(str(exc))

    # ------------------------------------------------------------------ the numbers
    def mask(self) -> np.ndarray | None:
        """The mask the layer multiplies by (None before it has been drawn, i.e. before any training run)."""
        layer = self.layer
        return None if layer is None or layer.mask is None else as_map(layer.mask)

    def grids(self) -> dict:
        """The three grids drawn: input, mask (1 = kept, 0 = dropped) and output, of the shown channel."""
        layer = self.layer
        x, y = (as_map(a) for a in self.document.levels[self._index - 1: self._index + 1])
        ch = self.channel.index
        # One colour scale for input and output, so that scaled cells visibly darken and dropped ones fade.
        lut, levels = level_style(self._index - 1, np.concatenate([x.ravel(), y.ravel()]))
        out_lut, out_levels = lut, levels
        training = self.document.training
        mask = self.mask()
        scale = 1.0 / (1.0 - layer.rate)
        shape = self.document.levels[self._index - 1].shape
        grids = {"input": Grid(x[:, :, ch], levels, lut, title=f"Input {'×'.join(map(str, shape))}")}
        if mask is not None:
            keep = mask[:, :, ch]
            texts = (
                np.where(keep, "×" + formulas.format_value(scale), "×0")
                if training
                else np.full(keep.shape, "×1", object)
            )
            grids["mask"] = Grid(
                keep.astype(float),
                (0.0, 1.0),
                GREYS,
                texts=texts,
                dimmed=None if training else np.ones(keep.shape, bool),
                title="Mask (white = kept)" if training else "Mask (unused at inference)",
            )
        else:
            grids["mask"] = Grid(
                np.ones(x.shape[:2]),
                (0.0, 1.0),
                GREYS,
                texts=np.full(x.shape[:2], "×1", object),
                title="No mask yet: switch to Training",
            )
        grids["output"] = Grid(
            y[:, :, ch], out_levels, out_lut, title=f"Output ({'training' if training else 'inference'})"
        )
        return grids

    def formula_text(self) -> str:
        layer = self.layer
        if layer is None:
            return ""  # the canvas says what to do
        vector = self.document.levels[self._index - 1].ndim == 1
        x, y = (as_map(a) for a in self.document.levels[self._index - 1: self._index + 1])
        rate = layer.rate
        r = formulas.format_value(rate)
        if not self.document.training:
            return (
                f"<b>Inference</b>: {layer.label} passes every value through unchanged, y = x. "
                f"(In training each cell would be dropped with probability {r}.)"
            )
        mask = self.mask()
        if mask is None or rate == 0:
            return f"<b>Training</b> with rate {r}: nothing is dropped, y = x."
        scale = 1.0 / (1.0 - rate)
        kept = int(mask.sum())
        lines = [
            f"<b>Training</b>: each cell is dropped (set to 0) with probability {r}; the kept cells are multiplied "
            f"by 1/(1 − {r}) = {formulas.format_value(scale)} so that the expected sum stays what inference sees.",
            f"This mask keeps {kept} of {mask.size} cells ({100 * kept / mask.size:.0f} %).",
        ]
        c = self.channel.index  # the example comes from the channel drawn above it
        kept_cells = np.argwhere(mask[:, :, c])
        if len(kept_cells):
            i, j = (int(v) for v in kept_cells[np.argmax(np.abs(x[:, :, c][mask[:, :, c]]))])
            cell = (j,) if vector else (i, j) if x.shape[2] == 1 else (i, j, c)
            lines.append(
                f"For example kept {formulas.cell_name('x', cell)} = {formulas.format_value(x[i, j, c])} → "
                f"{formulas.num(x[i, j, c])} × {formulas.format_value(scale)} = {formulas.format_value(y[i, j, c])}; "
                f"a dropped cell gives 0."
            )
        return "<br>".join(lines)

    # ------------------------------------------------------------------ painting
    def paint_layer(self, painter, rect: QRectF) -> dict:
        grids = self.grids()
        w = grids["input"].values.shape[1] + 1
        columns = split_row(rect, [w, 1.0, w, 1.0, w + 2])
        grids["output"].colorbar = True
        placed = [(key, r, grids[key]) for key, r in zip(("input", "mask", "output"), columns[::2])]
        geometries = paint_grids(painter, placed)
        draw_symbol(painter, columns[1], "×")
        draw_symbol(painter, columns[3], "=")
        return geometries
