"""One 2-D map on screen: a plain widget that paints its cells itself.

paintEvent draws one QImage of the colours scaled nearest-neighbour, then the thin cell borders, the
hatched padding, the cell values (only when a cell is big enough on screen to read them, with the text
colour flipped for contrast), the probe highlight and the keyboard cursor. No per-cell widgets or scene
items, so a 256×256 map costs the same as a 6×6 one; a hover or cursor move repaints only the cells it
touches, and the colour image is rebuilt only when the values change.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QPainter,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from cnnviz.ui.colormaps import DIVERGING, colorize, format_value, light_cells
from cnnviz.ui.grid_painter import (
    ACCENT,
    BLACK_TEXT,
    MIN_HATCH_CELL,
    PAD_FILL,
    WHITE_TEXT,
    hatch_cell,
    paint_colorbar_ramp,
    paint_colorbar_ticks,
    pixel_font,
)
from cnnviz.ui.laid_out_text import TextWriter

MIN_TEXT_CELL_PX = 14  # below this a number (at MIN_TEXT_PX) would not be readable
MIN_TEXT_PX = 7.0  # smallest cell text drawn
TEXT_SHARE = 0.5  # text height as a share of the cell (a short number); longer numbers get narrower
CURSOR = QColor(255, 140, 0)
HIGHLIGHT_RGBA = (0, 170, 80, 90)
MIN_OUTLINE_PX = 6  # cells at least this big get a highlight outline; smaller ones a tint (no room for a line)
MAX_OUTLINES = 1024  # more highlighted cells than this are tinted: outlining each would cost too much
MIN_GRID_PX = 8  # smaller cells get no borders (the lines would hide the colours)
SNAP_DEVICE_PX = 6  # cells at least this many device pixels wide are a whole number of them (crisp edges)
GRID_PEN = QColor(0, 0, 0, 45)
COLORBAR_WIDTH = 42


def _argb32_premultiplied(rgba) -> np.uint32:
    """One QImage.Format_ARGB32_Premultiplied pixel, Qt's native format: other formats are converted at
    every paint."""
    r, g, b = (round(v * rgba[3] / 255) for v in rgba[:3])
    return np.uint32((rgba[3] << 24) | (r << 16) | (g << 8) | b)


HIGHLIGHT_PIXEL = _argb32_premultiplied(HIGHLIGHT_RGBA)

_BGRA_LUTS: dict = {}


def _bgra(lut: np.ndarray) -> np.ndarray:
    """A lookup table of whole QImage.Format_ARGB32 pixels (uint32: one gather per cell, not four bytes)."""
    key = id(lut)
    if key not in _BGRA_LUTS:
        pixels = np.ascontiguousarray(lut[:, [2, 1, 0, 3]])  # B, G, R, A: ARGB32 on little-endian machines
        _BGRA_LUTS[key] = (lut, pixels.view(np.uint32).ravel())
    return _BGRA_LUTS[key][1]


def outlined(cell_px: float, count: int) -> bool:
    """Whether highlighted cells are outlined (and so need no tint over their colour)."""
    return cell_px >= MIN_OUTLINE_PX and count <= MAX_OUTLINES


class CellImage:
    """The cells' colours as one QImage, made at the first paint after new data (a map scrolled out of
    sight costs nothing but a reference).

    `image` is the array shown: 2-D values through a 256-entry lookup table, (H, W, 3) RGB values scaled by
    the levels, or (H, W) uint32 Format_ARGB32_Premultiplied pixels used as is.
    """

    def __init__(self):
        self.image: np.ndarray | None = None
        self.levels = (0.0, 1.0)
        self.lut: np.ndarray | None = None
        self._qimage: QImage | None = None
        self._buffer: np.ndarray | None = None  # the pixels the QImage points into

    def set_image(self, image: np.ndarray, levels=(0.0, 1.0), lut: np.ndarray | None = None):
        self.image, self.levels, self.lut = image, levels, lut
        self._qimage = None

    def qimage(self) -> QImage | None:
        if self.image is not None and self._qimage is None:
            self._qimage = self._render()
        return self._qimage

    def set_box(self, r0: int, r1: int, c0: int, c1: int):
        """`image` changed in place in rows r0..r1−1, cols c0..c1−1 only: those cells' pixels are made again."""
        if self._qimage is not None and self.image.dtype != np.uint32:
            self._buffer[r0:r1, c0:c1] = self._pixels(self.image[r0:r1, c0:c1])
            self._qimage = self._wrap()  # a new QImage (cache key) on the same pixels
        else:
            self._qimage = None

    def _render(self) -> QImage:
        img = self.image
        self._buffer = np.ascontiguousarray(img) if img.dtype == np.uint32 else self._pixels(img)  # uint32: as is
        return self._wrap()

    def _wrap(self) -> QImage:
        rows, cols = self._buffer.shape[:2]
        # opaque pixels: premultiplied is the same, and it is the format Qt draws without converting
        return QImage(self._buffer.data, cols, rows, cols * 4, QImage.Format.Format_ARGB32_Premultiplied)

    def _pixels(self, img: np.ndarray) -> np.ndarray:
        """The pixels of (some rows of) the values: each cell's colour depends on its value alone."""
        lo, hi = self.levels
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        with np.errstate(over="ignore", invalid="ignore"):  # values near float32's limit: clipped to 255
            steps = (img - lo) * scale  # float32 like the image; then in place: this runs on every edit
        np.clip(steps, 0, 255, out=steps)
        steps = np.rint(steps, out=steps).astype(np.uint8)
        if img.ndim == 2:
            return _bgra(self.lut).take(steps)
        pixels = np.empty((*img.shape[:2], 4), np.uint8)
        pixels[..., :3] = steps[..., 2::-1]  # RGB -> B, G, R
        pixels[..., 3] = 255
        return pixels


