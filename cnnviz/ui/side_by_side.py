"""Side by side: a kept snapshot of one layer's output (or the whole pipeline) beside the live one, each labelled
with what differs ("stride 1 | stride 2"), and both exported as one figure.

Comparing two settings is how the lecture teaches stride: keep a snapshot, change the setting, and the
two pictures stand next to each other. The snapshot holds copies (pipeline, input, outputs), so later
edits never reach it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from PySide6.QtCore import QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from cnnviz.core import ConfigError
from cnnviz.core.differences import differences
from cnnviz.io.errors import SessionError
from cnnviz.ui.arithmetic.base import DocumentView
from cnnviz.ui.figure import INK, SOFT, Figure, pipeline_figure, save_figure
from cnnviz.ui.grid_painter import pixel_font

LABEL_PX, CAPTION_PX = 26.0, 14.0
LABEL_ROOM = LABEL_PX * 1.6 + CAPTION_PX * 1.6  # above each figure: the label, then "snapshot" / "live"
DIVIDER = 28.0  # between the two figures, with a line down the middle
EMPTY = ("Keep a snapshot, then change a setting (a stride, the padding, the interpolation): the snapshot "
         "and the live layer stand side by side, labelled with what differs.")


@dataclass(frozen=True)
class Snapshot:
    """Copies of a document's state, and the layer it shows (None: the whole pipeline)."""

    pipeline: object
    input: np.ndarray
    outputs: tuple
    training: bool
    layer: int | None

    @classmethod
    def of(cls, document, layer: int | None) -> Snapshot:
        return cls(document.pipeline.copy(), document.input.copy(), tuple(o.copy() for o in document.outputs),
                   document.training, layer)

    def state(self):
        return self.pipeline, self.input, self.training

    def columns(self) -> list:
        return state_columns(self.pipeline, self.input, list(self.outputs), self.training, self.layer)


def state_columns(pipeline, x, outputs, training, layer) -> list:
    """The figure columns of the whole pipeline (layer None), or of layer `layer`'s output with its
    shape arithmetic."""
    columns = pipeline_figure(x, pipeline, outputs, training=training).columns
    if layer is None:
        return columns
    if not 1 <= layer <= len(pipeline.layers):
        raise SessionError(f"layer {layer} does not exist: the pipeline has layers 1 to {len(pipeline.layers)}")
    column = columns[layer]
    column.stack = max(1, math.ceil(len(column.grids) / 4))  # maps side by side: a dock is wider than tall
    column.notes = column.notes + pipeline.layers[layer - 1].explain_output_shape(([x] + outputs)[layer - 1].shape)
    return [column]


def share_levels(left: list, right: list) -> None:
    """Columns at the same place get one colour range, so one colour is one number on both sides."""
    for a, b in zip(left, right):
        grids = a.grids + b.grids
        if not grids:
            continue
        levels = (min(g.levels[0] for g in grids), max(g.levels[1] for g in grids))
        a.grids = [replace(g, levels=levels) for g in a.grids]
        b.grids = [replace(g, levels=levels) for g in b.grids]


class SideBySideFigure:
    """Two figures next to each other, each under its label; has `size` and `paint` like a Figure, so
    save_figure writes it as one PNG, SVG or PDF."""

    def __init__(self, left, right, labels: tuple[str, str], captions=("snapshot", "live")):
        self.parts, self.labels, self.captions = (left, right), labels, captions
        width = left.size.width() + DIVIDER + right.size.width()
        self.size = QSizeF(math.ceil(width), math.ceil(LABEL_ROOM + max(left.size.height(), right.size.height())))

    def part_rects(self) -> list[QRectF]:
        """Where each figure lands (below its label), in figure units."""
        left, right = self.parts
        return [QRectF(0, LABEL_ROOM, left.size.width(), left.size.height()),
                QRectF(left.size.width() + DIVIDER, LABEL_ROOM, right.size.width(), right.size.height())]

    def paint(self, painter: QPainter) -> None:
        painter.fillRect(QRectF(0, 0, self.size.width(), self.size.height()), QColor("white"))
        for part, rect, label, caption in zip(self.parts, self.part_rects(), self.labels, self.captions):
            painter.save()
            painter.translate(rect.topLeft())
            part.paint(painter)
            painter.restore()
            margin = 24.0  # the figures' own margin: labels line up with their headings
            painter.setPen(INK)
            painter.setFont(pixel_font(LABEL_PX, bold=True))
            painter.drawText(QRectF(rect.x() + margin, 6, rect.width() - margin, LABEL_PX * 1.4),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, label)
            painter.setPen(SOFT)
            painter.setFont(pixel_font(CAPTION_PX))
            painter.drawText(QRectF(rect.x() + margin, 6 + LABEL_PX * 1.5, rect.width() - margin, CAPTION_PX * 1.4),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, caption)
        x = self.parts[0].size.width() + DIVIDER / 2
        painter.setPen(QPen(QColor(170, 170, 170), 1.5))
        painter.drawLine(round(x), 8, round(x), round(self.size.height() - 8))


