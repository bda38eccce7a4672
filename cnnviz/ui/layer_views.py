"""Every level of the pipeline as live heatmaps, left to right: the input, then each layer's output.

One column per level, one map per channel, each labelled. The maps grow to fill the view (a projected
lecture reads them from the back of the room): one cell size for every small map, so a student sees 6×6
shrink to 4×4 and 2×2 and grow back, chosen as large as fits (up to a cap), shrinking to a pointable
minimum before the view scrolls. Levels wrap onto rows and channels go side by side when that gives
bigger cells (map_layout).
"""

from __future__ import annotations

import bisect

import numpy as np
from PySide6.QtCore import QEvent, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from cnnviz.ui.colormaps import (
    DIVERGING,
    GREYS,
    format_value,
    symmetric_levels,
)
from cnnviz.ui.heatmap import COLORBAR_WIDTH, MIN_TEXT_CELL_PX, ColorBar, Heatmap
from cnnviz.ui.level_changes import level_change
from cnnviz.ui.level_ranges import LevelRanges
from cnnviz.ui.map_layout import (
    Arrangement,
    LevelCard,
    LevelFlow,
    ZoomControl,
    arrangements,
)
from cnnviz.ui.texts import describe_layer, shape_text
from cnnviz.ui.vector_view import VectorCard, is_probabilities

RANGE_MODES = ("map", "layer", "global")
MAX_CELL_PX = 64  # bigger cells only spread the same numbers further apart
MIN_CELL_PX = 12  # smaller cells are hard to point at: the view scrolls instead
SCROLLED_CELL_PX = 24  # cells when the levels scroll anyway: room for a number like −0.25
FITS_KEPT = 16  # fits kept for levels measured alike again (a stride changed back and forth, undo/redo)
SPARE_COLUMNS = 2  # removed levels' columns kept for levels added next
PIN_GAP = 8  # between the scrolled levels and the prediction kept beside them
BIG_MAP_CELLS = 8  # a map wider than this many cells is drawn as wide as this many (its cells smaller)...
NUMBERED_MAP_CELLS = 16  # ...but one up to this wide keeps cells that write numbers (a 9×9 up-sampled map)
MIN_MAP_PX = 40  # even a 1×1 map is big enough to point at
MIN_COLORBAR_PX = 64  # a map's own colour bar (range per map) needs this much height for its three labels
MAPS_SPACING = 4  # between maps, and between a level's headers
COLUMN_MARGINS = (6, 6, 6, 6)  # a level's border to its maps: every pixel of width goes to the cells
SELECTED_FILL, SELECTED_BORDER = QColor("#e8f1fb"), QColor("#8fb4dc")  # the selected layer's level


def map_cell_px(shape, cell_px: float) -> float:
    """The on-screen size of a cell of a map of `shape` when a small map's cells are `cell_px` wide."""
    side = max(shape[:2])
    cell = cell_px * min(1.0, BIG_MAP_CELLS / side)
    if side <= NUMBERED_MAP_CELLS:
        cell = max(cell, min(cell_px, MIN_TEXT_CELL_PX))
    return max(cell, MIN_MAP_PX / side)


def vector_caption(layer, shape) -> str:
    """What a vector level's entries are: class probabilities, a layer's units, or the flattened numbers."""
    n = shape[0]
    if is_probabilities(layer, shape):
        return f"probabilities of {n} classes (they add up to 1)"
    if type(layer).__name__ == "Flatten":
        return f"{n} numbers in a row (channels-last order)"
    return f"{n} unit{'s' if n != 1 else ''}"


def padding_band(layer) -> tuple[int, int, int, int]:
    """The rows (top, bottom) and cols (left, right) of zeros a ZeroPadding2D adds around its input."""
    if type(layer).__name__ != "ZeroPadding2D":
        return (0, 0, 0, 0)
    (top, bottom), (left, right) = layer.padding
    return (top, bottom, left, right)


def channel_caption(level: int, layer, ch: int, channels: int) -> str:
    if level == 0:
        return f"channel {ch + 1}" + (f" ({'RGB'[ch]})" if channels == 3 else "")
    if type(layer).__name__ in ("Conv2D", "Conv2DTranspose"):
        return f"map {ch + 1} (filter {ch + 1})"
    return f"channel {ch + 1}"


