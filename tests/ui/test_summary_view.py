"""The Model summary tab: the lecture's counts on screen, following edits, selecting layers, copied as text."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from ui_support import make_window

from cnnviz.core.summary import format_summary, summarize


@pytest.fixture
def window(qtbot, tmp_path):
    return make_window(qtbot, tmp_path)


def cells(view):
    table = view.table
    return [[table.item(r, c).text() for c in range(table.columnCount())] for r in range(table.rowCount())]


def show_summary(window, qtbot):
    window.show_panel("model_summary")
    qtbot.waitUntil(lambda: window.summary_view.isVisible() and window.summary_view.table.rowCount() > 0)
    return window.summary_view


def test_the_view_menu_opens_the_summary_and_it_shows_the_lecture_counts(window, qtbot):
    group = window.groups["model"]
    entry = next(a for a in group.menu.actions() if a.text() == "Summary")  # View ▸ Model ▸ Summary
    assert group.menu.menuAction() in window.menus["View"].actions()
    entry.trigger()
    view = show_summary(window, qtbot)
    assert group.current.widget is view
    assert group in window.tabifiedDockWidgets(window.docks["arithmetic"])  # a tab under the maps
    assert cells(view) == [
        ["conv2d (Conv2D)", "(None, 4, 4, 2)", "20", "288", "3×3", "1,184"],
        ["max_pooling2d (MaxPooling2D)", "(None, 2, 2, 2)", "0", "0", "4×4", "264"],
        ["up_sampling2d (UpSampling2D)", "(None, 6, 6, 2)", "0", "0", "4×4", "648"],
    ]
    assert view.totals.text().splitlines()[:3] == [
        "Total params: 20 (80.00 B)", "Trainable params: 20 (80.00 B)", "Non-trainable params: 0 (0.00 B)"]
    assert view.table.item(0, 2).textAlignment() & Qt.AlignmentFlag.AlignRight


def test_the_summary_follows_an_edit_and_undo(window, qtbot):
    view = show_summary(window, qtbot)
    doc = window.document
    doc.replace_layer(1, doc.layer(1).replace(filters=4))
    doc.flush()
    assert cells(view)[0][:4] == ["conv2d (Conv2D)", "(None, 4, 4, 4)", "40", "576"]
    window.action_set.undo.trigger()
    doc.flush()
    assert cells(view)[0][2] == "20"


def test_a_hidden_summary_catches_up_when_its_tab_is_raised(window, qtbot):
    view = show_summary(window, qtbot)
    window.show_panel("arithmetic_stepper")
    qtbot.waitUntil(lambda: view.visibleRegion().isEmpty())
    window.pipeline_panel.add_layer("MaxPooling2D")
    window.document.flush()
    assert view.table.rowCount() == 3  # skipped while out of sight
    window.show_panel("model_summary")
    qtbot.waitUntil(lambda: view.table.rowCount() == 4)


def test_clicking_a_row_selects_the_layer_and_the_selection_shows(window, qtbot):
    view = show_summary(window, qtbot)
    rect = view.table.visualItemRect(view.table.item(1, 0))
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.document.selected_layer == 2
    window.document.select_layer(3)
    assert [i.row() for i in view.table.selectionModel().selectedRows()] == [2]


def test_copy_as_text_is_keras_s_form(window, qtbot):
    view = show_summary(window, qtbot)
    view.copy_text()
    assert QGuiApplication.clipboard().text() == format_summary(summarize(window.document.pipeline))
    assert " Total params: 20 (80.00 B)" in QGuiApplication.clipboard().text()
