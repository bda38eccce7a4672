"""Draw a 2-D array as a grid of coloured cells with one QPainter routine.

Live views (widgets) and exported figures (QImage, QSvgGenerator, QPdfWriter) call the same `paint_grid`,
so a figure looks exactly like the screen. Everything is sized from the target rectangle in painter
coordinates (fonts use pixel sizes scaled to the cell), never from screen DPI.

Cell coordinates are array coordinates (row, col); padding cells around the array have negative indices or
indices ≥ the array size, so a window that reaches into the padding is described with the same numbers the
core's provenance uses.
"""

from __future__ import annotations

import hashlib
import math
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPen, QRegion

from cnnviz.ui.colormaps import (
    DIGITS_AS_ZERO,
    DIVERGING,
    coded_shapes,
    color_index,
    colorize,
    format_shapes,
    format_value,
    light_cells,
    shape_codes,
)
from cnnviz.ui.laid_out_text import TextWriter

ACCENT = QColor(0, 170, 80)  # highlight outline: green reads on blue, white, red and grey cells alike
MARK = QColor(255, 190, 0)  # the one marked cell (the chosen maximum, the cell being filled)
PAD_FILL = QColor(205, 205, 205)
PAD_HATCH = QColor(140, 140, 140)
GRID_LINE = QColor(120, 120, 120)
DIM = QColor(255, 255, 255, 200)  # veil over cells not reached yet
INSERTED_FILL = QColor(255, 236, 179)  # zeros that are not data (a transposed convolution's stretched input)
INSERTED_TEXT = QColor(140, 110, 40)
# a number's colour on light and on dark cells (light_cells), one QColor each: pens change only between them
BLACK_TEXT, WHITE_TEXT = QColor(0, 0, 0), QColor(255, 255, 255)

MIN_HATCH_CELL = 6  # px: smaller padding cells are drawn as a plain grey band
MIN_TEXT_PX = 7  # smaller cell text is unreadable: leave the cells bare
IMAGE_ABOVE = (
    2500  # more cells than this are drawn as one scaled image (fast); fewer as vector rects (crisp in SVG/PDF)
)

# Every figure and animation names these families, ending in the generic one, so an SVG opened on another
# system (no DejaVu, no "Sans Serif" alias) still shows a sans-serif face instead of a serif default.
FONT_FAMILIES = ("DejaVu Sans", "Arial", "Helvetica", "sans-serif")

Cell = tuple[int, int]


@dataclass
class Grid:
    """What to draw: the values and every decoration (all optional but the values and levels)."""

    values: np.ndarray  # 2-D
    levels: tuple[float, float]
    lut: np.ndarray = field(default_factory=lambda: DIVERGING)
    title: str = ""
    show_values: bool | None = None  # None: write numbers when the cells are large enough
    texts: np.ndarray | None = None  # 2-D array of str overriding the numbers written in the cells
    blank: np.ndarray | None = None  # bool mask: True cells get no text (e.g. not computed yet)
    pad: tuple[int, int, int, int] = (0, 0, 0, 0)  # padding cells (top, bottom, left, right)
    pad_text: str = "0"  # written in padding cells ("" for pooling, whose padding is ignored)
    highlights: Iterable[Cell] = ()
    highlight_color: QColor = field(default_factory=lambda: QColor(ACCENT))
    highlight_fill: QColor | None = None
    marked: Cell | None = None
    dimmed: np.ndarray | None = None  # bool mask (array shape): True cells are veiled
    inserted: np.ndarray | None = None  # bool mask: zeros put between the data (pale amber, whatever the map)
    colorbar: bool = False
    max_cell: float | None = None  # cap the cell side so neighbouring grids share one cell size
    title_px: float | None = None  # cap the title font so neighbouring titles share one size
    value_px: float | None = None  # cap the cell numbers' font so a figure's numbers share one size


@dataclass(frozen=True)
class GridGeometry:
    """Where the cells landed: for hit-testing and for drawing arrows between grids."""

    origin: QPointF  # top-left corner of the top-left padding cell
    cell: float  # cell side in painter units
    shape: tuple[int, int]  # array rows, cols
    pad: tuple[int, int, int, int]
    title_rect: QRectF
    colorbar_rect: QRectF | None

    def cell_rect(self, row: int, col: int) -> QRectF:
        top, _, left, _ = self.pad
        return QRectF(
            self.origin.x() + (col + left) * self.cell, self.origin.y() + (row + top) * self.cell, self.cell, self.cell
        )

    @property
    def grid_rect(self) -> QRectF:
        top, bottom, left, right = self.pad
        rows, cols = self.shape
        return QRectF(
            self.origin.x(), self.origin.y(), (cols + left + right) * self.cell, (rows + top + bottom) * self.cell
        )

    @property
    def array_rect(self) -> QRectF:
        rows, cols = self.shape
        return self.cell_rect(0, 0).united(self.cell_rect(rows - 1, cols - 1))

    def cell_at(self, point: QPointF, include_pad: bool = False) -> Cell | None:
        """The (row, col) under `point`, or None outside the array (or outside the padding too)."""
        top, bottom, left, right = self.pad
        if self.cell <= 0:
            return None
        col = math.floor((point.x() - self.origin.x()) / self.cell) - left
        row = math.floor((point.y() - self.origin.y()) / self.cell) - top
        rows, cols = self.shape
        lo_r, hi_r, lo_c, hi_c = (-top, rows + bottom, -left, cols + right) if include_pad else (0, rows, 0, cols)
        if lo_r <= row < hi_r and lo_c <= col < hi_c:
            return row, col
        return None


