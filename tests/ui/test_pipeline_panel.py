"""The pipeline panel: add, duplicate, reorder and remove layers; edit parameters; refused settings."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QListWidget, QWidget

from cnnviz.ui.pipeline_panel import ERROR_FILL
from ui_support import make_window


@pytest.fixture
def window(qtbot, tmp_path):
    return make_window(qtbot, tmp_path)


def panel_of(window):
    return window.findChild(QWidget, "pipelinePanel")


def labels(doc):
    return [l.label for l in doc.pipeline.layers]


def shapes(doc):
    return [o.shape for o in doc.outputs]


def test_list_shows_layers_with_output_shapes(window):
    panel = panel_of(window)
    lst = panel.findChild(QListWidget, "layerList")
    assert lst.count() == 3
    assert "Conv2D #1" in lst.item(0).text() and "4×4×2" in lst.item(0).text()
    assert "MaxPooling2D #2" in lst.item(1).text() and "2×2×2" in lst.item(1).text()
    assert panel.findChild(QLabel, "shapeChain").text() == "6×6×1 → 4×4×2 → 2×2×2 → 6×6×2"
    arithmetic = panel.findChild(QLabel, "layerArithmetic").text()
    assert "rows: ⌊(6 + 0 + 0 − 3)/1⌋ + 1 = 4" in arithmetic and "output 4×4×2" in arithmetic


def test_add_reorder_and_remove_layers(window, qtbot):
    doc = window.document
    panel = panel_of(window)
    lst = panel.findChild(QListWidget, "layerList")
    lst.setCurrentRow(1)  # the pooling layer
    assert doc.selected_layer == 2
    window.action_set.add_layer["ReLU"].trigger()
    assert labels(doc) == ["Conv2D #1", "MaxPooling2D #2", "ReLU #3", "UpSampling2D #4"]
    assert doc.selected_layer == 3 and lst.count() == 4 and lst.currentRow() == 2
    assert len(window.layer_views.columns) == 5
    window.action_set.move_up.trigger()
    assert labels(doc) == ["Conv2D #1", "ReLU #2", "MaxPooling2D #3", "UpSampling2D #4"]
    assert doc.selected_layer == 2
    np.testing.assert_array_equal(doc.outputs[1], np.maximum(doc.outputs[0], 0))
    # drag the last layer onto the upper half of the first row: it becomes the first layer
    lst.setCurrentRow(3)
    top = lst.visualItemRect(lst.item(0)).topLeft() + QPoint(5, 2)
    mime = lst.model().mimeData([lst.model().index(3, 0)])
    drop = QDropEvent(QPointF(top), Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    lst.dropEvent(drop)
    assert labels(doc)[0] == "UpSampling2D #1" and lst.count() == 4
    assert shapes(doc) == [(18, 18, 1), (16, 16, 2), (16, 16, 2), (8, 8, 2)]
    window.action_set.duplicate_layer.trigger()
    assert labels(doc) == ["UpSampling2D #1", "UpSampling2D #2", "Conv2D #3", "ReLU #4", "MaxPooling2D #5"]
    doc.select_layer(2)
    window.action_set.remove_layer.trigger()
    assert labels(doc) == ["UpSampling2D #1", "Conv2D #2", "ReLU #3", "MaxPooling2D #4"]
    expected = doc.pipeline.copy().run(doc.input)
    for got, want in zip(doc.outputs, expected):
        np.testing.assert_allclose(got, want, atol=1e-5)
    for _ in range(5):
        window.action_set.undo.trigger()
    assert labels(doc) == ["Conv2D #1", "MaxPooling2D #2", "UpSampling2D #3"]
    assert shapes(doc) == [(4, 4, 2), (2, 2, 2), (6, 6, 2)]


def test_every_layer_type_can_be_added(window):
    """The menu offers every registered type; each lands after the seed's last map (and is undone again, so
    that every type meets the same 6×6×2 map)."""
    doc = window.document
    from cnnviz.core import LAYER_TYPES

    for name in LAYER_TYPES:
        doc.select_layer(3)
        window.action_set.add_layer[name].trigger()
        assert type(doc.layer(doc.selected_layer)).__name__ == name
        assert panel_of(window).error.isHidden(), panel_of(window).error.text()
        assert len(doc.pipeline.layers) == 4
        assert len(window.layer_views.columns) == len(doc.levels)
        doc.undo_stack.undo()


def test_invalid_stride_is_refused_in_place(window, qtbot):
    doc = window.document
    panel = panel_of(window)
    config = doc.pipeline.get_config()
    outputs = [o.copy() for o in doc.outputs]
    stride = panel.fields["strides"].boxes[0]
    stride.lineEdit().selectAll()
    qtbot.keyClicks(stride.lineEdit(), "0")
    qtbot.keyClick(stride.lineEdit(), Qt.Key.Key_Return)
    error = panel.findChild(QLabel, "layerError")
    assert error.isVisible()
    assert error.text() == "Conv2D #1: strides must be ≥ 1, got 0×1"
    assert panel.fields["strides"].boxes[0].palette().color(QPalette.ColorRole.Base) == ERROR_FILL
    assert doc.pipeline.get_config() == config
    assert doc.undo_stack.count() == 0
    for got, want in zip(doc.outputs, outputs):
        np.testing.assert_array_equal(got, want)
    # a good value clears the message and applies
    stride.setValue(2)
    assert error.isHidden()
    assert doc.layer(1).strides == (2, 1)
    assert doc.outputs[0].shape == (2, 4, 2)
    assert "rows: ⌊(6 + 0 + 0 − 3)/2⌋ + 1 = 2" in panel.arithmetic.text()


def test_kernel_too_big_shows_the_formula_and_changes_nothing(window):
    doc = window.document
    panel = panel_of(window)
    panel.fields["kernel_size"].boxes[0].setValue(7)
    assert "does not fit a 6×6 input" in panel.error.text()
    assert "rows: ⌊(6 + 0 + 0 − 7)/1⌋ + 1 = 0" in panel.arithmetic.text()
    assert doc.layer(1).kernel_size == (3, 3)
    # padding same makes it fit: ⌈6/1⌉ = 6
    panel.fields["kernel_size"].boxes[0].setValue(3)
    panel.fields["padding"].setCurrentText("same")
    panel.fields["padding"].activated.emit(1)
    assert doc.layer(1).padding == "same" and doc.outputs[0].shape == (6, 6, 2)
    assert "⌈6/1⌉ = 6" in panel.arithmetic.text()


def test_forms_for_other_layer_types(window, qtbot):
    doc = window.document
    panel = panel_of(window)
    doc.select_layer(2)
    assert set(panel.fields) == {"pool_size", "strides", "padding"}
    panel.fields["strides"].setText("1")
    panel.fields["strides"].editingFinished.emit()
    assert doc.layer(2).strides == (1, 1) and doc.outputs[1].shape == (3, 3, 2)
    panel.fields["strides"].setText("a")
    panel.fields["strides"].editingFinished.emit()
    assert "whole numbers" in panel.error.text()
    doc.select_layer(3)
    panel.fields["interpolation"].setCurrentText("bilinear")
    panel.fields["interpolation"].activated.emit(1)
    assert doc.layer(3).interpolation == "bilinear"
    window.action_set.add_layer["Dropout"].trigger()
    rate = panel.fields["rate"]
    rate.setValue(1.0)
    assert "rate must be a number in [0, 1)" in panel.error.text()
    assert doc.layer(4).rate == 0.25
    panel.fields["training"].setChecked(True)
    assert doc.training
    doc.flush()
    kept = doc.layer(4).mask
    np.testing.assert_allclose(doc.outputs[3], np.where(kept, doc.outputs[2] / 0.75, 0), atol=1e-6)


def test_drop_below_an_item_moves_the_layer_down(window):
    doc = window.document
    lst = panel_of(window).findChild(QListWidget, "layerList")
    lst.setCurrentRow(0)
    rect = lst.visualItemRect(lst.item(1))
    below_middle = QPointF(rect.left() + 5, rect.bottom() - 2)
    mime = lst.model().mimeData([lst.model().index(0, 0)])
    lst.dropEvent(QDropEvent(below_middle, Qt.DropAction.MoveAction, mime, Qt.MouseButton.LeftButton,
                             Qt.KeyboardModifier.NoModifier))
    assert labels(doc) == ["MaxPooling2D #1", "Conv2D #2", "UpSampling2D #3"]
    assert doc.selected_layer == 2


def test_a_refused_field_is_tinted_but_keeps_its_arrows(window):
    """The error mark must not swap the spin box for a style-sheet one (its arrows became bare '≡' marks)."""
    panel = panel_of(window)
    kernel, stride = panel.fields["kernel_size"].boxes[0], panel.fields["strides"].boxes[0]
    stride.setValue(3)
    before = stride.grab().toImage()
    stride.setValue(0)
    assert panel.error.isVisible()
    QApplication.processEvents()  # the pipeline dock lays out the taller panel (it scrolls, never squeezes)
    after = stride.grab().toImage()
    assert kernel.size() == stride.size()
    w, h = after.width(), after.height()
    up_arrow = [(x, y) for x in range(w - 14, w - 3) for y in range(3, h // 2)]  # (0 greys the down arrow)
    assert all(after.pixel(x, y) == before.pixel(x, y) for x, y in up_arrow)
    # the text area carries the error tint
    assert after.pixelColor(3, 4) == ERROR_FILL
    stride.setValue(1)
    assert panel.error.isHidden()
    assert stride.grab().toImage().pixelColor(3, 4) != ERROR_FILL


def test_a_value_the_core_cannot_build_says_the_arithmetic_shown_is_the_old_one(window):
    """Stride 0 makes no layer to explain: the box must not present the old 4×4 result as the new one's."""
    panel = panel_of(window)
    panel.fields["strides"].boxes[0].setValue(0)
    lines = panel.arithmetic.text().splitlines()
    assert lines[0] == "still in use (the refused value changed nothing):"
    assert lines[2] == "rows: ⌊(6 + 0 + 0 − 3)/1⌋ + 1 = 4"
    # a value that builds shows its own (failing) arithmetic, without that note
    panel.fields["strides"].boxes[0].setValue(1)
    panel.fields["kernel_size"].boxes[0].setValue(9)
    rows = panel.arithmetic.text().splitlines()[1]
    assert rows == "rows: ⌊(6 + 0 + 0 − 9)/1⌋ + 1 = 0 (empty: the window does not fit)"
    panel.fields["kernel_size"].boxes[0].setValue(3)
    assert panel.arithmetic.text().startswith("input 6×6×1")


