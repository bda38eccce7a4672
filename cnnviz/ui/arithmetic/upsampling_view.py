"""UpSampling2D: nearest and bilinear side by side on the layer's real input, with each output cell's sources.

For the selected (hovered) output cell the input cells it reads are lit: the nearest source marked, the
bilinear sources outlined, and the interpolation weights written out per axis with Keras/TF's half-pixel
centres: src = (dst + 0.5)·n_in/n_out − 0.5, clipped to the input, split between its two neighbours.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QHBoxLayout, QLabel

from cnnviz.core import ops
from cnnviz.core.layers import UpSampling2D
from cnnviz.core.provenance import cell_provenance
from cnnviz.ui.arithmetic import formulas
from cnnviz.ui.arithmetic.base import ArithmeticView, ChannelBox, find_layer, split_row
from cnnviz.ui.colormaps import format_value, level_style
from cnnviz.ui.grid_painter import Grid, paint_grids

MODES = ("nearest", "bilinear")


def axis_text(dst: int, n_in: int, factor: int, axis: str) -> str:
    """One axis of the bilinear rule, with the numbers: which two sources and with what weights."""
    n_out = n_in * factor
    raw = (dst + 0.5) * n_in / n_out - 0.5
    src = min(max(raw, 0.0), n_in - 1)
    i0, i1, w = ops.bilinear_weights(n_in, n_out)
    a, b, t = int(i0[dst]), int(i1[dst]), float(w[dst])
    clip = f" → clipped to {format_value(src)}" if not math.isclose(raw, src) else ""
    text = f"{axis} {dst}: ({dst} + 0.5)·{n_in}/{n_out} − 0.5 = {format_value(raw)}{clip}"
    if a == b or t == 0:
        return text + f" → {axis} {a} with weight 1"
    return text + f" → {axis} {a} × {format_value(1 - t)} and {axis} {b} × {format_value(t)}"


class UpsamplingView(ArithmeticView):
    """Nearest vs bilinear outputs of the selected UpSampling2D, with the selected cell's sources."""

    EMPTY = "Add an UpSampling2D layer to compare nearest and bilinear up-sampling."

    def __init__(self, document, parent=None):
        super().__init__(document, "arithmeticUpsampling", parent=parent)
        self._cell: tuple[int, int] | None = None  # the selected output cell (None: a central one)
        self.channel = ChannelBox("Which channel to up-sample")
        self.channel.valueChanged.connect(lambda _: self.refresh())
        self.info = QLabel()
        self.info.setWordWrap(True)
        controls = QHBoxLayout()
        controls.addWidget(self.info, 1)
        controls.addWidget(self.channel)
        self.layout().insertLayout(0, controls)
        self.start()

    @property
    def cell(self) -> tuple[int, int]:
        return self._cell

    def _input(self):
        return self.document.levels[self._index - 1]

    def refresh(self) -> None:
        self._index = find_layer(self.document, (UpSampling2D,))
        if self._index:
            x = self._input()
            layer = self.document.layer(self._index)
            fh, fw = layer.size
            rows, cols = x.shape[0] * fh, x.shape[1] * fw
            # by default a cell just off the centre: its bilinear sources are four cells with unequal weights
            r, c = self._cell or ((rows - 1) // 2, cols // 2)
            self._cell = (min(r, rows - 1), min(c, cols - 1))
            self.channel.set_count(x.shape[2])
            self.info.setText(
                f"<b>{layer.label}</b>: size {fh}×{fw}, this layer uses <b>{layer.interpolation}</b>; "
                f"both ways are shown on its input. Hover an output cell."
            )
        else:
            self.info.setText("")
            self.channel.set_count(0)
        self.formula.setText(self.formula_text())
        self.canvas.update()

    def provenance(self, mode: str):
        """The core's provenance of the selected cell with `mode` interpolation (same size, same input)."""
        layer = self.document.layer(self._index).replace(interpolation=mode)
        return cell_provenance(layer, self._input(), (*self._cell, self.channel.index))

    def outputs(self) -> dict:
        layer = self.document.layer(self._index)
        return {mode: ops.upsample2d(self._input(), layer.size, mode) for mode in MODES}

    def formula_text(self) -> str:
        if not self._index:
            return ""  # the canvas says what to do
        layer = self.document.layer(self._index)
        x = self._input()
        fh, fw = layer.size
        r, c = self._cell
        ch = self.channel.index
        one_channel = x.shape[2] == 1
        name = lambda cell: formulas.cell_name("x", cell[:2] if one_channel else cell)  # noqa: E731
        near = self.provenance("nearest")
        bil = self.provenance("bilinear")
        # each coefficient is (row weight)·(col weight): written as that product, it stays exact
        rows = ops.bilinear_matrix(x.shape[0], x.shape[0] * fh)[r]
        cols = ops.bilinear_matrix(x.shape[1], x.shape[1] * fw)[c]
        weight = lambda t: f"{format_value(rows[t.cell[0]])}·{format_value(cols[t.cell[1]])}"  # noqa: E731
        bil_terms = " + ".join(f"{weight(t)}·{name(t.cell)}" for t in bil.terms)
        bil_values = " + ".join(f"{weight(t)}·{formulas.num(t.value)}" for t in bil.terms)
        return "<br>".join(
            [
                f"<b>Nearest</b> (source marked gold): y[{r},{c}] = x[{r}//{fh}, {c}//{fw}] = "
                f"{name(near.terms[0].cell)} = {format_value(near.value)}",
                "<b>Bilinear</b> (sources outlined green; half-pixel centres, as Keras): "
                f"{axis_text(r, x.shape[0], fh, 'row')}; {axis_text(c, x.shape[1], fw, 'col')}",
                f"y[{r},{c}] = {bil_terms} = {bil_values} = {format_value(bil.value)}",
            ]
        ) + ("" if one_channel else f"  (channel {ch + 1})")

    # ------------------------------------------------------------------ linking
    def probe_changed(self, probe) -> None:
        if self._index != find_layer(self.document, (UpSampling2D,)):
            self.refresh()  # a new pipeline whose probe arrived before its outputsChanged
        if self._index and probe is not None and probe.cell is not None and probe.level == self._index:
            self._cell = tuple(int(v) for v in probe.cell[:2])
            if probe.cell[2] != self.channel.index:
                self.channel.setValue(int(probe.cell[2]) + 1)
            self.formula.setText(self.formula_text())
            self.canvas.update()

    def probe_target(self, key, cell):
        return (self._index, (cell[0], cell[1], self.channel.index)) if key in MODES else None

    # ------------------------------------------------------------------ painting
    def paint_layer(self, painter, rect: QRectF) -> dict:
        layer = self.document.layer(self._index)
        x = self._input()
        ch = self.channel.index
        outputs = self.outputs()
        lut, levels = level_style(self._index - 1, x)  # one scale: up-sampling never leaves the input's range
        near, bil = self.provenance("nearest"), self.provenance("bilinear")
        weights = {t.cell[:2]: t.coefficient for t in bil.terms}
        input_texts = [
            [
                format_value(x[i, j, ch]) + (f"\n×{format_value(weights[(i, j)])}" if (i, j) in weights else "")
                for j in range(x.shape[1])
            ]
            for i in range(x.shape[0])
        ]
        columns = split_row(
            rect, [x.shape[1] + 1, outputs["nearest"].shape[1] + 1, outputs["bilinear"].shape[1] + 1], gap=12
        )
        shape = lambda a: "×".join(map(str, a.shape))  # noqa: E731
        mark = lambda mode: " (this layer)" if mode == layer.interpolation else ""  # noqa: E731
        placed = [
            (
                "input",
                columns[0],
                Grid(
                    x[:, :, ch],
                    levels,
                    lut,
                    title=f"Input {shape(x)}: sources",
                    texts=np.array(input_texts, dtype=object),
                    highlights=list(weights),
                    marked=near.terms[0].cell[:2],
                ),
            ),
        ]
        for mode, col in zip(MODES, columns[1:]):
            placed.append(
                (
                    mode,
                    col,
                    Grid(
                        outputs[mode][:, :, ch],
                        levels,
                        lut,
                        title=f"{mode.capitalize()} {shape(outputs[mode])}{mark(mode)}",
                        highlights=[self._cell],
                    ),
                )
            )
        # the input gets its own (larger) cells: its sources carry two lines, the value and the weight
        geometries = paint_grids(painter, placed[:1])
        geometries.update(paint_grids(painter, placed[1:]))
        return geometries