def _invalidate(layout):
    """Drop the cached size hints of `layout`, a widget's top layout, of every layout nested in it, and of the
    layouts of the widgets they hold (the widget's children), all the way down.

    Walked through QObjects, never `layout.itemAt()`: PySide keeps the wrapper of every layout item it hands out
    alive with the layout, and Qt deletes items without telling it, so an object made later at a freed item's
    address came back to Python as that stale QWidgetItem."""
    for widget in layout.parentWidget().findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly):
        if widget.layout() is not None:
            _invalidate(widget.layout())
            widget.updateGeometry()  # its layout item in the parent caches the old hint otherwise
    for nested in layout.findChildren(QLayout):
        nested.invalidate()
    layout.invalidate()


def _set_tip(widget, tip: str) -> None:
    """Set a tooltip only when it differs: Qt takes a good part of a millisecond for each, and a structural edit
    would set one on every level twice."""
    if widget.toolTip() != tip:
        widget.setToolTip(tip)


class MapCard(LevelCard):
    """One channel: caption above, heatmap with its colour bar beside it."""

    def __init__(self, level: int, channel: int, caption: str, parent=None):
        super().__init__(Heatmap(), caption, parent)
        self.level, self.channel = level, channel

    def show_map(self, values, levels, lut, source=None, since=None, cells=None):
        self.heatmap.set_data(values, levels, lut, source, since, cells)
        self.colorbar.set_levels(levels, lut)

    def fit(self, cell_px: float):
        self.heatmap.fit(map_cell_px(self.heatmap.shape, cell_px))
        self.colorbar.fit_height(max(self.heatmap.sizeHint().height(), MIN_COLORBAR_PX))

    def size_for(self, cell_px: float) -> QSize:
        """The card's size hint once fitted to `cell_px`."""
        view = self.heatmap.size_for(map_cell_px(self.heatmap.shape, cell_px))
        return self.size_at(view, max(view.height(), MIN_COLORBAR_PX))