def test_a_refused_move_says_why(window):
    """Moving a 3×3 valid conv after the pooling (1×1 there) is refused: the message was shown blank."""
    doc = window.document
    panel = panel_of(window)
    window.action_set.duplicate_layer.trigger()  # Conv2D #2 on the 4×4×2 maps
    before = labels(doc)
    window.action_set.move_down.trigger()
    assert labels(doc) == before
    assert panel.error.isVisible()
    assert "Conv2D" in panel.error.text() and "does not fit" in panel.error.text()


def test_an_empty_pipeline_says_how_to_add_a_layer(window):
    doc = window.document
    panel = panel_of(window)
    for _ in range(3):
        doc.select_layer(1)
        panel.remove_selected()
    assert doc.pipeline.layers == []
    texts = [w.text() for w in panel.form_box.findChildren(QLabel)]
    assert any("Add layer" in t for t in texts), texts


def test_duplicating_a_conv_after_itself_keeps_its_filters_across_the_new_channels(window):
    """The copy sees 2 channels where the original saw 1: it got fresh random weights; now each filter's
    slice is repeated per channel and scaled by 1/2, as a resize of the input does."""
    doc = window.document
    original = doc.layer(1).kernel.copy()  # 3×3×1×2: vertical and horizontal edge
    window.action_set.duplicate_layer.trigger()
    copy = doc.layer(2).kernel
    assert copy.shape == (3, 3, 2, 2)
    for c in range(2):
        np.testing.assert_allclose(copy[:, :, c, :], original[:, :, 0, :] / 2)
    np.testing.assert_array_equal(doc.layer(2).bias, doc.layer(1).bias)


