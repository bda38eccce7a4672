"""Changing the input's channels says what happens to the filters and lets the user choose: keep the
weights as they are, or spread them; never a silent rescale (1, 0, −1 became 0.33, 0, −0.33)."""

import numpy as np
import pytest
from PySide6.QtWidgets import QPushButton

from cnnviz.ui.channel_change import KEEP, SPREAD, channel_change_box
from ui_support import make_window


@pytest.fixture
def window(qtbot, tmp_path):
    return make_window(qtbot, tmp_path)


def test_keep_leaves_every_weight_and_every_output_as_it_was(window, monkeypatch):
    doc, grid = window.document, window.input_grid
    kernel = doc.layer(1).kernel.copy()
    outputs = [o.copy() for o in doc.outputs]
    asked = []
    monkeypatch.setattr(grid, "ask_channels", lambda layer, old, new, parent: asked.append((old, new)) or KEEP)
    grid.size_boxes[2].setValue(3)
    doc.flush()
    assert asked == [(1, 3)] and doc.input.shape == (6, 6, 3)
    new = doc.layer(1).kernel
    np.testing.assert_array_equal(new[:, :, 0, :], kernel[:, :, 0, :])  # 1, 0, −1 stays 1, 0, −1
    assert np.all(new[:, :, 1:, :] == 0) and np.all(doc.input[:, :, 1:] == 0)
    for before, after in zip(outputs, doc.outputs):
        np.testing.assert_array_equal(before, after)


def test_spread_copies_the_picture_so_the_outputs_stay(window):
    doc, grid = window.document, window.input_grid
    kernel = doc.layer(1).kernel.copy()
    outputs = [o.copy() for o in doc.outputs]
    grid.resize_input((6, 6, 3), answer=SPREAD)
    doc.flush()
    new = doc.layer(1).kernel
    for ch in range(3):
        np.testing.assert_allclose(new[:, :, ch, :], kernel[:, :, 0, :] / 3, rtol=1e-6)
        np.testing.assert_array_equal(doc.input[:, :, ch], doc.input[:, :, 0])
    for before, after in zip(outputs, doc.outputs):
        np.testing.assert_allclose(before, after, atol=1e-5)


def test_cancel_changes_nothing(window, monkeypatch):
    doc, grid = window.document, window.input_grid
    before = doc.input.copy()
    monkeypatch.setattr(grid, "ask_channels", lambda *args: None)
    grid.size_boxes[2].setValue(3)
    np.testing.assert_array_equal(doc.input, before)
    assert grid.size_boxes[2].value() == 1


def test_the_question_says_what_each_answer_does(window):
    box = channel_change_box(window.document.layer(1), 1, 3)
    assert "from 1 to 3 channels" in box.text() and "2 slices more" in box.text()
    assert "stay exactly as they are" in box.informativeText() and "scaled by 1/3" in box.informativeText()
    names = {b.objectName() for b in box.findChildren(QPushButton)}
    assert {KEEP, SPREAD} <= names
