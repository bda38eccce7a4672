"""What every arithmetic view shares: following the Document, and a canvas of grids.

A view never owns state: it re-reads the Document whenever the Document says something changed, and
sends edits back through the Document's methods. Its picture is a *scene*: a function that paints grids
(grid_painter) into a rectangle and returns where each grid landed, so the same code draws the live widget
and an exported figure, and mouse positions map back to cells.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetricsF, QPainter
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QSizePolicy, QSpinBox, QVBoxLayout, QWidget

from cnnviz.core import ConfigError
from cnnviz.ui.grid_painter import GridCache, cached, pixel_font, text_width

log = logging.getLogger(__name__)

Scene = Callable[[QPainter, QRectF], dict]  # paints, returns {key: GridGeometry}
MAX_CHANNEL_ROWS = 3  # input channels a view draws (stacked or side by side); its formula lists every channel
CANVAS_MIN_HEIGHT = 120


class DocumentView(QWidget):
    """A QWidget that follows a Document: `refresh()` runs on every change; links are cut on close.

    inputChanged and pipelineChanged are not followed: every input or layer edit is followed by
    outputsChanged once recomputed (document.py), and refreshing twice per edit would only cost time.
    """

    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.document = document
        # In the main window a view in a hidden dock tab skips refreshes and catches up when shown, so
        # a brush stroke costs only the views on screen (install_arithmetic_docks sets this).
        self.lazy = False
        self._stale = False
        self._links = [
            (document.outputsChanged, self._document_changed),
            (document.selectionChanged, self._document_changed),
            (document.probeChanged, self._probe_changed),
        ]
        for signal, slot in self._links:
            signal.connect(slot)

    def start(self) -> None:
        """Show the document as it is now (views call this once at the end of __init__)."""
        self.refresh()
        if self.document.probe is not None:
            self.probe_changed(self.document.probe)

    def _skipped(self) -> bool:
        """True (and remembered) when this lazy view is out of sight: it catches up when shown."""
        hidden = self.lazy and (not self.isVisible() or self.visibleRegion().isEmpty())  # a hidden tab is "visible"
        self._stale = self._stale or hidden
        return hidden

    def _document_changed(self, *_):
        if self._links and not self._skipped():
            self._guarded(self.refresh)

    def _probe_changed(self, probe):
        if self._links and not self._skipped():
            self._guarded(lambda: self.probe_changed(probe))

    def _guarded(self, update) -> None:
        """Run an update with this view's own signals blocked; a state the view cannot explain (outputs kept
        from before a failed recompute) is said in the formula box instead of raising into Qt."""
        self.blockSignals(True)
        try:
            update()
        except (ConfigError, IndexError, ValueError) as exc:
            log.warning("%s cannot show the document: %s", type(self).__name__, exc)
            formula = getattr(self, "formula", None)
            if formula is not None:
                formula.setText(str(exc))
        finally:
            self.blockSignals(False)

    def showEvent(self, event):
        super().showEvent(event)
        self.catch_up()

    def catch_up(self) -> None:
        """Show the document and its probe now if changes were skipped while the view was hidden."""
        if self._stale and self._links:
            self._stale = False
            self._guarded(self.start)

    def refresh(self) -> None:  # pragma: no cover - every view overrides it
        raise NotImplementedError

    def probe_changed(self, probe) -> None:
        """Views that follow hover probes override this."""

    def disconnect_document(self) -> None:
        for signal, slot in self._links:
            try:
                signal.disconnect(slot)
            except (RuntimeError, TypeError):  # already gone with the Document
                pass
        self._links = []

    def closeEvent(self, event):
        self.disconnect_document()
        super().closeEvent(event)


class ArithmeticView(DocumentView):
    """A view of one layer of the pipeline: its picture on a canvas over the formula box (controls are
    inserted into `self.layout()`).

    Subclasses set `layer_index` in refresh(), paint in `paint_layer`, and say in `probe_target` which level and
    cell a grid cell of their picture stands for: hovering it probes the Document, a click pins the probe.
    """

    EMPTY = ""  # what the canvas says when the pipeline has no layer of the view's kind

    def __init__(self, document, name: str, parent=None):
        super().__init__(document, parent)
        self.setObjectName(name)
        self._index = 0  # the layer shown (1-based), 0 = none
        self.canvas = SceneCanvas(self._paint_scene)
        self.canvas.cellHovered.connect(lambda key, cell: self._probe(key, cell, pinned=False))
        self.canvas.cellClicked.connect(lambda key, cell: self._probe(key, cell, pinned=True))
        self.canvas.hoverLeft.connect(lambda: self.document.clear_probe())
        self.formula = FormulaBox(parent=self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)  # the dock is short at 1366×768: its height goes to the picture
        layout.setSpacing(3)
        layout.addWidget(self.canvas, 1)  # the picture takes the spare room
        layout.addWidget(self.formula)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self.formula._fit()  # its height limit follows the view's height

    # ------------------------------------------------------------------ a canvas that scrolls
    def scroll_canvas(self) -> None:
        """Put the canvas in a vertical scroll area. It is as tall as the view gives it, or as tall as
        `readable_height` says when that is taller: a readable crop that scrolls rather than cells too small
        for their numbers (a short dock on a 1366×768 screen)."""
        self.scroll = QScrollArea()
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setMinimumHeight(CANVAS_MIN_HEIGHT)  # the dock keeps the room it had for the canvas
        self.layout().replaceWidget(self.canvas, self.scroll)
        self.scroll.setWidget(self.canvas)
        self.scroll.viewport().installEventFilter(self)

    def readable_height(self, width: int, height: int) -> int:
        """The canvas height the picture needs to be readable `width` wide, when more than `height`; else 0."""
        return 0

    def fit_canvas(self) -> None:
        viewport = self.scroll.viewport()
        self.canvas.setMinimumHeight(max(CANVAS_MIN_HEIGHT, self.readable_height(viewport.width(), viewport.height())))

    def scroll_to(self, rect: QRectF) -> None:
        """Scroll the canvas so that `rect` (canvas coordinates) is in view."""
        centre = rect.center()
        self.scroll.ensureVisible(int(centre.x()), int(centre.y()), int(rect.width() / 2) + 4,
                                  int(rect.height() / 2) + 4)

    def eventFilter(self, watched, event):
        scroll = getattr(self, "scroll", None)
        if scroll is not None and watched is scroll.viewport() and event.type() == QEvent.Type.Resize:
            self.fit_canvas()
        return super().eventFilter(watched, event)

    @property
    def layer_index(self) -> int:
        return self._index

    def empty_message(self) -> str:
        """What the canvas says instead of a picture; "" when there is one."""
        return "" if self._index else self.EMPTY

    def paint_layer(self, painter: QPainter, rect: QRectF) -> dict:  # pragma: no cover - every view overrides it
        raise NotImplementedError

    def probe_target(self, key, cell):
        """(level, (row, col, channel)) that grid `key`'s `cell` stands for, or None (not probe-able)."""
        return None

    def _probe(self, key, cell, pinned: bool) -> None:
        target = self.probe_target(key, cell)
        if target is not None:
            self.document.set_probe(*target, pinned=pinned)

    def _paint_scene(self, painter: QPainter, rect: QRectF) -> dict:
        message = self.empty_message()
        if not message:
            try:
                return self.paint_layer(painter, rect)
            except (ConfigError, IndexError, ValueError) as exc:  # outputs kept from before a refused edit
                message = str(exc)
        draw_message(painter, rect, message)
        return {}


