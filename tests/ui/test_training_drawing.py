"""While a run trains, the window draws the document's state: after the snapshots it showed, every map, the
filter editor and the prediction equal a fresh drawing of the document's values, a paint during the run is
drawn at once, and the run's last weights are what stays on screen."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication
from test_training_dock import WAIT_MS, digits_window, idle
from ui_support import assert_maps_equal_fresh_drawings, on_screen, stroke

from cnnviz.ui.colormaps import symmetric_levels
from cnnviz.ui.filter_editor import kernel_indexer


@pytest.fixture
def running(qtbot, tmp_path):
    window, dock = digits_window(qtbot, tmp_path)
    dock.add_head.click()
    window.document.select_layer(1)  # the filter editor shows the convolution being trained
    dock.ask_stop = lambda: True  # a test that fails mid-run closes the window: stop, without the question
    yield window, dock
    dock.run.stop()


def _drawn(qtbot):
    """Let the event loop draw what the last snapshot or edit changed."""
    qtbot.wait(50)
    QApplication.processEvents()


def _assert_window_shows_the_document(window):
    doc = window.document
    doc.flush()
    np.testing.assert_array_equal(doc.outputs[-1], doc.pipeline.run(doc.input)[-1])  # outputs of these weights
    assert_maps_equal_fresh_drawings(window, least_in_view=0.25)
    editor = window.filter_editor
    layer = doc.layer(editor.layer_index)
    kernel = layer.get_weights()[0]
    index = kernel_indexer(layer)
    assert editor.slices
    for view in editor.slices:
        np.testing.assert_array_equal(view.heatmap.image.image, kernel[index(view.filt, view.channel)])
        assert view.heatmap.levels == symmetric_levels(kernel)
        if view.heatmap.visibleRegion().boundingRect() == view.heatmap.rect():
            assert on_screen(window, view.heatmap) == view.heatmap.grab().toImage()
    for o, box in enumerate(editor.bias_boxes):
        assert box.value() == pytest.approx(float(layer.get_weights()[1][o]), abs=10 ** -box.decimals())


def test_the_window_shows_each_snapshot_the_run_sent_and_a_paint_at_once(running, qtbot):
    window, dock = running
    doc = window.document
    dock.epochs.setValue(200)
    before = doc.layer(1).get_weights()[0].copy()
    dock.train()
    pacer = dock.run._pacer
    qtbot.waitUntil(lambda: pacer.shown >= 3, timeout=WAIT_MS)
    dock.pause_button.click()
    qtbot.waitUntil(lambda: dock.run.state == "paused", timeout=WAIT_MS)
    _drawn(qtbot)
    assert not np.array_equal(doc.layer(1).get_weights()[0], before)  # the snapshots brought trained filters
    _assert_window_shows_the_document(window)

    dock.step_button.click()  # one batch: its weights are drawn
    steps = dock.run.step_offset + len(dock.run.history)
    qtbot.waitUntil(lambda: dock.run.state == "paused" and dock.run.step_offset + len(dock.run.history) > steps,
                    timeout=WAIT_MS)
    _drawn(qtbot)
    _assert_window_shows_the_document(window)

    dock.resume_button.click()
    qtbot.waitUntil(lambda: pacer.shown >= 6, timeout=WAIT_MS)
    window.input_grid.brush.setValue(1.0)
    stroke(qtbot, window.input_grid.heatmap, [(2, 2), (3, 2), (4, 2)])  # a paint while it trains
    assert dock.run.active
    dock.pause_button.click()
    qtbot.waitUntil(lambda: dock.run.state == "paused", timeout=WAIT_MS)
    _drawn(qtbot)
    assert doc.input[3, 2, 0] == 1.0
    _assert_window_shows_the_document(window)


def test_the_runs_last_weights_stay_on_screen_when_it_ends(running, qtbot):
    """Pacing may skip snapshots, never the end: the window ends on the weights the core's own run gives."""
    from cnnviz.core.training import Trainer
    from cnnviz.ui.training_run import TrainingRun

    window, dock = running
    doc = window.document
    dock.epochs.setValue(2)
    settings, data = dock.settings(), dock.data
    reference = TrainingRun._run_copy(doc.pipeline, settings.frozen)
    trainer = Trainer(reference, loss=settings.loss, optimizer=settings.optimizer_config(), metrics=("accuracy",),
                      seed=settings.seed)
    for _ in trainer.fit(data.x, data.y, epochs=settings.epochs, batch_size=settings.batch_size,
                         validation_split=settings.validation_split):
        pass
    ended = []
    dock.run.ended.connect(lambda reason, message: ended.append(reason))
    dock.train()
    idle(qtbot, dock)
    _drawn(qtbot)
    assert ended == ["done"] and doc.undo_stack.undoText() == "Train 90 steps (digits)"
    for mine, core in zip(doc.pipeline.layers, reference.layers, strict=True):
        for a, b in zip(mine.get_weights(), core.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    _assert_window_shows_the_document(window)
