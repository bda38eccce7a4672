"""The filter editor: every filter and channel slice, painting weights, bias, presets, filter edits."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from cnnviz import core
from cnnviz.core import ops
from ui_support import highlighted, hover, lit, make_window, stroke


@pytest.fixture
def window(qtbot, tmp_path):
    return make_window(qtbot, tmp_path)


def editor_of(window):
    return window.findChild(QWidget, "filterEditor")


def slice_view(editor, filt, channel):
    return next(v for v in editor.slices if (v.filt, v.channel) == (filt, channel))


def conv_reference(doc, i=1):
    layer = doc.layer(i)
    x = doc.levels[i - 1]
    return ops.conv2d(x, layer.kernel, layer.bias, layer.strides, layer.padding, layer.dilation_rate)


def test_shows_every_filter_and_every_channel_slice(window):
    doc = window.document
    editor = editor_of(window)
    assert len(editor.slices) == 2  # 2 filters × 1 input channel
    for view in editor.slices:
        np.testing.assert_array_equal(view.heatmap.image.image, doc.layer(1).kernel[:, :, 0, view.filt])
    window.input_grid.resize_input((6, 6, 3), answer="spread")  # RGB input: each filter is 3×3×3
    assert len(editor.slices) == 6
    assert "each 3×3×3" in editor.title.text()
    for view in editor.slices:
        np.testing.assert_array_equal(view.heatmap.image.image, doc.layer(1).kernel[:, :, view.channel, view.filt])
    doc.select_layer(2)
    assert editor.slices == [] and "no weights" in editor.title.text()


def test_paint_a_weight_and_the_conv_output_follows(window, qtbot):
    doc = window.document
    editor = editor_of(window)
    editor.brush.setValue(2.0)
    before = doc.layer(1).kernel[1, :, 0, 1].copy()  # [−1, 1, −1]: the lecture's vertical line
    hm = slice_view(editor, 1, 0).heatmap
    stroke(qtbot, hm, [(1, 0), (1, 1), (1, 2)])  # middle row of filter 2
    doc.flush()
    assert doc.undo_stack.count() == 1
    np.testing.assert_array_equal(doc.layer(1).kernel[1, :, 0, 1], [2, 2, 2])
    np.testing.assert_allclose(doc.outputs[0], conv_reference(doc), atol=1e-6)
    # one output value by hand: window at (0, 0) of the seed input with the edited filter
    x = doc.input[:, :, 0]
    k = doc.layer(1).kernel[:, :, 0, 1]
    assert doc.outputs[0][0, 0, 1] == pytest.approx(float((x[:3, :3] * k).sum()))
    card = window.layer_views.cards(1)[1]
    np.testing.assert_array_equal(card.heatmap.image.image, doc.outputs[0][:, :, 1])
    window.action_set.undo.trigger()
    doc.flush()
    np.testing.assert_array_equal(before, [-1, 1, -1])
    np.testing.assert_array_equal(doc.layer(1).kernel[1, :, 0, 1], before)


def test_after_every_weight_edit_each_slice_shows_its_kernel_slice_and_the_probes_weights(window, qtbot):
    """A weight edit gives only the slices that differ their new values: the others, the colours after a stroke
    that widens the range, an undo, and the weights the probe lights must all still be right."""
    doc = window.document
    editor = editor_of(window)
    window.input_grid.resize_input((6, 6, 3), answer="spread")  # 2 filters × 3 channels

    def shown_as_kernel():
        kernel = doc.layer(1).kernel
        levels = (-np.abs(kernel).max(), np.abs(kernel).max())
        used = doc.probe.weights.get(1) if doc.probe is not None else None
        for v in editor.slices:
            np.testing.assert_array_equal(v.heatmap.image.image, kernel[:, :, v.channel, v.filt])
            assert v.heatmap.levels == pytest.approx(levels)
            expected = set() if used is None else {(a, b) for a, b in np.argwhere(used[:, :, v.channel, v.filt])}
            assert highlighted(v.heatmap) == expected

    hover(qtbot, window.layer_views.cards(1)[1].heatmap, (2, 2))  # lights filter 2's weights, every channel
    shown_as_kernel()
    for value, cells in ((0.5, [(0, 0)]), (7.0, [(2, 2), (2, 1)]), (-0.25, [(1, 1)])):  # 7: a wider range
        editor.brush.setValue(value)
        stroke(qtbot, slice_view(editor, 1, 2).heatmap, cells)
        doc.flush()
        shown_as_kernel()
    window.action_set.undo.trigger()  # back to the range before the 7s: every slice recoloured
    doc.flush()
    shown_as_kernel()


def test_exact_weight_by_keyboard_and_bias(window, qtbot):
    doc = window.document
    editor = editor_of(window)
    hm = slice_view(editor, 0, 0).heatmap
    qtbot.mouseDClick(hm.viewport(), Qt.MouseButton.LeftButton, pos=hm.cell_center(2, 1))
    view = slice_view(editor, 0, 0)
    view.editing.editor.setText("-1.5")
    qtbot.keyClick(view.editing.editor, Qt.Key.Key_Return)
    doc.flush()
    assert doc.layer(1).kernel[2, 1, 0, 0] == -1.5
    editor.bias_boxes[0].setValue(0.25)
    doc.flush()
    assert doc.layer(1).bias[0] == 0.25
    np.testing.assert_allclose(doc.outputs[0], conv_reference(doc), atol=1e-6)


def test_presets_add_remove_reorder_filters_and_kernel_size(window, qtbot):
    doc = window.document
    editor = editor_of(window)
    editor.select_filter(0)
    editor.apply_preset("sobel x")
    np.testing.assert_array_equal(doc.layer(1).kernel[:, :, 0, 0], core.filter_preset("sobel x"))
    old = doc.layer(1).kernel.copy()
    editor.add_filter()
    assert doc.layer(1).filters == 3 and doc.outputs[0].shape == (4, 4, 3) and len(editor.slices) == 3
    np.testing.assert_array_equal(doc.layer(1).kernel[..., :2], old)
    editor.select_filter(0)
    editor.move_filter(+1)
    np.testing.assert_array_equal(doc.layer(1).kernel[..., 1], old[..., 0])
    np.testing.assert_array_equal(doc.layer(1).kernel[..., 0], old[..., 1])
    editor.select_filter(0)
    editor.remove_filter()  # removes the horizontal edge, now first
    assert doc.layer(1).filters == 2
    np.testing.assert_array_equal(doc.layer(1).kernel[..., 0], old[..., 0])
    editor.kernel_size.boxes[0].setValue(5)
    editor.kernel_size.boxes[1].setValue(5)
    assert doc.layer(1).kernel_size == (5, 5) and doc.outputs[0].shape == (2, 2, 2)
    np.testing.assert_array_equal(doc.layer(1).kernel[1:4, 1:4, 0, 0], old[..., 0, 0])
    editor.kernel_size.boxes[0].setValue(9)
    assert "does not fit" in editor.message.text() and doc.layer(1).kernel_size == (5, 5)
    np.testing.assert_allclose(doc.outputs[0], conv_reference(doc), atol=1e-6)


def test_hovering_a_weight_lights_the_input_it_multiplies(window, qtbot):
    doc = window.document
    editor = editor_of(window)
    hover(qtbot, slice_view(editor, 0, 0).heatmap, (0, 0))
    expected = core.weight_footprint(doc.layer(1), (6, 6, 1), (0, 0, 0, 0))
    assert lit(doc.probe.fields[0]) == expected
    assert highlighted(window.input_grid.heatmap) == {(r, c) for r, c, _ in expected}
    assert highlighted(slice_view(editor, 0, 0).heatmap) == {(0, 0)}
    assert "weight 1" in window.statusBar().currentMessage()


def test_hovering_an_output_lights_the_weights_used(window, qtbot):
    doc = window.document
    editor = editor_of(window)
    hover(qtbot, window.layer_views.cards(1)[1].heatmap, (2, 2))
    assert lit(doc.probe.weights[1]) == {(a, b, 0, 1) for a in range(3) for b in range(3)}
    assert highlighted(slice_view(editor, 1, 0).heatmap) == {(a, b) for a in range(3) for b in range(3)}
    assert highlighted(slice_view(editor, 0, 0).heatmap) == set()


def test_hovering_a_later_layer_lights_the_weights_that_made_its_field(window, qtbot):
    """An up-sampled cell comes from a pooled maximum of Conv2D #1's filter 2: those weights light up too."""
    doc = window.document
    editor = editor_of(window)
    hover(qtbot, window.layer_views.cards(3)[1].heatmap, (5, 5))
    field = lit(doc.probe.fields[1])
    assert field and {ch for _, _, ch in field} == {1}
    want = set().union(*(core.weights_used(doc.layer(1), cell, (6, 6, 1)) for cell in field))
    assert lit(doc.probe.weights[1]) == want
    assert highlighted(slice_view(editor, 1, 0).heatmap) == {(a, b) for a, b, _, _ in want}
    assert highlighted(slice_view(editor, 0, 0).heatmap) == set()