COMB_ROWS = 64  # rows of the vertical grid lines drawn at once (see _vertical_lines)


def _vertical_lines(painter: QPainter, xs: list[float], y0: float, y1: float) -> None:
    """1 px grid lines at `xs` from y0 to y1, as the fills `QRectF(x, y0, 1, y1 - y0)` would draw them.

    A tall 1 px fill makes Qt's raster engine split it over its thread pool and wait for it: a stride change on
    the seed spent a seventh of its time there. One short band of every line is filled instead and the band
    copied down the map, placed on whole device pixels so that nothing is resampled."""
    ratio = painter.device().devicePixelRatioF()
    left, right = math.floor(min(xs) * ratio) - 1, math.ceil((max(xs) + 1) * ratio) + 1  # device pixels
    top, bottom = math.floor(y0 * ratio + 0.5), math.floor(y1 * ratio + 0.5)  # the rows a fill covers
    band = min(COMB_ROWS, bottom - top)
    if band <= 0:
        return
    comb = QImage(right - left, band, QImage.Format.Format_ARGB32_Premultiplied)
    comb.setDevicePixelRatio(ratio)
    comb.fill(Qt.GlobalColor.transparent)
    lines = QPainter(comb)
    for x in xs:
        lines.fillRect(QRectF(x - left / ratio, 0, 1, band / ratio + 1), GRID_PEN)
    lines.end()
    for y in range(top, bottom, band):
        rows = min(band, bottom - y)
        painter.drawImage(QRectF(left / ratio, y / ratio, (right - left) / ratio, rows / ratio), comb,
                          QRectF(0, 0, right - left, rows))


