"""The Document says what changed, and its intents validate once and push one undo step."""

import numpy as np
import pytest

from cnnviz import core
from cnnviz.core import ConfigError
from cnnviz.ui.document import Document, new_stroke_id
from cnnviz.ui.heatmap import Heatmap
from ui_support import make_window, stroke

SIGNALS = ("inputChanged", "structureChanged", "layerChanged", "weightsChanged", "trainingChanged",
           "pipelineChanged", "outputsChanged")


@pytest.fixture
def doc(qtbot):
    return Document()


@pytest.fixture
def heard(doc):
    """Every change signal the document emits, in order, with its arguments."""
    seen = []
    for name in SIGNALS:
        getattr(doc, name).connect(lambda *args, name=name: seen.append((name, *args)))
    return seen


def test_a_weight_paint_says_only_weights_and_then_outputs(doc, heard):
    doc.paint_weights(1, [(0, 0, 0, 1)], 2.0, new_stroke_id())
    assert heard == [("weightsChanged", 1)]
    doc.flush()
    assert heard == [("weightsChanged", 1), ("outputsChanged", 1)]
    assert doc.layer(1).kernel[0, 0, 0, 1] == 2.0


def test_a_line_of_weights_is_one_command_and_one_weights_signal(doc, heard):
    """A fast drag paints the line of cells between two mouse moves: one change, not one per cell."""
    before = doc.layer(1).kernel[0, :, 0, 0].copy()
    sid = new_stroke_id()
    doc.paint_weights(1, [(0, 0, 0, 0), (0, 1, 0, 0), (0, 2, 0, 0), (0, 2, 0, 0)], 3.0, sid)
    assert heard == [("weightsChanged", 1)] and doc.undo_stack.count() == 1
    assert list(doc.layer(1).kernel[0, :, 0, 0]) == [3.0, 3.0, 3.0]
    doc.paint_weights(1, [(0, 0, 0, 0)], 3.0, sid)  # the value it holds: nothing to do
    assert heard == [("weightsChanged", 1)]
    doc.paint_weights(1, [(0, 0, 0, 0)], 0.1, sid)
    doc.paint_weights(1, [(0, 0, 0, 0)], 0.1, sid)  # 0.1 is held as float32(0.1): the same value again
    assert heard == [("weightsChanged", 1)] * 2
    doc.undo_stack.undo()
    assert list(doc.layer(1).kernel[0, :, 0, 0]) == list(before)


def test_an_input_paint_says_only_input(doc, heard):
    doc.paint_cells([(0, 0, 0)], 0.5)
    doc.flush()
    assert heard == [("inputChanged",), ("outputsChanged", 0)]


def test_painting_a_cell_with_the_value_it_holds_is_no_edit(doc, heard):
    """0.1 is held as float32(0.1): a drag back over a cell it painted changes nothing and recomputes nothing."""
    doc.paint_cells([(0, 0, 0)], 0.1)
    doc.flush()
    heard.clear()
    doc.paint_cells([(0, 0, 0), (0, 0, 0)], 0.1)
    doc.flush()
    assert heard == [] and doc.undo_stack.count() == 1


def test_a_parameter_says_which_layer(doc, heard):
    assert doc.set_layer_param(1, "strides", (2, 2))
    assert heard == [("layerChanged", 1), ("pipelineChanged",), ("outputsChanged", 1)]
    assert doc.layer(1).strides == (2, 2) and doc.outputs[0].shape == (2, 2, 2)
    assert doc.undo_stack.count() == 1
    heard.clear()
    assert not doc.set_layer_param(1, "strides", (2, 2))  # the value in use: nothing to do
    assert heard == [] and doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert heard == [("layerChanged", 1), ("pipelineChanged",), ("outputsChanged", 1)]
    assert doc.layer(1).strides == (1, 1)


def test_a_refused_parameter_changes_nothing_and_says_why(doc, heard):
    with pytest.raises(ConfigError, match=r"Conv2D #1: strides must be ≥ 1, got 0×1"):
        doc.set_layer_param(1, "strides", (0, 1))
    with pytest.raises(ConfigError, match="does not fit"):
        doc.set_layer_param(1, "kernel_size", (7, 3))
    assert heard == [] and doc.undo_stack.count() == 0 and doc.layer(1).kernel_size == (3, 3)


def test_structural_edits_say_structure(doc, heard):
    assert doc.add_layer("ReLU", 1) == 2
    assert heard[:2] == [("structureChanged",), ("pipelineChanged",)]
    assert [type(l).__name__ for l in doc.pipeline.layers] == ["Conv2D", "ReLU", "MaxPooling2D", "UpSampling2D"]
    assert doc.selected_layer == 2
    np.testing.assert_array_equal(doc.outputs[1], np.maximum(doc.outputs[0], 0))
    heard.clear()
    doc.move_layer(2, 3)
    doc.remove_layer(3)
    assert [h for h in heard if h[0] == "structureChanged"] == [("structureChanged",)] * 2
    assert [type(l).__name__ for l in doc.pipeline.layers] == ["Conv2D", "MaxPooling2D", "UpSampling2D"]
    with pytest.raises(ConfigError, match="no layer type 'Dense2D'"):
        doc.add_layer("Dense2D")
    assert doc.undo_stack.count() == 3