def test_a_refusal_message_goes_when_the_pipeline_changes_elsewhere(window):
    doc = window.document
    editor = editor_of(window)
    editor.remove_filter()
    editor.remove_filter()  # the last one: refused
    assert editor.message.isVisible() and "at least one filter" in editor.message.text()
    window.input_grid.resize_input((6, 6, 3), answer="spread")  # an edit elsewhere: the message no longer applies
    assert doc.layer(1).kernel.shape == (3, 3, 3, 1)
    assert editor.message.isHidden()
    editor.kernel_size.boxes[0].setValue(9)  # a refusal right after still shows
    assert editor.message.isVisible() and "does not fit" in editor.message.text()


def test_three_channel_slices_fit_the_dock_without_a_horizontal_scroll_bar(window, qtbot):
    from PySide6.QtWidgets import QApplication, QScrollArea

    editor = editor_of(window)
    window.input_grid.resize_input((6, 6, 3), answer="spread")
    window.document.flush()
    QApplication.processEvents()
    assert len(editor.slices) == 2 * 3
    scroll = editor.findChild(QScrollArea)
    assert scroll.horizontalScrollBar().maximum() == 0


def test_three_channel_slices_wrap_to_keep_cells_large_enough_for_numbers(window, qtbot):
    """Side by side in the 270 px dock a 3×3×3 filter got 14 px cells: too small for its numbers. The
    slices wrap instead (as many to a line as keep 24 px cells), and side by side again in a wide dock."""
    from PySide6.QtWidgets import QApplication

    editor = editor_of(window)
    window.input_grid.resize_input((6, 6, 3), answer="spread")
    window.document.flush()
    QApplication.processEvents()
    first = [v for v in editor.slices if v.filt == 0]
    assert [v.channel for v in first] == [0, 1, 2]
    assert all(v.heatmap.width() / 3 >= 24 for v in first)
    rows = sorted({v.mapTo(editor, v.rect().topLeft()).y() for v in first})
    assert len(rows) > 1  # wrapped: not all three on one line
    # a wide dock puts all three side by side again
    window.docks["filters"].setFloating(True)
    window.docks["filters"].resize(520, 600)
    QApplication.processEvents()
    first = [v for v in editor.slices if v.filt == 0]
    assert len({v.mapTo(editor, v.rect().topLeft()).y() for v in first}) == 1


