"""How the layer views place their maps: levels in rows (wrapped when one row would leave cells too
small), each level's channels in a grid, and the arrangement that gives the cells the most pixels.

The numbers a student needs are written in a cell only when it is big enough, so the arrangement is
chosen by cell size: one row of levels with stacked channels as the lecture draws it, unless wrapping the
levels onto more rows, or setting a level's channels side by side, makes the cells bigger (a wide short
view, a 2× screen, one more Dropout level).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cnnviz.ui.heatmap import COLORBAR_WIDTH, ColorBar

CARD_SPACING = 2  # caption to view
BAR_SPACING = 4  # view to its colour bar
FLOW_MARGIN, ROW_SPACING, LEVEL_SPACING = 6, 10, 2  # around the levels, between rows, between a level and an arrow
MAX_ROWS = 3  # rows of levels at most


@dataclass(frozen=True)
class Arrangement:
    rows: int  # rows of levels
    stack: int  # at most this many maps one above the other in a level; more go side by side
    compact: bool = False  # each level's one-line description goes to its tooltip

    def across(self, channels: int) -> int:
        """Columns of maps in a level of `channels` maps."""
        return max(1, -(-channels // self.stack))


def arrangements(levels: int, max_channels: int) -> list[Arrangement]:
    """Candidates in order of preference (ties go to the first: full headers, fewest rows, channels stacked)."""
    stacks = sorted({max(max_channels, 1), 4, 2, 1}, reverse=True)
    stacks = [s for s in stacks if s <= max(max_channels, 1)]
    return [
        Arrangement(rows, stack, compact)
        for compact in (False, True)
        for rows in range(1, min(levels, MAX_ROWS) + 1)
        for stack in stacks
    ]


def split_levels(count: int, rows: int) -> list[range]:
    """Level indices 0..count-1 cut into `rows` consecutive runs, the first ones one longer."""
    per, extra = divmod(count, rows)
    out, start = [], 0
    for r in range(rows):
        n = per + (r < extra)
        out.append(range(start, start + n))
        start += n
    return [r for r in out if len(r)]


def _arrow(text: str, parent: QWidget) -> QLabel:
    arrow = QLabel(text, parent)
    arrow.setStyleSheet("font-size: 22px; color: #777;")
    arrow.setAlignment(Qt.AlignmentFlag.AlignTop)
    arrow.setContentsMargins(0, 50, 0, 0)
    arrow.ensurePolished()  # its style sheet's 22 px font counts in the size the fit measures
    return arrow


class LevelCard(QWidget):
    """One map or vector of a level: its caption above, the view with its own colour bar beside it.

    `size_at(view)` is the size this layout takes around a view of that size: the layer views try many
    cell sizes to find the largest that fits, and arithmetic answers that without a layout pass per try.
    """

    def __init__(self, view: QWidget, caption: str, parent=None):
        super().__init__(parent)
        self.caption = QLabel(caption)
        self.caption.setStyleSheet("color: #444;")
        self.heatmap = view  # a map or a vector strip: the views address both by this name
        self.colorbar = ColorBar()
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(CARD_SPACING)
        box.addWidget(self.caption)
        row = QHBoxLayout()
        row.setSpacing(BAR_SPACING)
        row.addWidget(self.heatmap, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.colorbar)
        box.addLayout(row)

    def size_at(self, view: QSize, bar_height: int) -> QSize:
        """The card's size hint with a view of size `view` and (when shown) a colour bar `bar_height` tall."""
        caption = self.caption.sizeHint()
        width, height = view.width(), view.height()
        if not self.colorbar.isHidden():
            width += BAR_SPACING + COLORBAR_WIDTH
            height = max(height, bar_height)
        if self.caption.wordWrap():  # a wrapped caption takes the view's width and the lines it needs there
            return QSize(width, self.caption.heightForWidth(width) + CARD_SPACING + height)
        return QSize(max(caption.width(), width), caption.height() + CARD_SPACING + height)


