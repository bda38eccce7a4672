"""BatchNormalization at inference, one cell written out: y = γ·(x − μ)/√(σ² + ε) + β with its numbers.

Each channel has its own four numbers (gamma, beta, moving_mean, moving_variance, Keras's weight order), so
per channel the layer is a straight line y = a·x + c with a = γ/√(σ² + ε) and c = β − a·μ: the view draws the
input channel and the output channel side by side with the cell marked, and the formula box writes the cell's
arithmetic and the channel's line. Hover a cell (here or in the layer views) to write that one.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtWidgets import QHBoxLayout

from cnnviz.ui.arithmetic import formulas
from cnnviz.ui.arithmetic.base import ArithmeticView, ChannelBox, draw_lines, split_row
from cnnviz.ui.colormaps import DIVERGING, level_style, symmetric_levels
from cnnviz.ui.grid_painter import Grid, paint_grids
from cnnviz.ui.vector_view import VectorGeometry, fitted_vector_layout, paint_vector


def batchnorm_index(document) -> int:
    """The selected BatchNormalization layer, else the first one; 0 when there is none."""
    layers = document.pipeline.layers
    selected = document.selected_layer
    if 1 <= selected <= len(layers) and type(layers[selected - 1]).__name__ == "BatchNormalization":
        return selected
    return next((i for i, layer in enumerate(layers, start=1) if type(layer).__name__ == "BatchNormalization"), 0)


def channel_numbers(weights: dict, channel: int, epsilon: float) -> dict:
    """γ, β, μ, σ² of one channel (γ = 1 without scale, β = 0 without center) and its line y = a·x + c."""
    n = len(weights["moving_mean"])
    gamma = float(weights["gamma"][channel]) if "gamma" in weights else 1.0
    beta = float(weights["beta"][channel]) if "beta" in weights else 0.0
    mean, var = float(weights["moving_mean"][channel]), float(weights["moving_variance"][channel])
    a = gamma / math.sqrt(var + epsilon)
    return {"gamma": gamma, "beta": beta, "mean": mean, "variance": var, "a": a, "c": beta - a * mean, "n": n}


def cell_line(numbers: dict, x: float, y: float, epsilon: float, name: str) -> str:
    """The cell's arithmetic, step by step, with the real numbers; `y` is the layer's own output."""
    f, num = formulas.format_value, formulas.num
    g, b, m, v = numbers["gamma"], numbers["beta"], numbers["mean"], numbers["variance"]
    root = math.sqrt(v + epsilon)
    return (f"{name} = γ·(x − μ)/√(σ² + ε) + β = {num(g)}·({f(x)} − {num(m)})/√({f(v)} + {epsilon:g}) + {num(b)}"
            f" = {num(g)}·{num(x - m)}/{f(root)} + {num(b)} = <b>{f(y)}</b>")


class BatchNormView(ArithmeticView):
    """Input channel → γ·(x − μ)/√(σ² + ε) + β → output channel of the selected BatchNormalization."""

    EMPTY = "Add a BatchNormalization layer to see its arithmetic per cell."

    def __init__(self, document, parent=None):
        super().__init__(document, "arithmeticBatchNorm", parent=parent)
        self._cell: tuple = (0, 0, 0)  # the cell written out, in the layer's output (a vector: (i,))
        self.channel = ChannelBox("Which channel to draw (each channel has its own γ, β, μ, σ²)")
        self.channel.valueChanged.connect(self._channel_chosen)
        controls = QHBoxLayout()
        controls.addWidget(self.channel)
        controls.addStretch(1)
        self.layout().insertLayout(0, controls)
        self.start()

    @property
    def cell(self) -> tuple:
        return self._cell

    def _arrays(self):
        levels = self.document.levels
        return levels[self._index - 1], levels[self._index]

    def weights(self) -> dict:
        layer = self.document.layer(self._index)
        return {spec.name: array for spec, array in zip(layer.weight_specs(), layer.get_weights(), strict=True)}

    def _channel_of(self, cell) -> int:
        return cell[-1] if len(cell) == 3 else cell[0]

    def refresh(self) -> None:
        index = batchnorm_index(self.document)
        if index != self._index:
            self._cell = (0, 0, 0)
        self._index = index
        self.channel.set_count(0)
        if index:
            x, _ = self._arrays()
            if x.ndim == 1:
                self._cell = (min(self._cell[0], x.size - 1),)
            else:
                cell = self._cell if len(self._cell) == 3 else (0, 0, 0)
                self._cell = tuple(min(v, n - 1) for v, n in zip(cell, x.shape))
                self.channel.set_count(x.shape[2])
                self.channel.blockSignals(True)
                self.channel.setValue(self._cell[2] + 1)
                self.channel.blockSignals(False)
        self.formula.setText(self.formula_text())
        self.canvas.update()

    def _channel_chosen(self, _value) -> None:
        if self._index and len(self._cell) == 3:
            self._cell = (*self._cell[:2], self.channel.index)
            self.refresh()

    # ------------------------------------------------------------------ probes
    def probe_changed(self, probe) -> None:
        if not self._index or probe is None or probe.cell is None or probe.level not in (self._index - 1, self._index):
            return
        x, _ = self._arrays()
        if len(probe.cell) == x.ndim and tuple(probe.cell) != self._cell:
            self._cell = tuple(probe.cell)
            self.refresh()

    def probe_target(self, key, cell):
        x, _ = self._arrays()
        level = self._index - 1 if key == "input" else self._index
        if x.ndim == 1:
            return level, (cell[0],)
        return level, (cell[0], cell[1], self._cell[2])

    # ------------------------------------------------------------------ text
    def formula_text(self) -> str:
        if not self._index:
            return ""
        layer = self.document.layer(self._index)
        x, y = self._arrays()
        epsilon = float(layer.epsilon)
        ch = self._channel_of(self._cell)
        numbers = channel_numbers(self.weights(), ch, epsilon)
        f = formulas.format_value
        where = f"entry {ch}" if x.ndim == 1 else f"channel {ch + 1}"
        name = formulas.cell_name("y", self._cell)
        head = (f"<b>{layer.label}</b> at inference, {where}: γ = {f(numbers['gamma'])}, β = {f(numbers['beta'])}, "
                f"μ = {f(numbers['mean'])} (moving mean), σ² = {f(numbers['variance'])} (moving variance), "
                f"ε = {epsilon:g}")
        line = (f"so every cell of this {'entry' if x.ndim == 1 else 'channel'} is y = {f(numbers['a'])}·x + "
                f"{formulas.num(numbers['c'])}   (a = γ/√(σ² + ε), c = β − a·μ)")
        return "<br>".join([head, cell_line(numbers, float(x[self._cell]), float(y[self._cell]), epsilon, name), line])

    # ------------------------------------------------------------------ painting
    def paint_layer(self, painter, rect: QRectF) -> dict:
        x, y = self._arrays()
        parts = split_row(rect, [3, 1.6, 3], gap=6)
        if x.ndim == 1:
            geometries = {}
            for key, values, part in (("input", x, parts[0]), ("output", y, parts[2])):
                layout = fitted_vector_layout(values.size, part)
                origin = QPointF(part.center().x() - layout.size[0] / 2, part.top())
                paint_vector(painter, layout, values, symmetric_levels(values), DIVERGING, origin=origin,
                             marked=self._cell[0])
                geometries[key] = VectorGeometry(layout, origin)
        else:
            ch = self._cell[2]
            in_lut, in_levels = level_style(self._index - 1, x)
            cell = self._cell[:2]
            grids = [("input", parts[0], Grid(x[:, :, ch], in_levels, in_lut, title=f"x, channel {ch + 1}",
                                              marked=cell)),
                     ("output", parts[2], Grid(y[:, :, ch], symmetric_levels(y[:, :, ch]), DIVERGING, colorbar=True,
                                               title=f"y, channel {ch + 1}", marked=cell))]
            geometries = paint_grids(painter, grids)
        draw_lines(painter, parts[1], ["γ·(x − μ)", "/ √(σ² + ε)", "+ β  →"])
        return geometries