def scene_rect(width: float, height: float) -> QRectF:
    """Where a canvas of this size paints its scene: inside a small white margin."""
    return QRectF(0, 0, width, height).adjusted(6, 4, -6, -4)


class ChannelBox(QSpinBox):
    """Which channel a view draws, counted from 1 like every label; hidden when there is only one."""

    def __init__(self, tooltip: str, parent=None):
        super().__init__(parent)
        self.setPrefix("channel ")
        self.setToolTip(tooltip)

    @property
    def index(self) -> int:
        """The channel shown, 0-based."""
        return self.value() - 1

    def set_count(self, channels: int) -> None:
        """Offer channels 1..`channels` (none: hidden) without announcing a change of value."""
        self.blockSignals(True)
        self.setRange(1, max(channels, 1))
        self.blockSignals(False)
        self.setVisible(channels > 1)


class SceneCanvas(QWidget):
    """Paints a scene on white and reports the grid cell under the mouse.

    `cellHovered(key, (row, col))` fires when the mouse enters another cell of a grid, `cellClicked`
    on a left click, and `hoverLeft()` when the mouse leaves every grid.
    """

    cellHovered = Signal(object, object)
    cellClicked = Signal(object, object)
    hoverLeft = Signal()

    def __init__(self, scene: Scene, parent=None):
        super().__init__(parent)
        self._scene = scene
        self._geometries: dict = {}
        self._hover = None
        self.grid_cache = GridCache()  # grids that did not change since the last paint are not redrawn
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a click focuses the view, so its shortcuts work
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, CANVAS_MIN_HEIGHT)

    def sizeHint(self) -> QSize:
        return QSize(640, 230)

    @property
    def geometries(self) -> dict:
        """Where each grid was drawn in the last paint: {key: GridGeometry}."""
        return self._geometries

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("white"))
        with cached(self.grid_cache):
            self._geometries = self.paint_scene(painter, scene_rect(self.width(), self.height()))
        painter.end()

    def hideEvent(self, event):
        self.grid_cache.clear()  # a hidden tab keeps no pictures; it redraws them when shown
        super().hideEvent(event)

    def paint_scene(self, painter: QPainter, rect: QRectF) -> dict:
        """Draw the picture into `rect` of any painter (an SVG or PDF export draws what the screen shows)."""
        return self._scene(painter, rect) or {}

    def cell_center(self, key, cell) -> QPointF:
        """Widget position of a cell's centre (tests move the mouse there)."""
        return self._geometries[key].cell_rect(*cell).center()

    def hit(self, point: QPointF):
        for key, geo in self._geometries.items():
            cell = geo.cell_at(point) if hasattr(geo, "cell_at") else None  # a grid, or a vector (vector_view)
            if cell is not None:
                return key, cell
        return None

    def mouseMoveEvent(self, event):
        hit = self.hit(event.position())
        if hit != self._hover:
            self._hover = hit
            if hit is None:
                self.hoverLeft.emit()
            else:
                self.cellHovered.emit(*hit)
        super().mouseMoveEvent(event)

    def mousePressEvent(self, event):
        hit = self.hit(event.position())
        if hit is not None and event.button() == Qt.MouseButton.LeftButton:
            self.cellClicked.emit(*hit)
        super().mousePressEvent(event)

    def leaveEvent(self, event):
        if self._hover is not None:
            self._hover = None
            self.hoverLeft.emit()
        super().leaveEvent(event)


