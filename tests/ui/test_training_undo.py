"""Undo and Redo while a run is open: off in the Edit menu and on the toolbar, and they do nothing, even
after a paint stroke gives the stack something new to undo; back on when the run ends, and the run is then
one undo step."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolBar
from test_training_dock import WAIT_MS, digits_window, idle
from ui_support import stroke


def undo_widgets(window):
    a = window.action_set
    toolbar = window.findChild(QToolBar)
    edit = next(m for m in window.menuBar().actions() if m.text().replace("&", "") == "Edit").menu()
    return a, toolbar.widgetForAction(a.undo), toolbar.widgetForAction(a.redo), edit


def test_undo_and_redo_are_off_while_a_run_is_open_and_the_run_is_one_step(qtbot, tmp_path):
    window, dock = digits_window(qtbot, tmp_path)
    doc = window.document
    a, undo_button, redo_button, edit = undo_widgets(window)
    dock.add_head.click()
    doc.paint_cells([(0, 0, 0)], 0.5)  # an edit before the run, undone: Redo has something to bring back
    doc.undo_stack.undo()
    assert a.undo.isEnabled() and a.redo.isEnabled() and redo_button.isEnabled()
    before = doc.all_weights()
    dock.epochs.setValue(300)
    count = doc.undo_stack.index()  # the undone paint above is dropped by the first new step
    dock.train()
    try:
        qtbot.waitUntil(lambda: len(dock.run.history) > 3, timeout=WAIT_MS)
        for action, button in ((a.undo, undo_button), (a.redo, redo_button)):
            assert not action.isEnabled() and not button.isEnabled()
            assert action in edit.actions()
        # painting the input goes on during a run and pushes its own step: Undo must stay off
        window.input_grid.brush.setValue(1.0)
        stroke(qtbot, window.input_grid.heatmap, [(2, 2), (2, 3)])
        doc.flush()
        assert doc.undo_stack.canUndo()
        assert not a.undo.isEnabled() and not undo_button.isEnabled()
        assert not a.redo.isEnabled() and not redo_button.isEnabled()
        index = doc.undo_stack.index()
        qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the shortcut does nothing
        a.undo.trigger()
        assert doc.undo_stack.index() == index and dock.run.active
        dock.pause_button.click()
        qtbot.waitUntil(lambda: dock.run.state == "paused", timeout=WAIT_MS)
        assert not a.undo.isEnabled() and not undo_button.isEnabled()  # paused is still a run
    except BaseException:
        dock.run.stop()
        raise
    dock.run.cancel()
    idle(qtbot, dock)
    assert a.undo.isEnabled() and undo_button.isEnabled()
    assert not a.redo.isEnabled()  # the run and the stroke replaced what Redo had
    assert doc.undo_stack.count() == count + 2  # the stroke and the whole run
    assert doc.undo_stack.undoText().startswith("Train ")
    trained = doc.all_weights()
    a.undo.trigger()  # one step takes the whole run back
    for old, now in zip(before, doc.all_weights()):
        for x, y in zip(old, now):
            np.testing.assert_array_equal(x, y)
    assert a.redo.isEnabled() and redo_button.isEnabled()
    a.redo.trigger()
    np.testing.assert_array_equal(doc.layer(1).get_weights()[0], trained[0][0])