def _title_height(rect: QRectF) -> float:
    return max(10.0, min(24.0, rect.height() * 0.08))


def layout_grid(
    rect: QRectF,
    shape: tuple[int, int],
    pad=(0, 0, 0, 0),
    title: str = "",
    colorbar: bool = False,
    max_cell: float | None = None,
) -> GridGeometry:
    """Square cells, as large as fit in `rect` below the title and left of the colour bar, centred (kept: a
    step-through's paint asks for each grid's layout a dozen times while fitting and sizing its numbers)."""
    return _layout_grid(rect.getRect(), tuple(shape), tuple(pad), title, colorbar, max_cell)


@lru_cache(maxsize=1024)
def _layout_grid(rect, shape, pad, title, colorbar, max_cell) -> GridGeometry:
    rect = QRectF(*rect)
    rows, cols = shape
    top, bottom, left, right = pad
    title_h = _title_height(rect) if title else 0.0
    total_r, total_c = rows + top + bottom, cols + left + right
    # The colour bar takes a fixed share of the width (a thin bar plus its labels) and leaves half a
    # label's height free above and below so the end labels are not cut off.
    bar_w = max(30.0, min(70.0, rect.width() * 0.16)) if colorbar else 0.0
    margin = colorbar_font_px(bar_w) * 0.6 if colorbar else 0.0
    avail_h = rect.height() - title_h * 1.4 - 2 * margin
    avail_w = rect.width() - bar_w
    cell = max(0.0, min(avail_w / max(total_c, 1), avail_h / max(total_r, 1)))
    if max_cell is not None:
        cell = min(cell, max_cell)
    grid_w, grid_h = total_c * cell, total_r * cell
    x0 = rect.x() + (avail_w - grid_w) / 2
    y0 = rect.y() + title_h * 1.4 + margin + (avail_h - grid_h) / 2
    # above the colour bar's top label too: a title wider than its grid reaches over the bar
    title_rect = QRectF(rect.x(), y0 - margin - title_h * 1.4, rect.width() - bar_w, title_h * 1.3)
    bar_rect = None
    if colorbar:
        bar_rect = QRectF(x0 + grid_w + bar_w * 0.12, y0, bar_w * 0.22, grid_h)
    return GridGeometry(QPointF(x0, y0), cell, (rows, cols), tuple(pad), title_rect, bar_rect)


def colorbar_font_px(bar_w: float) -> float:
    return max(8.0, min(14.0, bar_w * 0.2))


def pixel_font(size: float, bold: bool = False) -> QFont:
    """The figures' font at `size` pixels (rounded), a copy the caller may change."""
    return QFont(_pixel_font(max(1, int(round(size))), bold))


@lru_cache(maxsize=512)
def _pixel_font(px: int, bold: bool) -> QFont:
    font = QFont()
    font.setFamilies(list(FONT_FAMILIES))
    font.setStyleHint(QFont.StyleHint.SansSerif)
    font.setPixelSize(px)
    font.setBold(bold)
    return font


@lru_cache(maxsize=8192)
def text_width(text: str, px: int, bold: bool = False) -> float:
    """The width of `text` in `pixel_font(px, bold)`, measured once: every paint of a figure asks for its titles
    and its numbers' patterns again."""
    return QFontMetricsF(pixel_font(px, bold)).horizontalAdvance(text)


@lru_cache(maxsize=256)
def line_height(px: int) -> float:
    """The line height of `pixel_font(px)`."""
    return QFontMetricsF(pixel_font(px)).height()


def fitted_font(text: str, rect: QRectF, bold: bool = False) -> QFont:
    """The largest font up to 80 % of the rect's height in which `text` fits the rect's width."""
    font = pixel_font(rect.height() * 0.8, bold)
    width = text_width(text, font.pixelSize(), bold)
    if width > rect.width() > 0:
        font = pixel_font(font.pixelSize() * rect.width() / width * 0.97, bold)
    return font


def _texts_fit(cell: float) -> bool:
    """Whether a cell this size can hold a readable number at all (numbers take at most 40 % of it)."""
    return cell * 0.4 >= MIN_TEXT_PX


def _cell_font(cell: float, texts: list[str]) -> QFont | None:
    """The largest font (up to half the cell: a short number) in which the widest text fits; None if
    unreadable (a cell under MIN_TEXT_PX / 0.4 is left bare).

    A text may have several lines ("5\n×0.25"); they must fit the cell's height too.
    """
    if not _texts_fit(cell):
        return None
    font = pixel_font(cell * 0.5)
    px = font.pixelSize()
    texts = _patterns(texts)  # a few patterns to measure instead of every number
    widest = max((text_width(line, px) for t in texts for line in t.split("\n")), default=0.0)
    tallest = max((t.count("\n") + 1 for t in texts), default=1) * line_height(px)
    shrink = min(1.0, cell * 0.82 / widest if widest else 1.0, cell * 0.9 / tallest)
    if shrink < 1.0:
        font = pixel_font(font.pixelSize() * shrink)
    return font if font.pixelSize() >= MIN_TEXT_PX else None