class LevelFlow(QWidget):
    """The level columns left to right with arrows between them, in one or more rows."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.columns: list = []
        self.rows = 1
        self._outer = QVBoxLayout(self)
        self._outer.setContentsMargins(FLOW_MARGIN, FLOW_MARGIN, FLOW_MARGIN, FLOW_MARGIN)
        self._outer.setSpacing(ROW_SPACING)
        self._outer.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        # The rows are made once and only their widgets move: a layout taken out of another is handed to
        # Python, and freeing it there as well as in Qt crashed the app after many structural edits.
        self._rows = []
        for _ in range(MAX_ROWS):
            row = QHBoxLayout()
            row.setSpacing(LEVEL_SPACING)
            row.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            self._outer.addLayout(row)
            row.addStretch(1)
            self._rows.append(row)
        self._outer.addStretch(1)
        self._arrows: list[QLabel] = []  # made once, reused by every arrangement
        self._arrow_size: QSize | None = None

    def size_at(self, sizes: list[tuple[int, int]], rows: int) -> tuple[int, int]:
        """The size hint (width, height) of the levels in `rows` rows when the level columns' hints are `sizes`."""
        if self._arrow_size is None:  # every arrow is alike: measure a spare one
            self._arrows.append(_arrow("→", self))
            self._arrow_size = self._arrows[-1].sizeHint().toTuple()
        arrow_w, arrow_h = self._arrow_size
        width = height = 0
        for n, run in enumerate(split_levels(len(sizes), max(1, min(rows, len(sizes) or 1)))):
            arrows = sum(1 for i in run if i > 0)
            items = len(run) + arrows
            row_w = sum(sizes[i][0] for i in run) + arrows * arrow_w + LEVEL_SPACING * (items - 1)
            width = max(width, row_w)
            height += max([sizes[i][1] for i in run] + ([arrow_h] if arrows else [])) + (ROW_SPACING if n else 0)
        return width + 2 * FLOW_MARGIN, height + 2 * FLOW_MARGIN

    def set_columns(self, columns: list, keep=()) -> None:
        """Take these LevelColumns (old ones not among them are deleted, unless in `keep`: the views show them
        elsewhere) and lay them out in one row."""
        kept = {id(column) for column in columns}
        for column in self.columns:
            if id(column) not in kept:  # a column the views reuse stays
                for row in self._rows:
                    row.removeWidget(column)
                if any(column is k for k in keep):
                    continue
                column.hide()  # gone from the screen now, not at the next event-loop turn
                column.deleteLater()
        self.columns = list(columns)
        for column in self.columns:
            column.ensurePolished()  # style-sheet fonts decide label widths: measure with them
        self.arrange(self.rows or 1, again=True)

    def remeasure(self) -> None:
        """Make every level measure its height again. A level's place in its row caches the height the level
        takes for its width (its description wraps), and Qt keeps that cache when only the maps inside
        change size: the level would keep its old height and crop its maps. A new place has no cache."""
        for row in self._rows:
            for column in self.columns:
                index = row.indexOf(column)
                if index >= 0:
                    row.removeWidget(column)
                    row.insertWidget(index, column, 0, Qt.AlignmentFlag.AlignTop)

    def arrange(self, rows: int, again: bool = False) -> None:
        """Put the columns in `rows` rows (a level that ends a row is followed by an arrow starting the next);
        `again`: the columns changed, place them even in as many rows as before."""
        rows = max(1, min(rows, len(self.columns) or 1))
        if rows == self.rows and not again:
            return
        self.rows = rows
        for widget in self.columns + self._arrows:
            for row in self._rows:
                row.removeWidget(widget)
        arrows = iter(self._arrows)
        for row, run in zip(self._rows, split_levels(len(self.columns), rows)):
            for level in run:
                if level > 0:
                    arrow = next(arrows, None)
                    if arrow is None:
                        arrow = _arrow("→", self)
                        self._arrows.append(arrow)
                    row.insertWidget(row.count() - 1, arrow, 0, Qt.AlignmentFlag.AlignTop)  # before the stretch
                    arrow.show()  # counted by the layout now (the fit measures it)
                row.insertWidget(row.count() - 1, self.columns[level], 0, Qt.AlignmentFlag.AlignTop)
                self.columns[level].show()
        for arrow in arrows:  # fewer levels than before: the spare arrows wait hidden
            arrow.hide()


def _keys(standard: QKeySequence.StandardKey) -> str:
    keys = QKeySequence.keyBindings(standard)
    return keys[0].toString(QKeySequence.SequenceFormat.NativeText) if keys else ""


class ZoomControl(QFrame):
    """"zoom − 100 % +" for the maps (the main window puts it in the status bar): zoom is one click away
    and its buttons say the keys."""

    zoomBy = Signal(float)
    STEP = 1.25

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("zoomControl")
        zoom_in, zoom_out = _keys(QKeySequence.StandardKey.ZoomIn), _keys(QKeySequence.StandardKey.ZoomOut)
        self.out_button = self._button("−", f"Smaller cells ({zoom_out})", 1 / self.STEP)
        self.in_button = self._button("+", f"Bigger cells ({zoom_in})", self.STEP)
        self.label = QLabel()
        self.label.setToolTip(f"Zoom of the maps: {zoom_in} / {zoom_out}. 100 % is the size that fits the view.")
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 1, 4, 1)
        row.setSpacing(2)
        row.addWidget(QLabel("zoom"))
        row.addWidget(self.out_button)
        row.addWidget(self.label)
        row.addWidget(self.in_button)
        self.show_zoom(1.0)

    def _button(self, text: str, tip: str, factor: float) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.clicked.connect(lambda: self.zoomBy.emit(factor))
        return button

    def show_zoom(self, zoom: float) -> None:
        self.label.setText(f"{round(zoom * 100)} %")
