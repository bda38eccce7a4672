"""Vector levels (the output of Flatten, Dense, softmax): a strip of numbered cells, or a bar per class.

A vector has no rows and columns to draw as a map. A short one is a column of cells, each with its index
on the left and its value inside, wrapping into further columns in index order (Flatten's channels-last
order: index (r·W + c)·C + ch). A long one is a block of small cells, column by column, with no text. The
output of a softmax reads as class probabilities: one labelled bar per class with its value, the most
likely class in bold.

`vector_layout` and `paint_vector` are plain QPainter code: the live `VectorStrip` widget and the exported
figures (figure.py) draw the same picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from cnnviz.ui.colormaps import DIVERGING, colorize, format_value, light_cells
from cnnviz.ui.grid_painter import ACCENT, BLACK_TEXT, GRID_LINE, MARK, WHITE_TEXT, pixel_font
from cnnviz.ui.laid_out_text import RIGHT, TextWriter
from cnnviz.ui.map_layout import LevelCard

STRIP_ROWS = 8  # cells in one column of a strip before it wraps into the next (height is what a screen lacks)
DETAIL_LIMIT = 64  # longer vectors are a block of small cells without index labels or numbers
BAR_ROWS = 32  # classes in one column of bars before it wraps
STRIP_TEXT, BAR_TEXT = 0.6, 0.68  # text height as a share of an entry's height
ORIGIN = QPointF(0, 0)
BAR = QColor(70, 130, 200)
BAR_BEST = QColor(214, 96, 77)
HIGHLIGHT_FILL = QColor(0, 170, 80, 60)


def is_probabilities(layer, shape) -> bool:
    """True for a vector that a softmax made: it reads as class probabilities."""
    if len(shape) != 1 or layer is None:
        return False
    name = type(layer).__name__
    return name == "Softmax" or getattr(layer, "activation", None) == "softmax"


def probability_text(p: float) -> str:
    return f"{float(p):.3f}"


@dataclass(frozen=True)
class VectorLayout:
    """Where each entry of a vector sits: `rows` entries per column, columns left to right."""

    n: int
    rows: int
    cell_w: float  # the coloured cell (strip) or the longest bar (bars)
    cell_h: float
    label_w: float  # index or class label left of each cell
    value_w: float  # bars: the value right of the bar
    bars: bool
    detailed: bool  # labels and numbers written
    gap: float  # between two columns

    @property
    def columns(self) -> int:
        return max(1, math.ceil(self.n / self.rows))

    @property
    def column_w(self) -> float:
        return self.label_w + self.cell_w + self.value_w

    @property
    def size(self) -> tuple[float, float]:
        return (self.columns * self.column_w + (self.columns - 1) * self.gap, self.rows * self.cell_h)

    def row_rect(self, i: int, origin: QPointF = ORIGIN) -> QRectF:
        """Label, cell (or bar) and value of entry i: what a hover on it means."""
        col, row = divmod(i, self.rows)
        x = origin.x() + col * (self.column_w + self.gap)
        return QRectF(x, origin.y() + row * self.cell_h, self.column_w, self.cell_h)

    def cell_rect(self, i: int, origin: QPointF = ORIGIN) -> QRectF:
        r = self.row_rect(i, origin)
        return QRectF(r.x() + self.label_w, r.y(), self.cell_w, self.cell_h)

    def index_at(self, point: QPointF, origin: QPointF = ORIGIN) -> int | None:
        x, y = point.x() - origin.x(), point.y() - origin.y()
        if x < 0 or y < 0:
            return None
        col, within = divmod(x, self.column_w + self.gap)
        row = int(y // self.cell_h)
        i = int(col) * self.rows + row
        if within > self.column_w or row >= self.rows or i >= self.n:
            return None
        return i


def vector_labels(n: int, bars: bool, names=None) -> list[str]:
    """Class names where given, else "class i" for bars and the index for a strip."""
    names = list(names or [])
    return [names[i] if i < len(names) and names[i] else (f"class {i}" if bars else str(i)) for i in range(n)]


def vector_layout(n: int, cell_px: float, bars: bool = False, labels=None, smallest: float | None = None) -> VectorLayout:
    """The layout of an n-vector whose maps' cells are `cell_px` wide (the entries follow their size, down to
    `smallest` px tall: by default as small as their text stays readable)."""
    n = max(1, int(n))
    if bars:
        h = max(16.0 if smallest is None else smallest, min(28.0, cell_px * 0.6))
        font = QFontMetricsF(pixel_font(h * BAR_TEXT, bold=True))  # the most likely class is written in bold
        texts = vector_labels(n, True, labels)
        label_w = max(font.horizontalAdvance(t) for t in texts) + h * 0.5
        rows = n if n <= BAR_ROWS else math.ceil(n / math.ceil(n / BAR_ROWS))
        return VectorLayout(n, rows, h * 7, h, label_w, font.horizontalAdvance("0.000") + h * 0.5, True, True,
                            h * 0.8)
    if n <= DETAIL_LIMIT:
        h = max(13.0 if smallest is None else smallest, min(24.0, cell_px * 0.5))
        font = QFontMetricsF(pixel_font(h * STRIP_TEXT))
        texts = vector_labels(n, False, labels)
        label_w = max(font.horizontalAdvance(t) for t in texts) + h * 0.4
        rows = n if n <= STRIP_ROWS + 2 else math.ceil(n / math.ceil(n / STRIP_ROWS))
        return VectorLayout(n, rows, h * 2.6, h, label_w, 0.0, False, True, h * 0.6)
    side = max(3.0, min(10.0, cell_px * 0.25))
    rows = math.ceil(math.sqrt(n))
    return VectorLayout(n, rows, side, side, 0.0, 0.0, False, False, 0.0)


def paint_vector(painter: QPainter, layout: VectorLayout, values, levels, lut=DIVERGING, labels=None,
                 origin: QPointF = ORIGIN, highlight=None, marked: int | None = None,
                 show_values: bool = True) -> None:
    """Paint the vector `values` with `layout` at `origin`; `highlight` is a boolean mask of lit entries."""
    values = np.asarray(values, dtype=np.float32).reshape(-1)
    n = min(layout.n, values.size)
    lit = np.zeros(n, bool) if highlight is None else np.asarray(highlight, bool).reshape(-1)[:n]
    texts = vector_labels(n, layout.bars, labels) if layout.detailed else []  # a block writes no labels
    painter.save()
    if layout.bars:
        _paint_bars(painter, layout, values[:n], texts, origin, lit, marked)
    else:
        _paint_strip(painter, layout, values[:n], levels, lut, texts, origin, lit, marked, show_values)
    painter.restore()


def _paint_strip(painter, layout, values, levels, lut, texts, origin, lit, marked, show_values):
    rgba = colorize(values, levels, lut)
    if not layout.detailed:  # a block of small cells: one image, column by column (a 49 152-vector is one draw)
        _paint_block(painter, layout, rgba, origin)
        _paint_marks(painter, layout, origin, lit, marked, layout.cell_rect)
        return
    write = TextWriter(painter, pixel_font(layout.cell_h * STRIP_TEXT))  # labels and values alike
    light = light_cells(rgba).tolist()
    for i, v in enumerate(values):
        cell = layout.cell_rect(i, origin)
        painter.fillRect(cell, QColor(*(int(c) for c in rgba[i][:3])))
        painter.setPen(QPen(GRID_LINE, 0.6))
        painter.drawRect(cell)
        painter.setPen(QColor(90, 90, 90))
        label = QRectF(cell.x() - layout.label_w, cell.y(), layout.label_w - layout.cell_h * 0.25, cell.height())
        write(label, texts[i], RIGHT)
        if show_values:
            painter.setPen(BLACK_TEXT if light[i] else WHITE_TEXT)
            write(cell, format_value(v))
    _paint_marks(painter, layout, origin, lit, marked, layout.cell_rect)


def _paint_block(painter, layout, rgba, origin):
    rows, cols = layout.rows, layout.columns
    pixels = np.full((cols * rows, 4), 255, np.uint8)
    pixels[: len(rgba)] = rgba
    grid = np.ascontiguousarray(pixels.reshape(cols, rows, 4).transpose(1, 0, 2))  # entry i at (i % rows, i // rows)
    image = QImage(grid.data, cols, rows, cols * 4, QImage.Format.Format_RGBA8888).copy()
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
    painter.drawImage(QRectF(origin.x(), origin.y(), cols * layout.cell_w, rows * layout.cell_h), image)
    painter.restore()


def _paint_bars(painter, layout, values, texts, origin, lit, marked):
    font = pixel_font(layout.cell_h * BAR_TEXT)
    bold = pixel_font(layout.cell_h * BAR_TEXT, bold=True)
    top = max(1.0, float(np.max(values))) if values.size else 1.0  # probabilities: a full bar is 1
    best = int(np.argmax(values)) if values.size else -1
    for i, v in enumerate(values):
        row = layout.row_rect(i, origin)
        cell = layout.cell_rect(i, origin)
        painter.setFont(bold if i == best else font)
        painter.setPen(QColor(30, 30, 30))
        label = QRectF(row.x(), row.y(), layout.label_w - layout.cell_h * 0.3, row.height())
        painter.drawText(label, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, texts[i])
        track = cell.adjusted(0, cell.height() * 0.15, 0, -cell.height() * 0.15)
        painter.fillRect(track, QColor(238, 238, 238))
        bar = QRectF(track.x(), track.y(), track.width() * max(0.0, float(v)) / top, track.height())
        painter.fillRect(bar, BAR_BEST if i == best else BAR)
        value = QRectF(cell.right() + layout.cell_h * 0.3, row.y(), layout.value_w, row.height())
        painter.drawText(value, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, probability_text(v))
    _paint_marks(painter, layout, origin, lit, marked, layout.row_rect)


def _paint_marks(painter, layout, origin, lit, marked, rect_of):
    """The probe's lit entries (tinted, outlined while few) and the one marked entry."""
    indices = np.flatnonzero(lit)
    if indices.size:
        outline = indices.size <= 1024 and layout.cell_h >= 6
        painter.setPen(QPen(ACCENT, 2) if outline else Qt.PenStyle.NoPen)
        painter.setBrush(HIGHLIGHT_FILL)
        for i in indices:
            painter.drawRect(rect_of(int(i), origin).adjusted(1, 1, -1, -1))
    if marked is not None and 0 <= marked < layout.n:
        painter.setPen(QPen(MARK, 3))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect_of(int(marked), origin))