def test_a_depthwise_layer_has_one_2d_filter_per_input_channel(window, qtbot):
    """DepthwiseConv2D(3, depth_multiplier=2) on the 4×4×2 conv output: maps c·2 + k, each from channel c alone."""
    doc = window.document
    editor = editor_of(window)
    doc.select_layer(1)
    window.pipeline_panel.add_layer("DepthwiseConv2D")
    index = doc.selected_layer
    doc.set_layer_param(index, "depth_multiplier", 2)
    layer = doc.layer(index)
    kernel = layer.get_weights()[0]
    assert kernel.shape == (3, 3, 2, 2) and len(editor.slices) == 4  # 2 channels × 2 filters each, one slice each
    assert [(v.filt, v.channel) for v in editor.slices] == [(0, 0), (1, 0), (2, 1), (3, 1)]
    for view in editor.slices:
        np.testing.assert_array_equal(view.heatmap.image.image, kernel[:, :, view.channel, view.filt % 2])
    title = editor.title.text()
    assert "nothing is added across channels" in title and "A Conv2D filter is 3×3×2" in title
    assert not editor.filter_tools.isVisible()  # depth_multiplier sets the count, not Add / Remove
    editor.brush.setValue(5.0)
    stroke(qtbot, slice_view(editor, 3, 1).heatmap, [(0, 0)])  # map 4 = channel 2's second filter
    doc.flush()
    assert doc.layer(index).get_weights()[0][0, 0, 1, 1] == 5.0
    x = doc.levels[index - 1]
    k = doc.layer(index).get_weights()[0][:, :, 1, 1]
    b = doc.layer(index).get_weights()[1][3]
    assert doc.levels[index][0, 0, 3] == pytest.approx(float((x[:3, :3, 1] * k).sum() + b), abs=1e-5)


def test_the_preset_box_names_a_preset_only_when_the_filter_is_one(window, qtbot):
    """The box is a chooser for Apply, not the filter's name: it reads "Lecture diagonal" on the lecture's
    first filter, "Lecture vertical line" on the second, and a placeholder once a weight is painted."""
    doc = window.document
    editor = editor_of(window)
    box = editor.preset
    editor.select_filter(0)
    assert box.currentText() == "Lecture diagonal"
    editor.select_filter(1)
    assert box.currentText() == "Lecture vertical line"
    weights = doc.layer(1).get_weights()
    weights[0][0, 0, 0, 1] = 0.5  # a painted (or trained) weight: no preset any more
    doc.set_weights(1, weights)
    doc.flush()
    assert box.currentIndex() == -1 and box.currentText() == ""
    assert box.placeholderText().startswith("custom")  # not a preset's name: a claim it is one
    assert not editor.apply_button.isEnabled()  # nothing chosen: nothing to apply
    box.setCurrentIndex(core.FILTER_PRESETS.index("sobel x"))
    assert editor.apply_button.isEnabled()
    editor.apply_button.click()
    doc.flush()
    np.testing.assert_array_equal(doc.layer(1).kernel[:, :, 0, 1], core.filter_preset("sobel x"))
    assert box.currentText() == "Sobel x"


