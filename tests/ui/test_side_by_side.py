"""Side by side: a kept snapshot beside the live layer, labelled with what differs, exported as one figure."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QPushButton
from ui_support import make_window

from cnnviz.ui.side_by_side import SideBySideFigure


@pytest.fixture
def window(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path)
    w.show_panel("side_by_side")
    qtbot.waitUntil(w.side_by_side.isVisible)
    return w


def change(doc, index, **settings):
    doc.replace_layer(index, doc.layer(index).replace(**settings))
    doc.flush()


def svg_texts(path):
    return [t.text for t in ET.parse(path).getroot().iter("{http://www.w3.org/2000/svg}text")]


def test_stride_1_beside_stride_2(window, qtbot):
    view, doc = window.side_by_side, window.document
    assert view.figure() is None and view.message.isVisible() and not view.export_button.isEnabled()
    qtbot.mouseClick(view.findChild(QPushButton, "keepLayer"), Qt.MouseButton.LeftButton)
    assert view.snapshot.layer == 1 and view.labels == ("snapshot", "live")
    change(doc, 1, strides=2)
    assert view.labels == ("stride 1", "stride 2")
    figure = view.figure()
    assert isinstance(figure, SideBySideFigure) and view.export_button.isEnabled() and not view.message.isVisible()
    left, right = figure.parts
    # the snapshot kept its own numbers: the lecture's stride-1 map beside the stride-2 one
    assert view.snapshot.outputs[0][:, :, 0].tolist() == [[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1],
                                                          [3, -2, -2, -1]]
    assert doc.outputs[0][:, :, 0].tolist() == [[3, -3], [-3, 0]]
    assert [c.heading for c in left.columns] == ["Conv2D #1 → 4×4×2"]
    assert [c.heading for c in right.columns] == ["Conv2D #1 → 2×2×2"]
    assert "rows: ⌊(6 + 0 + 0 − 3)/2⌋ + 1 = 2" in right.columns[0].notes
    np.testing.assert_array_equal(right.columns[0].grids[0].values, [[3, -3], [-3, 0]])


def test_export_is_one_figure_with_both_labels(window, tmp_path):
    view, doc = window.side_by_side, window.document
    view.keep(1)
    change(doc, 1, padding="same")
    assert view.labels == ("valid", "same")
    assert view.export(str(tmp_path / "both.png"))
    image = QImage(str(tmp_path / "both.png"))
    size = view.figure().size
    assert (image.width(), image.height()) == (size.width(), size.height())
    assert size.width() == sum(p.size.width() for p in view.figure().parts) + 28  # the two, a divider between
    assert view.export(str(tmp_path / "both.svg"))
    texts = svg_texts(tmp_path / "both.svg")
    for text in ("valid", "same", "snapshot", "live", "Conv2D #1 → 4×4×2", "Conv2D #1 → 6×6×2"):
        assert text in texts, text
    assert view.export(str(tmp_path / "both.pdf")) and (tmp_path / "both.pdf").read_bytes().startswith(b"%PDF-")
    assert not view.export(str(tmp_path / "both.gif"))  # refused with a reason, nothing written
    assert "Not exported" in view.message.text() and not (tmp_path / "both.gif").exists()


def test_the_whole_pipeline_nearest_beside_bilinear(window):
    view, doc = window.side_by_side, window.document
    view.keep(None)
    change(doc, 3, interpolation="bilinear")
    assert view.labels == ("nearest", "bilinear")
    left, right = view.figure().parts
    assert len(left.columns) == len(right.columns) == 4  # the input and every layer
    assert right.columns[3].grids[0].values[0, 2] == pytest.approx(2)  # bilinear blends 3 and 0


def test_the_snapshot_says_when_its_layer_is_gone_and_clears(window):
    view, doc = window.side_by_side, window.document
    doc.select_layer(3)
    view.keep(3)
    doc.remove_layer(3)
    doc.flush()
    assert view.figure() is None and "layer 3" in view.message.text() and "2 layers" in view.message.text()
    window.action_set.undo.trigger()
    doc.flush()
    assert view.figure() is not None and view.labels == ("snapshot", "live")
    view.clear()
    assert view.snapshot is None and view.figure() is None and not view.clear_button.isEnabled()


def test_one_colour_is_one_number_on_both_sides(window):
    view, doc = window.side_by_side, window.document
    view.keep(1)
    change(doc, 1, strides=2)  # stride 2 alone would colour its ±3 at full strength; stride 1 reaches −4
    left, right = view.figure().parts
    levels = {g.levels for part in (left, right) for g in part.columns[0].grids}
    assert levels == {(-4.0, 4.0)}