class VectorStrip(QWidget):
    """A vector on screen; reports the entry under the mouse (-1 when it leaves) and clicks."""

    cellHovered = Signal(int)
    cellPressed = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.values = np.zeros(1, np.float32)
        self.levels = (-1.0, 1.0)
        self.lut = DIVERGING
        self.bars = False
        self.labels: list[str] | None = None
        self.show_values = True
        self.highlight: np.ndarray | None = None
        self.cell_px = 24.0
        self.layout_ = vector_layout(1, self.cell_px)

    @property
    def shape(self) -> tuple[int]:
        return (int(self.values.size),)

    def set_data(self, values, levels, lut=DIVERGING, bars: bool = False, labels=None):
        values = np.array(values, dtype=np.float32).reshape(-1)
        relayout = values.size != self.values.size or bars != self.bars or labels != self.labels
        self.values, self.levels, self.lut, self.bars, self.labels = values, tuple(levels), lut, bars, labels
        if relayout:
            self.fit(self.cell_px)
        self.update()

    def set_show_values(self, show: bool):
        self.show_values = bool(show)
        self.update()

    def set_highlight(self, mask):
        mask = None if mask is None or not np.any(mask) else np.asarray(mask, bool).reshape(-1)
        if mask is None and self.highlight is None:
            return
        self.highlight = mask
        self.update()

    def fit(self, cell_px: float):
        """Size the entries after the maps' cell size `cell_px`."""
        self.cell_px = cell_px
        self.layout_ = vector_layout(self.values.size, cell_px, self.bars, self.labels)
        self.setFixedSize(self.size_for(cell_px, self.layout_))

    def size_for(self, cell_px: float, layout: VectorLayout | None = None) -> QSize:
        """The strip's size with its entries sized after the maps' cell size `cell_px`."""
        w, h = (layout or vector_layout(self.values.size, cell_px, self.bars, self.labels)).size
        return QSize(math.ceil(w) + 2, math.ceil(h) + 2)

    def sizeHint(self):  # noqa: N802 (Qt name)
        w, h = self.layout_.size
        return QSize(math.ceil(w) + 2, math.ceil(h) + 2)

    def index_at(self, pos) -> int | None:
        return self.layout_.index_at(QPointF(pos.x() - 1, pos.y() - 1))

    def cell_center(self, i: int):
        """Widget coordinates of entry i's cell (tests drive the mouse with this)."""
        return self.layout_.cell_rect(i, QPointF(1, 1)).center().toPoint()

    def paintEvent(self, ev):
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        paint_vector(painter, self.layout_, self.values, self.levels, self.lut, self.labels, QPointF(1, 1),
                     self.highlight, show_values=self.show_values)
        painter.end()

    def mouseMoveEvent(self, ev):
        i = self.index_at(ev.position())
        self.cellHovered.emit(-1 if i is None else i)

    def mousePressEvent(self, ev):
        i = self.index_at(ev.position())
        if i is not None and ev.button() == Qt.MouseButton.LeftButton:
            self.cellPressed.emit(i)
        ev.accept()

    def leaveEvent(self, ev):
        self.cellHovered.emit(-1)
        super().leaveEvent(ev)