def hatch_cell(painter: QPainter, r: QRectF) -> None:
    painter.fillRect(r, PAD_FILL)
    painter.save()
    painter.setClipRect(r, Qt.ClipOperation.IntersectClip)  # within a patch's clip too (GridCache)
    painter.setPen(QPen(PAD_HATCH, max(1.0, r.width() * 0.04)))
    step = r.width() / 3
    for i in range(-3, 4):
        x = r.left() + i * step
        painter.drawLine(QPointF(x, r.bottom()), QPointF(x + r.width(), r.top()))
    painter.restore()


def _cells_image(values: np.ndarray, grid: Grid) -> QImage:
    """Every cell colour as one pixel (dimmed cells veiled), made once per content while a cache is active."""

    def make() -> QImage:
        lut, index = grid.lut, color_index(values, grid.levels, grid.lut)
        if grid.dimmed is not None and np.any(grid.dimmed):  # veiled colours: a second table, not per-cell maths
            veil = np.array([DIM.red(), DIM.green(), DIM.blue(), 255], np.float32)
            alpha = DIM.alpha() / 255
            lut = np.concatenate([lut, (lut * (1 - alpha) + veil * alpha).round().astype(np.uint8)])
            index = index + len(grid.lut) * np.asarray(grid.dimmed, bool)
        pixels = np.ascontiguousarray(lut, np.uint8).view(np.uint32).ravel().take(index)  # whole RGBA pixels
        rows, cols = pixels.shape
        return QImage(pixels.data, cols, rows, cols * 4, QImage.Format.Format_RGBA8888).copy()  # owns its pixels

    cache = _active_cache()
    if cache is None:
        return make()
    key = (_key_part(values), grid.levels, _key_part(grid.lut), _key_part(grid.dimmed))
    return cache.cells_image(key, make)


def _paint_cells_as_image(painter: QPainter, geo: GridGeometry, image: QImage) -> None:
    """The cells' image scaled onto the array (no smoothing: cells stay sharp)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
    painter.drawImage(geo.array_rect, image)
    painter.restore()


def paint_colorbar(
    painter: QPainter, bar: QRectF, levels: tuple[float, float], lut: np.ndarray, font_px: float
) -> None:
    """A vertical legend: high at the top, with the two ends (and 0 when it lies inside) labelled."""
    paint_colorbar_ramp(painter, bar, levels, lut)
    paint_colorbar_ticks(painter, bar, levels, font_px)


def paint_colorbar_ramp(painter: QPainter, bar: QRectF, levels: tuple[float, float], lut: np.ndarray) -> None:
    """The legend's colours, high at the top, framed."""
    lo, hi = levels
    steps = max(2, int(bar.height()))
    ramp = np.linspace(hi, lo, steps)[:, None]
    img = QImage(
        np.ascontiguousarray(colorize(ramp, levels, lut)).tobytes(), 1, steps, 4, QImage.Format.Format_RGBA8888
    )
    painter.drawImage(bar, img.copy())
    painter.setPen(QPen(GRID_LINE, 1))
    painter.drawRect(bar)


COLORBAR_LABEL_W = 200  # px given to each label right of a legend (left-aligned: "-12.25" takes far less)


def paint_colorbar_ticks(painter: QPainter, bar: QRectF, levels: tuple[float, float], font_px: float) -> None:
    """The legend's labels: its two ends, and 0 where it lies inside."""
    lo, hi = levels
    painter.setFont(pixel_font(font_px))
    ticks = [(hi, bar.top()), (lo, bar.bottom())]
    if lo < 0 < hi:
        ticks.append((0.0, bar.top() + bar.height() * hi / (hi - lo)))
    painter.setPen(QColor(30, 30, 30))
    for value, y in ticks:
        painter.drawLine(QPointF(bar.right(), y), QPointF(bar.right() + bar.width() * 0.3, y))
        text_rect = QRectF(bar.right() + bar.width() * 0.45, y - font_px, COLORBAR_LABEL_W, 2 * font_px)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, format_value(value))


def _geometry(rect: QRectF, grid: Grid) -> GridGeometry:
    return layout_grid(rect, np.shape(grid.values), grid.pad, grid.title, grid.colorbar, grid.max_cell)


def grid_cell(rect: QRectF, grid: Grid) -> float:
    """The cell side `grid` gets in `rect`."""
    return _geometry(rect, grid).cell


