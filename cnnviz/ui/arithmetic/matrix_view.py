"""Convolution as a matrix (conv_arithmetic §4): y = C·x + b, live, for the selected Conv2D/Conv2DTranspose.

The flattened input x is drawn as a row above C (each column of C sits under the input cell it multiplies),
b and y as columns to its right (each row of C sits beside the output cell it makes). Structural zeros are
left blank. A Conv2DTranspose is drawn the same way; its matrix is the transpose Cᵀ of the matching Conv2D.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter

from cnnviz.core import ConfigError
from cnnviz.core.layers import Conv2D, Conv2DTranspose
from cnnviz.core.matrix import conv_matrix, transpose_matrix
from cnnviz.ui.arithmetic import formulas
from cnnviz.ui.arithmetic.base import ArithmeticView, find_layer, scene_rect
from cnnviz.ui.colormaps import DIVERGING, format_value, level_style, symmetric_levels
from cnnviz.ui.grid_painter import (
    Grid,
    GridGeometry,
    cached,
    fitted_font,
    paint_colorbar,
    paint_grid,
    pixel_font,
)

MAX_DRAWN_ENTRIES = 40_000  # beyond this the matrix is unreadable on any screen: explain instead
MAX_CELL = 48.0  # wider columns only spread the same picture
X_ROW_PX = 28.0  # the flattened input row's height at most
MIN_ROW_PX = 18.0  # a row of C at least this tall (a cell this size can hold its number): else the view scrolls
LABEL_H = 22.0
MATRIX_KINDS = (Conv2D, Conv2DTranspose)


def cell_sizes(width: float, height: float | None, n_out: int, n_in: int) -> tuple[float, float, float]:
    """(column width, row height, x row height) of the matrix drawn `width` wide; `height`: the room it has
    (None: as much as it needs).

    Columns share one width, as wide as the dock allows (up to MAX_CELL). Rows fill the height, but never get
    shorter than MIN_ROW_PX (at 1366×768 the 32 rows of the seed's C were 1 px tall): when they do not fit,
    they are square if the columns are wide enough, and the view scrolls (see `needed_height`).
    """
    right = 64.0  # the colour bar with its tick labels, and room for "weights"
    width_cell = min(
        (width - 8 - 3.5 * 14 - right) / (n_in + 2),  # gaps of 14 px ...
        (width - 8 - right) / (n_in + 2 + 3.5 * 1.5),  # ... or of 1.5 cells
        MAX_CELL,
    )
    cw = max(width_cell, 0.5)
    x_h = min(cw, X_ROW_PX)  # the flattened input: a strip tall enough to see (it was 3 px)
    fit = min(cw, (height - 4 * LABEL_H - 4 - 1.5 * x_h) / n_out) if height is not None else 0.0
    ch = fit if fit >= MIN_ROW_PX else max(MIN_ROW_PX, cw)
    return cw, ch, x_h


def needed_height(width: float, n_out: int, n_in: int) -> float:
    """How tall the picture is when its rows cannot fit a shorter view (they keep MIN_ROW_PX or more)."""
    _, ch, x_h = cell_sizes(width, None, n_out, n_in)
    return 4 * LABEL_H + 4 + 1.5 * x_h + n_out * ch


def matrix_layout(rect: QRectF, n_out: int, n_in: int, c_title: str, x_title: str):
    """Where x, C, b, y and the colour bar go, and the labels: ({key: rect}, [(rect, text, font, flags)]).

    Cells as `cell_sizes` says: a short wide dock gets wide flat cells instead of a small square picture in
    a corner, and the flattened input row is as tall as a readable strip. Top to bottom: the x title, the x
    row, the C title, the b / y / weights labels, then C with b and y beside it. Each title has a line of
    its own across the whole width, so that it never runs under the narrow b and y columns.
    """
    label_h = LABEL_H
    cw, ch, x_h = cell_sizes(rect.width(), rect.height(), n_out, n_in)
    gap = max(cw * 1.5, 14.0)  # room for the "+" and "=" between C, b and y
    x0, width = rect.left() + 4, rect.width() - 8
    x_line = QRectF(x0, rect.top(), width, label_h)
    x_rect = QRectF(x0, x_line.bottom(), n_in * cw, x_h)
    c_line = QRectF(x0, x_rect.bottom() + 0.5 * x_h, width, label_h)
    c_rect = QRectF(x0, c_line.bottom() + label_h, n_in * cw, n_out * ch)
    b_rect = QRectF(c_rect.right() + gap, c_rect.top(), cw, c_rect.height())
    y_rect = QRectF(b_rect.right() + gap, c_rect.top(), cw, c_rect.height())
    bar = QRectF(y_rect.right() + gap * 1.5, c_rect.top(), 12, min(c_rect.height(), 240))
    bold = pixel_font(15.0, bold=True)
    left_bottom = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom
    centre_bottom = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom
    def column_label(r: QRectF) -> QRectF:
        return QRectF(r.center().x() - (gap + cw) / 2, c_line.bottom(), gap + cw, label_h)

    labels = [
        (x_line, x_title, fitted_font(x_title, x_line, bold=True), left_bottom),
        (c_line, c_title, fitted_font(c_title, c_line, bold=True), left_bottom),
        (column_label(b_rect), "b", bold, centre_bottom),
        (column_label(y_rect), "y", bold, centre_bottom),
        (QRectF(bar.left(), c_line.bottom(), rect.right() - bar.left(), label_h), "weights", bold, left_bottom),
    ]
    middle = c_rect.top() + min(c_rect.height() / 2, 2 * label_h)  # near the top rows when C scrolls
    for symbol, left in (("+", c_rect.right()), ("=", b_rect.right())):
        labels.append((QRectF(left, middle - label_h, gap, 2 * label_h), symbol, bold,
                       Qt.AlignmentFlag.AlignCenter))
    return {"x": x_rect, "matrix": c_rect, "b": b_rect, "y": y_rect, "bar": bar}, labels


@dataclass(frozen=True)
class StretchedGeometry(GridGeometry):
    """A grid whose cells are `cell_w` wide and `cell` tall (hit-testing and outlines follow)."""

    cell_w: float = 0.0

    def cell_rect(self, row: int, col: int) -> QRectF:
        top, _, left, _ = self.pad
        x, y = self.origin.x() + (col + left) * self.cell_w, self.origin.y() + (row + top) * self.cell
        return QRectF(x, y, self.cell_w, self.cell)

    @property
    def grid_rect(self) -> QRectF:
        rows, cols = self.shape
        return QRectF(self.origin.x(), self.origin.y(), cols * self.cell_w, rows * self.cell)

    def cell_at(self, point: QPointF, include_pad: bool = False):
        rows, cols = self.shape
        if self.cell <= 0 or self.cell_w <= 0:
            return None
        col = math.floor((point.x() - self.origin.x()) / self.cell_w)
        row = math.floor((point.y() - self.origin.y()) / self.cell)
        return (row, col) if 0 <= row < rows and 0 <= col < cols else None


def paint_cells(painter: QPainter, rect: QRectF, grid: Grid) -> GridGeometry:
    """paint_grid, with cells as wide and as tall as `rect` gives them (not forced square)."""
    rows, cols = np.shape(grid.values)
    cw, ch = rect.width() / cols, rect.height() / rows
    if abs(cw - ch) < 0.5:
        return paint_grid(painter, rect, grid)
    side = min(cw, ch)
    painter.save()
    painter.translate(rect.topLeft())
    painter.scale(cw / side, ch / side)  # square cells of `side`, stretched; numbers only when unstretched
    with cached(None):  # drawn under the stretch itself, so its lines stay hairlines (a cached image would not)
        geo = paint_grid(painter, QRectF(0, 0, cols * side, rows * side), replace(grid, show_values=False))
    painter.restore()
    origin = QPointF(rect.left() + geo.origin.x() * cw / side, rect.top() + geo.origin.y() * ch / side)
    return StretchedGeometry(origin, ch, geo.shape, geo.pad, geo.title_rect, geo.colorbar_rect, cell_w=cw)


def matching_conv(layer: Conv2DTranspose) -> Conv2D:
    """The Conv2D whose matrix, transposed, is this Conv2DTranspose's (same kernel tensor, channels swapped)."""
    kh, kw, out_c, in_c = layer.kernel.shape
    conv = Conv2D(
        in_c,
        layer.kernel_size,
        strides=layer.strides,
        padding=layer.padding,
        dilation_rate=layer.dilation_rate,
        use_bias=False,
    )
    conv.build((1, 1, out_c))
    conv.set_weights([layer.kernel.copy()])
    return conv


class MatrixView(ArithmeticView):
    """C (or Cᵀ) with x above and b, y beside; hover a row to see that output's dot product."""

    def __init__(self, document, parent=None):
        super().__init__(document, "arithmeticMatrix", parent=parent)
        self._matrix = None
        self._message = ""
        self._row: int | None = None  # the highlighted output cell (flat index)
        self.scroll_canvas()  # rows that cannot keep MIN_ROW_PX in the dock make the picture scroll
        self.start()

    def readable_height(self, width: int, height: int) -> int:
        if self._matrix is None:
            return 0
        rect = scene_rect(width, height)
        n_out, n_in = self._matrix.matrix.shape
        _, ch, _ = cell_sizes(rect.width(), rect.height(), n_out, n_in)
        if ch * n_out <= rect.height():  # the rows fit
            return 0
        return math.ceil(needed_height(rect.width(), n_out, n_in)) + height - int(rect.height())

    def scroll_to_row(self, row: int) -> None:
        """Bring row `row` of C into the scrolled view (a hovered output cell's row)."""
        geo = self.canvas.geometries.get("matrix")
        if geo is not None:
            self.scroll_to(geo.cell_rect(row, 0))

    @property
    def matrix(self):
        """The ConvMatrix shown (None with a message when there is none or it is too large to draw)."""
        return self._matrix

    @property
    def message(self) -> str:
        return self._message

    @property
    def row(self) -> int | None:
        return self._row

    def _arrays(self):
        levels = self.document.levels
        return levels[self._index - 1], levels[self._index]

    def refresh(self) -> None:
        self._index = find_layer(self.document, MATRIX_KINDS)
        self._matrix, self._message = None, ""
        if not self._index:
            self._message = "Add a Conv2D or Conv2DTranspose layer to see it as a matrix."
        else:
            layer = self.document.layer(self._index)
            x, y = self._arrays()
            n_out, n_in = y.size, x.size
            if n_out * n_in > MAX_DRAWN_ENTRIES:  # said before building it: a big matrix costs every stroke
                self._message = (
                    f"{layer.label}: the matrix would be {n_out} × {n_in} = {n_out * n_in:,} entries "
                    f"(rows = {'×'.join(map(str, y.shape))} output cells, columns = "
                    f"{'×'.join(map(str, x.shape))} input cells): too large to draw legibly. "
                    f"Make the input smaller (at most {MAX_DRAWN_ENTRIES:,} entries are drawn) to see it."
                )
            else:
                try:
                    build = transpose_matrix if isinstance(layer, Conv2DTranspose) else conv_matrix
                    self._matrix = build(layer, x.shape)
                except ConfigError as exc:
                    self._message = str(exc)
        if self._matrix is None or (self._row is not None and self._row >= self._matrix.matrix.shape[0]):
            self._row = None
        self.formula.setText(self.formula_text())
        self.fit_canvas()
        self.canvas.update()

    # ------------------------------------------------------------------ the numbers
    def check(self) -> float:
        """max |C·x + b − y| over every output cell: the matrix and the layer agree."""
        x, y = self._arrays()
        m = self._matrix
        return float(np.max(np.abs(m.matrix @ x.ravel().astype(np.float64) + m.bias - y.ravel())))

    def formula_text(self) -> str:
        if self._matrix is None:
            return ""  # the canvas shows the message
        layer = self.document.layer(self._index)
        m = self._matrix
        n_out, n_in = m.matrix.shape
        name = "Cᵀ" if isinstance(layer, Conv2DTranspose) else "C"
        shape = lambda s: "×".join(map(str, s))  # noqa: E731
        lines = [
            f"<b>{layer.label} as a matrix</b>: y = {name}·x + b with {name} of {n_out} rows (output cells "
            f"{shape(m.output_shape)}) × {n_in} columns (input cells {shape(m.input_shape)}); "
            f"{int(np.count_nonzero(m.weight_index >= 0))} of {n_out * n_in} entries are weights, the rest are 0.",
            f"Check: {name}·x + b equals the layer's output everywhere (largest difference {self.check():.1e}).",
        ]
        if isinstance(layer, Conv2DTranspose):
            lines.append(self._transpose_note(layer))
        if self._row is not None:
            lines.append(self.row_formula(self._row))
        else:
            lines.append("Hover a row of the matrix (or any output cell) to see its dot product.")
        return "<br>".join(lines)

    def _transpose_note(self, layer) -> str:
        try:
            conv = matching_conv(layer)
            c = conv_matrix(conv, self._matrix.output_shape)
        except ConfigError:
            return "No Conv2D with these settings maps the output shape back to the input shape."
        if c.output_shape != self._matrix.input_shape:
            return (
                f"The Conv2D with this kernel maps {'×'.join(map(str, self._matrix.output_shape))} to "
                f"{'×'.join(map(str, c.output_shape))}, not to this input shape, so Cᵀ has no Conv2D partner here."
            )
        same = np.allclose(c.matrix.T, self._matrix.matrix)
        return (
            f"This is the transpose of C of a Conv2D with the same kernel from "
            f"{'×'.join(map(str, c.input_shape))} to {'×'.join(map(str, c.output_shape))}: "
            f"Cᵀ == C.T {'✓' if same else '✗'}"
        )

    def row_formula(self, row: int) -> str:
        m = self._matrix
        x, y = self._arrays()
        flat = x.ravel()
        cols = np.flatnonzero(m.weight_index[row] >= 0)
        out_cell = np.unravel_index(row, m.output_shape)
        terms = " + ".join(f"{formulas.num(m.matrix[row, k])}·{formulas.num(flat[k])}" for k in cols)
        return (
            f"row {row} = output cell {tuple(int(v) for v in out_cell)}: y[{row}] = {terms or '0'} + "
            f"{formulas.num(m.bias[row])} = {format_value(y.ravel()[row])}"
        )

    # ------------------------------------------------------------------ linking
    def probe_changed(self, probe) -> None:
        if self._matrix is None:
            return
        row = None
        if probe is not None and probe.cell is not None and probe.level == self._index:
            row = int(np.ravel_multi_index(tuple(probe.cell), self._matrix.output_shape))
        if row != self._row:
            self._row = row
            self.formula.setText(self.formula_text())
            self.canvas.update()
            if row is not None and not self.canvas.underMouse():  # hovered elsewhere: show its row here
                self.scroll_to_row(row)

    def probe_target(self, key, cell):
        """Grid keys: "matrix"/"y"/"b" rows are output cells, "x" columns are input cells."""
        m = self._matrix
        if m is None:
            return None
        if key in ("matrix", "y", "b"):
            return self._index, tuple(int(v) for v in np.unravel_index(cell[0], m.output_shape))
        if key == "x":
            return self._index - 1, tuple(int(v) for v in np.unravel_index(cell[1], m.input_shape))
        return None

    # ------------------------------------------------------------------ painting
    def empty_message(self) -> str:
        return "" if self._matrix is not None else self._message

    def paint_layer(self, painter, rect: QRectF) -> dict:
        m = self._matrix
        layer = self.document.layer(self._index)
        x, y = self._arrays()
        n_out, n_in = m.matrix.shape
        x_lut, x_levels = level_style(self._index - 1, x)
        y_lut, y_levels = level_style(self._index, y)
        name = "Cᵀ" if isinstance(layer, Conv2DTranspose) else "C"
        structural = m.weight_index < 0
        shape = lambda s: "×".join(map(str, s))  # noqa: E731
        rects, labels = matrix_layout(
            rect,
            n_out,
            n_in,
            f"{name} ({n_out} × {n_in}): row = output cell, column = input cell",
            f"xᵀ: the {shape(m.input_shape)} input, flattened row by row",
        )
        x_rect, c_rect, b_rect, y_rect = (rects[k] for k in ("x", "matrix", "b", "y"))
        highlight_rows = [] if self._row is None else [(self._row, 0)]
        used = [] if self._row is None else [(0, int(k)) for k in np.flatnonzero(~structural[self._row])]
        row_cells = [] if self._row is None else [(self._row, int(k)) for k in range(n_in)]
        grids = {
            "x": (x_rect, Grid(x.ravel()[None, :], x_levels, x_lut, highlights=used)),
            "matrix": (
                c_rect,
                Grid(
                    m.matrix,
                    symmetric_levels(m.matrix),
                    DIVERGING,
                    blank=structural,
                    dimmed=structural,
                    highlights=row_cells,
                ),
            ),
            "b": (b_rect, Grid(m.bias[:, None], y_levels, y_lut, highlights=highlight_rows)),
            "y": (y_rect, Grid(y.ravel()[:, None], y_levels, y_lut, highlights=highlight_rows)),
        }
        geometries: dict[str, GridGeometry] = {key: paint_cells(painter, r, g) for key, (r, g) in grids.items()}
        paint_colorbar(painter, rects["bar"], grids["matrix"][1].levels, DIVERGING, 11)
        painter.save()
        painter.setPen(Qt.GlobalColor.black)
        for label_rect, text, font, align in labels:
            painter.setFont(font)
            painter.drawText(label_rect, align, text)
        painter.restore()
        return geometries