def _cuts(start: float, length: float, weights: list[float], gap: float) -> list[tuple[float, float]]:
    """(position, size) of pieces of a span proportional to `weights`, `gap` apart."""
    total = sum(weights) or 1.0
    free = length - gap * (len(weights) - 1)
    out, pos = [], start
    for w in weights:
        size = free * w / total
        out.append((pos, size))
        pos += size + gap
    return out


def split_row(rect: QRectF, weights: list[float], gap: float = 0.0) -> list[QRectF]:
    """Cut `rect` left to right into pieces proportional to `weights`, `gap` apart."""
    return [QRectF(x, rect.top(), w, rect.height()) for x, w in _cuts(rect.left(), rect.width(), weights, gap)]


def split_column(rect: QRectF, weights: list[float], gap: float = 0.0) -> list[QRectF]:
    """Cut `rect` top to bottom into pieces proportional to `weights`, `gap` apart."""
    return [QRectF(rect.left(), y, rect.width(), h) for y, h in _cuts(rect.top(), rect.height(), weights, gap)]


def draw_symbol(painter: QPainter, rect: QRectF, text: str, size: float | None = None) -> None:
    """A big operator between grids: "⊙", "=", "→", "+"."""
    painter.save()
    painter.setPen(QColor(50, 50, 50))
    font = pixel_font(size or min(rect.height() * 0.2, 40.0), bold=True)
    width = text_width(text, font.pixelSize(), bold=True)
    if width > rect.width() * 0.9:
        font = pixel_font(font.pixelSize() * rect.width() * 0.9 / width, bold=True)
    painter.setFont(font)
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    painter.restore()