def fit_grids(placed: list[tuple[object, QRectF, Grid]]) -> list[tuple[object, QRectF, Grid]]:
    """The grids with one shared cell size (the smallest that fits all) and one title size."""
    if not placed:
        return placed
    cell = min(_geometry(r, g).cell for _, r, g in placed)
    titled = [(g.title, layout_grid(r, np.shape(g.values), g.pad, g.title, g.colorbar, cell).title_rect)
              for _, r, g in placed if g.title]
    px = min(fitted_font(title, rect).pixelSize() for title, rect in titled) if titled else None
    return [(k, r, replace(g, max_cell=cell, title_px=g.title_px if px is None else px)) for k, r, g in placed]


_TEXTS: dict = {}  # (shape, values' bytes) -> their texts: a step's sizing and its paint ask for the same grids'
MEMO_CELLS = 4096  # texts of grids up to this many cells are kept (a crop or a filter, not a whole big map)


def _cell_texts(values: np.ndarray, grid: Grid) -> np.ndarray:
    """What each cell says (blank cells included: the font must not change as an animation fills them).
    Callers do not change the array: it may be shared."""
    if grid.texts is not None:
        return np.asarray(grid.texts, object)
    key = (values.shape, values.tobytes()) if values.size <= MEMO_CELLS else None
    texts = _TEXTS.get(key)
    if texts is None:
        texts = np.empty(values.shape, object)
        texts.ravel()[:] = [format_value(v) for v in values.ravel().tolist()]
        if key is not None:
            if len(_TEXTS) >= 64:  # grids of edits long done
                _TEXTS.clear()
            _TEXTS[key] = texts
    return texts


@lru_cache(maxsize=4096)
def cell_number_px(cell: float, patterns: frozenset) -> int | None:
    """The pixel size of numbers of these `patterns` (number_patterns) in cells of side `cell` (None: bare)."""
    font = _cell_font(cell, patterns)
    return None if font is None else font.pixelSize()


def number_px(rect: QRectF, grid: Grid) -> float | None:
    """The pixel size of the numbers `grid` writes in `rect` (None: its cells stay bare)."""
    if grid.show_values is False:
        return None
    cell = _geometry(rect, grid).cell
    if not _texts_fit(cell):  # too small for any number: no texts to make (a big map's thousands)
        return None
    px = cell_number_px(cell, number_patterns(grid))
    if px is None:
        return None
    return px if grid.value_px is None else min(px, grid.value_px)


@lru_cache(maxsize=1)
def _digits_alike() -> bool:
    """Whether every digit is as wide as every other in the cells' font, next to a point or a minus too
    (DejaVu Sans and Arial draw tabular figures): then a number's width is its pattern's ("−0.00")."""
    for px in (MIN_TEXT_PX, 12, 20):
        metrics = QFontMetricsF(pixel_font(px))
        if len({metrics.horizontalAdvance(f"−{d}.{d}{d}") for d in "0123456789"}) > 1:
            return False
    return True


def _patterns(texts: Iterable[str]) -> frozenset:
    """The distinct `texts`, each with every digit written 0 when the font's digits are equally wide: what
    their widths depend on (painting 0.25 over 0.75 keeps them; −12.25 over 1 does not)."""
    distinct = set(texts)
    return frozenset(t.translate(DIGITS_AS_ZERO) for t in distinct) if _digits_alike() else frozenset(distinct)


_PATTERNS: dict = {}  # (shape, dtype, values' bytes or digest, padding text) -> number_patterns: sizing and
# painting ask per grid, and a step-through asks for every whole map it crops after each edit (most unchanged)


def number_patterns(grid: Grid) -> frozenset:
    """What the size of `grid`'s numbers depends on besides its cells."""
    key = None
    if grid.texts is None:
        given = np.ascontiguousarray(grid.values)
        # a large map by a 128-bit digest of its values: a key of 16 bytes, not a copy of its megabyte
        data = given.tobytes() if given.size <= MEMO_CELLS else hashlib.blake2b(given, digest_size=16).digest()
        key = (given.shape, given.dtype.str, data, grid.pad_text)
    patterns = _PATTERNS.get(key)
    if patterns is None:
        values = np.asarray(grid.values, dtype=float)
        if grid.texts is None and _digits_alike():  # the shapes of the values' texts, none written out
            patterns = frozenset(format_shapes(values)) | _patterns([grid.pad_text])
        else:
            patterns = _patterns([str(t) for t in np.ravel(_cell_texts(values, grid))] + [grid.pad_text])
        if key is not None:
            if len(_PATTERNS) >= 64:  # grids of edits long done
                _PATTERNS.clear()
            _PATTERNS[key] = patterns
    return patterns