def type_into(qtbot, box, text):
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), text)
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)


def tinted(widget) -> bool:
    return widget.palette().color(QPalette.ColorRole.Base) == ERROR_FILL


@pytest.mark.parametrize(
    ("key", "refused", "message"),
    [("strides", "0", "Conv2D #1: strides must be ≥ 1, got 0×1"), ("kernel_size", "7", "does not fit")],
)
def test_a_refused_value_set_back_to_the_current_one_clears_the_message(window, qtbot, key, refused, message):
    """Issue 13: stride 0 then 1 (the value in use) left both boxes pink with the old message."""
    panel = panel_of(window)
    error = panel.findChild(QLabel, "layerError")
    box = panel.fields[key].boxes[0]
    in_use = str(box.value())
    type_into(qtbot, box, refused)
    assert error.isVisible() and message in error.text()
    assert tinted(panel.fields[key].boxes[0])
    type_into(qtbot, panel.fields[key].boxes[0], in_use)
    assert error.isHidden() and error.text() == ""
    assert not any(tinted(b) for b in panel.fields[key].boxes)
    assert "still in use" not in panel.findChild(QLabel, "layerArithmetic").text()
    assert window.document.undo_stack.count() == 0  # nothing was changed, nothing to undo


def test_a_stride_change_repaints_no_other_field_of_the_form_and_a_refusal_still_marks_and_clears(window, qtbot):
    """Loading the values set every spin box and palette again, and each repainted itself with every box in it."""
    from PySide6.QtCore import QEvent, QObject

    panel = panel_of(window)
    window.document.select_layer(1)
    QApplication.processEvents()
    strides = panel.fields["strides"]
    others = [b for key, w in panel.fields.items() if key != "strides" for b in w.findChildren(QWidget)]
    painted = []

    class Paints(QObject):
        def eventFilter(self, watched, event):  # noqa: N802 (Qt name)
            if event.type() == QEvent.Type.Paint and any(watched is o for o in others):
                painted.append(watched.objectName() or type(watched).__name__)
            return False

    spy = Paints()
    QApplication.instance().installEventFilter(spy)
    try:
        strides.boxes[1].setValue(2)
        QApplication.processEvents()
    finally:
        QApplication.instance().removeEventFilter(spy)
    assert window.document.layer(1).strides == (1, 2) and strides.value() == (1, 2)
    assert painted == []
    kernel = panel.fields["kernel_size"]
    kernel.boxes[0].setValue(9)  # larger than the 6×6 input: refused, marked
    assert kernel.palette().color(QPalette.ColorRole.Base) == ERROR_FILL
    kernel.boxes[0].setValue(2)
    assert kernel.palette().color(QPalette.ColorRole.Base) != ERROR_FILL
    window.document.undo_stack.undo()
    window.document.undo_stack.undo()
    assert strides.value() == (1, 1) and kernel.value() == (3, 3)


