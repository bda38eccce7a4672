"""Every level of the pipeline as live heatmaps, left to right: the input, then each layer's output.

One column per level, one map per channel, each labelled. The maps grow to fill the view (a projected
lecture reads them from the back of the room): one cell size for every small map, so a student sees 6×6
shrink to 4×4 and 2×2 and grow back, chosen as large as fits (up to a cap), shrinking to a pointable
minimum before the view scrolls.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from cnnviz.ui.colormaps import DIVERGING, GREYS, format_value, input_levels, symmetric_levels
from cnnviz.ui.heatmap import ColorBar, Heatmap
from cnnviz.ui.texts import LAYER_HELP, describe_layer, shape_text

RANGE_MODES = ("map", "layer", "global")
MAX_CELL_PX = 48  # bigger cells only spread the same numbers further apart
MIN_CELL_PX = 12  # smaller cells are hard to point at: the view scrolls instead
BIG_MAP_CELLS = 8  # a map wider than this many cells is drawn as wide as this many (its cells smaller)
MIN_MAP_PX = 40  # even a 1×1 map is big enough to point at
MIN_COLORBAR_PX = 64  # a map's own colour bar (range per map) needs this much height for its three labels


def map_cell_px(shape, cell_px: float) -> float:
    """The on-screen size of a cell of a map of `shape` when a small map's cells are `cell_px` wide."""
    side = max(shape[:2])
    return max(cell_px * min(1.0, BIG_MAP_CELLS / side), MIN_MAP_PX / side)


def as_map(array: np.ndarray) -> np.ndarray:
    """A level as (rows, cols, channels): a vector level (Flatten, Dense) is one row of cells."""
    return array if array.ndim == 3 else array.reshape(1, -1, 1)


def map_shape(shape) -> tuple:
    return tuple(shape) if len(shape) == 3 else (1, int(np.prod(shape)), 1)


def level_cell(level_array: np.ndarray, r: int, c: int, ch: int) -> tuple:
    """The level's own index of map cell (r, c, ch): (c,) on a vector level."""
    return (r, c, ch) if level_array.ndim == 3 else (c,)


def channel_caption(level: int, layer, ch: int, channels: int) -> str:
    if level == 0:
        return f"channel {ch + 1}" + (f" ({'RGB'[ch]})" if channels == 3 else "")
    if type(layer).__name__ in ("Conv2D", "Conv2DTranspose"):
        return f"map {ch + 1} (filter {ch + 1})"
    return f"channel {ch + 1}"


def _invalidate(layout):
    """Drop the cached size hints of `layout` and of every layout nested in it (through widgets too)."""
    for i in range(layout.count()):
        item = layout.itemAt(i)
        widget = item.widget()
        if item.layout() is not None:
            _invalidate(item.layout())
        elif widget is not None and widget.layout() is not None:
            _invalidate(widget.layout())
            widget.updateGeometry()  # its layout item in the parent caches the old hint otherwise
    layout.invalidate()