class LevelColumn(QFrame):
    """The maps of one level with a header naming what they are and their shape."""

    def __init__(self, level: int, title: str, subtitle: str, detail: str, document, parent=None):
        super().__init__(parent)
        self.level = level
        self.document = document
        self.setObjectName("levelColumn")
        self.title = QLabel(title)
        self.title.setStyleSheet("font-weight: bold; font-size: 13px;")
        self.subtitle = QLabel(subtitle)
        self.subtitle.setStyleSheet("font-size: 12px;")
        self.detail = QLabel(detail)
        self.detail.setStyleSheet("color: #666; font-size: 11px;")
        self.detail.setWordWrap(True)
        self.cards: list[MapCard] = []
        self.shape: tuple | None = None  # the level's shape the cards were made for
        self._selected: bool | None = None
        self.colorbar = ColorBar()  # one legend for the whole column when its maps share a colour range
        outer = QVBoxLayout(self)
        outer.setContentsMargins(*COLUMN_MARGINS)
        outer.setSpacing(MAPS_SPACING)
        for w in (self.title, self.subtitle, self.detail):
            outer.addWidget(w)
        maps = QHBoxLayout()
        maps.setSpacing(MAPS_SPACING)
        self.box = QGridLayout()
        self.box.setSpacing(MAPS_SPACING)
        self.across = 1
        maps.addLayout(self.box)
        maps.addWidget(self.colorbar)
        outer.addLayout(maps)
        outer.addStretch(1)
        self.setContentsMargins(1, 1, 1, 1)  # room for the selected level's border: every level measures alike
        self.set_selected(False)

    def add_card(self, card: MapCard):
        self.cards.append(card)
        i = len(self.cards) - 1
        self.box.addWidget(card, i // self.across, i % self.across)

    def size_at(self, cell_px: float, across: int, compact: bool) -> QSize:
        """The column's size hint with its maps fitted to `cell_px`, `across` in a row, headers compact or not
        (what its layout would answer, by arithmetic)."""
        return QSize(*LevelMeasure(self).size_at(cell_px, across, compact))

    def arrange(self, across: int) -> None:
        """The maps in rows of `across` (channel order reads left to right, then down)."""
        if across == self.across:
            return
        self.across = across
        for i, card in enumerate(self.cards):
            self.box.removeWidget(card)
            self.box.addWidget(card, i // across, i % across)

    def show_legend(self, levels, lut, shared: bool):
        """One colour bar beside all maps (shared range) or one beside each map."""
        self.colorbar.setVisible(shared)
        if shared:
            self.colorbar.set_levels(levels, lut)
        for card in self.cards:
            card.colorbar.setVisible(not shared)

    def mousePressEvent(self, ev):
        # A click on a column (not on a map) selects its layer for the form and the filter editor.
        if self.level > 0:
            self.document.select_layer(self.level)
        super().mousePressEvent(ev)

    def set_selected(self, selected: bool):
        """The selected layer's level is drawn on a tinted card with a border. Painted here, not by a style
        sheet: a style sheet re-polishes every widget in the column, which was a sixth of an add-layer edit."""
        if selected != self._selected:
            self._selected = selected
            self.update()

    def paintEvent(self, ev):  # noqa: N802 (Qt name)
        super().paintEvent(ev)
        if self._selected:
            painter = QPainter(self)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(SELECTED_BORDER)
            painter.setBrush(SELECTED_FILL)
            painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)


class LevelMeasure:
    """A level's size hint at any cell size, maps across and headers, by arithmetic: the fit asks for many, so
    the Qt size hints it needs (headers, captions) are read once, cards that look alike are measured once, and
    every answer is kept for the rest of the fit. Made again for each fit: texts and shapes change between.

    `signature` holds everything the answers depend on (the hints, texts and shapes read here), so two measures
    with equal signatures answer alike; None for a level with a vector, whose strip sizes itself by its values."""

    def __init__(self, column: LevelColumn):
        column.ensurePolished()  # style-sheet fonts decide the headers' widths
        self.column = column
        self.heads = [column.title.sizeHint(), column.subtitle.sizeHint()]
        self.detail = column.detail.sizeHint()
        self.legend = 0 if column.colorbar.isHidden() else MAPS_SPACING + COLORBAR_WIDTH
        frame = column.contentsMargins()
        left, top, right, bottom = COLUMN_MARGINS
        self.frame = (left + right + frame.left() + frame.right(), top + bottom + frame.top() + frame.bottom())
        self.kinds, self._alike = [], {}  # each card's kind; a card standing for each kind
        keys = []
        for card in column.cards:
            caption = card.caption
            kind = (card.heatmap.shape, caption.sizeHint().toTuple(), caption.wordWrap() and caption.text(),
                    card.colorbar.isHidden()) if isinstance(card, MapCard) else id(card)
            keys.append(kind)
            self.kinds.append(self._alike.setdefault(kind, card))
        maps_only = all(isinstance(card, MapCard) for card in column.cards)
        self.signature = (tuple(h.toTuple() for h in self.heads), self.detail.toTuple(), column.detail.text(),
                          self.legend, self.frame, tuple(keys)) if maps_only else None
        self._cards: dict = {}
        self._sizes: dict = {}
        self._detail_heights: list[tuple[int, int]] = []

    def cards_at(self, cell_px: float) -> list[tuple[int, int]]:
        """Every card's (width, height) at `cell_px`."""
        if cell_px not in self._cards:
            sizes = {id(card): card.size_for(cell_px).toTuple() for card in self._alike.values()}
            self._cards[cell_px] = [sizes[id(card)] for card in self.kinds]
        return self._cards[cell_px]

    def size_at(self, cell_px: float, across: int, compact: bool) -> tuple[int, int]:
        key = (cell_px, across, compact)
        if key not in self._sizes:
            self._sizes[key] = self._measure(cell_px, across, compact)
        return self._sizes[key]

    def _measure(self, cell_px, across, compact):
        cards = self.cards_at(cell_px)
        n = len(cards)
        if len(self._alike) == 1:  # every map alike (a level's channels): columns and rows of one size
            (w, h), cols, rows = cards[0], min(across, n), -(-n // across)
            maps_w, maps_h = cols * w + MAPS_SPACING * (cols - 1), rows * h + MAPS_SPACING * (rows - 1)
        else:
            widths = [max(w for w, _ in cards[i::across]) for i in range(min(across, n))]
            heights = [max(h for _, h in cards[i:i + across]) for i in range(0, n, across)]
            maps_w = sum(widths) + MAPS_SPACING * (len(widths) - 1)
            maps_h = sum(heights) + MAPS_SPACING * (len(heights) - 1)
        maps_w += self.legend
        heads = self.heads if compact else self.heads + [self.detail]
        inner = max([maps_w] + [h.width() for h in heads])
        heads_h = sum(h.height() for h in self.heads) + MAPS_SPACING * len(heads)
        if not compact:  # the wrapped description takes the height it needs at the column's width
            heads_h += self._detail_height(inner)
        return inner + self.frame[0], heads_h + maps_h + self.frame[1]

    def _detail_height(self, width: int) -> int:
        """The description's height at `width`. A wider label never takes more lines, so a width between two
        measured ones that gave the same height has that height too: the text is laid out again only where
        the answer could differ."""
        known = self._detail_heights  # (width, height), by width
        if not known:
            known.append((1 << 16, self.column.detail.heightForWidth(1 << 16)))
        i = bisect.bisect_left(known, (width,))
        if i < len(known) and known[i][0] == width:
            return known[i][1]
        if 0 < i < len(known) and known[i - 1][1] == known[i][1]:
            return known[i][1]
        return self._measure_detail(width, i)

    def _measure_detail(self, width: int, i: int) -> int:
        height = self.column.detail.heightForWidth(width)
        self._detail_heights.insert(i, (width, height))
        return height


class LayerViews(QScrollArea):
    """All levels' heatmaps; hovering a cell probes it, a click pins the probe and selects the layer."""

    hoverText = Signal(str)

    def __init__(self, document, parent=None):
        super().__init__(parent)
        self.setObjectName("layerViews")
        self.document = document
        self.range_mode = "layer"
        self.show_values = True
        self.zoom = 1.0  # the user's factor on top of the fitted cell size
        self._fitted = MAX_CELL_PX
        self._arrangement = None  # the one the fit chose
        self._fits: dict = {}  # (room, scroll bar width, the levels' measure signatures) -> the fit's answer
        self._room = None  # the viewport size the cells were fitted to
        self.columns: list[LevelColumn] = []
        self._ranges = LevelRanges()  # the colour ranges, kept per row
        self.pinned: LevelColumn | None = None  # the prediction kept in view beside levels that scroll
        self._spare: list[LevelColumn] = []  # columns of removed levels, hidden, for the next added level
        self.setWidgetResizable(True)
        self._content = LevelFlow()
        self.setWidget(self._content)
        self.zoom_control = ZoomControl()
        self.zoom_control.zoomBy.connect(lambda factor: self.set_zoom(self.zoom * factor))
        self._reshaped_from: int | None = None  # levels from here on may have new shapes: synced with the outputs
        document.structureChanged.connect(lambda: self._levels_reshaped(0))
        document.layerChanged.connect(self._levels_reshaped)
        document.outputsChanged.connect(self._on_recomputed)
        document.probeChanged.connect(self._on_probe)
        document.selectionChanged.connect(self._on_selection)
        self._on_structure()

    # ------------------------------------------------------------------ public
    def cards(self, level: int | None = None) -> list[MapCard]:
        cols = self.columns if level is None else [self.columns[level]]
        return [card for col in cols for card in col.cards]

    def set_range_mode(self, mode: str):
        if mode not in RANGE_MODES:
            raise ValueError(f"range mode must be one of {RANGE_MODES}, got {mode!r}")
        self.range_mode = mode
        self._update_values(0)
        self._apply_sizes()  # a colour bar per map, or one per layer, takes a different width

    def set_show_values(self, show: bool):
        self.show_values = bool(show)
        for card in self.cards():
            card.heatmap.set_show_values(self.show_values)

    def set_zoom(self, zoom: float):
        self.zoom = max(0.25, min(4.0, zoom))
        self._lay_out(self._fitted * self.zoom)
        self.zoom_control.show_zoom(self.zoom)

    # ------------------------------------------------------------------ sizes
    def _fit_cell(self, columns: list, room: QSize) -> tuple[Arrangement, int]:
        """The arrangement and the largest cell size (MIN_CELL_PX..MAX_CELL_PX) at which the levels fit.

        Best: everything without scrolling, in the arrangement (rows of levels, channels side by side) with
        the biggest cells. Else: the same choice with the view scrolling down only. The many tries are
        answered by arithmetic (`_size_at`) for `columns` in a viewport of `room`; only the winner is laid out.
        """
        scrollbar = self.verticalScrollBar().sizeHint().width()
        measures = [LevelMeasure(column) for column in columns]
        # levels measured as in a fit before (a stride changed back, an undo): its answer, without the ~100
        # tries (most of a 128×128 stride change's fit)
        signatures = tuple(m.signature for m in measures)
        if None in signatures:  # a vector level: its strip's size follows its values
            return self._search_fit(measures, room, scrollbar)
        key = (room.toTuple(), scrollbar, signatures)
        if key not in self._fits:
            if len(self._fits) >= FITS_KEPT:  # levels long changed
                self._fits.clear()
            self._fits[key] = self._search_fit(measures, room, scrollbar)
        return self._fits[key]

    def _search_fit(self, measures: list, room: QSize, scrollbar: int) -> tuple[Arrangement, int]:
        sizes: dict = {}  # (arrangement, cell) -> the levels' size: the passes below try many sizes again

        def size_at(arrangement, cell):
            if (arrangement, cell) not in sizes:
                sizes[(arrangement, cell)] = self._size_at(arrangement, cell, measures)
            return sizes[(arrangement, cell)]

        def largest(arrangement, width, height, above, most=MAX_CELL_PX):
            """The largest cell up to `most` that fits, if it is above `above` (else None)."""
            def fits(cell):
                w, h = size_at(arrangement, cell)
                return w <= width and h <= height

            lo = max(MIN_CELL_PX, above + 1)
            if not fits(lo):
                return None
            hi = most  # fits at lo; find the largest that fits
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
            return lo

        channels = max(len(m.column.cards) for m in measures)
        candidates = arrangements(len(measures), channels)
        # without scrolling if anything fits; else scrolling down only (a horizontal bar hides the last level),
        # first at most a second screenful
        scrolled = room.width() - scrollbar
        for width, height in ((room.width(), room.height()), (scrolled, 2 * room.height())):
            best, best_cell = None, MIN_CELL_PX - 1
            for arrangement in candidates:
                # a later (less lecture-like) arrangement must win by 2 px, not by rounding
                cell = largest(arrangement, width, height, best_cell + (1 if best is not None else 0))
                if cell is not None:
                    best, best_cell = arrangement, cell
            if best is not None:
                return best, best_cell
        # Longer than two screens whatever the cells: cells readable up to SCROLLED_CELL_PX (numbers like −0.25)
        # first, then the arrangement that needs the least scrolling (bigger cells would only push the last
        # levels further down).
        options = []
        for arrangement in candidates:
            cell = largest(arrangement, scrolled, 1 << 30, MIN_CELL_PX - 1, SCROLLED_CELL_PX)
            if cell is not None:
                options.append((-cell, size_at(arrangement, cell)[1], arrangement))
        if options:
            cell, _, arrangement = min(options, key=lambda o: o[:2])
            return arrangement, -cell
        return candidates[-1], MIN_CELL_PX  # the narrowest: the least to scroll sideways

    def _size_at(self, arrangement, cell_px: float, measures: list | None = None) -> tuple[int, int]:
        """The levels' size hint (width, height) in `arrangement` at `cell_px`, by arithmetic (no layout pass),
        of the levels `measures` stand for (LevelMeasure; every level by default)."""
        if measures is None:
            measures = [LevelMeasure(column) for column in self.columns]
        sizes = [m.size_at(cell_px, arrangement.across(len(m.kinds)), arrangement.compact) for m in measures]
        return self._content.size_at(sizes, arrangement.rows)

    def _lay_out(self, cell_px: float):
        """Size every map for `cell_px` and put the levels in the chosen arrangement."""
        for column in self.columns:
            for card in column.cards:
                card.fit(cell_px)
        arrangement = self._arrangement
        self._content.arrange(arrangement.rows)
        for column in self.columns:
            column.arrange(arrangement.across(len(column.cards)))
            column.detail.setVisible(not arrangement.compact)
            _set_tip(column.subtitle, column.detail.text() if arrangement.compact else "")
        # a widget's new size hint reaches the layout it sits in, not the nested layouts around that one
        _invalidate(self._content.layout())
        self._content.remeasure()
        self._place_pinned()
        # Lay the levels out top-down, now: the scroll area gives the content its new size, the content places
        # the levels, each level its maps. Left to the event loop, each level's request came first and laid its
        # maps out in the level's old size, and again once the content had grown: every map was resized twice.
        self._content.updateGeometry()  # asks the scroll area (through its viewport) to size the content again
        QApplication.sendPostedEvents(self.viewport(), QEvent.Type.LayoutRequest)
        QApplication.sendPostedEvents(self._content, QEvent.Type.LayoutRequest)

    def _apply_sizes(self):
        if not self.columns:
            self._pin(None)
            self._room = self.maximumViewportSize()
            return
        margins = self.viewportMargins()
        room = self.maximumViewportSize() + QSize(margins.right(), 0)  # the whole width, nothing pinned
        arrangement, cell = self._fit_cell(self.columns, room)
        pinned, width = self._pinnable(room, arrangement, cell)
        if pinned is not None:
            arrangement, cell = self._fit_cell(self.columns[:-1], room - QSize(width + PIN_GAP, 0))
        self._pin(pinned)
        self._arrangement, self._fitted = arrangement, cell
        self._lay_out(self._fitted * self.zoom)
        self._room = self.maximumViewportSize()

    def _pinnable(self, room: QSize, arrangement, cell):
        """(the last level, its width) when it is a vector (the prediction) the views would scroll away from
        and it fits the height beside the others; else (None, 0)."""
        last = self.columns[-1]
        if len(self.columns) < 2 or not isinstance(last.cards[0], VectorCard):
            return None, 0
        if self._size_at(arrangement, cell)[1] <= room.height():
            return None, 0  # everything is in view anyway
        caption = last.cards[0].caption
        wrapped = caption.wordWrap()
        caption.setWordWrap(True)  # pinned, it is as narrow as its entries
        size = last.size_at(SCROLLED_CELL_PX, 1, True)
        caption.setWordWrap(wrapped)
        if size.height() <= room.height() and size.width() <= room.width() // 3:
            return last, size.width()
        return None, 0

    def _pin(self, column) -> None:
        """Take `column` out of the scrolled levels and keep it at the view's right edge (None: put it back)."""
        if column is self.pinned:
            return
        if self.pinned is not None:
            self.pinned.cards[0].caption.setWordWrap(False)
        self.pinned = column
        self._content.set_columns([c for c in self.columns if c is not column], keep=[column, *self._spare])
        if column is None:
            self.setViewportMargins(0, 0, 0, 0)
            return
        column.cards[0].caption.setWordWrap(True)
        column.setParent(self)  # beside the viewport, in the margin kept for it
        column.show()

    def _place_pinned(self) -> None:
        column = self.pinned
        if column is None:
            return
        column.detail.hide()  # its description is its subtitle's tooltip: the column stays narrow
        _set_tip(column.subtitle, column.detail.text())
        hint = column.size_at(self._fitted * self.zoom, 1, True)
        self.setViewportMargins(0, 0, hint.width() + PIN_GAP, 0)
        frame = self.frameWidth()
        left = self.viewport().geometry().right() + 1 + PIN_GAP  # between the viewport and its scroll bar
        column.setGeometry(left, frame, hint.width(), min(hint.height(), self.height() - 2 * frame))
        column.raise_()

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        self._place_pinned()
        if self.maximumViewportSize() != self._room:  # not when only a scroll bar came or went
            self._apply_sizes()

    # ------------------------------------------------------------------ structure
    def _structure(self):
        doc = self.document
        rows = [("Input", shape_text(doc.input.shape), "the numbers you paint", doc.input.shape)]
        for i, layer in enumerate(doc.pipeline.layers, start=1):
            shape = doc.level_shape(i)
            rows.append((layer.label, f"output {shape_text(shape)}", describe_layer(layer), shape))
        return rows

    def _on_structure(self):
        self._sync_columns(0)

    def _levels_reshaped(self, first: int):
        """Levels from `first` on may have new shapes. The Document sends the new outputs next (outputsChanged
        follows every structure and layer change): the columns follow then, with the values, set once."""
        self._reshaped_from = first if self._reshaped_from is None else min(self._reshaped_from, first)

    def _on_recomputed(self, level: int):
        if self._reshaped_from is None:
            self._on_outputs(level)
            return
        first, self._reshaped_from = min(self._reshaped_from, level), None
        self._sync_columns(first)

    def _sync_columns(self, first: int):
        """Make the columns match the levels from level `first` on (layerChanged(i): levels i..), reusing every
        column and map already there: a stride change gives the maps after it new shapes but builds no widget
        (building ~90 GraphicsViews per edit was most of its cost) and leaves the levels before it alone."""
        rows = self._structure()
        layers = self.document.pipeline.layers
        first = max(0, min(first, len(self.columns)))
        reshaped = len(self.columns) != len(rows)
        while len(self.columns) > len(rows):
            self._put_aside(self.columns.pop())
        for level in range(first, len(rows)):
            title, subtitle, detail, shape = rows[level]
            layer = layers[level - 1] if level else None
            if level == len(self.columns):
                self.columns.append(self._new_column(level))
            column = self.columns[level]
            column.title.setText(title)
            column.subtitle.setText(subtitle)
            column.detail.setText(detail)
            input_help = "The input image, channels-last (rows × cols × channels)."
            _set_tip(column, type(layer).HELP if layer else input_help)
            reshaped = reshaped or column.shape != shape
            self._sync_cards(column, layer, shape)
            column.shape = shape
        if self.pinned is not None and self.pinned not in self.columns:
            self.pinned = None  # dropped with its level
            self.setViewportMargins(0, 0, 0, 0)  # resizes the view: the fit may pin another level right now
        flowing = [c for c in self.columns if c is not self.pinned]  # (so after that)
        if self._content.columns != flowing:
            self._content.set_columns(flowing, keep=self._spare)
        self._update_values(0 if self.range_mode == "global" else first)
        if reshaped:
            self._apply_sizes()  # after the values: they decide which colour bars take room
        self._on_selection(self.document.selected_layer)
        self._on_probe(self.document.probe)

    def _put_aside(self, column: LevelColumn) -> None:
        """A removed level's column waits hidden for the next added level (adding and removing a layer then
        builds no widget: a column with its maps took a few milliseconds to build and polish). The pinned
        prediction's column and more than SPARE_COLUMNS are dropped."""
        if column is self.pinned or len(self._spare) >= SPARE_COLUMNS:
            self._drop(column)
            return
        column.hide()
        self._spare.append(column)

    def _new_column(self, level: int) -> LevelColumn:
        """A column for a new level: one put aside (its maps get the level's number, shape and values as any
        column's do) or a new one."""
        if self._spare:
            column = self._spare.pop()
            column.level, column.shape = level, None
            return column
        column = LevelColumn(level, "", "", "", self.document)
        column.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        return column

    def _sync_cards(self, column: LevelColumn, layer, shape):
        """One vector card for a vector level, else one map per channel; the cards already there are kept."""
        vector = len(shape) == 1
        wanted = 1 if vector else shape[2]
        if column.cards and isinstance(column.cards[0], VectorCard) != vector:
            while column.cards:
                self._drop(column.cards.pop())
        while len(column.cards) > wanted:
            self._drop(column.cards.pop())
        while len(column.cards) < wanted:
            if vector:
                card = VectorCard(column.level, "")
                self._connect_vector(card)
            else:
                card = MapCard(column.level, len(column.cards), "")
                card.heatmap.set_data(np.zeros(shape[:2], np.float32), (-1, 1), DIVERGING)
                self._connect(card)
            card.heatmap.set_show_values(self.show_values)
            column.add_card(card)
            card.show()
        for card in column.cards:
            card.level = column.level  # a column put aside and taken again may stand for another level
            card.heatmap.set_show_values(self.show_values)
            card.caption.setText(vector_caption(layer, shape) if vector
                                 else channel_caption(column.level, layer, card.channel, shape[2]))

    @staticmethod
    def _drop(widget):
        widget.hide()  # gone from the screen now, not at the next event-loop turn
        widget.setParent(None)
        widget.deleteLater()

    def _connect(self, card: MapCard):
        hm = card.heatmap
        hm.setToolTip("Hover a cell: the cells it comes from light up in every earlier map and the weights "
                      "that made it in the filter editor. Click to pin (click again to release).")
        hm.cellHovered.connect(lambda r, c, card=card: self._hover(card, r, c))
        hm.cellPressed.connect(lambda r, c, button, card=card: self._press(card, r, c))

    def _connect_vector(self, card: VectorCard):
        strip = card.heatmap
        strip.setToolTip("Hover an entry: the numbers it comes from light up in every earlier level. "
                         "Click to pin (click again to release).")
        strip.cellHovered.connect(lambda i, card=card: self._hover(card, i, -1))
        strip.cellPressed.connect(lambda i, card=card: self._press(card, i, -1))

    # ------------------------------------------------------------------ values
    def _on_outputs(self, level: int):
        if len(self.columns) != len(self.document.levels):
            self._on_structure()
            return
        self._update_values(0 if self.range_mode == "global" else level)

    def _update_values(self, first: int):
        doc = self.document
        levels = doc.levels
        if len(levels) != len(self.columns):
            return
        ranges, before, rows = self._ranges, {}, {}
        for level in range(first, len(levels)):  # the rows an input edit changed (Document.changed_rows)
            before[level] = ranges.seen(level)
            rows[level] = doc.changed_rows(level, before[level])
            ranges.update(level, levels[level], rows[level], channels=level > 0 and self.range_mode == "map")
        global_levels = ranges.symmetric(*range(1, len(levels))) if self.range_mode == "global" else None
        for level in range(first, len(levels)):
            array = levels[level]
            column = self.columns[level]
            if array.ndim == 1:
                self._update_vector(column, array, global_levels)
                continue
            if array.shape[2] != len(column.cards) or not isinstance(column.cards[0], MapCard):
                continue
            if level == 0:
                lut, layer_levels = GREYS, ranges.input(0)
            else:
                lut = DIVERGING
                layer_levels = global_levels or ranges.symmetric(level)
            per_map = level > 0 and self.range_mode == "map"
            map_levels = ranges.channels(level) if per_map else None
            band = padding_band(doc.layer(level)) if level else (0, 0, 0, 0)
            # every channel's changed cells at once, for the maps in view (the others take their values later)
            in_view = any(card.heatmap.in_view() for card in column.cards)
            change = level_change(array, before[level], rows[level]) if in_view else None
            for card in column.cards:
                ch = card.channel
                card.show_map(array[:, :, ch], map_levels[ch] if per_map else layer_levels, lut, array,
                              before[level], change and change.cells(ch))
                card.heatmap.set_hatched(band)
            column.show_legend(layer_levels, lut, shared=not per_map)

    def _update_vector(self, column: LevelColumn, array, global_levels):
        if len(column.cards) != 1 or not isinstance(column.cards[0], VectorCard):
            return
        bars = is_probabilities(self.document.layer(column.level), array.shape)
        levels = (0.0, 1.0) if bars else global_levels or symmetric_levels(array)
        names = self.document.class_names  # the data's classes label the bars when they fit
        column.cards[0].show_vector(array, levels, DIVERGING, bars,
                                    list(names) if bars and len(names) == array.size else None)
        column.show_legend(levels, DIVERGING, shared=not bars)
        column.colorbar.setVisible(not bars)
        column.cards[0].colorbar.hide()  # a strip's legend is the column's; bars need none

    # ------------------------------------------------------------------ probes and selection
    def _hover(self, card: MapCard, r: int, c: int):
        doc = self.document
        if r < 0:
            doc.clear_probe()
            self.hoverText.emit("")
            return
        if isinstance(card, VectorCard):
            doc.set_probe(card.level, (r,))
            value = doc.levels[card.level][r]
            what = "Input" if card.level == 0 else f"{doc.level_label(card.level)} output"
            self.hoverText.emit(f"{what}: entry {r} = {format_value(value)}    (array index [{r}])")
            return
        doc.set_probe(card.level, (r, c, card.channel))
        value = doc.levels[card.level][r, c, card.channel]
        what = "Input" if card.level == 0 else f"{doc.level_label(card.level)} output"
        self.hoverText.emit(
            f"{what}: row {r + 1}, col {c + 1}, channel {card.channel + 1} = {format_value(value)}"
            f"    (array index [{r}, {c}, {card.channel}])"
        )

    def _press(self, card: MapCard, r: int, c: int):
        cell = (r,) if isinstance(card, VectorCard) else (r, c, card.channel)
        self.document.set_probe(card.level, cell, pinned=True)
        if card.level > 0:
            self.document.select_layer(card.level)

    def _on_probe(self, probe):
        fields = probe.fields if probe is not None else {}
        for column in self.columns:
            mask = fields.get(column.level)
            if mask is not None and mask.ndim == 1:
                for card in column.cards:
                    card.heatmap.set_highlight(mask if isinstance(card, VectorCard) else None)
                continue
            if mask is not None and (mask.ndim != 3 or mask.shape[2] != len(column.cards)):
                mask = None
            for card in column.cards:
                card.heatmap.set_highlight(None if mask is None else mask[:, :, card.channel])

    def _on_selection(self, index: int):
        for column in self.columns:
            column.set_selected(column.level == index and index > 0)