class FigureCanvas(QWidget):
    """Paints a figure scaled to fit (never above its design size), centred."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.figure = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(120)

    def set_figure(self, figure) -> None:
        self.figure = figure
        self.update()

    def scale(self) -> float:
        if self.figure is None:
            return 1.0
        size = self.figure.size
        return min(1.0, self.width() / size.width(), self.height() / size.height())

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("white"))
        if self.figure is not None:
            s, size = self.scale(), self.figure.size
            painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
            painter.translate((self.width() - size.width() * s) / 2, (self.height() - size.height() * s) / 2)
            painter.scale(s, s)
            self.figure.paint(painter)
        painter.end()


class SideBySideView(DocumentView):
    """Keep a snapshot of the selected layer or of the whole pipeline; it stays beside the live one."""

    def __init__(self, document, parent=None):
        super().__init__(document, parent)
        self.setObjectName("sideBySide")
        self.snapshot: Snapshot | None = None
        self.labels = ("", "")
        keep_layer = QPushButton("Keep layer", objectName="keepLayer")
        keep_layer.setToolTip("Keep a snapshot of the selected layer's output to compare with")
        keep_layer.clicked.connect(lambda: self.keep(self.document.selected_layer or None))
        keep_all = QPushButton("Keep pipeline", objectName="keepPipeline")
        keep_all.setToolTip("Keep a snapshot of every level to compare with")
        keep_all.clicked.connect(lambda: self.keep(None))
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the snapshot and the live picture as one PNG, SVG or PDF")
        self.export_button.clicked.connect(lambda: self.export())
        self.message = QLabel(EMPTY, objectName="sideBySideMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #555;")
        self.canvas = FigureCanvas()
        buttons = QHBoxLayout()
        for button in (keep_layer, keep_all, self.clear_button, self.export_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(self.canvas, 1)
        self.start()

    def keep(self, layer: int | None) -> None:
        """Snapshot the document now: layer `layer` (1-based) or, with None, the whole pipeline."""
        self.snapshot = Snapshot.of(self.document, layer)
        self.refresh()

    def clear(self) -> None:
        self.snapshot = None
        self.refresh()

    def live_columns(self) -> list:
        doc = self.document
        return state_columns(doc.pipeline, doc.input, list(doc.outputs), doc.training, self.snapshot.layer)

    def figure(self) -> SideBySideFigure | None:
        return self.canvas.figure

    def refresh(self) -> None:
        has = self.snapshot is not None
        self.clear_button.setEnabled(has)
        self.export_button.setEnabled(False)
        if not has:
            self.labels = ("", "")
            self.message.setText(EMPTY)
            self.message.show()
            self.canvas.set_figure(None)
            return
        snap, doc = self.snapshot, self.document
        if snap.layer is not None and snap.layer > len(doc.pipeline.layers):
            self.message.setText(f"The snapshot shows layer {snap.layer}; the pipeline now has "
                                 f"{len(doc.pipeline.layers)} layers. Keep a new snapshot, or undo.")
            self.message.show()
            self.canvas.set_figure(None)
            return
        try:
            self.labels = differences(snap.state(), (doc.pipeline, doc.input, doc.training), snap.layer)
            left, right = snap.columns(), self.live_columns()
            share_levels(left, right)
            figure = SideBySideFigure(Figure(left), Figure(right), self.labels)
        except (ConfigError, SessionError, IndexError) as exc:
            self.message.setText(str(exc))
            self.message.show()
            self.canvas.set_figure(None)
            return
        self.message.hide()
        self.canvas.set_figure(figure)
        self.export_button.setEnabled(True)

    def export(self, path: str | None = None, scale: float = 1.0) -> bool:
        """Write the side-by-side figure (asks for a file name when none is given); False if nothing written."""
        figure = self.figure()
        if figure is None:
            return False
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export side by side", "side-by-side.png",
                                                  "Figures (*.png *.svg *.pdf)")
            if not path:
                return False
        try:
            save_figure(figure, path, scale)
        except (SessionError, OSError) as exc:
            self.message.setText(f"Not exported: {exc}")
            self.message.show()
            return False
        return True


def install_side_by_side_dock(window) -> SideBySideView:
    """A "Side by side" page of the window's "Model" group (its entry in the View menu comes with the page)."""
    view = SideBySideView(window.document)
    view.lazy = True
    window.add_panel("model", "side_by_side", "Side by side", view)
    window.side_by_side = view
    return view
