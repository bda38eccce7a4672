"""Figures for slides: the whole pipeline, one layer (input, filters, output), or the step-through frame.

A figure is laid out once in logical pixels and painted with QPainter onto any device: a QImage for PNG
(times a scale factor), QSvgGenerator for SVG and QPdfWriter for PDF (pyqtgraph's SVG exporter fails
with current PySide6: docs/drawing.md, "Figures"). Grids are drawn by grid_painter, exactly as on screen: values in the
cells when they fit, a colour bar per map, padding hatched; every level is labelled with its shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QPoint, QPointF, QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QImage, QPageSize, QPainter, QPainterPath, QPdfWriter, QPen
from PySide6.QtSvg import QSvgGenerator

from cnnviz.core.arithmetic import conv_padding
from cnnviz.io.errors import SessionError
from cnnviz.io.session import write_atomic
from cnnviz.ui.arithmetic.base import scene_rect
from cnnviz.ui.colormaps import DIVERGING, GREYS, format_value, input_levels, symmetric_levels
from cnnviz.ui.grid_painter import Grid, colorbar_font_px, paint_grids, pixel_font, share_number_size
from cnnviz.ui.layer_views import channel_caption, vector_caption
from cnnviz.ui.texts import describe_layer, shape_text
from cnnviz.ui.vector_view import VectorLayout, is_probabilities, paint_vector, vector_layout

FORMATS = ("png", "svg", "pdf")
MAX_PNG_PIXELS = 2**27  # 512 MB of ARGB: a slide needs far less; a mistaken --scale 16 on a big figure far more
CELL = 40.0  # cell side of a small map: numbers readable on a slide
MAX_MAP = 420.0  # a big map is shrunk to this side (its numbers then disappear, its picture stays)
MARGIN = 24.0
GAP = 56.0  # between columns, room for the arrow
HEADING_PX, NOTE_PX, CAPTION_PX = 18.0, 12.5, 13.0
MAX_STACK = 4  # channels stacked in one column before wrapping into another
MAX_STACK_HEIGHT = 1200.0  # cells of a column's stacked maps shrink to keep the figure slide-shaped
MIN_VALUE_PX = 8.0  # numbers smaller than this are not written at all
INK, SOFT = QColor(20, 20, 20), QColor(90, 90, 90)
BAR_W = 70.0  # grid_painter's widest colour bar (largest labels)
BAR_MARGIN = colorbar_font_px(BAR_W) * 0.6  # grid_painter keeps this free above and below the bar
BAR_ROOM = BAR_W * 0.4 + colorbar_font_px(BAR_W) * 3.6  # the bar and its labels, right of the cells


@dataclass
class Column:
    """One level (or the filters): heading, small notes, then one grid per channel."""

    heading: str
    notes: list[str]
    grids: list[Grid] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    stack: int = MAX_STACK  # grids one above the other before a new sub-column starts
    own_cell: bool = False  # the filters: sized on their own; the levels' maps share one cell so sizes compare
    cell: float = CELL  # cell side of every grid in this column (set by Figure)
    vector: Vector | None = None  # a vector level (Flatten, Dense, softmax) instead of grids


@dataclass
class Vector:
    """A vector level drawn as on screen (vector_view): a strip of numbered cells, or a bar per class."""

    values: np.ndarray
    levels: tuple[float, float]
    bars: bool
    caption: str

    def layout(self) -> VectorLayout:
        return vector_layout(self.values.size, CELL, self.bars)


class Figure:
    """Columns of grids left to right with arrows between them; `size` in logical pixels."""

    def __init__(self, columns: list[Column], title: str = ""):
        self.columns = columns
        self.title = title
        shared = _fitting_cell([c for c in columns if not c.own_cell])
        for column in columns:
            column.cell = _fitting_cell([column]) if column.own_cell else shared
            _write_numbers_if_they_fit(column)
        self._layout()

    # ---- layout -------------------------------------------------------------------------------
    @staticmethod
    def _grid_box(grid: Grid, cell: float) -> tuple[float, float, float]:
        """(width, height, room right of the grid) of one grid with its colour bar at cell size `cell`."""
        return _cols(grid) * cell, _rows(grid) * cell + 2 * BAR_MARGIN, BAR_ROOM

    @staticmethod
    def _painter_rect(x: float, y: float, w: float, h: float) -> QRectF:
        """The rect handed to grid_painter so that its cells start at x and its colour bar is the full-size
        one: grid_painter gives the bar clamp(0.16·width, 30, 70) and centres the cells in the rest."""
        width = max(w + BAR_W, BAR_W / 0.16)
        return QRectF(x - (width - BAR_W - w) / 2, y, width, h)

    def _layout(self):
        heading_font, note_font = pixel_font(HEADING_PX, bold=True), pixel_font(NOTE_PX)
        self.placed, self.texts, self.arrows, self.vectors = [], [], [], []
        x = MARGIN
        top = MARGIN + (HEADING_PX * 1.8 if self.title else 0.0)
        header_h = HEADING_PX * 1.5 + max(len(c.notes) for c in self.columns) * NOTE_PX * 1.45 + 8
        bottom = top
        grid_mid = []
        for ci, column in enumerate(self.columns):
            boxes = [self._grid_box(g, column.cell) for g in column.grids]
            n_sub = math.ceil(len(boxes) / column.stack) if boxes else 1
            per_sub = math.ceil(len(boxes) / n_sub) if boxes else 0
            box_w = max((w + room for w, _, room in boxes), default=0.0)
            if column.vector is not None:
                box_w = max(column.vector.layout().size[0],
                            QFontMetricsF(pixel_font(CAPTION_PX)).horizontalAdvance(column.vector.caption) + 4)
            width = max([box_w * n_sub] + [QFontMetricsF(heading_font).horizontalAdvance(column.heading) + 8]
                        + [QFontMetricsF(note_font).horizontalAdvance(n) + 4 for n in column.notes])
            self.texts.append((QRectF(x, top, width, HEADING_PX * 1.4), column.heading, heading_font, INK))
            for k, note in enumerate(column.notes):
                y = top + HEADING_PX * 1.5 + k * NOTE_PX * 1.45
                self.texts.append((QRectF(x, y, width, NOTE_PX * 1.4), note, note_font, SOFT))
            y0 = top + header_h
            for gi, (grid, (w, h, _room)) in enumerate(zip(column.grids, boxes)):
                sub, row = divmod(gi, per_sub) if per_sub else (0, 0)
                gx = x + sub * box_w
                gy = y0 + sum(b[1] + CAPTION_PX * 1.6 for b in boxes[sub * per_sub: sub * per_sub + row])
                caption = column.captions[gi] if gi < len(column.captions) else ""
                self.texts.append((QRectF(gx, gy, box_w, CAPTION_PX * 1.4), caption, pixel_font(CAPTION_PX), INK))
                rect = QRectF(gx, gy + CAPTION_PX * 1.6, w, h)
                painter_rect = self._painter_rect(gx, rect.y(), w, h)
                self.placed.append(((ci, gi), painter_rect, replace(grid, max_cell=column.cell)))
                bottom = max(bottom, rect.bottom())
                if gi == 0:
                    grid_mid.append(rect.center().y())
            if column.vector is not None:
                layout = column.vector.layout()
                self.texts.append((QRectF(x, y0, width, CAPTION_PX * 1.4), column.vector.caption,
                                   pixel_font(CAPTION_PX), INK))
                origin = QPointF(x, y0 + CAPTION_PX * 1.6)
                self.vectors.append((layout, origin, column.vector))
                bottom = max(bottom, origin.y() + layout.size[1])
                grid_mid.append(origin.y() + min(layout.size[1], 6 * layout.cell_h) / 2)
            elif not column.grids:
                grid_mid.append(y0)
            if ci + 1 < len(self.columns):
                self.arrows.append((x + width + 10, x + width + GAP - 10))
            x += width + GAP
        self.placed = share_number_size(self.placed)  # one size of numbers in the whole figure
        self.width = x - GAP + MARGIN
        self.height = bottom + MARGIN
        self.arrow_y = min(grid_mid) if grid_mid else top
        if self.title:
            self.texts.insert(0, (QRectF(MARGIN, MARGIN, self.width - 2 * MARGIN, HEADING_PX * 1.4), self.title,
                                  pixel_font(HEADING_PX * 1.1, bold=True), INK))

    @property
    def size(self) -> QSizeF:
        return QSizeF(math.ceil(self.width), math.ceil(self.height))

    # ---- painting -----------------------------------------------------------------------------
    def paint(self, painter: QPainter) -> None:
        painter.fillRect(QRectF(0, 0, self.size.width(), self.size.height()), QColor("white"))
        for ci in range(len(self.columns)):  # each column at its own cell size
            paint_grids(painter, [p for p in self.placed if p[0][0] == ci])
        for layout, origin, vector in self.vectors:
            paint_vector(painter, layout, vector.values, vector.levels, DIVERGING, origin=origin)
        painter.save()
        for rect, text, font, colour in self.texts:
            if text:
                painter.setFont(font)
                painter.setPen(colour)
                painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for x0, x1 in self.arrows:
            _arrow(painter, QPointF(x0, self.arrow_y), QPointF(x1, self.arrow_y))
        painter.restore()


def _fitting_cell(columns: list[Column]) -> float:
    """The cell side for these columns' grids: CELL, less if a big map would outgrow MAX_MAP or a column's
    stacked maps MAX_STACK_HEIGHT."""
    with_grids = [c for c in columns if c.grids]
    return min([CELL] + [MAX_MAP / max(max(_rows(g), _cols(g)) for g in c.grids) for c in with_grids]
               + [MAX_STACK_HEIGHT / _stack_rows(c) for c in with_grids])


def _write_numbers_if_they_fit(column: Column) -> None:
    """Numbers in every map of the column or in none (it reads as one): when the widest value fits a cell in
    a readable font. Each column decides alone: the small filters keep theirs beside a big map."""
    show = _numbers_fit(column)
    column.grids = [replace(g, show_values=show) if g.show_values is None else g for g in column.grids]


def _numbers_fit(column: Column) -> bool:
    """Whether the widest value's text fits a cell. The column's smallest and largest values are texts it
    must write, so when either is too wide no value is formatted: a 2048×2048 map is decided from two texts,
    not 4 million (formatting them all took seconds, for cells a fraction of a pixel wide)."""
    arrays = [np.asarray(g.values) for g in column.grids if np.size(g.values)]
    if not arrays:
        return True
    room = column.cell * 0.82
    width = QFontMetricsF(pixel_font(MIN_VALUE_PX)).horizontalAdvance
    ends = (min(a.min() for a in arrays), max(a.max() for a in arrays))
    if max(width(format_value(v)) for v in ends) > room:
        return False
    texts = {format_value(v) for a in arrays for v in np.unique(a)}
    return max(map(width, texts)) <= room


def _rows(grid: Grid) -> int:
    return np.shape(grid.values)[0] + grid.pad[0] + grid.pad[1]


def _cols(grid: Grid) -> int:
    return np.shape(grid.values)[1] + grid.pad[2] + grid.pad[3]


def _stack_rows(column: Column) -> int:
    """Cell rows in the tallest sub-column of a column (its grids wrap after `stack`)."""
    n_sub = math.ceil(len(column.grids) / column.stack)
    per_sub = math.ceil(len(column.grids) / n_sub)
    return max(sum(_rows(g) for g in column.grids[i:i + per_sub]) for i in range(0, len(column.grids), per_sub))


def _arrow(painter: QPainter, a: QPointF, b: QPointF) -> None:
    painter.setPen(QPen(SOFT, 2.5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    painter.drawLine(a, b - QPointF(6, 0))
    head = QPainterPath(b)
    head.lineTo(b + QPointF(-12, -7))
    head.lineTo(b + QPointF(-12, 7))
    head.closeSubpath()
    painter.fillPath(head, SOFT)


# ------------------------------------------------------------------------------------------ content

def _level_column(level: int, array: np.ndarray, layer, heading: str, notes: list[str], pad=(0, 0, 0, 0),
                  pad_text: str = "0") -> Column:
    if array.ndim == 1:
        bars = is_probabilities(layer, array.shape)
        vector = Vector(np.ascontiguousarray(array, np.float32), (0.0, 1.0) if bars else symmetric_levels(array),
                        bars, vector_caption(layer, array.shape))
        return Column(heading, notes, vector=vector)
    lut, levels = (GREYS, input_levels(array)) if level == 0 else (DIVERGING, symmetric_levels(array))
    channels = array.shape[2]
    grids = [Grid(np.ascontiguousarray(array[:, :, ch]), levels, lut, colorbar=True, pad=pad, pad_text=pad_text)
             for ch in range(channels)]
    captions = [channel_caption(level, layer, ch, channels) for ch in range(channels)]
    return Column(heading, notes, grids, captions)


def pipeline_figure(x: np.ndarray, pipeline, outputs: list[np.ndarray], title: str = "",
                    training: bool = False) -> Figure:
    """Every level left to right: the input, then each layer's output, labelled with shapes.
    `training`: whether `outputs` were computed in training mode (a Dropout column says which)."""
    columns = [_level_column(0, x, None, f"Input {shape_text(x.shape)}", ["what the network sees"])]
    for i, (layer, y) in enumerate(zip(pipeline.layers, outputs), start=1):
        columns.append(_level_column(i, y, layer, f"{layer.label} → {shape_text(y.shape)}",
                                     _layer_notes(layer, training)))
    return Figure(columns, title)


def _layer_notes(layer, training: bool) -> list[str]:
    if type(layer).__name__ != "Dropout":
        return [describe_layer(layer)]
    mode = (f"training: kept cells × 1/(1 − {layer.rate:g}) = {1 / (1 - layer.rate):.3g}, dropped cells 0"
            if training else "inference: the input unchanged")
    return [describe_layer(layer), mode]


def layer_figure(x: np.ndarray, pipeline, outputs: list[np.ndarray], index: int, title: str = "",
                 training: bool = False) -> Figure:
    """One layer: its input (with the padding it adds), its filters and bias, its output and the arithmetic."""
    if not 1 <= index <= len(pipeline.layers):
        raise SessionError(f"layer {index} does not exist: the pipeline has layers 1 to {len(pipeline.layers)}")
    layer = pipeline.layers[index - 1]
    levels = [x] + list(outputs)
    a, y = levels[index - 1], levels[index]
    kind = type(layer).__name__
    pad, pad_text = (0, 0, 0, 0), "0"
    if kind in ("Conv2D", "MaxPooling2D", "AveragePooling2D") and layer.padding == "same":
        k = layer.kernel_size if kind == "Conv2D" else layer.pool_size
        d = layer.dilation_rate if kind == "Conv2D" else (1, 1)
        pad = (*conv_padding(a.shape[0], k[0], layer.strides[0], "same", d[0]),
               *conv_padding(a.shape[1], k[1], layer.strides[1], "same", d[1]))
        pad_text = "0" if kind == "Conv2D" else ""
    in_name = "Input" if index == 1 else pipeline.layers[index - 2].label
    in_notes = ["padding hatched (" + ("zeros" if pad_text else "ignored by the pool") + ")"] if any(pad) else [""]
    columns = [_level_column(index - 1, a, pipeline.layers[index - 2] if index > 1 else None,
                             f"{in_name} {shape_text(a.shape)}", in_notes, pad, pad_text)]
    if kind in ("Conv2D", "Conv2DTranspose"):
        columns.append(_filter_column(layer))
    elif kind == "Dense":
        columns.append(_dense_kernel_column(layer))
    columns.append(_level_column(index, y, layer, f"{layer.label} → {shape_text(y.shape)}",
                                 _layer_notes(layer, training) + layer.explain_output_shape(a.shape)))
    return Figure(columns, title)


def _filter_column(layer) -> Column:
    """Each filter, one grid per input channel (a Conv2D filter spans every input channel)."""
    kernel = layer.get_weights()[0]
    transpose = type(layer).__name__ == "Conv2DTranspose"
    n_in = kernel.shape[3] if transpose else kernel.shape[2]
    levels = symmetric_levels(kernel)
    grids, captions = [], []
    for f in range(layer.filters):
        for c in range(n_in):
            k = kernel[:, :, f, c] if transpose else kernel[:, :, c, f]
            grids.append(Grid(np.ascontiguousarray(k), levels, DIVERGING, colorbar=True))
            captions.append(f"filter {f + 1}" + (f", channel {c + 1}" if n_in > 1 else ""))
    notes = ["kernel " + "×".join(str(v) for v in layer.kernel_size) + (f"×{n_in} per filter" if n_in > 1 else "")]
    if layer.use_bias:
        notes.append("bias " + ", ".join(format_value(b) for b in layer.get_weights()[1]))
    # a filter's channels one above the other; one-channel filters stack like maps, beside their outputs
    return Column("Filters", notes, grids, captions, stack=n_in if 1 < n_in <= 2 * MAX_STACK else MAX_STACK,
                  own_cell=True)


def _dense_kernel_column(layer) -> Column:
    """A Dense kernel (in, units): row i holds the weights of input i, column j makes output j."""
    kernel, *bias = layer.get_weights()
    notes = [f"kernel {kernel.shape[0]}×{kernel.shape[1]}: output j = input · column j"]
    if bias:
        notes.append("bias " + ", ".join(format_value(b) for b in bias[0][:8]) + (" …" if bias[0].size > 8 else ""))
    grid = Grid(np.ascontiguousarray(kernel), symmetric_levels(kernel), DIVERGING, colorbar=True)
    return Column("Weights", notes, [grid], ["rows: inputs, columns: outputs"], own_cell=True)


class WidgetFigure:
    """Any live widget (e.g. the step-through canvas) plus a line of text under it, as a figure."""

    def __init__(self, widget, caption: str = ""):
        self.widget, self.caption = widget, caption
        w, h = widget.width(), widget.height()
        self.size = QSizeF(w + 2 * MARGIN, h + 2 * MARGIN + (NOTE_PX * 2.2 if caption else 0))

    def paint(self, painter: QPainter) -> None:
        painter.fillRect(QRectF(0, 0, self.size.width(), self.size.height()), QColor("white"))
        painter.save()
        painter.translate(MARGIN, MARGIN)
        paint_scene = getattr(self.widget, "paint_scene", None)
        if paint_scene is not None:
            # A scene canvas paints straight into the export (vectors, sharp at any scale): its screen
            # paint goes through cached 1× bitmaps, which QWidget.render would copy (JPEG in a PDF).
            rect = QRectF(0, 0, self.widget.width(), self.widget.height())
            painter.fillRect(rect, QColor("white"))
            paint_scene(painter, scene_rect(rect.width(), rect.height()))
        else:
            self.widget.render(painter, QPoint(0, 0))
        painter.restore()
        if self.caption:
            painter.setFont(pixel_font(NOTE_PX * 1.2))
            painter.setPen(INK)
            rect = QRectF(MARGIN, MARGIN + self.widget.height() + 4, self.widget.width(), NOTE_PX * 2)
            painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.caption)


# ------------------------------------------------------------------------------------------- output

def figure_format(path) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise SessionError(f"{Path(path).name}: cannot tell the figure format: use a .png, .svg or .pdf name")
    return suffix


def render_bytes(figure, fmt: str, scale: float = 1.0, name: str = "figure") -> bytes:
    """The figure as PNG (scaled), SVG or PDF bytes; `name` (the file) starts any error message."""
    if not (math.isfinite(scale) and 0.1 <= scale <= 16):
        raise SessionError(f"scale must be between 0.1 and 16, got {scale:g}")
    size = figure.size
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if fmt == "png":
        w, h = max(1, round(size.width() * scale)), max(1, round(size.height() * scale))
        if w * h > MAX_PNG_PIXELS:  # 4 bytes each: beyond this, allocation fails or the machine swaps
            raise SessionError(f"{name}: the PNG would be {w}×{h} pixels at scale {scale:g}, more than "
                               f"{MAX_PNG_PIXELS // 10**6} million: use a smaller scale, or SVG or PDF "
                               f"(they scale without pixels)")
        image = QImage(w, h, QImage.Format.Format_ARGB32)
        image.fill(QColor("white"))
        image.setDotsPerMeterX(round(3780 * scale))  # 96 dpi at scale 1: slides show it at its design size
        image.setDotsPerMeterY(round(3780 * scale))
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        painter.scale(scale, scale)
        _paint(painter, figure)
        painter.end()
        image.save(buffer, "PNG")
    elif fmt == "svg":
        generator = QSvgGenerator()
        generator.setOutputDevice(buffer)
        generator.setSize(QSize(round(size.width()), round(size.height())))
        generator.setViewBox(QRectF(0, 0, size.width(), size.height()))
        generator.setResolution(96)  # CSS pixels: the SVG opens at the same size as the PNG at scale 1
        generator.setTitle("cnnviz figure")
        painter = QPainter(generator)
        _paint(painter, figure)
        painter.end()
    elif fmt == "pdf":
        writer = QPdfWriter(buffer)
        writer.setResolution(72)  # one painter unit = one point
        writer.setPageSize(QPageSize(QSizeF(size.width(), size.height()), QPageSize.Unit.Point, "cnnviz"))
        writer.setPageMargins(QMarginsF(0, 0, 0, 0))
        writer.setTitle("cnnviz figure")
        writer.setCreator("cnnviz")
        painter = QPainter(writer)
        _paint(painter, figure)
        painter.end()
    else:
        raise SessionError(f"unknown figure format {fmt!r} (expected png, svg or pdf)")
    return bytes(QByteArray(buffer.data()))


def _paint(painter: QPainter, figure) -> None:
    # the device's default font ("Sans Serif", an alias only fontconfig knows) would name every SVG group
    painter.setFont(pixel_font(NOTE_PX))
    figure.paint(painter)


def save_figure(figure, path, scale: float = 1.0) -> None:
    """Write the figure to `path` (format from its suffix); atomic like session saves."""
    write_atomic(Path(path), render_bytes(figure, figure_format(path), scale, Path(path).name))


def session_figure(session, layer: int | None = None) -> Figure:
    """The figure of a loaded session: the whole pipeline, or one layer (1-based)."""
    training = bool(session.view.get("training", False))
    outputs = session.pipeline.run(session.input, training=training)
    if layer is None:
        return pipeline_figure(session.input, session.pipeline, outputs, training=training)
    return layer_figure(session.input, session.pipeline, outputs, layer, training=training)