def draw_lines(painter, rect: QRectF, lines: list[str]) -> None:
    """A few short centred lines between two pictures (a sum and its result), as large as they fit."""
    painter.save()
    size = min(18.0, rect.height() / (len(lines) + 1))
    font = pixel_font(size, bold=True)
    widest = max(QFontMetricsF(font).horizontalAdvance(line) for line in lines)
    if widest > rect.width():
        font = pixel_font(size * rect.width() / widest, bold=True)
    painter.setFont(font)
    painter.setPen(QColor(50, 50, 50))
    height = QFontMetricsF(font).height()
    top = rect.center().y() - height * len(lines) / 2
    for k, line in enumerate(lines):
        painter.drawText(QRectF(rect.left(), top + k * height, rect.width(), height), Qt.AlignmentFlag.AlignCenter,
                         line)
    painter.restore()


def draw_message(painter: QPainter, rect: QRectF, text: str) -> None:
    """A centred sentence, for 'nothing to show here, and why'."""
    painter.save()
    painter.setPen(QColor(70, 70, 70))
    painter.setFont(pixel_font(max(12.0, min(18.0, rect.height() * 0.06))))
    painter.drawText(rect.adjusted(20, 20, -20, -20), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
    painter.restore()


class FormulaBox(QScrollArea):
    """The arithmetic written out under a canvas: as tall as its text, scrolling past `max_height`.

    A long sum (a transposed conv's scatter list) never pushes the window taller, and a one-line sum
    leaves the room to the picture.
    """

    def __init__(self, max_height: int = 150, parent=None):
        super().__init__(parent)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.label.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.label.setFont(font)
        self.label.setStyleSheet("QLabel { background: #f7f7f2; border: 1px solid #ddd; padding: 6px; }")
        self.setWidget(self.label)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        # as tall as its text up to the limit, but it may shrink (and scroll) in a short dock
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._max_height = max_height
        self._height = 0

    def text(self) -> str:
        return self.label.text()

    def setText(self, text: str) -> None:
        if text != self.label.text():
            self.label.setText(text)
            self._fit()
        self.setVisible(bool(text))

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        width = max(self.viewport().width(), 200)
        needed = self.label.heightForWidth(width) if self.label.text() else 0
        height = min(max(needed, 0) + 2, self.max_height())
        if height != self._height:
            self._height = height
            self.setMinimumHeight(min(height, 48))
            self.setMaximumHeight(height)
            self.updateGeometry()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return QSize(super().sizeHint().width(), self._height)

    def max_height(self) -> int:
        """`max_height`, but at most 30% of the view it sits in: a short dock keeps its picture."""
        view = self.parentWidget()
        share = int(0.3 * view.height()) if view is not None and view.height() > 0 else self._max_height
        return max(48, min(self._max_height, share))


def find_layer(document, kinds: tuple[type, ...]) -> int:
    """The selected layer if it is one of `kinds`, else the first such layer; 0 when there is none."""
    layers = document.pipeline.layers
    selected = document.selected_layer
    if 1 <= selected <= len(layers) and isinstance(layers[selected - 1], kinds):
        return selected
    return next((i for i, layer in enumerate(layers, start=1) if isinstance(layer, kinds)), 0)
