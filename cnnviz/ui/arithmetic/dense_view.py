"""The lecture's "the solution of CNN turns to something like ANN": one output of a Dense layer, written out.

Output j of a Dense layer is the inner product of its input vector with column j of the kernel (in, units),
plus bias j, through the activation. The view draws the input vector, that weight column and their products
side by side, then the sum, and the layer's whole output with entry j marked; the formula box writes the
same sum with the numbers. Hovering an entry probes it (its sources light up in every earlier level); hovering
an output entry also chooses j. A Dense on an (H, W, C) level acts on each cell's channels (Keras's Dense on
the last axis, a 1×1 convolution): the view then shows the channels of one cell.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor

from cnnviz.ui.arithmetic import formulas
from cnnviz.ui.arithmetic.base import ArithmeticView, draw_lines, draw_symbol, split_row
from cnnviz.ui.colormaps import DIVERGING, symmetric_levels
from cnnviz.ui.grid_painter import pixel_font
from cnnviz.ui.vector_view import VectorGeometry, fitted_vector_layout, is_probabilities, paint_vector

TITLE = QColor(60, 60, 60)
WRITTEN_TERMS = 12  # a longer inner product is written with its first terms, "…", and its last ones


def dense_index(document) -> int:
    """The selected Dense layer, else the first one; 0 when there is none."""
    layers = document.pipeline.layers
    selected = document.selected_layer
    if 1 <= selected <= len(layers) and type(layers[selected - 1]).__name__ == "Dense":
        return selected
    return next((i for i, layer in enumerate(layers, start=1) if type(layer).__name__ == "Dense"), 0)


def dense_step(layer, x: np.ndarray, j: int, cell=None) -> dict:
    """Output unit j of Dense `layer` on input `x` (a vector, or cell `cell` (row, col) of an (H, W, C) map):
    the input vector, weight column, products, sum z (with bias) and the activated value, in float64."""
    kernel, *rest = layer.get_weights()
    vector = np.asarray(x, np.float64).reshape(-1) if x.ndim == 1 else np.asarray(x[cell[0], cell[1], :], np.float64)
    column = np.asarray(kernel[:, j], np.float64)
    products = vector * column
    bias = float(rest[0][j]) if rest else 0.0
    return {"x": vector, "w": column, "products": products, "bias": bias, "z": float(products.sum() + bias)}


def inner_product_text(step: dict, j: int, in_name: str = "x") -> str:
    """`z[j] = x[0]·w[0,j] + x[1]·w[1,j] + … + b[j] = z`, the products with the real numbers."""
    x, w = step["x"], step["w"]
    n = len(x)
    shown = list(range(n)) if n <= WRITTEN_TERMS else list(range(WRITTEN_TERMS - 3)) + [None] + list(range(n - 3, n))
    terms = ["…" if i is None else f"{formulas.num(x[i])}·{formulas.num(w[i])}" for i in shown]
    return (f"z[{j}] = Σᵢ {in_name}[i]·w[i,{j}] + b[{j}] = " + " + ".join(terms)
            + f" + {formulas.num(step['bias'])} = <b>{formulas.format_value(step['z'])}</b>"
            + (f"   ({n} products)" if n > WRITTEN_TERMS else ""))


class DenseView(ArithmeticView):
    """Input vector ⊙ weight column j = products, Σ + bias → activation → output j of the selected Dense."""

    EMPTY = "Add a Dense layer (after a Flatten, for a classifier) to see its inner products."

    def __init__(self, document, parent=None):
        super().__init__(document, "arithmeticDense", parent=parent)
        self._unit = 0  # the output unit j shown (follows hover probes on the output)
        self._cell = (0, 0)  # the cell whose channels a Dense on a map reads
        self.start()

    @property
    def unit(self) -> int:
        return self._unit

    def _arrays(self):
        levels = self.document.levels
        return levels[self._index - 1], levels[self._index]

    def refresh(self) -> None:
        index = dense_index(self.document)
        if index != self._index:
            self._unit, self._cell = 0, (0, 0)
        self._index = index
        if index:
            x, _ = self._arrays()
            self._unit = min(self._unit, self.document.layer(index).units - 1)
            if x.ndim == 3:
                self._cell = (min(self._cell[0], x.shape[0] - 1), min(self._cell[1], x.shape[1] - 1))
        self.formula.setText(self.formula_text())
        self.canvas.update()

    def step(self) -> dict:
        x, _ = self._arrays()
        return dense_step(self.document.layer(self._index), x, self._unit, self._cell)

    def output_value(self) -> float:
        _, y = self._arrays()
        return float(y[self._unit] if y.ndim == 1 else y[self._cell[0], self._cell[1], self._unit])

    # ------------------------------------------------------------------ probes
    def probe_changed(self, probe) -> None:
        """Hovering an output entry of this layer (here or in the layer views) shows that unit."""
        if not self._index or probe is None or probe.cell is None or probe.level != self._index:
            return
        cell = probe.cell
        unit = cell[0] if len(cell) == 1 else cell[2]
        if len(cell) == 3:
            self._cell = (cell[0], cell[1])
        if unit != self._unit or len(cell) == 3:
            self._unit = unit
            self.formula.setText(self.formula_text())
        self.canvas.update()

    def probe_target(self, key, cell):
        i = cell[0]
        x, _ = self._arrays()
        if key == "output":
            return self._index, (i,) if x.ndim == 1 else (*self._cell, i)
        if key in ("x", "w", "products"):
            return self._index - 1, (i,) if x.ndim == 1 else (*self._cell, i)
        return None

    # ------------------------------------------------------------------ text
    def formula_text(self) -> str:
        if not self._index:
            return ""
        layer = self.document.layer(self._index)
        x, _ = self._arrays()
        step = self.step()
        j = self._unit
        where = "" if x.ndim == 1 else (f" on cell (row {self._cell[0] + 1}, col {self._cell[1] + 1}): a Dense on a "
                                        f"map acts on each cell's {x.shape[2]} channels, as a 1×1 convolution")
        head = (f"<b>{layer.label}</b>, output {j}{where}: the inner product of the input with column {j} of the "
                f"kernel ({step['x'].size}×{layer.units}), plus the bias: one neuron of an ANN.")
        lines = [head, inner_product_text(step, j)]
        activation = getattr(layer, "activation", None) or "linear"
        out = formulas.format_value(self.output_value())
        if activation == "softmax":
            z = self._logits()
            with np.errstate(over="ignore"):
                total = formulas.format_value(np.exp(z).sum())
            lines.append(f"softmax: y[{j}] = e^z[{j}] / Σₖ e^z[k] = e^{formulas.num(z[j])} / {total} = <b>{out}</b>"
                         f"   (the {layer.units} outputs add up to 1)")
        elif activation != "linear":
            lines.append(f"{activation}: y[{j}] = {activation}({formulas.format_value(step['z'])}) = <b>{out}</b>")
        return "<br>".join(lines)

    def _logits(self) -> np.ndarray:
        """Every z of the shown input (the softmax needs them all)."""
        x, _ = self._arrays()
        layer = self.document.layer(self._index)
        return np.array([dense_step(layer, x, k, self._cell)["z"] for k in range(layer.units)])

    # ------------------------------------------------------------------ painting
    def paint_layer(self, painter, rect: QRectF) -> dict:
        layer = self.document.layer(self._index)
        x, y = self._arrays()
        step = self.step()
        j = self._unit
        out = y if y.ndim == 1 else y[self._cell[0], self._cell[1], :]
        title_h = 20.0
        body = rect.adjusted(0, title_h, 0, 0)
        n = step["x"].size
        bars = is_probabilities(layer, out.shape)
        parts = split_row(rect, [3, 0.7, 3, 0.7, 3, 1.8, 4.5 if bars else 3], gap=4)
        vectors = {
            "x": (step["x"], f"input x ({n})" if x.ndim == 1 else f"x[{self._cell[0]},{self._cell[1]},:] ({n})"),
            "w": (step["w"], f"weights w[:, {j}]"),
            "products": (step["products"], "x·w"),
        }
        geometries = {}
        painter.save()
        painter.setFont(pixel_font(13, bold=True))
        for key, part in zip(("x", "w", "products"), parts[0:5:2]):
            values, title = vectors[key]
            layout = fitted_vector_layout(n, QRectF(part.left(), body.top(), part.width(), body.height()), cell_px=60)
            origin = QPointF(part.center().x() - layout.size[0] / 2, body.center().y() - layout.size[1] / 2)
            painter.setPen(TITLE)
            painter.drawText(QRectF(part.left(), origin.y() - title_h, part.width(), title_h),
                             Qt.AlignmentFlag.AlignCenter, title)
            paint_vector(painter, layout, values, symmetric_levels(values), DIVERGING, origin=origin)
            geometries[key] = VectorGeometry(layout, origin)
        draw_symbol(painter, parts[1], "⊙")
        draw_symbol(painter, parts[3], "=")
        activation = getattr(layer, "activation", None) or "linear"
        lines = [f"Σ + {formulas.num(step['bias'])}", f"= {formulas.format_value(step['z'])}"]
        if activation != "linear":
            lines.append(f"{activation} →")
        draw_lines(painter, parts[5], lines)
        layout = fitted_vector_layout(out.size, QRectF(parts[6].left(), body.top(), parts[6].width(), body.height()),
                                      bars, cell_px=60)
        origin = QPointF(parts[6].left(), body.center().y() - layout.size[1] / 2)
        painter.setPen(TITLE)
        painter.drawText(QRectF(parts[6].left(), origin.y() - title_h, parts[6].width(), title_h),
                         Qt.AlignmentFlag.AlignLeft, f"y ({out.size}): y[{j}] = {formulas.format_value(self.output_value())}")
        paint_vector(painter, layout, out, (0.0, 1.0) if bars else symmetric_levels(out), DIVERGING, origin=origin,
                     marked=j)
        geometries["output"] = VectorGeometry(layout, origin)
        painter.restore()
        return geometries
