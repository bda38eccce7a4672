"""The lecture's "a CNN is an ANN with few, shared weights": one output neuron and its synapses.

The selected output cell is drawn as a neuron wired to the input cells it reads, each wire labelled with the
filter weight that defines it (taken from the core's provenance), next to a count of the layer's weights
against a dense layer between the same shapes.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPen

from cnnviz.core.layers import Conv2D, Conv2DTranspose
from cnnviz.core.provenance import cell_provenance
from cnnviz.ui.arithmetic import formulas
from cnnviz.ui.arithmetic.base import MAX_CHANNEL_ROWS, ArithmeticView, find_layer, split_column, split_row
from cnnviz.ui.colormaps import DIVERGING, colorize, level_style, symmetric_levels
from cnnviz.ui.grid_painter import Grid, paint_grids, pixel_font

NEURON_KINDS = (Conv2D, Conv2DTranspose)


def weight_counts(layer, input_shape, output_shape) -> dict:
    """Weights of the conv layer (kh·kw·C (+1 bias) per filter) and of a dense layer of the same shapes."""
    kh, kw = layer.kernel_size
    h, w, c = input_shape
    oh, ow, f = output_shape
    per_filter = kh * kw * c + (1 if layer.use_bias else 0)
    n_in, n_out = h * w * c, oh * ow * f
    return {
        "per_filter": per_filter,
        "conv": per_filter * f,
        "dense": n_in * n_out + n_out,
        "n_in": n_in,
        "n_out": n_out,
    }


def label_stride(spacing: float, label_height: float) -> int:
    """Label every k-th synapse: the labels sit 0.7·spacing apart (30 % of the way to the neuron)."""
    return max(1, math.ceil(label_height / (0.7 * spacing)))


class NeuronView(ArithmeticView):
    """One output neuron of the selected Conv2D with its labelled synapses, and the weight count."""

    EMPTY = "Add a Conv2D layer to see one of its neurons."

    def __init__(self, document, parent=None):
        super().__init__(document, "arithmeticNeuron", parent=parent)
        self._cell = (0, 0, 0)  # the output neuron shown (follows hover probes)
        self.start()

    @property
    def neuron(self) -> tuple[int, int, int]:
        return self._cell

    def _arrays(self):
        levels = self.document.levels
        return levels[self._index - 1], levels[self._index]

    def refresh(self) -> None:
        index = find_layer(self.document, NEURON_KINDS)
        if index != self._index:
            self._cell = (0, 0, 0)
        self._index = index
        if index:
            _, y = self._arrays()
            self._cell = tuple(min(v, n - 1) for v, n in zip(self._cell, y.shape))
        self.formula.setText(self.formula_text())
        self.canvas.update()

    def provenance(self):
        x, _ = self._arrays()
        return cell_provenance(self.document.layer(self._index), x, self._cell)

    def synapses(self) -> list[tuple[tuple[int, int, int], float]]:
        """(input cell, weight) for every real input cell wired to the neuron (padding carries no synapse)."""
        return [(t.cell, t.coefficient) for t in self.provenance().terms if not t.padding]

    def counts(self) -> dict:
        x, y = self._arrays()
        return weight_counts(self.document.layer(self._index), x.shape, y.shape)

    def formula_text(self) -> str:
        if not self._index:
            return ""  # the canvas says what to do
        layer = self.document.layer(self._index)
        x, y = self._arrays()
        k = self.counts()
        kh, kw = layer.kernel_size
        c, f = x.shape[2], y.shape[2]
        bias = " + 1" if layer.use_bias else ""
        prov = self.provenance()
        wired = len(self.synapses())
        r, col, o = self._cell
        with_bias = "plus the bias " + formulas.num(prov.bias) if layer.use_bias else "no bias"
        filters = f"{f} filter{'s' if f != 1 else ''}"
        return "<br>".join(
            [
                f"Neuron y[{r},{col}] of filter {o + 1}: {wired} synapses from the input cells under the window, "
                f"weighted by the filter, {with_bias}: "
                f"value {formulas.format_value(prov.value)}.",
                f"<b>{layer.label}</b>: kh·kw·C{bias} = {kh}·{kw}·{c}{bias} = {k['per_filter']} weights per filter "
                f"× {filters} = <b>{k['conv']:,} weights</b>, shared by all {y.shape[0]}·{y.shape[1]} "
                f"positions of each filter.",
                f"A dense layer between the same shapes: (H·W·C)·(H'·W'·F) + H'·W'·F = {k['n_in']}·{k['n_out']} + "
                f"{k['n_out']} = <b>{k['dense']:,} weights</b> ({k['dense'] / max(k['conv'], 1):.0f}× as many).",
            ]
        )

    # ------------------------------------------------------------------ linking
    def probe_changed(self, probe) -> None:
        if self._index and probe is not None and probe.cell is not None and probe.level == self._index:
            self._cell = tuple(int(v) for v in probe.cell)
            self.formula.setText(self.formula_text())
            self.canvas.update()

    def probe_target(self, key, cell):
        return (self._index, (cell[0], cell[1], key[1])) if key[0] == "output" else None

    # ------------------------------------------------------------------ painting
    def paint_layer(self, painter, rect: QRectF) -> dict:
        x, y = self._arrays()
        r, c, o = self._cell
        synapses = sorted(
            self.synapses(), key=lambda s: (s[0][2], s[0][0], s[0][1])
        )  # channel by channel: wires do not cross
        in_lut, in_levels = level_style(self._index - 1, x)
        out_lut, out_levels = level_style(self._index, y)
        channels = list(range(min(x.shape[2], MAX_CHANNEL_ROWS)))
        columns = split_row(rect, [x.shape[1] + 1, max(5.0, x.shape[1] * 1.3), y.shape[1] + 3])
        placed = []
        for row_rect, ch in zip(split_column(columns[0], [1] * len(channels), gap=6), channels):
            title = "Input" + (f", channel {ch + 1}" if x.shape[2] > 1 else f" {x.shape[0]}×{x.shape[1]}")
            lit = [cell[:2] for cell, _ in synapses if cell[2] == ch]
            placed.append((("input", ch), row_rect, Grid(x[:, :, ch], in_levels, in_lut, title=title, highlights=lit)))
        title = f"Output, filter {o + 1}" if y.shape[2] > 1 else f"Output {y.shape[0]}×{y.shape[1]}"
        placed.append((("output", o), columns[2], Grid(y[:, :, o], out_levels, out_lut, title=title, marked=(r, c))))
        geometries = paint_grids(painter, placed)

        # The ANN picture: each wired input cell becomes an input node (dotted line from its grid cell), each
        # node is joined to the neuron by a synapse labelled with its weight, the neuron feeds the output cell.
        middle = columns[1]
        out_rect = geometries[("output", o)].cell_rect(r, c)
        radius = min(middle.width() * 0.1, 26.0)
        centre = QPointF(middle.left() + middle.width() * 0.78, out_rect.center().y())
        spacing = min(rect.height() / max(len(synapses), 1), 44.0)
        node_r = max(3.0, min(spacing * 0.38, 14.0))
        first_y = centre.y() - spacing * (len(synapses) - 1) / 2
        first_y = min(max(first_y, rect.top() + node_r), rect.bottom() - node_r - spacing * (len(synapses) - 1))
        node_x = middle.left() + middle.width() * 0.3
        weights = [w for _, w in synapses]
        levels = symmetric_levels(weights) if weights else (-1.0, 1.0)
        colours = colorize([weights], levels, DIVERGING)[0] if weights else []
        label_font = pixel_font(max(8.0, min(14.0, spacing * 0.45)))
        value_font = pixel_font(max(6.0, node_r * 0.9))
        metrics = QFontMetricsF(label_font)
        stride = label_stride(spacing, metrics.height() + 2)  # every k-th weight labelled when they would pile up
        painter.save()
        painter.setRenderHint(painter.RenderHint.Antialiasing, True)
        for n, (((row, col, ch), w), rgba) in enumerate(zip(synapses, colours)):
            node = QPointF(node_x, first_y + n * spacing)
            key = ("input", ch)
            if key in geometries:
                painter.setPen(QPen(QColor(150, 150, 150), 1, Qt.PenStyle.DotLine))
                painter.drawLine(QLineF(geometries[key].cell_rect(row, col).center(), node))
            colour = QColor(int(rgba[0]), int(rgba[1]), int(rgba[2]))
            if colour.lightness() > 200:  # a weight near 0: grey, not invisible white
                colour = QColor(170, 170, 170)
            painter.setPen(QPen(colour, 1.0 + 3.0 * abs(w) / max(abs(levels[1]), 1e-9)))
            painter.drawLine(QLineF(node, centre))
            painter.setPen(QPen(QColor(60, 60, 60), 1))
            painter.setBrush(QColor(255, 255, 255))
            painter.drawEllipse(node, node_r, node_r)
            painter.setFont(value_font)
            painter.drawText(
                QRectF(node.x() - node_r, node.y() - node_r, 2 * node_r, 2 * node_r),
                Qt.AlignmentFlag.AlignCenter,
                formulas.format_value(x[row, col, ch]),
            )
            if n % stride:
                continue
            text = "w=" + formulas.format_value(w)
            box = metrics.boundingRect(text).adjusted(-3, -1, 3, 1)
            box.moveCenter(QLineF(node, centre).pointAt(0.3))
            painter.fillRect(box, QColor(255, 255, 255, 230))
            painter.setPen(QColor(30, 30, 30))
            painter.setFont(label_font)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.setPen(QPen(QColor(40, 40, 40), 2))
        painter.drawLine(QLineF(centre, QPointF(out_rect.left(), out_rect.center().y())))
        painter.setBrush(QColor(255, 240, 200))
        painter.drawEllipse(centre, radius, radius)
        painter.setFont(pixel_font(radius * 0.6, bold=True))
        painter.drawText(
            QRectF(centre.x() - radius, centre.y() - radius, 2 * radius, 2 * radius),
            Qt.AlignmentFlag.AlignCenter,
            "Σ+b",
        )
        painter.restore()
        return geometries