class VectorCard(LevelCard):
    """A vector level in the layer views: caption, the strip (or bars) and its colour bar (strips only)."""

    channel = 0  # a vector has one "channel": the views address its cards as maps' cards

    def __init__(self, level: int, caption: str, parent=None):
        super().__init__(VectorStrip(), caption, parent)
        self.level = level

    def show_vector(self, values, levels, lut, bars: bool, labels=None):
        self.heatmap.set_data(values, levels, lut, bars, labels)
        self.colorbar.set_levels(levels, lut)

    def fit(self, cell_px: float):
        self.heatmap.fit(cell_px)
        self.colorbar.setFixedHeight(max(self.heatmap.height(), 64))

    def size_for(self, cell_px: float) -> QSize:
        """The card's size hint once fitted to `cell_px`."""
        strip = self.heatmap.size_for(cell_px)
        return self.size_at(strip, max(strip.height(), 64))


@dataclass(frozen=True)
class VectorGeometry:
    """Where a painted vector landed, answering as a GridGeometry does: entry i is cell (i, 0)."""

    layout: VectorLayout
    origin: QPointF

    def cell_at(self, point: QPointF, include_pad: bool = False):
        i = self.layout.index_at(point, self.origin)
        return None if i is None else (i, 0)

    def cell_rect(self, row: int, col: int = 0) -> QRectF:
        return self.layout.cell_rect(row, self.origin)

    @property
    def rect(self) -> QRectF:
        w, h = self.layout.size
        return QRectF(self.origin.x(), self.origin.y(), w, h)


def fitted_vector_layout(n: int, room: QRectF, bars: bool = False, labels=None, cell_px: float = 48.0) -> VectorLayout:
    """The largest layout (up to `cell_px`) that fits `room` (down to the smallest entries, which may not)."""
    layout = vector_layout(n, cell_px, bars, labels, smallest=8.0)
    while (layout.size[0] > room.width() or layout.size[1] > room.height()) and cell_px > 8:
        cell_px *= 0.85
        layout = vector_layout(n, cell_px, bars, labels, smallest=8.0)
    return layout