class MapCard(QWidget):
    """One channel: caption above, heatmap with its colour bar beside it."""

    def __init__(self, level: int, channel: int, caption: str, parent=None):
        super().__init__(parent)
        self.level, self.channel = level, channel
        self.caption = QLabel(caption)
        self.caption.setStyleSheet("color: #444;")
        self.heatmap = Heatmap()
        self.colorbar = ColorBar()
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(self.caption)
        row = QHBoxLayout()
        row.setSpacing(4)
        row.addWidget(self.heatmap, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.colorbar)
        box.addLayout(row)

    def show_map(self, values, levels, lut):
        self.heatmap.set_data(values, levels, lut)
        self.colorbar.set_levels(levels, lut)


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
        outer.setContentsMargins(8, 6, 8, 6)
        outer.setSpacing(4)
        for w in (self.title, self.subtitle, self.detail):
            outer.addWidget(w)
        maps = QHBoxLayout()
        self.box = QVBoxLayout()
        self.box.setSpacing(4)
        maps.addLayout(self.box)
        maps.addWidget(self.colorbar)
        outer.addLayout(maps)
        outer.addStretch(1)

    def add_card(self, card: MapCard):
        self.cards.append(card)
        self.box.addWidget(card)

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
        if selected == self._selected:
            return  # a style sheet re-polishes every map in the column: set it only when it changes
        self._selected = selected
        self.setStyleSheet(
            "#levelColumn { background: #e8f1fb; border: 1px solid #8fb4dc; border-radius: 4px; }"
            if selected
            else "#levelColumn { border: 1px solid transparent; }"
        )


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
        self._room = None  # the viewport size the cells were fitted to
        self.columns: list[LevelColumn] = []
        self._arrows: list[QLabel] = []  # the "→" before each column but the first
        self.setWidgetResizable(True)
        self._content = QWidget()
        self._row = QHBoxLayout(self._content)
        self._row.setContentsMargins(6, 6, 6, 6)
        self._row.setSpacing(2)
        self._row.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self._row.addStretch(1)
        self.setWidget(self._content)
        document.structureChanged.connect(self._on_structure)
        document.layerChanged.connect(self._sync_columns)
        document.outputsChanged.connect(self._on_outputs)
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
        self._set_cells(self._fitted * self.zoom)

    # ------------------------------------------------------------------ sizes
    def _fit_cell(self) -> int:
        """The largest cell size (MIN_CELL_PX..MAX_CELL_PX) at which the levels fit the view.

        Best: everything without scrolling. Else: every level side by side (channels may scroll down).
        """
        room = self.maximumViewportSize()
        scrollbar = self.verticalScrollBar().sizeHint().width()

        def fits(cell, width, height):
            self._set_cells(cell)
            hint = self._content.sizeHint()
            return hint.width() <= width and hint.height() <= height

        for width, height in ((room.width(), room.height()), (room.width() - scrollbar, 1 << 30)):
            if fits(MIN_CELL_PX, width, height):
                lo, hi = MIN_CELL_PX, MAX_CELL_PX  # fits at lo; find the largest that fits
                while lo < hi:
                    mid = (lo + hi + 1) // 2
                    lo, hi = (mid, hi) if fits(mid, width, height) else (lo, mid - 1)
                return lo
        return MIN_CELL_PX

    def _set_cells(self, cell_px: float):
        for column in self.columns:
            for card in column.cards:
                card.heatmap.fit(map_cell_px(card.heatmap.shape, cell_px))
                card.colorbar.fit_height(max(card.heatmap.sizeHint().height(), MIN_COLORBAR_PX))
        # Qt refreshes nested layouts' cached size hints only when it lays them out; the fit asks before that
        _invalidate(self._row)

    def _apply_sizes(self):
        self._room = self.maximumViewportSize()
        self._fitted = self._fit_cell() if self.columns else MAX_CELL_PX
        self._set_cells(self._fitted * self.zoom)

    def resizeEvent(self, ev):
        super().resizeEvent(ev)
        if self.maximumViewportSize() != self._room:  # not when only a scroll bar came or went
            self._apply_sizes()

    # ------------------------------------------------------------------ structure
    def _structure(self):
        doc = self.document
        rows = [("Input", shape_text(doc.input.shape), "the numbers you paint", doc.input.shape)]
        for i, layer in enumerate(doc.pipeline.layers, start=1):
            shape = doc.level_shape(i)
            rows.append((layer.label, f"output {shape_text(shape)}", describe_layer(layer), map_shape(shape)))
        return rows

    def _on_structure(self):
        self._sync_columns(0)

    def _sync_columns(self, first: int):
        """Make the columns match the levels from level `first` on (layerChanged(i): levels i..), reusing every
        column and map already there: a stride change gives the maps after it new shapes but builds no widget
        (building ~90 GraphicsViews per edit was most of its cost) and leaves the levels before it alone."""
        rows = self._structure()
        layers = self.document.pipeline.layers
        first = max(0, min(first, len(self.columns)))
        reshaped = len(self.columns) != len(rows)
        while len(self.columns) > len(rows):
            self._drop(self.columns.pop())
            if self._arrows:
                self._drop(self._arrows.pop())
        for level in range(first, len(rows)):
            title, subtitle, detail, shape = rows[level]
            layer = layers[level - 1] if level else None
            if level == len(self.columns):
                self._add_column(level)
            column = self.columns[level]
            column.title.setText(title)
            column.subtitle.setText(subtitle)
            column.detail.setText(detail)
            input_help = "The input image, channels-last (rows × cols × channels)."
            column.setToolTip(LAYER_HELP.get(type(layer).__name__, "") if layer else input_help)
            reshaped = reshaped or column.shape != shape
            while len(column.cards) > shape[2]:
                self._drop(column.cards.pop())
            while len(column.cards) < shape[2]:
                card = MapCard(level, len(column.cards), "")
                card.heatmap.set_show_values(self.show_values)
                card.heatmap.set_data(np.zeros(shape[:2], np.float32), (-1, 1), DIVERGING)
                self._connect(card)
                column.add_card(card)
                card.show()
            for card in column.cards:
                card.caption.setText(channel_caption(level, layer, card.channel, shape[2]))
            column.shape = shape
        self._update_values(0 if self.range_mode == "global" else first)
        if reshaped:
            self._apply_sizes()  # after the values: they decide which colour bars take room
        self._on_selection(self.document.selected_layer)
        self._on_probe(self.document.probe)

    @staticmethod
    def _drop(widget):
        widget.hide()  # gone from the screen now, not at the next event-loop turn
        widget.setParent(None)
        widget.deleteLater()

    def _add_column(self, level: int):
        at = self._row.count() - 1  # before the stretch
        if level > 0:
            arrow = QLabel("→")
            arrow.setStyleSheet("font-size: 22px; color: #777;")
            arrow.setAlignment(Qt.AlignmentFlag.AlignTop)
            arrow.setContentsMargins(0, 50, 0, 0)
            self._row.insertWidget(at, arrow, 0, Qt.AlignmentFlag.AlignTop)
            arrow.show()  # counted by the layout now (the fit measures it), not at the next event-loop turn
            self._arrows.append(arrow)
            at += 1
        column = LevelColumn(level, "", "", "", self.document)
        column.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self.columns.append(column)
        self._row.insertWidget(at, column, 0, Qt.AlignmentFlag.AlignTop)
        column.show()

    def _connect(self, card: MapCard):
        hm = card.heatmap
        hm.setToolTip("Hover a cell: the cells it comes from light up in every earlier map and the weights "
                      "that made it in the filter editor. Click to pin (click again to release).")
        hm.cellHovered.connect(lambda r, c, card=card: self._hover(card, r, c))
        hm.cellPressed.connect(lambda r, c, button, card=card: self._press(card, r, c))

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
        global_levels = symmetric_levels(*levels[1:]) if self.range_mode == "global" else None
        for level in range(first, len(levels)):
            array = as_map(levels[level])
            column = self.columns[level]
            if array.shape[2] != len(column.cards):
                continue
            if level == 0:
                lut, layer_levels = GREYS, input_levels(array)
            else:
                lut = DIVERGING
                layer_levels = global_levels or symmetric_levels(array)
            per_map = level > 0 and self.range_mode == "map"
            for card in column.cards:
                values = array[:, :, card.channel]
                card.show_map(values, symmetric_levels(values) if per_map else layer_levels, lut)
            column.show_legend(layer_levels, lut, shared=not per_map)

    # ------------------------------------------------------------------ probes and selection
    def _hover(self, card: MapCard, r: int, c: int):
        doc = self.document
        if r < 0:
            doc.clear_probe()
            self.hoverText.emit("")
            return
        level = doc.levels[card.level]
        cell = level_cell(level, r, c, card.channel)
        doc.set_probe(card.level, cell)
        value = format_value(level[cell])
        what = "Input" if card.level == 0 else f"{doc.level_label(card.level)} output"
        where = f"row {r + 1}, col {c + 1}, channel {card.channel + 1}" if len(cell) == 3 else f"value {c + 1}"
        self.hoverText.emit(f"{what}: {where} = {value}    (array index {list(cell)})")

    def _press(self, card: MapCard, r: int, c: int):
        level = self.document.levels[card.level]
        self.document.set_probe(card.level, level_cell(level, r, c, card.channel), pinned=True)
        if card.level > 0:
            self.document.select_layer(card.level)

    def _on_probe(self, probe):
        fields = probe.fields if probe is not None else {}
        for column in self.columns:
            mask = fields.get(column.level)
            mask = None if mask is None else as_map(mask)
            if mask is not None and mask.shape[2] != len(column.cards):
                mask = None
            for card in column.cards:
                card.heatmap.set_highlight(None if mask is None else mask[:, :, card.channel])

    def _on_selection(self, index: int):
        for column in self.columns:
            column.set_selected(column.level == index and index > 0)