class MapPatterns:
    """number_patterns of one map, edited a few cells at a time: after the first time only the changed cells'
    shapes are worked out again (a step-through asks for every map it crops after every edit, and a 256×256
    map's shapes take about 1 ms)."""

    def __init__(self):
        self.values: np.ndarray | None = None
        self.codes: np.ndarray | None = None
        self.patterns: frozenset | None = None  # of `values`
        self._part = None  # (weakref to the array `values` was a view of, its data address, shape, strides)

    def of(self, values) -> frozenset:
        if not _digits_alike():
            return number_patterns(Grid(values, (0.0, 1.0)))
        # The same part of the same level as last time: the patterns as before, nothing copied or compared (a
        # weight edit asks again for every input channel a step-through crops). A level is replaced by a new
        # array, never changed in place (Heatmap.set_data relies on it too).
        base = values.base if isinstance(values, np.ndarray) and isinstance(values.base, np.ndarray) else None
        part = None if base is None else (values.__array_interface__["data"][0], values.shape, values.strides)
        if part is not None and self._part is not None and self._part[0]() is base and self._part[1:] == part:
            return self.patterns
        self._part = None if part is None else (weakref.ref(base), *part)
        flat = np.array(values).ravel()  # a copy in the map's own dtype: compared at the next edit
        if self.codes is None or self.codes.shape != flat.shape or self.values.dtype != flat.dtype:
            self.codes = shape_codes(flat.astype(np.float64))
        else:
            changed = self.values != flat
            if not changed.any():  # the input's maps after a weight edit: the patterns as before
                return self.patterns
            self.codes[changed] = shape_codes(flat[changed].astype(np.float64))
        self.values = flat
        self.patterns = frozenset(coded_shapes(self.codes, flat)) | _patterns([Grid.pad_text])
        return self.patterns


def share_number_size(placed: list[tuple[object, QRectF, Grid]]) -> list[tuple[object, QRectF, Grid]]:
    """The grids with their cell numbers capped to one size: the smallest any of them needs (a figure
    whose filter writes 16 px numbers beside 11 px map numbers reads as two scales)."""
    sizes = [px for _, r, g in placed if (px := number_px(r, g)) is not None]
    if not sizes:
        return placed
    return [(k, r, replace(g, value_px=min(sizes))) for k, r, g in placed]


def paint_grids(painter: QPainter, placed: list[tuple[object, QRectF, Grid]], same_cell: bool = True) -> dict:
    """Paint several grids, each in its rect, with one shared cell size (the smallest that fits all) and
    one size of numbers."""
    if same_cell:
        placed = share_number_size(fit_grids(placed))
    return {key: paint_grid(painter, rect, grid) for key, rect, grid in placed}


def paint_grid_groups(painter: QPainter, groups: list[list[tuple[object, QRectF, Grid]]]) -> dict:
    """Paint groups of grids: one cell size per group (a 3×3 filter beside a 40×40 input gets cells of its
    own), one size of numbers for them all (the picture reads as one scale)."""
    fitted = [p for group in groups for p in fit_grids(group)]
    return paint_grids(painter, share_number_size(fitted), same_cell=False)


