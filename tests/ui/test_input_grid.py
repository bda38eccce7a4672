"""The input grid driven with the mouse and keyboard, as a person would."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from cnnviz import core
from ui_support import make_window, stroke


@pytest.fixture
def window(qtbot, tmp_path):
    return make_window(qtbot, tmp_path)


def grid_of(window):
    return window.findChild(QWidget, "inputGrid")


def test_drag_paints_cells_and_every_downstream_map_changes(window, qtbot):
    doc = window.document
    grid = grid_of(window)
    grid.brush.setValue(4.0)
    before_levels = [a.copy() for a in doc.levels]
    before_images = [card.heatmap.image.image.copy() for card in window.layer_views.cards()]
    cells = [(0, 1), (1, 1), (2, 1), (3, 1)]
    stroke(qtbot, grid.heatmap, cells)
    doc.flush()
    qtbot.wait(1)
    painted = {(r, c) for r in range(6) for c in range(6) if doc.input[r, c, 0] == 4.0}
    assert painted == set(cells)
    assert doc.undo_stack.count() == 1
    expected = doc.pipeline.copy().run(doc.input)
    for level, (old, new) in enumerate(zip(before_levels, doc.levels)):
        assert not np.array_equal(old, new), f"level {level} did not change"
        if level:
            np.testing.assert_allclose(new, expected[level - 1], atol=1e-5)
    # every heatmap shows its new values
    for card in window.layer_views.cards():
        np.testing.assert_array_equal(card.heatmap.image.image, doc.levels[card.level][:, :, card.channel])
    cards = window.layer_views.cards()
    changed = [not np.array_equal(card.heatmap.image.image, old) for card, old in zip(cards, before_images)]
    assert sum(changed) >= 6  # the input and both maps of every layer
    np.testing.assert_array_equal(grid.heatmap.image.image, doc.input[:, :, 0])


def test_fast_drag_fills_the_gap_and_undo_redo_is_one_step(window, qtbot):
    doc = window.document
    grid = grid_of(window)
    grid.brush.setValue(2.0)
    original = doc.input.copy()
    stroke(qtbot, grid.heatmap, [(5, 0), (5, 5)])  # one jump across the row
    doc.flush()
    assert np.all(doc.input[5, :, 0] == 2.0)
    window.action_set.undo.trigger()
    doc.flush()
    np.testing.assert_array_equal(doc.input, original)
    np.testing.assert_array_equal(grid.heatmap.image.image, original[:, :, 0])
    window.action_set.redo.trigger()
    doc.flush()
    assert np.all(doc.input[5, :, 0] == 2.0)


def test_right_drag_and_shift_drag_erase_to_zero(window, qtbot):
    doc = window.document
    grid = grid_of(window)
    assert doc.input[0, 0, 0] == 1 and doc.input[1, 1, 0] == 1
    stroke(qtbot, grid.heatmap, [(0, 0)], Qt.MouseButton.RightButton)
    assert doc.input[0, 0, 0] == 0
    stroke(qtbot, grid.heatmap, [(1, 1)], Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier)
    assert doc.input[1, 1, 0] == 0
    assert doc.undo_stack.count() == 2


def test_keyboard_cursor_and_exact_values(window, qtbot):
    doc = window.document
    grid = grid_of(window)
    hm = grid.heatmap
    hm.setFocus()
    qtbot.keyClick(hm, Qt.Key.Key_Right)
    qtbot.keyClick(hm, Qt.Key.Key_Right)
    qtbot.keyClick(hm, Qt.Key.Key_Down)
    assert grid.editing.cursor == (1, 2)
    qtbot.keyClicks(hm, "-")  # typing a number opens the editor with it
    assert grid.editing.editor.isVisible()
    qtbot.keyClicks(grid.editing.editor, "2.5")
    qtbot.keyClick(grid.editing.editor, Qt.Key.Key_Return)
    assert doc.input[1, 2, 0] == pytest.approx(-2.5)
    assert not grid.editing.editor.isVisible()
    qtbot.keyClick(hm, Qt.Key.Key_Delete)
    assert doc.input[1, 2, 0] == 0
    # double-click opens the editor on that cell
    qtbot.mouseDClick(hm.viewport(), Qt.MouseButton.LeftButton, pos=hm.cell_center(4, 3))
    assert grid.editing.cursor == (4, 3) and grid.editing.editor.isVisible()
    grid.editing.editor.setText("7")
    qtbot.keyClick(grid.editing.editor, Qt.Key.Key_Return)
    assert doc.input[4, 3, 0] == 7


def test_a_value_that_is_not_a_number_keeps_the_editor_open_and_says_so(window, qtbot):
    doc = window.document
    grid = grid_of(window)
    before, steps = doc.input.copy(), doc.undo_stack.count()
    grid.editing.open_editor(2, 2, "-")
    qtbot.keyClick(grid.editing.editor, Qt.Key.Key_Return)
    assert grid.editing.editor.isVisible()  # still there to correct, not silently closed
    assert "“-” is not a number" in grid.editing.editor.toolTip()
    assert np.array_equal(doc.input, before) and doc.undo_stack.count() == steps
    qtbot.keyClicks(grid.editing.editor, "3")
    qtbot.keyClick(grid.editing.editor, Qt.Key.Key_Return)
    assert doc.input[2, 2, 0] == -3 and not grid.editing.editor.isVisible()
    assert grid.editing.editor.toolTip() == ""


def test_fill_clear_invert_random_and_examples(window, qtbot):
    doc = window.document
    grid = grid_of(window)
    grid.brush.setValue(0.5)
    window.action_set.fill.trigger()
    assert np.all(doc.input == 0.5)
    window.action_set.clear.trigger()
    assert np.all(doc.input == 0)
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    np.testing.assert_array_equal(doc.input, core.seed_input())
    window.action_set.invert.trigger()
    np.testing.assert_array_equal(doc.input, 1 - core.seed_input())
    window.action_set.random.trigger()
    assert doc.input.min() >= 0 and doc.input.max() <= 1 and len(np.unique(doc.input)) > 10
    grid.examples.activated.emit(4)  # checkerboard
    np.testing.assert_array_equal(doc.input, core.example_input("checkerboard", (6, 6, 1)))
    window.action_set.example["digit"].trigger()
    np.testing.assert_array_equal(doc.input, core.example_input("digit", (6, 6, 1)))


def test_resize_keeps_what_fits_and_channels(window, qtbot, monkeypatch):
    doc = window.document
    grid = grid_of(window)
    monkeypatch.setattr(grid, "ask_channels", lambda *args: "keep")
    rows, cols, chans = grid.size_boxes
    rows.setValue(8)
    assert doc.input.shape == (8, 6, 1)
    np.testing.assert_array_equal(doc.input[:6], core.seed_input())
    assert np.all(doc.input[6:] == 0)
    chans.setValue(3)
    assert doc.input.shape == (8, 6, 3)
    assert doc.outputs[0].shape == (6, 4, 2)
    # channel selector: 3 channels + the RGB view
    assert grid.channel_box.count() == 4
    grid.channel_box.activated.emit(1)
    assert grid.channel == 1
    stroke(qtbot, grid.heatmap, [(0, 0)])
    assert doc.input[0, 0, 1] == grid.brush.value() and doc.input[0, 0, 0] == 1
    grid.channel_box.activated.emit(3)  # RGB: paints every channel, shows colour
    assert grid.heatmap.image.image.shape == (8, 6, 3)
    stroke(qtbot, grid.heatmap, [(7, 5)])
    assert np.all(doc.input[7, 5] == grid.brush.value())
    assert len(window.layer_views.cards(0)) == 3


def test_too_small_a_size_is_refused_with_a_message(window, qtbot):
    doc = window.document
    grid = grid_of(window)
    grid.size_boxes[0].setValue(2)  # the 3×3 valid conv cannot run on 2 rows
    assert doc.input.shape == (6, 6, 1)
    assert grid.message.isVisible() and "Conv2D #1" in grid.message.text()
    assert grid.size_boxes[0].value() == 6


def test_large_input_sizes(window, qtbot):
    doc = window.document
    grid = grid_of(window)
    grid.size_boxes[1].setValue(256)
    grid.size_boxes[0].setValue(256)
    assert doc.input.shape == (256, 256, 1)
    stroke(qtbot, grid.heatmap, [(10, 10), (10, 40)])
    doc.flush()
    assert doc.input[10, 10:41, 0].min() == grid.brush.value()
    assert doc.outputs[-1].shape == (381, 381, 2)


def test_invert_flips_within_the_grey_range_even_for_a_blank_or_flat_image(window):
    """Invert on a cleared input did nothing (max + min − x = 0); it flips within the greys' range (≥ 0..1)."""
    doc = window.document
    grid = grid_of(window)
    grid.clear()
    grid.invert()
    assert np.all(doc.input == 1.0)
    grid.invert()
    assert np.all(doc.input == 0.0)
    x = np.full(doc.input.shape, 0.25, np.float32)
    x[0, 0, 0] = 0.5
    doc.set_input(x)
    grid.invert()
    assert doc.input[0, 0, 0] == 0.5 and doc.input[1, 1, 0] == 0.75


def test_every_channel_choice_reads_in_full(window):
    """With 3 channels the selector said 'RGB (all' in the dock's width."""
    from PySide6.QtWidgets import QApplication

    grid = grid_of(window)
    grid.resize_input((6, 6, 3), answer="keep")
    QApplication.processEvents()
    box = grid.channel_box
    metrics = box.fontMetrics()
    widest = max(metrics.horizontalAdvance(box.itemText(i)) for i in range(box.count()))
    assert box.width() >= widest + 28  # text, frame and arrow
