"""An edit during a training run pauses it; Resume goes on with the optimizer's state kept, so the run ends
exactly where the core's Trainer ends when given the same edit at the same step (or none)."""

from __future__ import annotations

import numpy as np
import pytest
from ui_support import make_window

from cnnviz.core import Pipeline
from cnnviz.core.layers import Conv2D, Dense, Flatten, MaxPooling2D, ReLU
from cnnviz.core.training import Trainer
from cnnviz.ui.document import Document

WAIT_MS = 60_000
EPOCHS = 20  # 1797 digits, 20 % for validation: 45 steps of 32 per epoch; long enough that the edit lands mid-run


@pytest.fixture
def dock(qtbot, tmp_path):
    doc = Document(Pipeline((8, 8, 1), [Conv2D(4, 3, name="conv"), ReLU(), MaxPooling2D(2), Flatten(),
                                        Dense(10, activation="softmax")]), np.zeros((8, 8, 1), np.float32))
    window = make_window(qtbot, tmp_path, doc)
    dock = window.training_dock
    dock.data_box.setCurrentIndex(dock.data_box.findData("digits"))
    assert dock.choose_data()
    dock.epochs.setValue(EPOCHS)
    yield dock
    dock.run.stop()


def core_run(start: Pipeline, dock, edit_at=None, edit=None):
    """The core Trainer on the same network, data and settings, uninterrupted; `edit(trainer)` after step
    `edit_at`. Returns the final weights and the optimizer's step count."""
    s = dock.settings()
    trainer = Trainer(start, s.loss, s.optimizer_config(), metrics=["accuracy"], seed=s.seed)
    for progress in trainer.fit(dock.data.x, dock.data.y, epochs=s.epochs, batch_size=s.batch_size,
                                validation_split=s.validation_split):
        if progress.step == edit_at:
            edit(trainer)
    return [layer.get_weights() for layer in trainer.pipeline.layers], trainer.optimizer.iterations


def pause_by_edit(qtbot, dock, edit):
    dock.train()
    qtbot.waitUntil(lambda: len(dock.run.history) > 5, timeout=WAIT_MS)
    edit()
    run = dock.run
    assert run.active and run.state == "paused"  # paused, not stopped
    assert "Training paused at step" in dock.message.text() and "optimizer's state" in dock.message.text()
    assert dock.resume_button.isEnabled() and dock.step_button.isEnabled() and not dock.train_button.isEnabled()
    at = run.worker.paused_step
    assert 0 < at < EPOCHS * 45
    qtbot.wait(300)
    assert run.worker.steps == at and run.state == "paused"  # no step while paused
    return at


def finish(qtbot, dock):
    dock.resume_button.click()
    qtbot.waitUntil(lambda: dock.run.state == "idle", timeout=WAIT_MS)
    return [layer.get_weights() for layer in dock.document.pipeline.layers]


def assert_same_weights(got, expected):
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_an_edit_of_the_input_pauses_adam_and_resume_ends_where_an_uninterrupted_run_does(dock, qtbot):
    doc = dock.document
    start = doc.pipeline.copy()
    steps = []
    dock.run.progressed.connect(lambda p: steps.append(p.step))
    at = pause_by_edit(qtbot, dock, lambda: doc.set_input(np.full((8, 8, 1), 0.5, np.float32), text="Fill"))
    assert "“Fill”" in dock.message.text()
    # the Document shows the weights the process reached at the pause, and what it learned is an undo step
    assert doc.undo_stack.undoText() == "Fill"
    assert doc.undo_stack.text(doc.undo_stack.count() - 2) == f"Train {at} steps (digits)"
    weights = finish(qtbot, dock)
    assert steps == list(range(1, EPOCHS * 45 + 1))  # the step count went on from the pause
    expected, iterations = core_run(start, dock)
    assert_same_weights(weights, expected)  # Adam's m, v and step count went on: the same weights, bit for bit
    assert dock.run.optimizer_state["iterations"] == iterations == EPOCHS * 45
    assert doc.undo_stack.undoText() == f"Train {EPOCHS * 45 - at} steps (digits)"


