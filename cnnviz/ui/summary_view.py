"""The model summary in the app: Keras's model.summary() as a table, its totals, and a copy as text.

`install_summary_dock(window)` adds it as a tab beside the arithmetic docks (View ▸ Model summary).
A row is a layer: clicking it selects that layer everywhere; the selected layer's row is highlighted.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from cnnviz.core import ConfigError
from cnnviz.core.summary import HEADERS, format_summary, summarize, table_rows, total_lines
from cnnviz.ui.arithmetic.base import DocumentView

TOOLTIPS = (
    "The layer's name and its Keras type",
    "As Keras writes it: None is the batch axis, then rows, cols and channels",
    "Numbers the layer learns (weights and biases) plus any it only keeps, as Keras counts them",
    "Products of a weight and a value for one input (pooling and up-sampling multiply by no weight)",
    "Input pixels (rows × cols) the centre cell of this layer's output depends on",
    "Parameters a Dense layer from this layer's input to its output would need: in·out + out",
)


class SummaryView(DocumentView):
    """The summary of the Document's pipeline, kept up to date; a refused pipeline shows why instead."""

    def __init__(self, document, parent=None):
        super().__init__(document, parent)
        self.setObjectName("modelSummary")
        self.table = QTableWidget(0, len(HEADERS), objectName="summaryTable")
        self.table.setHorizontalHeaderLabels(HEADERS)
        for column, tip in enumerate(TOOLTIPS):
            self.table.horizontalHeaderItem(column).setToolTip(tip)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # names beside their numbers
        header.setStretchLastSection(False)
        self.table.cellClicked.connect(lambda row, _column: self.document.select_layer(row + 1))
        self.totals = QLabel(objectName="summaryTotals")
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.totals.setWordWrap(True)
        copy = QPushButton("Copy as text")
        copy.setToolTip("Copy the summary as Keras's model.summary() prints it")
        copy.clicked.connect(self.copy_text)
        bottom = QHBoxLayout()
        bottom.addWidget(self.totals, 1)
        bottom.addWidget(copy, 0, Qt.AlignmentFlag.AlignBottom)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        self.summary = None
        self.start()

    def refresh(self) -> None:
        try:
            self.summary = summarize(self.document.pipeline)
        except ConfigError as exc:
            self.summary = None
            self.table.setRowCount(0)
            self.totals.setText(str(exc))
            return
        rows = table_rows(self.summary)
        self.table.setRowCount(len(rows))
        for r, texts in enumerate(rows):
            for c, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if c >= 2:  # the numbers right-aligned, as Keras prints them
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        selected = self.document.selected_layer
        if selected:
            self.table.selectRow(selected - 1)
        else:
            self.table.clearSelection()
        self.totals.setText("\n".join(total_lines(self.summary)))

    def text(self) -> str:
        return format_summary(self.summary) if self.summary is not None else self.totals.text()

    def copy_text(self) -> None:
        QGuiApplication.clipboard().setText(self.text())


def install_summary_dock(window) -> SummaryView:
    """A "Summary" page of the window's "Model" group (its entry in the View menu comes with the page)."""
    view = SummaryView(window.document)
    view.lazy = True  # out of sight it skips refreshes and catches up when its page comes to the front
    window.add_panel("model", "model_summary", "Summary", view)
    window.summary_view = view
    return view
