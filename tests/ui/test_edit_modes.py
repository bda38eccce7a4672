"""Editing never changes data by surprise: a double-click opens the editor on the cell's unchanged value and
Escape leaves the data exactly as it was; in select mode a click only selects."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from cnnviz.ui.cell_editing import EDIT_MODE
from ui_support import make_window


@pytest.fixture
def window(qtbot, tmp_path):
    made = make_window(qtbot, tmp_path)
    yield made
    made.action_set.paint_mode.setChecked(True)  # the mode is app-wide: leave it as other tests expect


def double_click(qtbot, heatmap, cell):
    # what a hand sends: press, release, then the double-click event (Qt's mouseDClick sends only the last)
    pos = heatmap.cell_center(*cell)
    qtbot.mousePress(heatmap.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseRelease(heatmap.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(heatmap.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    QApplication.processEvents()


def test_a_double_click_edits_the_unchanged_value_and_escape_keeps_the_data(window, qtbot):
    doc = window.document
    grid = window.findChild(QWidget, "inputGrid")
    grid.brush.setValue(1.0)
    before = doc.input.copy()
    assert before[0, 1, 0] == 0
    undo_steps = doc.undo_stack.count()
    double_click(qtbot, grid.heatmap, (0, 1))
    editor = grid.editing.editor
    assert editor.isVisible() and editor.text() == "0"  # the value before the click, not the brush's 1
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    doc.flush()
    np.testing.assert_array_equal(doc.input, before)
    assert doc.undo_stack.count() == undo_steps  # no "Paint input" step that changes nothing


def test_a_double_click_on_a_filter_weight_edits_its_value(window, qtbot):
    editor_view = window.filter_editor
    editor_view.brush.setValue(5.0)
    kernel = window.document.layer(1).kernel.copy()
    view = editor_view.slices[0]
    double_click(qtbot, view.heatmap, (1, 1))
    assert view.editing.editor.text() == f"{kernel[1, 1, 0, 0]:g}"
    qtbot.keyClick(view.editing.editor, Qt.Key.Key_Escape)
    np.testing.assert_array_equal(window.document.layer(1).kernel, kernel)


def test_select_mode_clicks_only_select(window, qtbot):
    doc = window.document
    grid = window.findChild(QWidget, "inputGrid")
    window.action_set.paint_mode.setChecked(False)
    assert not EDIT_MODE.paint
    assert grid.heatmap.viewport().cursor().shape() == Qt.CursorShape.ArrowCursor
    before = doc.input.copy()
    qtbot.mouseClick(grid.heatmap.viewport(), Qt.MouseButton.LeftButton, pos=grid.heatmap.cell_center(2, 4))
    doc.flush()
    np.testing.assert_array_equal(doc.input, before)
    assert grid.editing.cursor == (2, 4)
    qtbot.keyClicks(grid.heatmap, "7")  # typing still edits the selected cell
    qtbot.keyClick(grid.editing.editor, Qt.Key.Key_Return)
    doc.flush()
    assert doc.input[2, 4, 0] == 7
    window.action_set.paint_mode.setChecked(True)
    assert grid.heatmap.viewport().cursor().shape() == Qt.CursorShape.CrossCursor


def test_the_status_bar_says_the_value_just_painted(window, qtbot):
    """Hover a weight (1), paint it to 0: the status bar said "weight 0" on a cell showing 1 (and vice versa)."""
    editor_view = window.filter_editor
    editor_view.brush.setValue(0.0)
    view = next(v for v in editor_view.slices if v.filt == 0)
    cell = next((r, c) for r in range(3) for c in range(3) if view.editing._read(r, c) == 1)
    hm = view.heatmap
    qtbot.mouseMove(hm.viewport(), hm.cell_center(*cell))
    QApplication.processEvents()
    assert "weight 1 " in window.statusBar().currentMessage()
    qtbot.mousePress(hm.viewport(), Qt.MouseButton.LeftButton, pos=hm.cell_center(*cell))
    qtbot.mouseRelease(hm.viewport(), Qt.MouseButton.LeftButton, pos=hm.cell_center(*cell))
    QApplication.processEvents()
    assert "weight 0 " in window.statusBar().currentMessage()
    grid = window.findChild(QWidget, "inputGrid")
    grid.brush.setValue(1.0)
    target = next((r, c) for r in range(6) for c in range(6) if window.document.input[r, c, 0] == 0)
    qtbot.mouseMove(grid.heatmap.viewport(), grid.heatmap.cell_center(*target))
    QApplication.processEvents()
    assert window.statusBar().currentMessage().split("=")[1].startswith(" 0 ")
    qtbot.mousePress(grid.heatmap.viewport(), Qt.MouseButton.LeftButton, pos=grid.heatmap.cell_center(*target))
    qtbot.mouseRelease(grid.heatmap.viewport(), Qt.MouseButton.LeftButton, pos=grid.heatmap.cell_center(*target))
    window.document.flush()
    QApplication.processEvents()
    assert window.statusBar().currentMessage().split("=")[1].startswith(" 1 ")