def _key_part(value):
    """A hashable stand-in for one Grid field: arrays by their bytes, colours by their RGBA."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return value.shape, tuple(map(str, value.ravel()))
        return value.shape, value.dtype.str, value.tobytes()
    if isinstance(value, QColor):
        return value.rgba()
    if isinstance(value, (list, tuple)):
        return tuple(_key_part(v) for v in value)
    return value


class _Recent:
    """The most recently used values up to a budget of image bytes (the oldest go first)."""

    def __init__(self, budget: int, image_of):
        self._budget, self._image_of = budget, image_of
        self._values: OrderedDict = OrderedDict()
        self._used = 0

    def get(self, key, make):
        """The value for `key`, made by make() when missing."""
        if key in self._values:
            self._values.move_to_end(key)
            return self._values[key]
        value = self._values[key] = make()
        self._used += self._image_of(value).sizeInBytes()
        while self._used > self._budget and len(self._values) > 1:
            _, old = self._values.popitem(last=False)
            self._used -= self._image_of(old).sizeInBytes()
        return value

    def pop(self, key) -> None:
        """Forget `key` (its value is the caller's now)."""
        if key in self._values:
            self._used -= self._image_of(self._values.pop(key)).sizeInBytes()

    def clear(self) -> None:
        self._values.clear()
        self._used = 0


class GridCache:
    """Pictures of grids painted on screen, kept between paints.

    A view repaints its whole scene when anything in it changes, but a brush stroke changes one or two of
    its grids, and one or a few cells of each: the others are drawn from their picture instead of cell by
    cell, and a changed grid is its last picture with the changed cells drawn again (`_patch`). Keyed by
    everything that is drawn (values, levels, decorations, rectangle), so a picture is never stale.
    """

    PADDING = 32  # px around the rectangle: colour bar labels may reach past it
    LATEST = 64  # frames whose last picture is kept for patching (a view's few grids, an export's)

    def __init__(self):
        self._pictures = _Recent(8 * 2**20, lambda entry: entry[1])  # key -> (origin, QImage, GridGeometry)
        # A big grid's coloured cells on their own: a moved highlight redraws the picture, not the colours.
        self._cells = _Recent(2**20, lambda image: image)
        # frame -> (a copy of the grid, its key, its picture) last drawn in it; a frame is what a picture is
        # made of besides what its cells show (values, texts, blanks, veils, colours)
        self._latest: dict = {}
        self.renders = 0  # grids drawn afresh (tests and benchmarks read it)
        self.patches = 0  # grids drawn as an earlier picture with some cells drawn again
        self.patching = True  # tests turn it off to check that a patched picture is a whole one

    def clear(self) -> None:
        self._pictures.clear()
        self._cells.clear()
        self._latest.clear()

    def cells_image(self, key, make) -> QImage:
        return self._cells.get(key, make)

    def paint(self, painter: QPainter, rect: QRectF, grid: Grid) -> GridGeometry:
        ratio = painter.device().devicePixelRatioF()
        outline = (rect.getRect(), ratio) + tuple(_key_part(getattr(grid, name)) for name in _FRAME_FIELDS)
        key = outline + tuple(_key_part(getattr(grid, name)) for name in _CONTENT_FIELDS)
        made = []

        def make():
            # the frame adds what the fields decide only through the contents: the numbers' size
            frame = outline + (np.shape(grid.values), number_px(rect, grid))
            latest = self._latest.get(frame)
            patched = self._patch(rect, grid, *latest) if latest is not None and self.patching else None
            made.append(frame)
            return patched or self._render(rect, grid, ratio)

        entry = self._pictures.get(key, make)
        if made:  # a new picture: the one to patch next in its frame
            if len(self._latest) >= self.LATEST and made[0] not in self._latest:
                self._latest.clear()  # frames of layouts long gone
            self._latest[made[0]] = (_contents(grid), key, entry)
        origin, image, geometry = entry
        painter.drawImage(origin, image)
        _paint_marks(painter, geometry, grid)  # a moved highlight (hover, step) needs no new picture
        return geometry

    def _render(self, rect: QRectF, grid: Grid, ratio: float):
        # whole pixels, so the picture's cells land exactly where direct painting puts them
        left, top = math.floor(rect.left()) - self.PADDING, math.floor(rect.top()) - self.PADDING
        width = math.ceil(rect.right()) + self.PADDING - left
        height = math.ceil(rect.bottom()) + self.PADDING - top
        image = QImage(round(width * ratio), round(height * ratio), QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(ratio)
        image.fill(Qt.GlobalColor.transparent)
        picture = QPainter(image)
        picture.translate(-left, -top)
        geometry = _paint_grid(picture, rect, grid, marks=False)
        picture.end()
        self.renders += 1
        return QPointF(left, top), image, geometry

    def _patch(self, rect: QRectF, grid: Grid, before: Grid, before_key, entry):
        """The picture of `before` (same frame: rectangle, shape, font, decorations) with the cells whose colour,
        number, text, blank or veil changed drawn again (and the colour bar when the range did); None when
        most cells changed.

        The painter is clipped to the changed cells' box (2 px wider: a grid line's half) and clears it, then
        draws every cell that box touches (a cell more each side) and the lines, frame and (where the clip
        reaches them) title and colour bar: inside the clip that is what a whole paint draws, outside it the
        picture is kept."""
        origin, image, geometry = entry
        changed = _changed_cells(before, grid)
        recoloured = before.levels != grid.levels or _key_part(before.lut) != _key_part(grid.lut)
        if not changed.any() and not recoloured:  # the same cells (values of another dtype): the same picture
            self._pictures.pop(before_key)  # a picture has one key, so that a patch never changes another's
            return entry
        if geometry.cell < 4:
            return None
        clip = QRegion()
        box = (0, 0, 0, 0)
        if changed.any():
            rows, cols = np.nonzero(changed)
            r0, r1, c0, c1 = int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1
            if (r1 - r0) * (c1 - c0) * 2 > changed.size:  # most of them
                return None
            cells = geometry.cell_rect(r0, c0).united(geometry.cell_rect(r1 - 1, c1 - 1))
            clip = QRegion(cells.adjusted(-2, -2, 2, 2).toAlignedRect())
            box = (r0 - 1, r1 + 1, c0 - 1, c1 + 1)
        if recoloured and geometry.colorbar_rect is not None:
            clip = clip.united(QRegion(_colorbar_area(geometry).toAlignedRect()))
        self._pictures.pop(before_key)  # its picture becomes this one, drawn over in place (no copy)
        picture = QPainter(image)
        picture.translate(-origin.x(), -origin.y())
        picture.setClipRegion(clip)
        reach = QRectF(clip.boundingRect())
        picture.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        picture.fillRect(reach.adjusted(-1, -1, 1, 1), Qt.GlobalColor.transparent)  # the clip decides what clears
        picture.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceOver)
        _paint_grid(picture, rect, grid, marks=False, box=box, reach=reach)
        picture.end()
        self.patches += 1
        return origin, image, geometry


def _contents(grid: Grid) -> Grid:
    """`grid` with copies of what its cells show: the arrays it was given are the caller's, who may change them
    in place after the paint."""
    copies = {name: None if getattr(grid, name) is None else np.array(getattr(grid, name)) for name in _CELL_ARRAYS}
    return replace(grid, **copies)


def _changed_cells(before: Grid, after: Grid) -> np.ndarray:
    """Boolean (rows, cols): the cells whose value (bit for bit), colour, text, blank or veil differs."""
    old, new = np.asarray(before.values, dtype=float), np.asarray(after.values, dtype=float)
    changed = old.view(np.int64) != new.view(np.int64)
    if before.levels != after.levels or _key_part(before.lut) != _key_part(after.lut):  # another range: by colour
        changed |= (colorize(old, before.levels, before.lut) != colorize(new, after.levels, after.lut)).any(axis=2)
    for name in ("texts", "blank", "dimmed"):
        a, b = getattr(before, name), getattr(after, name)
        if a is None and b is None:
            continue
        fill = "" if name == "texts" else False
        a = np.full(old.shape, fill, object) if a is None else np.asarray(a, object if name == "texts" else bool)
        b = np.full(new.shape, fill, object) if b is None else np.asarray(b, object if name == "texts" else bool)
        changed |= a != b
    return changed


def _colorbar_area(geo: GridGeometry) -> QRectF:
    """Where a grid's colour bar, its ticks and its labels are drawn (not reaching the cells left of it)."""
    bar = geo.colorbar_rect
    font_px = colorbar_font_px(bar.width() / 0.22)
    # the bar, its ticks and labels (paint_colorbar_ticks), 1-2 px more for the frame's and the text's edges
    return QRectF(bar.left() - 1, bar.top() - font_px - 2, bar.width() * 1.45 + COLORBAR_LABEL_W + 3,
                  bar.height() + 2 * font_px + 4)


# one per thread: an animation export paints its frames in a worker while the window paints its own
_local = threading.local()


def _active_cache() -> GridCache | None:
    return getattr(_local, "cache", None)

_MARK_FIELDS = ("highlights", "highlight_color", "highlight_fill", "marked")  # drawn over a picture
_CELL_ARRAYS = ("values", "texts", "blank", "dimmed")
_CONTENT_FIELDS = (*_CELL_ARRAYS, "levels", "lut")  # what a picture's cells show: patched cell by cell
_FRAME_FIELDS = tuple(f.name for f in fields(Grid) if f.name not in _MARK_FIELDS + _CONTENT_FIELDS)


@contextmanager
def cached(cache: GridCache | None):
    """Within this block paint_grid draws through `cache` (None: directly, as figures must for SVG/PDF)."""
    previous, _local.cache = _active_cache(), cache
    try:
        yield cache
    finally:
        _local.cache = previous


def paint_grid(painter: QPainter, rect: QRectF, grid: Grid) -> GridGeometry:
    """Draw `grid` inside `rect` with `painter`; return where the cells went."""
    # highlights may be a generator (read once) or hold numpy ints: a tuple of int pairs from here on
    grid = replace(grid, highlights=tuple((int(r), int(c)) for r, c in grid.highlights))
    cache = _active_cache()
    if cache is not None:
        return cache.paint(painter, rect, grid)
    return _paint_grid(painter, rect, grid)


def _paint_grid(painter: QPainter, rect: QRectF, grid: Grid, marks: bool = True, box=None,
                reach: QRectF | None = None) -> GridGeometry:
    """The grid; its highlights and marked cell too unless `marks` is False (a cached picture gets them apart).
    `box` (rows r0..r1, cols c0..c1, half-open, padding cells counted negative or past the array) limits the
    cells drawn to those in it; everything else (title, lines, frame, colour bar) is drawn whole, so a painter
    clipped to the box's cells draws what a whole paint draws there (GridCache patches a picture so). The title
    and the colour bar are drawn only where they meet `reach` (the clip's bounds; None: everywhere)."""
    values = np.asarray(grid.values, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"paint_grid needs a 2-D array, got shape {values.shape}")
    geo = layout_grid(rect, values.shape, grid.pad, grid.title, grid.colorbar, grid.max_cell)
    rows, cols = values.shape
    top, bottom, left, right = grid.pad
    r0, r1, c0, c1 = (-top, rows + bottom, -left, cols + right) if box is None else box
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    if grid.title and (reach is None or reach.intersects(geo.title_rect.adjusted(-4, -4, 4, 4))):
        painter.setPen(QColor(20, 20, 20))
        font = fitted_font(grid.title, geo.title_rect, bold=True)
        if grid.title_px is not None and grid.title_px < font.pixelSize():
            font = pixel_font(grid.title_px, bold=True)
        painter.setFont(font)
        painter.drawText(geo.title_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, grid.title)
    if geo.cell <= 0:
        painter.restore()
        return geo

    font, texts = None, None
    if grid.show_values is not False and _texts_fit(geo.cell):  # text could be readable
        texts = _cell_texts(values, grid)
        px = number_px(rect, grid)
        font = None if px is None else pixel_font(px)
        if grid.blank is not None:
            texts = np.where(grid.blank, "", texts)

    if any(grid.pad) and geo.cell < MIN_HATCH_CELL:  # padding cells too small to hatch one by one: a grey band
        painter.fillRect(geo.grid_rect, PAD_FILL)
    elif any(grid.pad):
        for r in range(max(-top, r0), min(rows + bottom, r1)):  # padding cells: hatched
            for c in range(max(-left, c0), min(cols + right, c1)):
                if 0 <= r < rows and 0 <= c < cols:
                    continue
                cr = geo.cell_rect(r, c)
                hatch_cell(painter, cr)
                if font is not None and grid.pad_text:
                    painter.setFont(font)
                    painter.setPen(QColor(60, 60, 60))
                    painter.drawText(cr, Qt.AlignmentFlag.AlignCenter, grid.pad_text)
    as_image = rows * cols > IMAGE_ABOVE and grid.inserted is None
    if as_image:
        _paint_cells_as_image(painter, geo, _cells_image(values, grid))
    (a0, a1), (b0, b1) = (max(r0, 0), min(r1, rows)), (max(c0, 0), min(c1, cols))  # the box's value cells
    if (font is not None or not as_image) and a0 < a1 and b0 < b1:
        part = values[a0:a1, b0:b1]
        rgba = colorize(part, grid.levels, grid.lut)
        inserted = np.zeros(part.shape, bool) if grid.inserted is None else np.asarray(grid.inserted, bool)[a0:a1,
                                                                                                             b0:b1]
        rgba[inserted] = INSERTED_FILL.getRgb()
        # every cell's colour, pen and veil read out of numpy once: per-cell indexing was most of a grid's time
        colours = rgba.tolist()
        light = light_cells(rgba).tolist()
        pens = [[INSERTED_TEXT if ins else (BLACK_TEXT if bright else WHITE_TEXT) for ins, bright in zip(*row)]
                for row in zip(inserted.tolist(), light)]
        veils = np.zeros(values.shape, bool) if grid.dimmed is None else np.asarray(grid.dimmed, bool)
        veils = veils[a0:a1, b0:b1].tolist()
        (x0, y0), cell = (geo.origin.x(), geo.origin.y()), geo.cell
        xs = [x0 + (c + left) * cell for c in range(b0, b1)]  # as GridGeometry.cell_rect places them
        write = None if font is None else TextWriter(painter, font)
        for i, r in enumerate(range(a0, a1)):
            y = y0 + (r + top) * cell
            for j, c in enumerate(range(b0, b1)):
                cr = QRectF(xs[j], y, cell, cell)
                if not as_image:
                    painter.fillRect(cr, QColor(*colours[i][j]))
                text = "" if font is None else str(texts[r, c])
                if text:  # a blank cell (not computed yet) writes nothing
                    painter.setPen(pens[i][j])
                    write(cr, text)
                if veils[i][j] and not as_image:
                    painter.fillRect(cr, DIM)

    # Thin grid lines (unless cells are too small to show them), then a firmer frame around the real
    # array so padding reads as "outside".
    painter.setPen(_line_pen(painter, GRID_LINE, max(1.0, geo.cell * 0.02)))
    full = geo.grid_rect
    if geo.cell >= 4:
        for i in range(rows + top + bottom + 1):
            y = full.top() + i * geo.cell
            painter.drawLine(QPointF(full.left(), y), QPointF(full.right(), y))
        for j in range(cols + left + right + 1):
            x = full.left() + j * geo.cell
            painter.drawLine(QPointF(x, full.top()), QPointF(x, full.bottom()))
    else:
        painter.drawRect(full)
    if any(grid.pad):
        painter.setPen(QPen(QColor(40, 40, 40), max(1.5, geo.cell * 0.05)))
        painter.drawRect(geo.array_rect)

    if geo.colorbar_rect is not None and (reach is None or reach.intersects(_colorbar_area(geo))):
        font_px = colorbar_font_px(geo.colorbar_rect.width() / 0.22)
        paint_colorbar(painter, geo.colorbar_rect, grid.levels, grid.lut, font_px)
    if marks:
        _paint_marks(painter, geo, grid)
    painter.restore()
    return geo


def _line_pen(painter: QPainter, color: QColor, width: float) -> QPen:
    """A pen of `width`; under a stretching transform (wide flat cells) a one-pixel hairline, else the
    stretch would turn the column lines into bars."""
    t = painter.worldTransform()
    pen = QPen(color, width)
    if abs(abs(t.m11()) - abs(t.m22())) > 1e-6:
        pen.setCosmetic(True)
        pen.setWidthF(1.0)
    return pen


def _paint_marks(painter: QPainter, geo: GridGeometry, grid: Grid) -> None:
    """The highlighted cells' outlines (and fill) and the marked cell, over the cells."""
    if geo.cell <= 0 or not grid.highlights and grid.marked is None:
        return
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    pen_w = max(2.0, min(geo.cell * 0.08, 6.0))
    cap, join = Qt.PenCapStyle.SquareCap, Qt.PenJoinStyle.MiterJoin
    painter.setBrush(Qt.BrushStyle.NoBrush)
    if grid.highlights:
        half = pen_w / 2
        inner = [geo.cell_rect(r, c).adjusted(half, half, -half, -half) for r, c in grid.highlights]
        if grid.highlight_fill is not None:
            for rect in inner:
                painter.fillRect(rect, grid.highlight_fill)
        painter.setPen(QPen(grid.highlight_color, pen_w, Qt.PenStyle.SolidLine, cap, join))
        painter.drawRects(inner)
    if grid.marked is not None:
        w = pen_w * 1.4
        painter.setPen(QPen(MARK, w, Qt.PenStyle.SolidLine, cap, join))
        painter.drawRect(geo.cell_rect(*grid.marked).adjusted(w / 2, w / 2, -w / 2, -w / 2))
    painter.restore()