def form_state(panel):
    """The shown form: its title, and each row's label and the value its field shows."""
    from PySide6.QtWidgets import QAbstractSpinBox, QCheckBox, QComboBox, QLineEdit

    def shown(widget):
        if isinstance(widget, QAbstractSpinBox):
            return widget.text()
        if isinstance(widget, QComboBox):
            return widget.currentText()
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        if isinstance(widget, QLineEdit):
            return widget.text()
        return [shown(w) for w in widget.findChildren(QAbstractSpinBox)]

    rows = []
    for key, widget in panel.fields.items():
        assert widget.isVisibleTo(panel), key
        rows.append((key, panel.form.labelForField(widget).text(), shown(widget)))
    return panel.form_box.title(), rows


def test_selecting_a_layer_of_a_type_seen_before_builds_no_form_and_shows_its_values(window, qtbot):
    """The form of a layer type is built once: selecting another layer of that type shows its values in the same
    widgets, as a freshly opened window shows them."""
    import shiboken6

    from cnnviz import core
    from cnnviz.ui.pipeline_panel import PipelinePanel

    doc, panel = window.document, panel_of(window)
    doc.set_pipeline(core.Pipeline((8, 8, 1), [core.Conv2D(2, 3), core.ReLU(), core.Conv2D(3, 2, strides=2),
                                               core.MaxPooling2D(2)]), np.zeros((8, 8, 1), np.float32))
    for i in (1, 2, 3, 4, 0):
        doc.select_layer(i)

    def widgets():  # the C++ objects (a Python wrapper's id may be reused)
        return {shiboken6.getCppPointer(w)[0] for w in panel.form_box.findChildren(QWidget)}

    built = widgets()
    for i in (1, 3, 2, 4, 3, 0, 1):
        doc.select_layer(i)
        assert widgets() == built, i  # no widget made, none dropped
        fresh = PipelinePanel(doc)
        qtbot.addWidget(fresh)
        assert form_state(panel) == form_state(fresh), i
        visible = [w for w in panel.form_box.findChildren(QLabel) if w.isVisibleTo(panel)]
        assert sorted(w.text() for w in visible) == sorted(
            w.text() for w in fresh.form_box.findChildren(QLabel) if w.isVisibleTo(fresh)), i
    doc.select_layer(3)
    panel.fields["strides"].boxes[0].setValue(1)  # an edit through the reused widgets reaches layer 3
    assert doc.layer(3).strides == (1, 2) and doc.layer(1).strides == (1, 1)
