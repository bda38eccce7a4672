"""The dropout view shows exactly the mask the core multiplies by, and its controls are Document edits."""

import numpy as np
import pytest

from cnnviz import core
from cnnviz.ui.arithmetic.dropout_view import DropoutView
from cnnviz.ui.document import Document


@pytest.fixture
def dropout(qtbot):
    x = core.seed_input()
    document = Document(core.Pipeline(x.shape, [core.Conv2D(1, 3), core.Dropout(0.25, seed=3)]), x)
    view = DropoutView(document)
    qtbot.addWidget(view)
    view.resize(1000, 500)
    return document, view


def test_training_toggle_shows_the_layer_mask_and_the_scaling(dropout):
    document, view = dropout
    assert view.inference_button.isChecked() and not document.training
    assert "y = x" in view.formula.text()
    view.training_button.click()
    document.flush()
    assert document.training
    layer = document.layer(2)
    mask = layer.mask
    shown = view.grids()["mask"]
    np.testing.assert_array_equal(shown.values, mask[:, :, 0].astype(float))
    assert set(shown.texts[mask[:, :, 0]]) == {"×1.33"} and set(shown.texts[~mask[:, :, 0]]) == {"×0"}
    # the output drawn is x/(1−rate) where kept, 0 where dropped: exactly the mask applied
    x = document.levels[1]
    np.testing.assert_allclose(view.grids()["output"].values, np.where(mask, x / 0.75, 0)[:, :, 0], atol=1e-6)
    assert f"keeps {int(mask.sum())} of 16 cells" in view.formula.text()
    assert "1/(1 − 0.25) = 1.33" in view.formula.text()
    view.inference_button.click()
    assert not document.training


def test_new_mask_button_and_undo(dropout):
    document, view = dropout
    view.training_button.click()
    document.flush()
    before = document.layer(2).mask.copy()
    view.new_mask_button.click()
    document.flush()
    after = document.layer(2).mask
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(view.grids()["mask"].values, after[:, :, 0].astype(float))
    document.undo_stack.undo()
    document.flush()
    np.testing.assert_array_equal(view.grids()["mask"].values, before[:, :, 0].astype(float))


def test_seed_is_shown_and_editing_it_replaces_the_layer(dropout, qtbot):
    document, view = dropout
    assert view.seed.value() == 3
    view.seed.setValue(11)
    view.seed.editingFinished.emit()
    assert document.layer(2).seed == 11
    view.seed.setValue(view.seed.minimum())
    assert view.seed.text() == "none"
    view.seed.editingFinished.emit()
    assert document.layer(2).seed is None
    document.undo_stack.undo()
    assert view.seed.value() == 11


def test_the_example_cell_comes_from_the_channel_shown(qtbot):
    x = core.seed_input()
    document = Document(core.Pipeline(x.shape, [core.Conv2D(3, 3), core.Dropout(0.5, seed=1)]), x)
    view = DropoutView(document)
    qtbot.addWidget(view)
    view.training_button.click()
    document.flush()
    for shown in (1, 2, 3):
        view.channel.setValue(shown)
        text = view.formula.text()
        assert "For example kept " in text, text
        example = text.split("For example kept ")[1]
        assert example.startswith("x[") and example.split("]")[0].endswith(f",{shown - 1}"), example
