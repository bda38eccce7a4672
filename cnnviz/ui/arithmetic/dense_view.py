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
from PySide6.QtGui import QColor, QFontMetricsF

from cnnviz.core.layers import Dense
from cnnviz.ui.arithmetic import formulas
from cnnviz.ui.arithmetic.base import ArithmeticView, draw_lines, draw_symbol, find_layer, split_row
from cnnviz.ui.arithmetic.dense_steps import DenseStepModel, Step, dense_step, inner_product_text
from cnnviz.ui.arithmetic.step_kinds import step_model_for
from cnnviz.ui.colormaps import DIVERGING, symmetric_levels
from cnnviz.ui.grid_painter import fitted_font, pixel_font
from cnnviz.ui.vector_view import (
    DETAIL_LIMIT,
    STRIP_TEXT,
    VectorGeometry,
    VectorLayout,
    fitted_vector_layout,
    is_probabilities,
    paint_vector,
)

__all__ = ["DenseView", "dense_index", "dense_model", "dense_step", "inner_product_text", "paint_dense_step"]

TITLE = QColor(60, 60, 60)
LARGEST_ENTRY = 26.0  # px: an entry of the inner product's vectors grows no taller


def strips_layouts(n: int, width: float, height: float, labels: list[list[str]]) -> list[VectorLayout] | None:
    """Layouts for the strips x, w and x·w side by side in `width` × `height`, one per set of entry labels in
    `labels`: the same entry height and rows for all (entry i of each on one line), wrapped into as many
    columns as gives the tallest entries, so a short dock gets several short columns, not one column of tiny
    numbers. None past DETAIL_LIMIT (a block of small cells)."""
    if n > DETAIL_LIMIT:
        return None
    metrics = QFontMetricsF(pixel_font(100 * STRIP_TEXT))
    # per px of entry height: each strip's label column
    label_ws = [max(metrics.horizontalAdvance(t) for t in names) / 100 + 0.4 for names in labels]
    best = None
    for rows in range(1, n + 1):
        columns = -(-n // rows)
        # each strip: `columns` columns of label, cell (2.6 h) and gap (0.6 h)
        need = sum(columns * (label_w + 2.6) + (columns - 1) * 0.6 for label_w in label_ws)
        h = min(height / rows, width / need, LARGEST_ENTRY)
        if best is None or h > best[0] + 0.5:
            best = (h, rows)
    h, rows = best
    return [VectorLayout(n, rows, h * 2.6, h, h * label_w, 0.0, False, True, h * 0.6) for label_w in label_ws]


def dense_index(document) -> int:
    """The selected Dense layer, else the first one; 0 when there is none."""
    return find_layer(document, (Dense,))


def dense_model(document, index: int) -> DenseStepModel:
    """The steps of Dense layer `index` (1-based) of the document."""
    return step_model_for(document.pipeline.layers, document.levels, index)


class DenseView(ArithmeticView):
    """Input vector ⊙ weight column j = products, Σ + bias → activation → output j of the selected Dense."""

    EMPTY = "Add a Dense layer (after a Flatten, for a classifier) to see its inner products."

    def __init__(self, document, parent=None):
        super().__init__(document, "arithmeticDense", parent=parent)
        self.model: DenseStepModel | None = None
        self._unit = 0  # the output unit j shown (follows hover probes on the output)
        self._cell = (0, 0)  # the cell whose channels a Dense on a map reads
        self.start()

    @property
    def unit(self) -> int:
        return self._unit

    @property
    def _k(self) -> int:
        """The step of the model that shows unit j (on a map: at the chosen cell)."""
        if self.model.on_map:
            return self.model.steps.index(Step(self._unit, self._cell))
        return self.model.steps.index(Step(0, (0, self._unit)))

    def refresh(self) -> None:
        index = dense_index(self.document)
        if index != self._index:
            self._unit, self._cell = 0, (0, 0)
        self._index = index
        self.model = dense_model(self.document, index) if index else None
        if self.model is not None:
            x = self.model.x
            self._unit = min(self._unit, self.model.layer.units - 1)
            if x.ndim == 3:
                self._cell = (min(self._cell[0], x.shape[0] - 1), min(self._cell[1], x.shape[1] - 1))
        self.formula.setText(self.formula_text())
        self.canvas.update()

    def step(self) -> dict:
        return self.model.inner_product(self._k)

    def output_value(self) -> float:
        return self.model.value(self._k)

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
        return self.model.probe_target(self._k, key, cell) if self.model else None

    # ------------------------------------------------------------------ text
    def formula_text(self) -> str:
        if self.model is None:
            return ""
        layer, x, j = self.model.layer, self.model.x, self._unit
        where = "" if x.ndim == 1 else f" on cell (row {self._cell[0] + 1}, col {self._cell[1] + 1})"
        head = (f"<b>{layer.label}</b>, output {j}{where}: the inner product of the input with column {j} of the "
                f"kernel ({self.model.inner_product(self._k)['x'].size}×{layer.units}), plus the bias: one neuron "
                "of an ANN.")
        return "<br>".join([head, *self.model.formula_lines(self._k, rich=True)])

    # ------------------------------------------------------------------ painting
    def paint_layer(self, painter, rect: QRectF) -> dict:
        return paint_dense_step(painter, rect, self.model, self._k, every_unit=True)


def paint_dense_step(painter, rect: QRectF, model: DenseStepModel, k: int, every_unit: bool = False) -> dict:
    """Step `k` of a Dense: input ⊙ weight column = products, the sum, and the output with unit j marked
    (the step-through leaves the units later steps compute blank; `every_unit` draws them all). Keys "x", "w",
    "products" and "output"; a vector's entry i is cell (i, 0)."""
    layer = model.layer
    step, j = model.inner_product(k), model.unit(k)
    out = model.output_vector(k)
    title_h = 20.0
    body = rect.adjusted(0, title_h, 0, 0)
    n = step["x"].size
    bars = is_probabilities(layer, out.shape)
    parts = split_row(rect, [9.4, 1.8, 4.5 if bars else 3], gap=4)  # x ⊙ w = x·W | the sum | the output
    cell = model.cell(k)
    labels = [model.input_label(i) for i in range(n)] if n <= DETAIL_LIMIT else None
    vectors = {
        "x": (step["x"], f"input x ({n})" if cell is None else f"x[{cell[0]},{cell[1]},:] ({n})", labels),
        "w": (step["w"], f"weights W[:, {j}]", None),
        "products": (step["products"], "x·W", None),
    }
    geometries = {}
    painter.save()
    painter.setFont(pixel_font(13, bold=True))
    symbol_w = min(40.0, parts[0].width() * 0.08)
    room = parts[0].width() - 2 * symbol_w
    indices = [str(i) for i in range(n)] if n <= DETAIL_LIMIT else []  # no labels on a block of small cells
    layouts = strips_layouts(n, room, body.height(), [labels or indices, indices, indices])
    if layouts is None:  # a long vector: three blocks of small cells
        layouts = [fitted_vector_layout(n, QRectF(0, 0, room / 3, body.height()), cell_px=60)] * 3
    # the strips as wide as they need and the spare width shared around them; the operators between
    spare = max(0.0, room - sum(layout.size[0] for layout in layouts)) / 3
    left, symbols = parts[0].left(), []
    for key, layout in zip(("x", "w", "products"), layouts):
        values, title, names = vectors[key]
        width = layout.size[0] + spare
        part = QRectF(left, rect.top(), width, rect.height())
        origin = QPointF(part.center().x() - layout.size[0] / 2, body.center().y() - layout.size[1] / 2)
        painter.setPen(TITLE)
        title_rect = QRectF(part.left(), origin.y() - title_h, part.width(), title_h)
        font = fitted_font(title, title_rect, bold=True)  # a narrow strip shrinks its title, not cuts it
        painter.setFont(pixel_font(min(13.0, font.pixelSize()), bold=True))
        painter.drawText(title_rect, Qt.AlignmentFlag.AlignCenter, title)
        paint_vector(painter, layout, values, symmetric_levels(values), DIVERGING, labels=names, origin=origin)
        geometries[key] = VectorGeometry(layout, origin)
        symbols.append(QRectF(part.right(), rect.top(), symbol_w, rect.height()))
        left = part.right() + symbol_w
    draw_symbol(painter, symbols[0], "⊙")
    draw_symbol(painter, symbols[1], "=")
    activation = getattr(layer, "activation", None) or "linear"
    lines = [f"Σ + {formulas.num(step['bias'])}", f"= {formulas.format_value(step['z'])}"]
    if activation != "linear":
        lines.append(f"{activation} →")
    draw_lines(painter, parts[1], lines)
    # units not computed yet are drawn as 0 (bars: empty) until their step: their value would tell the result
    shown = out if every_unit else np.where(model.not_yet(k), 0.0, out)
    layout = fitted_vector_layout(out.size, QRectF(parts[2].left(), body.top(), parts[2].width(), body.height()),
                                  bars, cell_px=60)
    origin = QPointF(parts[2].left(), body.center().y() - layout.size[1] / 2)
    painter.setPen(TITLE)
    painter.setFont(pixel_font(13, bold=True))
    painter.drawText(QRectF(parts[2].left(), origin.y() - title_h, parts[2].width(), title_h),
                     Qt.AlignmentFlag.AlignLeft, f"y ({out.size}): y[{j}] = {formulas.format_value(model.value(k))}")
    paint_vector(painter, layout, shown, (0.0, 1.0) if bars else symmetric_levels(out), DIVERGING, origin=origin,
                 marked=j)
    geometries["output"] = VectorGeometry(layout, origin)
    painter.restore()
    return geometries