class CellOverlay:
    """What is drawn over the colours: values, borders, hatching, highlight outlines and the cursor.

    It holds the state (tests read `values_drawn`, `show_values` and `highlight`) and paints it for a
    MapGeometry; the cell texts are made once per new set of values.
    """

    def __init__(self):
        self.values: np.ndarray | None = None  # 2-D, or None (RGB view: no numbers)
        self.levels = (0.0, 1.0)
        self.lut: np.ndarray | None = None
        self._texts = None  # (longest, [(row, col, text, QColor)]) built at the first paint after new values
        self.show_values = True
        self.highlight: list[tuple[int, int]] = []  # the lit cells outlined (empty when they are tinted)
        self.cursor: tuple[int, int] | None = None
        self.values_drawn = False  # whether the last paint wrote the numbers (tests read the decision)
        self.hatched = (0, 0, 0, 0)  # rows top, bottom, cols left, right drawn as padding (ZeroPadding2D's zeros)

    def set_values(self, values, levels, lut):
        self.values, self.levels, self.lut = values, levels, lut
        self._texts = None

    def paint(self, painter: QPainter, geo: MapGeometry, rows: range, cols: range):
        """Paint the cells rows × cols (the part of the map being repainted)."""
        cell = geo.cell
        if cell >= MIN_GRID_PX:  # borders as 1 px fills: a stroked line is several times slower to draw
            x0, x1 = geo.x(cols.start), geo.x(cols.stop)
            y0, y1 = geo.y(rows.start), geo.y(rows.stop)
            for r in range(rows.start, rows.stop + 1):
                painter.fillRect(QRectF(x0, geo.y(r) - 0.5, x1 - x0, 1), GRID_PEN)
            _vertical_lines(painter, [geo.x(c) - 0.5 for c in range(cols.start, cols.stop + 1)], y0, y1)
        if any(self.hatched):
            self._paint_hatched(painter, geo)
        self.values_drawn = bool(self.show_values and self.values is not None and cell >= MIN_TEXT_CELL_PX)
        if self.values_drawn:
            self.values_drawn = self._paint_values(painter, geo, rows, cols)
        if self.highlight and outlined(cell, len(self.highlight)):
            painter.setPen(QPen(ACCENT, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            for r, c in self.highlight:
                if r in rows and c in cols:
                    painter.drawRect(geo.cell_rect(r, c).adjusted(1, 1, -1, -1))
        if self.cursor is not None:
            painter.setPen(QPen(CURSOR, 3 if cell >= 12 else 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(geo.cell_rect(*self.cursor))

    def _paint_hatched(self, painter, geo):
        """The padding band hatched cell by cell as in the step-through (a plain grey band when cells are tiny)."""
        rows, cols = geo.shape
        top, bottom, left, right = self.hatched
        inner = rows - top - bottom
        bands = [(0, top, 0, cols), (rows - bottom, bottom, 0, cols), (top, inner, 0, left), (top, inner, cols - right, right)]
        for r0, n_rows, c0, n_cols in bands:
            if n_rows <= 0 or n_cols <= 0:
                continue
            if geo.cell < MIN_HATCH_CELL:
                painter.fillRect(geo.block_rect(r0, c0, n_rows, n_cols), PAD_FILL)
                continue
            for r in range(r0, r0 + n_rows):
                for c in range(c0, c0 + n_cols):
                    hatch_cell(painter, geo.cell_rect(r, c))

    def change_values(self, values, changed, offset=(0, 0)) -> bool:
        """New values where the 2-D bool `changed` is set (its [0, 0] is cell `offset`), same levels and
        colours: only those cells' texts are made again. False when the numbers' size changes with them (the
        whole map must be repainted)."""
        self.values = values
        if self._texts is None:
            return False
        longest, cells = self._texts
        width = values.shape[1]
        rows, cols = np.nonzero(changed)
        rows, cols = rows + offset[0], cols + offset[1]
        for (r, c), text, color in zip(zip(rows.tolist(), cols.tolist()), *self._texts_of(values[rows, cols])):
            cells[r * width + c] = (r, c, text, color)
        self._texts = (max(len(text) for _, _, text, _ in cells), cells)
        return self._texts[0] == longest

    def _texts_of(self, values) -> tuple[list, list]:
        """The texts of these values and their contrasting colours on the cells' own colours."""
        texts = [format_value(v) for v in values.tolist()]
        if self.lut is None:
            return texts, [WHITE_TEXT] * len(texts)
        light = light_cells(colorize(values, self.levels, self.lut)).tolist()
        return texts, [BLACK_TEXT if bright else WHITE_TEXT for bright in light]

    def _cell_texts(self):
        """The numbers and their contrasting colours, made once per new set of values."""
        if self._texts is None:
            rows, cols = np.indices(self.values.shape)
            texts, colors = self._texts_of(self.values.ravel())
            cells = list(zip(rows.ravel().tolist(), cols.ravel().tolist(), texts, colors))
            self._texts = (max((len(text) for text in texts), default=1), cells)
        return self._texts

    def _paint_values(self, painter, geo, rows: range, cols: range) -> bool:
        longest, cells = self._cell_texts()
        cell = geo.cell
        size = min(cell * TEXT_SHARE, cell * 0.92 / (0.6 * max(longest, 1)))
        if size < MIN_TEXT_PX:
            return False
        write = TextWriter(painter, pixel_font(size))
        pen = None
        width = geo.shape[1]
        for r in rows:
            for r_, c, text, color in cells[r * width + cols.start: r * width + cols.stop]:
                if color is not pen:
                    painter.setPen(color)
                    pen = color
                write(geo.cell_rect(r_, c), text)
        return True


class MapGeometry:
    """Where the cells of a rows × cols map sit in a widget: square cells of `cell` px from `origin`,
    centred; at least SNAP_DEVICE_PX device pixels wide, a cell is a whole number of them and starts on
    one, so its edges, grid lines and numbers stay crisp on a 2× screen too."""

    def __init__(self, shape, width: int, height: int, ratio: float):
        self.shape = shape
        rows, cols = shape
        cell = min(width / cols, height / rows) if rows and cols else 1.0
        if cell * ratio >= SNAP_DEVICE_PX:
            cell = math.floor(cell * ratio + 1e-6) / ratio
        self.cell = cell
        self.left = math.floor((width - cols * cell) / 2 * ratio) / ratio
        self.top = math.floor((height - rows * cell) / 2 * ratio) / ratio

    def x(self, col: float) -> float:
        return self.left + col * self.cell

    def y(self, row: float) -> float:
        return self.top + row * self.cell

    def cell_rect(self, row: int, col: int) -> QRectF:
        return QRectF(self.x(col), self.y(row), self.cell, self.cell)

    def block_rect(self, row: int, col: int, rows: int, cols: int) -> QRectF:
        return QRectF(self.x(col), self.y(row), cols * self.cell, rows * self.cell)

    @property
    def rect(self) -> QRectF:
        return self.block_rect(0, 0, *self.shape)

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        r, c = math.floor((y - self.top) / self.cell), math.floor((x - self.left) / self.cell)
        rows, cols = self.shape
        return (r, c) if 0 <= r < rows and 0 <= c < cols else None

    def cells_in(self, area: QRect) -> tuple[range, range]:
        """The rows and cols a widget rectangle touches."""
        rows, cols = self.shape
        r0 = max(0, math.floor((area.top() - self.top) / self.cell))
        r1 = min(rows, math.floor((area.bottom() + 1 - self.top) / self.cell) + 1)
        c0 = max(0, math.floor((area.left() - self.left) / self.cell))
        c1 = min(cols, math.floor((area.right() + 1 - self.left) / self.cell) + 1)
        return range(r0, max(r0, r1)), range(c0, max(c0, c1))

    def area_of(self, cells) -> QRect:
        """The widget rectangle covering these (row, col) cells, with room for outlines drawn on their edges."""
        rows, cols = [r for r, _ in cells], [c for _, c in cells]
        return self.box_area(min(rows), max(rows) + 1, min(cols), max(cols) + 1)

    def box_area(self, r0: int, r1: int, c0: int, c1: int) -> QRect:
        """The widget rectangle covering rows r0..r1−1 × cols c0..c1−1, with room for outlines on their edges."""
        return self.block_rect(r0, c0, r1 - r0, c1 - c0).toAlignedRect().adjusted(-3, -3, 3, 3)


def _box_of(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(r0, r1, c0, c1), the box of the set cells of a 2-D bool mask, from two reductions (not a list of every
    set cell); None when none is set."""
    rows = np.flatnonzero(mask.any(axis=1))
    if not len(rows):
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


class Heatmap(QWidget):
    """A map of cells that reports the cell under the mouse; editable maps also report strokes."""

    cellHovered = Signal(int, int)  # row, col; (-1, -1) when the mouse leaves
    cellPressed = Signal(int, int, object)  # row, col, Qt.MouseButton
    cellDragged = Signal(int, int)  # the cell entered while a button is held
    strokeEnded = Signal()
    cellDoubleClicked = Signal(int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # paintEvent fills every pixel itself
        self._image = CellImage()
        self._overlay = CellOverlay()
        self.mask = CellImage()  # the probe's cells tinted, where the overlay cannot outline them
        self.shape = (0, 0)
        self._levels = (0.0, 1.0)
        self._lut = None
        self._source = None  # the array the shown values came from (set_data's `source`)
        self._pending = None  # (values, levels, lut) given while out of view, taken when next painted or read
        self._pressed = False
        self._last_cell = None
        self._highlight: np.ndarray | None = None  # 2-D bool, or None
        self._fit_size: QSize | None = None  # the size fit() asked for
        self._geometry = None  # ((shape, width, height, pixel ratio), MapGeometry)

    def viewport(self) -> QWidget:
        """The widget that takes the mouse: the map itself (code that drives maps sends its events here)."""
        return self

    # ------------------------------------------------------------------ data
    @property
    def image(self) -> CellImage:
        """The colours shown (values given while the map was out of view taken first)."""
        self._catch_up()
        return self._image

    @property
    def overlay(self) -> CellOverlay:
        """The numbers, borders and marks drawn over the colours (values given while out of view taken first)."""
        self._catch_up()
        return self._overlay

    @property
    def levels(self) -> tuple[float, float]:
        """The colour range shown (values given while out of view taken first)."""
        self._catch_up()
        return self._levels

    def set_data(self, values: np.ndarray, levels, lut: np.ndarray | None = DIVERGING, source=None, since=None,
                 cells=None):
        """Show a 2-D map through `lut`, or an (H, W, 3) RGB array when `lut` is None.

        `source`: the array `values` are a part of (a level), remembered as what the map shows; a source is
        replaced by a new array, never changed in place. So a map wholly out of view (scrolled away, on a
        hidden page) keeps only a reference to new values of its shape and takes them when it is next painted
        or read: nothing of it is on screen until then. `cells` with `since`: the values differ from those of
        the source `since` only in the cells `cells` names (LevelChange.cells: a box and which of its cells
        changed), so when the map still shows `since` (same shape, levels and colours) only those are copied,
        coloured and repainted, and nothing when none changed."""
        levels = (float(levels[0]), float(levels[1]))
        old = self._image.image
        same_shape = old is not None and np.shape(values) == old.shape
        if source is not None and same_shape and not self.in_view():
            self._pending, self._source = (values, levels, lut), source
            return
        kept = (self._pending is None and cells is not None and since is not None and since is self._source
                and same_shape and old.ndim == 2 and levels == self._levels and lut is self._lut)
        self._pending, self._source = None, source
        if kept:
            if cells[0] < cells[1]:
                self._set_cells(values, cells)
            return
        self._take(values, levels, lut)

    def in_view(self) -> bool:
        """Whether any of the map is on screen (not scrolled away, hidden or covered by its parents' edges)."""
        return not self.visibleRegion().isEmpty()

    def _catch_up(self, repaint: bool = True):
        """Take the values given while the map was out of view (`repaint`: ask for the cells they change)."""
        if self._pending is not None:
            values, levels, lut = self._pending
            self._pending = None
            self._take(values, levels, lut, repaint)

    def _take(self, values, levels, lut, repaint: bool = True):
        """New values compared with the map's whole copy (set_data without `cells`): with the same shape,
        range and colours, only the box of the cells that differ is taken (and nothing when none do)."""
        old = self._image.image
        if old is not None and old.shape == np.shape(values) and levels == self._levels and lut is self._lut:
            changed = old != values
            box = _box_of(changed.any(axis=2) if changed.ndim == 3 else changed)
            if box is not None:  # else an edit elsewhere in the pipeline: this map shows what it showed
                r0, r1, c0, c1 = box
                self._set_cells(values, (r0, r1, c0, c1, changed[r0:r1, c0:c1]), repaint)
            return
        values = np.array(values, dtype=np.float32)  # a fresh copy: the caller's array may change later
        self._lut = lut
        self._image.set_image(values, levels, lut)
        self._levels = levels
        if values.shape[:2] != self.shape:
            self.shape = values.shape[:2]
            self._apply_highlight()
        self._overlay.set_values(values if values.ndim == 2 else None, levels, lut)
        if repaint:
            self.update()

    def _set_cells(self, values, cells, repaint: bool = True):
        """New values in the box of `cells` only: the map's copy, colours and texts of its cells."""
        r0, r1, c0, c1, changed = cells
        shown = self._image.image
        shown[r0:r1, c0:c1] = values[r0:r1, c0:c1]  # the map's own copy of the values, in place
        self._image.set_box(r0, r1, c0, c1)
        geo = self.map_geometry()
        # no numbers at this size or in colour (none to shrink with a longer one): the box is all to repaint
        numbers = self._overlay.show_values and geo.cell >= MIN_TEXT_CELL_PX and shown.ndim == 2
        if shown.ndim == 3 or self._overlay.change_values(shown, changed, (r0, c0)) or not numbers:
            if repaint:
                self.update(geo.box_area(r0, r1, c0, c1))
            return
        self._overlay.set_values(shown, self._levels, self._lut)
        if repaint:
            self.update()

    def set_show_values(self, show: bool):
        if show != self._overlay.show_values:
            self._overlay.show_values = show
            self.update()

    def set_highlight(self, mask):
        """Light the cells where the 2-D boolean `mask` is True (the probe's field on this map; None: none)."""
        mask = None if mask is None or not np.any(mask) else np.asarray(mask, bool)
        if mask is None and self._highlight is None:
            return
        if mask is not None and self._highlight is not None and np.array_equal(mask, self._highlight):
            return
        old = self._highlight
        self._highlight = None if mask is None else mask.copy()
        self._apply_highlight()
        self._update_cells(old, self._highlight)

    def _apply_highlight(self):
        mask = self._highlight
        if mask is not None and mask.shape != self.shape:  # the map changed shape: the old field is gone
            mask = self._highlight = None
        # outlines only for a field small enough to read them (a lit 128×128 field is a fill, not 16k boxes)
        few = mask is not None and np.count_nonzero(mask) <= MAX_OUTLINES
        self._overlay.highlight = [tuple(rc) for rc in np.argwhere(mask).tolist()] if few else []
        if mask is not None:
            self.mask.set_image(mask.astype(np.uint32) * HIGHLIGHT_PIXEL)  # one multiply, no per-cell indexing

    def _update_cells(self, *masks):
        """Repaint only the cells these masks (old and new highlight) cover: a hover leaves the rest alone."""
        if not self.isVisible():
            return
        geo = self.map_geometry()
        area = QRect()
        for mask in masks:
            box = _box_of(mask) if mask is not None else None
            if box is not None:
                area = area.united(geo.box_area(*box))
        self.update(area)

    def set_hatched(self, pad):
        """Draw these rows/cols (top, bottom, left, right) as padding, hatched."""
        pad = tuple(int(v) for v in pad)
        if pad != self._overlay.hatched:
            self._overlay.hatched = pad
            self.update()

    def set_cursor(self, cell):
        old = self._overlay.cursor
        self._overlay.cursor = None if cell is None else tuple(cell)
        if old != self._overlay.cursor and self.isVisible():
            geo = self.map_geometry()
            cells = [c for c in (old, self._overlay.cursor) if c is not None]
            self.update(geo.area_of(cells))

    def size_for(self, cell_px: float) -> QSize:
        """The size at which every cell is `cell_px` pixels square."""
        rows, cols = self.shape
        return QSize(max(8, round(cols * cell_px)), max(8, round(rows * cell_px)))

    def fit(self, cell_px: float):
        """Ask for the size at which every cell is `cell_px` pixels square (the layout applies it).

        A size hint, not a fixed size: a view that tries several cell sizes to find the largest that fits
        resizes each map once, when its layout runs, not once per try.
        """
        size = self.size_for(cell_px)
        if size != self._fit_size:
            self._fit_size = size
            self.updateGeometry()

    def sizeHint(self):  # noqa: N802 (Qt name)
        return QSize(self._fit_size) if self._fit_size is not None else QSize(160, 160)

    def minimumSizeHint(self):  # noqa: N802 (Qt name)
        return QSize(self._fit_size) if self._fit_size is not None else QSize(8, 8)

    # ------------------------------------------------------------------ geometry
    def map_geometry(self) -> MapGeometry:
        """Where the cells are at the current size, shape and pixel ratio (made again when one changes)."""
        key = (self.shape, self.width(), self.height(), self.devicePixelRatioF())
        if self._geometry is None or self._geometry[0] != key:
            self._geometry = (key, MapGeometry(*key))
        return self._geometry[1]

    def cell_px(self) -> float:
        """The on-screen size of one cell."""
        return self.map_geometry().cell

    def cell_at(self, pos) -> tuple[int, int] | None:
        """The (row, col) under a widget position, or None outside the map."""
        if not all(self.shape):
            return None
        return self.map_geometry().cell_at(pos.x(), pos.y())

    def cell_center(self, row: int, col: int) -> QPoint:
        """Widget coordinates of the centre of a cell (tests drive the mouse with this)."""
        return self.cell_rect(row, col).center().toPoint()

    def cell_rect(self, row: int, col: int) -> QRectF:
        return self.map_geometry().cell_rect(row, col)

    # ------------------------------------------------------------------ painting
    def paintEvent(self, ev):
        self._catch_up(repaint=False)  # what was given out of view: this paint draws it
        painter = QPainter(self)
        area = ev.rect()
        painter.fillRect(area, Qt.GlobalColor.white)
        if not all(self.shape):
            painter.end()
            return
        geo = self.map_geometry()
        rows, cols = geo.cells_in(area)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(geo.rect, self._image.qimage())
        if self._highlight is not None and not outlined(geo.cell, np.count_nonzero(self._highlight)):
            painter.drawImage(geo.rect, self.mask.qimage())  # a tint over the lit cells
        if len(rows) and len(cols):
            painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
            self._overlay.paint(painter, geo, rows, cols)
        painter.end()

    # ------------------------------------------------------------------ mouse
    def mousePressEvent(self, ev):
        cell = self.cell_at(ev.position())
        if cell is not None and ev.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            self._pressed = True
            self._last_cell = cell
            self.cellPressed.emit(cell[0], cell[1], ev.button())
        ev.accept()

    def mouseMoveEvent(self, ev):
        cell = self.cell_at(ev.position())
        if cell is None:
            self.cellHovered.emit(-1, -1)
        else:
            self.cellHovered.emit(*cell)
            if self._pressed and cell != self._last_cell:
                self._last_cell = cell
                self.cellDragged.emit(*cell)
        ev.accept()

    def mouseReleaseEvent(self, ev):
        if self._pressed:
            cell = self.cell_at(ev.position())
            if cell is not None and cell != self._last_cell:
                self.cellDragged.emit(*cell)
            self._pressed = False
            self._last_cell = None
            self.strokeEnded.emit()
        ev.accept()

    def mouseDoubleClickEvent(self, ev):
        cell = self.cell_at(ev.position())
        if cell is not None and ev.button() == Qt.MouseButton.LeftButton:
            self.cellDoubleClicked.emit(*cell)
        ev.accept()

    def leaveEvent(self, ev):
        self.cellHovered.emit(-1, -1)
        super().leaveEvent(ev)

    def wheelEvent(self, ev):
        ev.ignore()  # let the surrounding scroll area scroll; maps do not zoom on their own

    def contextMenuEvent(self, ev):
        ev.accept()  # right-drag erases; no menu


_RAMPS: dict = {}  # (width, height, pixel ratio, lut id, flat) -> (lut, QPixmap)
MAX_RAMPS = 128


class ColorBar(QWidget):
    """The legend of one map or one layer: the colour ramp with its ends (and 0) labelled."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.levels = (0.0, 1.0)
        self.lut = DIVERGING
        self._height: int | None = None  # the height fit_height() asked for
        self.setFixedWidth(COLORBAR_WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.setToolTip("Colour legend: the value each colour stands for")

    def fit_height(self, height: int):
        """Ask the layout for this height (a hint: trying several sizes resizes nothing until it runs)."""
        if height != self._height:
            self._height = height
            self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            self.updateGeometry()

    def sizeHint(self):  # noqa: N802 (Qt name)
        return QSize(COLORBAR_WIDTH, self._height) if self._height is not None else super().sizeHint()

    def set_levels(self, levels, lut):
        levels = (float(levels[0]), float(levels[1]))
        if levels != self.levels or lut is not self.lut:
            self.levels, self.lut = levels, lut
            self.update()

    def paintEvent(self, ev):
        # The ramp runs from the table's last colour to its first whatever the range (only its labels
        # move), so it is drawn once per size and table into a pixmap shared by every legend alike; its
        # scaled image is the slowest part of a legend, and a training run moves every range ten times a
        # second. The labels are written on each paint.
        font_px = 10.0
        bar = QRectF(2, font_px * 0.8, 10, max(4.0, self.height() - font_px * 1.6 - 1))
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._ramp(bar))
        paint_colorbar_ticks(painter, bar, self.levels, font_px)
        painter.end()

    def _ramp(self, bar: QRectF) -> QPixmap:
        ratio = self.devicePixelRatioF()
        flat = not self.levels[1] > self.levels[0]  # an empty range is one colour
        key = (self.width(), self.height(), ratio, id(self.lut), flat)
        pixmap = _RAMPS.get(key, (None, None))[1]
        if pixmap is None:
            pixmap = QPixmap(round(self.width() * ratio), round(self.height() * ratio))
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            paint_colorbar_ramp(painter, bar, (0.0, 0.0) if flat else (0.0, 1.0), self.lut)
            painter.end()
            if len(_RAMPS) >= MAX_RAMPS:
                _RAMPS.pop(next(iter(_RAMPS)))  # the oldest
            _RAMPS[key] = (self.lut, pixmap)  # the table kept alive: its id stays its own
        return pixmap
