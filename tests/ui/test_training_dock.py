"""The training dock driven as a user would: the run goes on off the GUI thread, reports every step, pauses,
steps, cancels, is one undo step, stops a divergent run with the core's message, pauses for an edit and
asks before the window closes."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from ui_support import make_window

from cnnviz.core import Pipeline
from cnnviz.core.layers import Conv2D, MaxPooling2D, ReLU
from cnnviz.core.presets import LECTURE
from cnnviz.ui.document import Document

WAIT_MS = 60_000


def digits_window(qtbot, tmp_path):
    doc = Document(Pipeline((8, 8, 1), [Conv2D(4, 3, name="conv"), ReLU(), MaxPooling2D(2)]),
                   np.zeros((8, 8, 1), np.float32))
    window = make_window(qtbot, tmp_path, doc)
    dock = window.training_dock
    dock.data_box.setCurrentIndex(dock.data_box.findData("digits"))
    assert dock.choose_data()
    return window, dock


def idle(qtbot, dock):
    qtbot.waitUntil(lambda: dock.run.state == "idle", timeout=WAIT_MS)


@pytest.fixture
def window_and_dock(qtbot, tmp_path):
    window, dock = digits_window(qtbot, tmp_path)
    yield window, dock
    dock.run.stop()


def test_a_classifier_needs_its_head_and_the_dock_offers_it(window_and_dock):
    window, dock = window_and_dock
    doc = window.document
    assert doc.input.shape == (8, 8, 1)
    assert not dock.add_head.isHidden()
    assert dock.add_head.text() == "Add Flatten → Dense(10, softmax)"
    assert "a 3×3×4 map" in dock.message.text() and "Flatten → Dense(10, softmax)" in dock.message.text()
    assert not dock.train()  # refused while the head is missing
    dock.add_head.click()
    assert [type(layer).__name__ for layer in doc.pipeline.layers][-2:] == ["Flatten", "Dense"]
    assert doc.pipeline.layers[-1].units == 10 and doc.pipeline.layers[-1].activation == "softmax"
    assert dock.add_head.isHidden() and dock.message.text() == ""
    doc.undo_stack.undo()  # the head was one undo step
    assert len(doc.pipeline.layers) == 3


def test_training_runs_off_the_gui_thread_reports_every_step_and_is_one_undo_step(window_and_dock, qtbot):
    window, dock = window_and_dock
    doc = window.document
    dock.add_head.click()
    dock.epochs.setValue(2)
    before = doc.layer(1).get_weights()[0].copy()
    undo_count = doc.undo_stack.count()
    threads, steps = [], []
    original = dock.run.worker
    assert original is None
    dock.run.progressed.connect(lambda p: steps.append(p.step))
    qtbot.mouseClick(dock.train_button, Qt.MouseButton.LeftButton)
    assert dock.run.state == "running" and not dock.train_button.isEnabled()
    worker = dock.run.worker
    worker.progressed.connect(lambda _: threads.append(threading.current_thread()), Qt.ConnectionType.DirectConnection)
    idle(qtbot, dock)
    # 1797 digits, 20 % for validation: 1437 to train on, 45 batches of 32 per epoch
    assert steps == list(range(1, 91))
    assert threads and all(t is not threading.main_thread() for t in threads)
    trained = doc.layer(1).get_weights()[0].copy()
    assert not np.allclose(trained, before)  # the filters changed
    assert dock.plot.count("loss") == 90 and dock.plot.count("val_loss") == 2 and dock.plot.count("val_accuracy") == 2
    assert dock.status["epoch"].text() == "2 of 2"
    assert dock.status["step"].text() == "90 (45/45)"
    assert dock.status["step"].toolTip() == "Step 90 of the run: batch 45 of this epoch's 45"
    assert doc.undo_stack.count() == undo_count + 1
    assert doc.undo_stack.undoText() == "Train 90 steps (digits)"
    # the validation confusion matrix: 360 samples, rows true classes
    assert dock.confusion.rowCount() == 10
    assert sum(int(dock.confusion.item(i, j).text()) for i in range(10) for j in range(10)) == 360
    np.testing.assert_array_equal(doc.outputs[-1], doc.pipeline.run(doc.input)[-1])
    doc.undo_stack.undo()
    np.testing.assert_array_equal(doc.layer(1).get_weights()[0], before)  # undo restores the filters
    doc.flush()
    np.testing.assert_array_equal(doc.outputs[-1], doc.pipeline.run(doc.input)[-1])
    doc.undo_stack.redo()
    np.testing.assert_array_equal(doc.layer(1).get_weights()[0], trained)


def test_pause_step_resume_and_cancel(window_and_dock, qtbot):
    window, dock = window_and_dock
    dock.add_head.click()
    dock.epochs.setValue(200)
    steps = []
    dock.run.progressed.connect(lambda p: steps.append(p.step))
    dock.train()
    qtbot.waitUntil(lambda: len(steps) > 3, timeout=WAIT_MS)
    dock.pause_button.click()
    qtbot.waitUntil(lambda: dock.run.state == "paused", timeout=WAIT_MS)
    assert dock.resume_button.isEnabled() and dock.step_button.isEnabled() and not dock.pause_button.isEnabled()
    at = len(steps)
    qtbot.wait(200)
    assert len(steps) == at  # paused: no step
    weights = window.document.layer(1).get_weights()[0].copy()
    dock.step_button.click()
    qtbot.waitUntil(lambda: dock.run.state == "paused" and len(steps) == at + 1, timeout=WAIT_MS)
    qtbot.wait(100)
    assert len(steps) == at + 1 and steps[-1] == at + 1  # exactly one batch
    assert not np.array_equal(window.document.layer(1).get_weights()[0], weights)  # its weights are shown
    dock.resume_button.click()
    qtbot.waitUntil(lambda: len(steps) > at + 5, timeout=WAIT_MS)
    ended = []
    dock.run.ended.connect(lambda reason, message: ended.append(reason))
    dock.run.cancel()
    idle(qtbot, dock)
    assert ended == ["cancelled"] and len(steps) < 200 * 45
    assert window.document.undo_stack.undoText() == f"Train {len(steps)} steps (digits)"


def test_the_prediction_follows_a_painted_input_while_it_trains(window_and_dock, qtbot):
    window, dock = window_and_dock
    doc = window.document
    dock.add_head.click()
    dock.epochs.setValue(200)
    dock.train()
    qtbot.waitUntil(lambda: dock.run.step_offset + len(dock.run.history) > 5, timeout=WAIT_MS)
    grid = window.input_grid
    grid.brush.setValue(1.0)
    old = doc.outputs[-1].copy()
    from ui_support import stroke

    stroke(qtbot, grid.heatmap, [(1, 3), (2, 3), (3, 3), (4, 3), (5, 3), (6, 3)])
    assert dock.run.active  # painting the input does not stop the run
    doc.flush()
    assert doc.input[3, 3, 0] == 1.0
    np.testing.assert_allclose(doc.outputs[-1], doc.pipeline.run(doc.input)[-1], rtol=1e-6)
    assert doc.outputs[-1].shape == (10,) and abs(doc.outputs[-1].sum() - 1) < 1e-5
    assert not np.allclose(doc.outputs[-1], old)
    assert dock.run.stop()


def test_an_edit_the_run_cannot_go_on_with_ends_it_with_the_reason(window_and_dock, qtbot):
    window, dock = window_and_dock
    doc = window.document
    dock.add_head.click()
    dock.epochs.setValue(200)
    dock.train()
    qtbot.waitUntil(lambda: len(dock.run.history) > 3, timeout=WAIT_MS)
    doc.set_layer_param(1, "filters", 5)
    assert not dock.run.active
    text = dock.message.text()  # a kernel of another shape: Adam's moments no longer fit it
    assert "Training stopped at step" in text and "Conv2D #1: filters = 5" in text
    assert "Conv2D #1 kernel 3×3×1×4 becomes Conv2D #1 kernel 3×3×1×5" in text
    assert doc.undo_stack.undoText() == "Conv2D #1: filters = 5"
    doc.undo_stack.undo()
    assert doc.undo_stack.undoText().startswith("Train ")  # the run so far is its own step, before the edit


def test_a_divergent_learning_rate_stops_with_the_core_message_and_finite_weights(qtbot, tmp_path):
    doc = Document(Pipeline((6, 6, 1), [Conv2D(1, 3, name="student")]), LECTURE[:, :, None])
    window = make_window(qtbot, tmp_path, doc)
    dock = window.training_dock
    assert dock.choose_data()  # the teacher task: the lecture's diagonal filter
    dock.optimizer.setCurrentText("SGD")
    dock.learning_rate.setValue(1000.0)
    dock.momentum.setValue(0.0)
    dock.epochs.setValue(50)
    window.show_panel("backprop")  # its update line meets the huge weights too
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow while drawing would be an exception in Qt's event loop
        dock.train()
        idle(qtbot, dock)
        doc.flush()
        window.backprop_view.refresh()
    assert "training stopped at step" in dock.message.text() and "learning rate 1000" in dock.message.text()
    assert "whose loss was finite" in dock.message.text()
    assert all(np.isfinite(w).all() for w in doc.layer(1).get_weights())
    assert all(np.isfinite(level).all() for level in doc.outputs)  # the weights kept compute finite maps


def test_closing_during_training_asks_then_stops_cleanly(qtbot, tmp_path):
    window, dock = digits_window(qtbot, tmp_path)
    dock.add_head.click()
    dock.epochs.setValue(500)
    window.file_actions.dialogs.save_changes = lambda name: "discard"
    asked = []
    dock.ask_stop = lambda: asked.append(1) or False
    dock.train()
    qtbot.waitUntil(lambda: len(dock.run.history) > 2, timeout=WAIT_MS)
    assert window.file_actions.modified  # the run's weights are unsaved work
    assert not window.close()
    assert asked == [1] and dock.run.active
    dock.ask_stop = lambda: True
    thread = dock.run.thread
    assert window.close()
    assert not dock.run.active and thread.isFinished()
    assert window.document.undo_stack.undoText().startswith("Train ")


def test_the_backprop_dock_writes_out_a_weight_gradient_and_its_update(qtbot, tmp_path):
    from cnnviz.core.backprop import backward_pass

    doc = Document(Pipeline((6, 6, 1), [Conv2D(1, 3, name="student")]), LECTURE[:, :, None])
    window = make_window(qtbot, tmp_path, doc)
    dock = window.training_dock
    assert dock.choose_data()
    dock.optimizer.setCurrentText("SGD")
    dock.momentum.setValue(0.0)
    dock.learning_rate.setValue(0.1)
    window.show_panel("backprop")
    view = window.backprop_view
    view.lazy = False
    doc.select_layer(1)
    view.pick_weight(0, 2)
    target = dock.target_for(doc.input)
    _, levels = backward_pass(doc.pipeline, doc.input, target)
    g = levels[0].grads[0][0, 2, 0, 0]
    text = view.weight_text.text()
    assert "dL/dw[0,2]" in text and "16 window positions" in text
    assert f"<b>{g:.3g}</b>" in text
    w = float(doc.layer(1).get_weights()[0][0, 2, 0, 0])
    assert f"= <b>{w - np.float32(0.1) * g:.3g}</b>" in text  # w ← w − η·g with its numbers
    view.pick_input(2, 2)
    assert "dL/dx[2,2]" in view.input_text.text() and view.input_text.text().count("dy[") == 9
    assert "shared by every window" in window.findChild(QLabel, "lectureLink").text()


def test_the_session_file_keeps_the_trained_weights_and_the_training_settings(window_and_dock, qtbot, tmp_path):
    from cnnviz.io import load_session

    window, dock = window_and_dock
    dock.add_head.click()
    dock.epochs.setValue(1)
    dock.optimizer.setCurrentText("RMSprop")
    dock.learning_rate.setValue(0.002)
    dock.batch_size.setValue(64)
    dock.layers.item(0).setCheckState(Qt.CheckState.Unchecked)  # freeze the Conv2D
    conv = window.document.layer(1).get_weights()[0].copy()
    dock.train()
    idle(qtbot, dock)
    np.testing.assert_array_equal(window.document.layer(1).get_weights()[0], conv)  # frozen: unchanged
    dense = window.document.layer(5).get_weights()[0].copy()
    path = tmp_path / "trained.cnnviz.json"
    assert window.file_actions._write(str(path))
    session = load_session(path)
    np.testing.assert_array_equal(session.pipeline.layers[4].get_weights()[0], dense)
    t = session.training  # the file's section, as export-code --train reads it (io/training_settings.py)
    assert (t["data"], t["optimizer"]["class_name"], t["batch_size"], t["epochs"], t["frozen"]) == (
        {"source": "digits"}, "RMSprop", 64, 1, [1])
    assert t["optimizer"]["config"]["learning_rate"] == pytest.approx(0.002)
    dock.optimizer.setCurrentText("SGD")
    assert window.file_actions.open(str(path))
    assert dock.optimizer.currentText() == "RMSprop" and dock.layers.item(0).checkState() == Qt.CheckState.Unchecked