def test_a_weight_painted_during_a_pause_is_trained_on_with_the_momentum_kept(dock, qtbot):
    doc = dock.document
    dock.optimizer.setCurrentText("SGD")
    dock.momentum.setValue(0.9)
    dock.learning_rate.setValue(0.05)
    start = doc.pipeline.copy()
    at = pause_by_edit(qtbot, dock, lambda: doc.paint_weights(1, [(0, 0, 0, 0)], 2.5))
    assert doc.layer(1).get_weights()[0][0, 0, 0, 0] == 2.5
    weights = finish(qtbot, dock)

    def paint(trainer):
        kernel, bias = trainer.pipeline.layers[0].get_weights()
        kernel[0, 0, 0, 0] = 2.5
        trainer.pipeline.layers[0].set_weights([kernel, bias])

    expected, iterations = core_run(start, dock, at, paint)
    assert_same_weights(weights, expected)
    assert dock.run.optimizer_state["iterations"] == iterations == EPOCHS * 45
    without_edit, _ = core_run(start, dock)
    assert not np.array_equal(weights[0][0], without_edit[0][0])  # the painted weight made a difference


def test_a_config_edit_that_keeps_the_weights_shapes_goes_on_with_the_new_layer(dock, qtbot):
    doc = dock.document
    start = doc.pipeline.copy()
    pool = {"pool_size": 3, "strides": 2, "padding": "same"}  # 6×6 → 3×3 as before, from 3×3 windows now
    at = pause_by_edit(qtbot, dock, lambda: doc.replace_layer(3, MaxPooling2D(**pool)))
    weights = finish(qtbot, dock)

    def swap(trainer):  # the same layer objects (their weights, the optimizer's slots) around the new pool
        layers = list(trainer.pipeline.layers)
        layers[2] = MaxPooling2D(**pool)
        trainer.pipeline = Pipeline((8, 8, 1), layers)
        trainer.pipeline.build()

    expected, _ = core_run(start, dock, at, swap)
    assert doc.layer(3).pool_size == (3, 3)
    assert_same_weights(weights, expected)
    without_edit, _ = core_run(start, dock)
    assert not np.array_equal(weights[4][0], without_edit[4][0])


def test_step_after_a_pause_by_edit_runs_one_batch(dock, qtbot):
    doc = dock.document
    at = pause_by_edit(qtbot, dock, lambda: doc.set_input(np.ones((8, 8, 1), np.float32), text="Fill"))
    dock.step_button.click()
    qtbot.waitUntil(lambda: dock.run.state == "paused" and dock.run.worker.steps == at + 1, timeout=WAIT_MS)
    qtbot.wait(200)
    assert dock.run.worker.steps == at + 1
    dock.run.cancel()
    qtbot.waitUntil(lambda: dock.run.state == "idle", timeout=WAIT_MS)
    assert doc.undo_stack.undoText() == "Train 1 steps (digits)"


def test_pause_and_resume_end_where_an_uninterrupted_run_does(dock, qtbot):
    start = dock.document.pipeline.copy()
    dock.train()
    qtbot.waitUntil(lambda: len(dock.run.history) > 5, timeout=WAIT_MS)
    dock.pause_button.click()
    qtbot.waitUntil(lambda: dock.run.state == "paused", timeout=WAIT_MS)
    qtbot.wait(200)
    weights = finish(qtbot, dock)
    expected, iterations = core_run(start, dock)
    assert_same_weights(weights, expected)
    assert dock.run.optimizer_state["iterations"] == iterations == EPOCHS * 45


@pytest.mark.parametrize("how", ["finished", "stopped"])
def test_a_run_that_ended_leaves_its_worker_and_thread_deleted_by_the_gui_thread(qtbot, dock, how):
    """The worker comes back to the GUI thread, whose deferred deletes then delete it with its thread: left in
    the ended thread it could be deleted twice, by Qt and by Python on two threads (a crash now and then)."""
    import shiboken6
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    dock.epochs.setValue(1 if how == "finished" else EPOCHS)  # a stopped run: long enough to be stopped
    dock.train()
    run = dock.run
    worker, thread = run.worker, run.thread
    if how == "stopped":
        qtbot.waitUntil(lambda: len(run.history) > 2, timeout=WAIT_MS)
        assert run.stop()
    qtbot.waitUntil(lambda: not run.active, timeout=WAIT_MS)
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not shiboken6.isValid(worker) and not shiboken6.isValid(thread)
