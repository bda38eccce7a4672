"""The shipped training examples do what they promise when trained from the dock with their own settings:
the student filter becomes the lecture's diagonal one; the digits CNN learns the digits and reads a painted
one."""

from __future__ import annotations

import os

import numpy as np
from ui_support import make_window

from cnnviz.core.training.data import DIAGONAL_FILTER
from cnnviz.io import load_digits

RESOURCES = os.path.join(os.path.dirname(__file__), "..", "..", "resources")


def open_and_train(qtbot, tmp_path, name):
    window = make_window(qtbot, tmp_path)
    assert window.file_actions.open(os.path.join(RESOURCES, name))
    dock = window.training_dock
    assert dock.train()
    qtbot.waitUntil(lambda: dock.run.state == "idle", timeout=120_000)
    return window, dock


def test_the_filter_learns_the_lecture_diagonal_filter(qtbot, tmp_path):
    window, dock = open_and_train(qtbot, tmp_path, "the-filter-learns.cnnviz.json")
    assert dock.settings().data == "teacher" and dock.settings().epochs == 60
    kernel, bias = window.document.layer(1).get_weights()
    np.testing.assert_allclose(kernel[:, :, 0, 0], DIAGONAL_FILTER, atol=0.05)
    assert abs(bias[0]) < 0.05


def test_the_digits_cnn_learns_and_reads_a_painted_digit(qtbot, tmp_path):
    window, dock = open_and_train(qtbot, tmp_path, "digits.cnnviz.json")
    right = np.trace(dock.run.confusion) / dock.run.confusion.sum()
    assert right >= 0.9
    doc = window.document
    images, labels = load_digits()
    read = 0
    for k in range(-20, 0):  # the last 20 digits are validation samples: painted cell by cell on a blank grid
        doc.set_input(np.zeros((8, 8, 1), np.float32))
        for value in np.unique(images[k]):
            if value:
                doc.paint_cells([tuple(c) for c in np.argwhere(images[k] == value)], float(value))
        doc.flush()
        np.testing.assert_array_equal(doc.input, images[k])
        read += int(np.argmax(doc.outputs[-1])) == labels[k]
    assert read >= 16


def test_the_filter_that_learns_shows_its_gradients_as_it_opens(qtbot, tmp_path):
    """The teacher task needs no examples to know what an input should give: the Backpropagation page writes
    out dL/dw before any data is loaded, and says what is missing once the chosen data is a classifier's."""
    from cnnviz.core.backprop import backward_pass
    from cnnviz.io.training_sets import teacher_pipeline

    window = make_window(qtbot, tmp_path)
    assert window.file_actions.open(os.path.join(RESOURCES, "the-filter-learns.cnnviz.json"))
    dock, view, doc = window.training_dock, window.backprop_view, window.document
    assert dock.data is None
    window.show_panel("backprop")
    view.lazy = False
    view.refresh()
    target = teacher_pipeline(doc.pipeline).run(doc.input)[-1]
    _, levels = backward_pass(doc.pipeline, doc.input, target)
    assert f"<b>{levels[0].grads[0][0, 0, 0, 0]:.3g}</b>" in view.weight_text.text()
    dock.data_box.setCurrentIndex(dock.data_box.findData("digits"))
    assert "Choose data" in view.header.text() or "Choose data" in view.weight_text.text()