def fresh_editor_state(editor):
    """What the editor shows: its title, kernel size, preset, and every slice's place, size and values."""
    return (editor.title.text(), editor.kernel_size.value(), editor.preset.currentIndex(),
            [(v.filt, v.channel, v.heatmap.size(), v.heatmap.image.image.tolist()) for v in editor.slices],
            [box.value() for box in editor.bias_boxes])


def test_a_stride_change_leaves_the_filter_editor_alone(window, qtbot, monkeypatch):
    """The stride changes the maps, not the filters: the editor refreshes nothing and its pixels stay."""
    from PySide6.QtWidgets import QApplication

    from cnnviz.ui.filter_editor import FilterEditor
    from ui_support import on_screen

    doc, editor = window.document, editor_of(window)
    doc.select_layer(1)
    QApplication.processEvents()
    before, shown = on_screen(window, editor), fresh_editor_state(editor)
    refreshed = []
    refresh = FilterEditor.refresh
    monkeypatch.setattr(FilterEditor, "refresh", lambda self: refreshed.append(self) or refresh(self))
    assert doc.set_layer_param(1, "strides", (2, 1))
    QApplication.processEvents()
    assert refreshed == []
    assert fresh_editor_state(editor) == shown
    assert on_screen(window, editor) == before
    doc.undo_stack.undo()
    assert refreshed == []


def test_the_filter_editor_follows_a_kernel_size_and_a_channel_change(window, qtbot):
    """A new kernel size, and new input channels from an earlier layer's filters, give the selected layer other
    filters: the editor shows them as an editor opened on that document would."""
    from cnnviz.ui.filter_editor import FilterEditor

    doc, editor = window.document, editor_of(window)
    doc.set_pipeline(core.Pipeline((6, 6, 1), [core.Conv2D(2, 3, padding="same"), core.ReLU(),
                                               core.Conv2D(2, 3, padding="same")]), np.zeros((6, 6, 1), np.float32))
    doc.select_layer(3)
    assert len(editor.slices) == 4
    doc.set_layer_param(3, "kernel_size", (2, 2))
    assert {v.heatmap.shape for v in editor.slices} == {(2, 2)}
    doc.set_layer_param(1, "filters", 3)  # layer 3 now reads 3 channels: 2 filters × 3 slices
    assert len(editor.slices) == 6 and "each 2×2×3" in editor.title.text()
    fresh = FilterEditor(doc)
    qtbot.addWidget(fresh)
    fresh.resize(editor.size())
    state = fresh_editor_state(fresh)
    assert fresh_editor_state(editor)[:2] == state[:2]
    assert [s[:2] + (s[3],) for s in fresh_editor_state(editor)[3]] == [s[:2] + (s[3],) for s in state[3]]
    doc.undo_stack.undo()  # back to 2 channels while layer 3 stays selected
    assert len(editor.slices) == 4
    for view in editor.slices:
        np.testing.assert_array_equal(view.heatmap.image.image, doc.layer(3).kernel[:, :, view.channel, view.filt])


def test_selecting_the_convolution_again_shows_its_slices_without_building_them_anew(window, qtbot):
    """Conv2D → ReLU → Conv2D: the slices are hidden meanwhile and shown again with the layer's values now (building
    them was two thirds of selecting a Conv2D at 128×128×3); a layer whose filters changed meanwhile gets new ones."""
    doc = window.document
    editor = editor_of(window)
    views = list(editor.slices)
    doc.select_layer(2)
    assert editor.slices == [] and not editor.grid_widget.isVisible() and "no weights" in editor.title.text()
    kernel = doc.layer(1).kernel.copy()
    kernel[0, 0, 0, 1] = 0.5
    doc.set_weights(1, [kernel, doc.layer(1).bias])  # an undo or a file could change them meanwhile
    doc.select_layer(1)
    assert editor.slices == views and editor.grid_widget.isVisible()
    np.testing.assert_array_equal(slice_view(editor, 1, 0).heatmap.image.image, kernel[:, :, 0, 1])
    assert [bool(hm.isVisible()) for hm in (v.heatmap for v in editor.slices)] == [True] * len(views)
    doc.select_layer(2)
    doc.set_layer_param(1, "filters", 3)
    doc.select_layer(1)
    assert len(editor.slices) == 3 and not set(editor.slices) & set(views)
    for view in editor.slices:
        np.testing.assert_array_equal(view.heatmap.image.image, doc.layer(1).kernel[:, :, 0, view.filt])