def test_duplicate_and_filter_intents(doc):
    kernel = doc.layer(1).kernel.copy()
    assert doc.duplicate_layer(1) == 2  # a 2-channel input now: the copy spreads its slices over both
    np.testing.assert_allclose(doc.layer(2).kernel[:, :, 0, :], kernel[:, :, 0, :] / 2)
    doc.remove_layer(2)
    doc.add_filter(1)
    assert doc.layer(1).filters == 3 and doc.outputs[0].shape == (4, 4, 3)
    np.testing.assert_array_equal(doc.layer(1).kernel[..., :2], kernel)  # the old filters keep their weights
    doc.remove_filter(1, 0)
    np.testing.assert_array_equal(doc.layer(1).kernel[..., :1], kernel[..., 1:])
    doc.move_filter(1, 0, 1)
    np.testing.assert_array_equal(doc.layer(1).kernel[..., 1], kernel[..., 1])
    doc.set_bias(1, 0, 1.5)
    assert doc.layer(1).bias[0] == 1.5
    doc.apply_filter_preset(1, 0, "identity")
    np.testing.assert_array_equal(doc.layer(1).kernel[:, :, 0, 0], core.filter_preset("identity"))
    doc.remove_filter(1, 0)
    with pytest.raises(ConfigError, match="at least one filter"):
        doc.remove_filter(1, 0)


def test_training_says_training(doc, heard):
    doc.set_training(True)
    assert heard == [("trainingChanged", True)]


def test_hovering_the_same_weight_again_sends_nothing(doc):
    seen = []
    doc.probeChanged.connect(seen.append)
    doc.set_weight_probe(1, (0, 0, 0, 0))
    doc.set_weight_probe(1, (0, 0, 0, 0))
    assert len(seen) == 1
    assert seen[0].fields[0].dtype == bool and seen[0].fields[0].shape == (6, 6, 1)


# ------------------------------------------------------------------ the views follow only what they show
@pytest.fixture
def window(qtbot, tmp_path):
    return make_window(qtbot, tmp_path)


def test_a_weight_paint_leaves_the_pipeline_list_and_the_input_grid_alone(window, qtbot):
    items = [window.pipeline_panel.list.item(i) for i in range(window.pipeline_panel.list.count())]
    grid = window.input_grid.heatmap
    shown = grid.image.image
    editor = window.filter_editor
    stroke(qtbot, editor.slices[0].heatmap, [(0, 0), (1, 1)])
    window.document.flush()
    assert window.document.layer(1).kernel[1, 1, 0, 0] == editor.brush.value()
    assert [window.pipeline_panel.list.item(i) for i in range(len(items))] == items  # not rebuilt
    assert grid.image.image is shown  # the input grid was not given its (unchanged) values again


def test_a_stride_change_builds_no_map_and_keeps_the_maps_before_it(window, qtbot):
    maps = set(window.findChildren(Heatmap))
    input_column = window.layer_views.columns[0]
    window.document.set_layer_param(1, "strides", (2, 2))
    qtbot.wait(10)
    assert set(window.findChildren(Heatmap)) == maps
    assert window.layer_views.columns[0] is input_column
    assert [c.heatmap.shape for c in window.layer_views.cards(1)] == [(2, 2), (2, 2)]
    assert [c.heatmap.shape for c in window.layer_views.cards(2)] == [(1, 1), (1, 1)]
    views = set(window.layer_views.findChildren(Heatmap))
    window.document.add_layer("Conv2D", 3)  # a new level: maps for it, the others are kept
    assert len(set(window.layer_views.findChildren(Heatmap)) - views) == 2
    assert views <= set(window.layer_views.findChildren(Heatmap))


# ------------------------------------------------------------------ vector levels (Flatten, Dense)
@pytest.fixture
def classifier(qtbot):
    layers = [core.Conv2D(2, 3), core.Flatten(), core.Dense(3)]
    x = np.random.default_rng(1).random((6, 6, 1), dtype=np.float32)
    return Document(core.Pipeline((6, 6, 1), layers), x)


def test_probes_and_intents_work_on_vector_levels(classifier, heard):
    doc = classifier
    heard = []
    for name in SIGNALS:
        getattr(doc, name).connect(lambda *args, name=name: heard.append((name, *args)))
    assert [lv.shape for lv in doc.levels] == [(6, 6, 1), (4, 4, 2), (32,), (3,)]
    doc.set_probe(3, (1,))  # one class: every flattened value feeds it, through Dense column 1
    p = doc.probe
    assert p.fields[3].shape == (3,) and p.fields[3].tolist() == [False, True, False]
    assert p.fields[2].all() and p.fields[1].all() and p.fields[0].all()
    assert p.weights[3].shape == (32, 3) and p.weights[3][:, 1].all() and not p.weights[3][:, [0, 2]].any()
    doc.set_probe(2, (5,))  # flattened index 5 is cell (0, 2, 1) of the 4×4×2 map (channels last)
    assert np.argwhere(doc.probe.fields[1]).tolist() == [[0, 2, 1]]
    doc.set_weight_probe(3, (5, 2))
    assert np.argwhere(doc.probe.fields[2]).tolist() == [[5]]
    assert doc.set_layer_param(3, "units", 4)
    assert heard[0] == ("layerChanged", 3) and doc.outputs[2].shape == (4,)
    assert doc.add_layer("Softmax", 3) == 4
    np.testing.assert_allclose(doc.outputs[3].sum(), 1.0, rtol=1e-6)


def test_a_window_shows_vector_levels_as_strips_of_cells(qtbot, tmp_path, classifier):
    window = make_window(qtbot, tmp_path, classifier)
    views = window.layer_views
    assert [card.heatmap.shape for card in views.cards(2)] == [(32,)]
    assert [card.heatmap.shape for card in views.cards(3)] == [(3,)]
    strip = views.cards(3)[0].heatmap
    for i in (1, 2):
        qtbot.mouseMove(strip, strip.cell_center(i))
    assert classifier.probe.cell == (2,)
    assert strip.highlight.tolist() == [False, False, True]
    assert views.cards(2)[0].heatmap.highlight.all()  # every flattened value feeds the class
