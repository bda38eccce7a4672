"""One 2-D map on screen: a pyqtgraph ImageItem for the colours, one overlay item for everything else.

The overlay paints the cell values (only when a cell is big enough on screen to read them, with the text
colour flipped for contrast), thin cell borders, the probe highlight and the keyboard cursor, all in one
paint() call: no per-cell QGraphicsItems, so a 256×256 map costs the same as a 6×6 one.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPoint, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QSizePolicy, QWidget

from cnnviz.ui.colormaps import DIVERGING, colorize, format_value, text_color
from cnnviz.ui.grid_painter import ACCENT, MIN_HATCH_CELL, PAD_FILL, hatch_cell, paint_colorbar, pixel_font

MIN_TEXT_CELL_PX = 16  # below this a number would not be readable
MIN_TEXT_PX = 7.0  # smallest cell text drawn
TEXT_SHARE = 0.5  # text height as a share of the cell (a short number); longer numbers get narrower
CURSOR = QColor(255, 140, 0)
HIGHLIGHT_RGBA = (0, 170, 80, 90)
MIN_OUTLINE_PX = 6  # cells at least this big get a highlight outline; smaller ones a tint (no room for a line)
MAX_OUTLINES = 1024  # more highlighted cells than this are tinted: outlining each would cost too much


def _argb32_premultiplied(rgba) -> np.uint32:
    """One QImage.Format_ARGB32_Premultiplied pixel, Qt's native format: other formats are converted at
    every paint."""
    r, g, b = (round(v * rgba[3] / 255) for v in rgba[:3])
    return np.uint32((rgba[3] << 24) | (r << 16) | (g << 8) | b)


HIGHLIGHT_PIXEL = _argb32_premultiplied(HIGHLIGHT_RGBA)


class CellOverlay(QGraphicsItem):
    """Values, borders, highlight outlines and cursor over an image of rows × cols unit cells."""

    def __init__(self):
        super().__init__()
        self.values: np.ndarray | None = None  # 2-D, or None (RGB view: no numbers)
        self.levels = (0.0, 1.0)
        self.lut: np.ndarray | None = None
        self._texts = None  # (longest, [(row, col, text, QColor)]) built at the first paint after new values
        self.shape = (1, 1)
        self.show_values = True
        self.highlight: list[tuple[int, int]] = []
        self.cursor: tuple[int, int] | None = None
        self.values_drawn = False  # whether the last paint wrote the numbers (tests read the decision)
        self.hatched = (0, 0, 0, 0)  # rows top, bottom, cols left, right drawn as padding (ZeroPadding2D's zeros)

    def boundingRect(self) -> QRectF:
        rows, cols = self.shape
        return QRectF(-0.1, -0.1, cols + 0.2, rows + 0.2)

    def set_values(self, values, levels, lut):
        self.values, self.levels, self.lut = values, levels, lut
        self._texts = None
        self.update()

    def set_shape(self, shape):
        if tuple(shape) != self.shape:
            self.prepareGeometryChange()
            self.shape = tuple(shape)

    def paint(self, painter: QPainter, option, widget=None):
        t = painter.worldTransform()
        cell_px = math.hypot(t.m11(), t.m12())
        rows, cols = self.shape
        painter.save()
        painter.resetTransform()
        if cell_px >= 8:
            painter.setPen(QPen(QColor(0, 0, 0, 45), 1))
            lines = [QLineF(t.map(QPointF(0, r)), t.map(QPointF(cols, r))) for r in range(rows + 1)]
            lines += [QLineF(t.map(QPointF(c, 0)), t.map(QPointF(c, rows))) for c in range(cols + 1)]
            painter.drawLines(lines)
        if any(self.hatched):
            self._paint_hatched(painter, t, cell_px)
        self.values_drawn = bool(self.show_values and self.values is not None and cell_px >= MIN_TEXT_CELL_PX)
        if self.values_drawn:
            self.values_drawn = self._paint_values(painter, t, cell_px)
        if self.highlight and outlined(cell_px, len(self.highlight)):
            painter.setPen(QPen(ACCENT, 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            for r, c in self.highlight:
                painter.drawRect(t.mapRect(QRectF(c, r, 1, 1)).adjusted(1, 1, -1, -1))
        if self.cursor is not None:
            r, c = self.cursor
            pen = QPen(CURSOR, 3 if cell_px >= 12 else 2)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(t.mapRect(QRectF(c, r, 1, 1)))
        painter.restore()

    def _paint_hatched(self, painter, t, cell_px):
        """The padding band hatched cell by cell as in the step-through (a plain grey band when cells are tiny)."""
        rows, cols = self.shape
        top, bottom, left, right = self.hatched
        inner = rows - top - bottom
        bands = [(0, top, 0, cols), (rows - bottom, bottom, 0, cols), (top, inner, 0, left), (top, inner, cols - right, right)]
        for r0, n_rows, c0, n_cols in bands:
            if n_rows <= 0 or n_cols <= 0:
                continue
            if cell_px < MIN_HATCH_CELL:
                painter.fillRect(t.mapRect(QRectF(c0, r0, n_cols, n_rows)), PAD_FILL)
                continue
            for r in range(r0, r0 + n_rows):
                for c in range(c0, c0 + n_cols):
                    hatch_cell(painter, t.mapRect(QRectF(c, r, 1, 1)))

    def _cell_texts(self):
        """The numbers and their contrasting colours, made once per new set of values."""
        if self._texts is None:
            rgb = colorize(self.values, self.levels, self.lut) if self.lut is not None else None
            colors: dict = {}
            cells = []
            for (r, c), v in np.ndenumerate(self.values):
                key = tuple(int(x) for x in rgb[r, c, :3]) if rgb is not None else (255, 255, 255)
                if key not in colors:
                    colors[key] = QColor(*text_color(key))
                cells.append((r, c, format_value(v), colors[key]))
            self._texts = (max((len(text) for _, _, text, _ in cells), default=1), cells)
        return self._texts

    def _paint_values(self, painter, t, cell_px) -> bool:
        longest, cells = self._cell_texts()
        size = min(cell_px * TEXT_SHARE, cell_px * 0.92 / (0.6 * max(longest, 1)))
        if size < MIN_TEXT_PX:
            return False
        painter.setFont(pixel_font(size))
        pen = None
        for r, c, text, color in cells:
            if color is not pen:
                painter.setPen(color)
                pen = color
            painter.drawText(t.mapRect(QRectF(c, r, 1, 1)), Qt.AlignmentFlag.AlignCenter, text)
        return True


_BGRA_LUTS: dict = {}


def _bgra(lut: np.ndarray) -> np.ndarray:
    """A lookup table of whole QImage.Format_ARGB32 pixels (uint32: one gather per cell, not four bytes)."""
    key = id(lut)
    if key not in _BGRA_LUTS:
        pixels = np.ascontiguousarray(lut[:, [2, 1, 0, 3]])  # B, G, R, A: ARGB32 on little-endian machines
        _BGRA_LUTS[key] = (lut, pixels.view(np.uint32).ravel())
    return _BGRA_LUTS[key][1]


class CellImage(QGraphicsItem):
    """The cells' colours as one QImage drawn over rows × cols unit cells (nearest-neighbour scaling).

    `image` is the array shown: 2-D values through a 256-entry lookup table, (H, W, 3) RGB values scaled by
    the levels, or (H, W) uint32 Format_ARGB32_Premultiplied pixels used as is. The QImage is made at the
    first paint after new data, so maps scrolled out of sight cost nothing but a reference.
    """

    def __init__(self):
        super().__init__()
        self.image: np.ndarray | None = None
        self.levels = (0.0, 1.0)
        self.lut: np.ndarray | None = None
        self._qimage: QImage | None = None
        self._buffer: np.ndarray | None = None  # the pixels the QImage points into

    def boundingRect(self) -> QRectF:
        if self.image is None:
            return QRectF()
        return QRectF(0, 0, self.image.shape[1], self.image.shape[0])

    def set_image(self, image: np.ndarray, levels=(0.0, 1.0), lut: np.ndarray | None = None):
        if self.image is None or image.shape[:2] != self.image.shape[:2]:
            self.prepareGeometryChange()
        self.image, self.levels, self.lut = image, levels, lut
        self._qimage = None
        self.update()

    def _render(self) -> QImage:
        img = self.image
        rows, cols = img.shape[:2]
        if img.dtype == np.uint32:  # ready-made pixels
            self._buffer = np.ascontiguousarray(img)
            fmt = QImage.Format.Format_ARGB32_Premultiplied
        else:
            lo, hi = self.levels
            scale = 255.0 / (hi - lo) if hi > lo else 0.0
            with np.errstate(over="ignore", invalid="ignore"):  # values near float32's limit: clipped to 255
                steps = (img - lo) * scale  # float32 like the image; then in place: this runs on every edit
            np.clip(steps, 0, 255, out=steps)
            steps = np.rint(steps, out=steps).astype(np.uint8)
            if img.ndim == 2:
                self._buffer = _bgra(self.lut).take(steps)
            else:
                self._buffer = np.empty((rows, cols, 4), np.uint8)
                self._buffer[..., :3] = steps[..., 2::-1]  # RGB -> B, G, R
                self._buffer[..., 3] = 255
            fmt = QImage.Format.Format_ARGB32_Premultiplied  # opaque: premultiplied is the same, and fastest
        return QImage(self._buffer.data, cols, rows, cols * 4, fmt)

    def paint(self, painter: QPainter, option, widget=None):
        if self.image is None:
            return
        if self._qimage is None:
            self._qimage = self._render()
        painter.drawImage(self.boundingRect(), self._qimage)


def outlined(cell_px: float, count: int) -> bool:
    """Whether highlighted cells are outlined (and so need no tint over their colour)."""
    return cell_px >= MIN_OUTLINE_PX and count <= MAX_OUTLINES


class HighlightTint(CellImage):
    """The probe's cells tinted green, only where the overlay cannot outline them: a tint over a cell big
    enough for an outline hid the very colour the student was hovering to read."""

    def __init__(self, overlay: CellOverlay):
        super().__init__()
        self._overlay = overlay

    def paint(self, painter: QPainter, option, widget=None):
        t = painter.worldTransform()
        if not outlined(math.hypot(t.m11(), t.m12()), len(self._overlay.highlight)):
            super().paint(painter, option, widget)


class Heatmap(pg.GraphicsView):
    """A map of cells that reports the cell under the mouse; editable maps also report strokes."""

    cellHovered = Signal(int, int)  # row, col; (-1, -1) when the mouse leaves
    cellPressed = Signal(int, int, object)  # row, col, Qt.MouseButton
    cellDragged = Signal(int, int)  # the cell entered while a button is held
    strokeEnded = Signal()
    cellDoubleClicked = Signal(int, int)

    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        self.setFrameShape(self.Shape.NoFrame)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setAntialiasing(False)
        self.box = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False, defaultPadding=0)
        self.setCentralItem(self.box)
        self.image = CellImage()
        self.overlay = CellOverlay()
        self.overlay.setZValue(2)
        self.mask = HighlightTint(self.overlay)  # probe highlight fill (RGBA, mostly transparent)
        self.mask.setZValue(1)
        for item in (self.image, self.mask, self.overlay):
            self.box.addItem(item)
        self.shape = (0, 0)
        self.levels = (0.0, 1.0)
        self._lut = None
        self._pressed = False
        self._last_cell = None
        self._highlight: np.ndarray | None = None  # 2-D bool, or None
        self._fit_size: QSize | None = None  # the size fit() asked for

    # ------------------------------------------------------------------ data
    def set_data(self, values: np.ndarray, levels, lut: np.ndarray | None = DIVERGING):
        """Show a 2-D map through `lut`, or an (H, W, 3) RGB array when `lut` is None."""
        values = np.array(values, dtype=np.float32)  # a fresh copy: the caller's array may change later
        shape = values.shape[:2]
        levels = (float(levels[0]), float(levels[1]))
        self._lut = lut
        self.image.set_image(values, levels, lut)
        self.levels = levels
        if shape != self.shape:
            self.shape = shape
            self.overlay.set_shape(shape)
            self.box.setRange(QRectF(0, 0, shape[1], shape[0]), padding=0)
            self._paint_mask()
        self.overlay.set_values(values if values.ndim == 2 else None, levels, lut)

    def set_show_values(self, show: bool):
        self.overlay.show_values = show
        self.overlay.update()

    def set_highlight(self, mask):
        """Light the cells where the 2-D boolean `mask` is True (the probe's field on this map; None: none)."""
        mask = None if mask is None or not np.any(mask) else np.asarray(mask, bool)
        if mask is None and self._highlight is None:
            return
        if mask is not None and self._highlight is not None and np.array_equal(mask, self._highlight):
            return
        self._highlight = None if mask is None else mask.copy()
        self._paint_mask()

    def _paint_mask(self):
        rows, cols = self.shape
        mask = self._highlight
        if mask is not None and mask.shape != (rows, cols):  # the map changed shape: the old field is gone
            mask = self._highlight = None
        self.mask.setVisible(mask is not None)  # an empty mask would still cost a full draw
        # outlines only for a field small enough to read them (a lit 128×128 field is a fill, not 16k boxes)
        outlined = mask is not None and np.count_nonzero(mask) <= 1024
        self.overlay.highlight = [tuple(rc) for rc in np.argwhere(mask).tolist()] if outlined else []
        self.overlay.update()
        if mask is None:
            return
        self.mask.set_image(mask.astype(np.uint32) * HIGHLIGHT_PIXEL)  # one multiply, no per-cell indexing

    def set_hatched(self, pad):
        """Draw these rows/cols (top, bottom, left, right) as padding, hatched."""
        pad = tuple(int(v) for v in pad)
        if pad != self.overlay.hatched:
            self.overlay.hatched = pad
            self.overlay.update()

    def set_cursor(self, cell):
        self.overlay.cursor = None if cell is None else tuple(cell)
        self.overlay.update()

    def fit(self, cell_px: float):
        """Ask for the size at which every cell is `cell_px` pixels square (the layout applies it).

        A size hint, not a fixed size: a view that tries several cell sizes to find the largest that fits
        resizes each map once, when its layout runs, not once per try (a resize costs a pyqtgraph re-range).
        """
        rows, cols = self.shape
        size = QSize(max(8, round(cols * cell_px)), max(8, round(rows * cell_px)))
        if size != self._fit_size:
            self._fit_size = size
            self.updateGeometry()

    def sizeHint(self):  # noqa: N802 (Qt name)
        return QSize(self._fit_size) if self._fit_size is not None else super().sizeHint()

    def minimumSizeHint(self):  # noqa: N802 (Qt name)
        return QSize(self._fit_size) if self._fit_size is not None else super().minimumSizeHint()

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        rows, cols = getattr(self, "shape", (0, 0))  # pyqtgraph calls this from its own __init__
        if rows and cols:  # keep the whole map in view at the new size (without it hovers paint 2x slower)
            self.box.setRange(QRectF(0, 0, cols, rows), padding=0)

    # ------------------------------------------------------------------ geometry
    def cell_at(self, pos) -> tuple[int, int] | None:
        """The (row, col) under a widget position, or None outside the map."""
        p = self.image.mapFromScene(self.mapToScene(QPoint(int(pos.x()), int(pos.y()))))
        r, c = math.floor(p.y()), math.floor(p.x())
        rows, cols = self.shape
        return (r, c) if 0 <= r < rows and 0 <= c < cols else None

    def cell_center(self, row: int, col: int) -> QPoint:
        """Widget coordinates of the centre of a cell (tests drive the mouse with this)."""
        return self.mapFromScene(self.image.mapToScene(QPointF(col + 0.5, row + 0.5)))

    def cell_rect(self, row: int, col: int) -> QRectF:
        a = self.mapFromScene(self.image.mapToScene(QPointF(col, row)))
        b = self.mapFromScene(self.image.mapToScene(QPointF(col + 1, row + 1)))
        return QRectF(QPointF(a), QPointF(b))

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


class ColorBar(QWidget):
    """The legend of one map or one layer: the colour ramp with its ends (and 0) labelled."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.levels = (0.0, 1.0)
        self.lut = DIVERGING
        self._height: int | None = None  # the height fit_height() asked for
        self._picture = None  # (size, levels, lut) -> the legend drawn at that size
        self.setFixedWidth(42)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        self.setToolTip("Colour legend: the value each colour stands for")

    def fit_height(self, height: int):
        """Ask the layout for this height (a hint: trying several sizes resizes nothing until it runs)."""
        if height != self._height:
            self._height = height
            self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            self.updateGeometry()

    def sizeHint(self):  # noqa: N802 (Qt name)
        return QSize(42, self._height) if self._height is not None else super().sizeHint()

    def set_levels(self, levels, lut):
        levels = (float(levels[0]), float(levels[1]))
        if levels != self.levels or lut is not self.lut:
            self.levels, self.lut = levels, lut
            self.update()

    def paintEvent(self, ev):
        # Drawn once per size and range into a pixmap: a legend repaints with every map beside it, and its
        # scaled ramp image is the slowest thing in a window of many maps.
        ratio = self.devicePixelRatioF()
        key = (self.width(), self.height(), ratio, self.levels, id(self.lut))
        if self._picture is None or self._picture[0] != key:
            pixmap = QPixmap(round(self.width() * ratio), round(self.height() * ratio))
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            font_px = 10.0
            bar = QRectF(2, font_px * 0.8, 10, max(4.0, self.height() - font_px * 1.6 - 1))
            paint_colorbar(painter, bar, self.levels, self.lut, font_px)
            painter.end()
            self._picture = (key, pixmap)
        painter = QPainter(self)
        painter.drawPixmap(0, 0, self._picture[1])
        painter.end()
