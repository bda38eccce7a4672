"""Nearest vs bilinear: both outputs, the selected cell's sources and weights, the exact numbers of
docs/layers.md (UpSampling2D)."""

import numpy as np

from cnnviz import core
from cnnviz.ui.arithmetic.upsampling_view import UpsamplingView, axis_text
from cnnviz.ui.document import Document
from ui_support import lit


def make(qtbot, factor=2, interpolation="bilinear"):
    x = np.array([[1, 2], [3, 4]], np.float32)[:, :, None]
    document = Document(core.Pipeline(x.shape, [core.UpSampling2D(factor, interpolation)]), x)
    view = UpsamplingView(document)
    qtbot.addWidget(view)
    view.resize(1000, 480)
    return document, view


def test_both_modes_shown_with_the_keras_numbers(qtbot):
    _, view = make(qtbot)
    out = view.outputs()
    # docs/layers.md, UpSampling2D: [[1,2],[3,4]] factor 2
    np.testing.assert_allclose(
        out["bilinear"][:, :, 0],
        [[1, 1.25, 1.75, 2], [1.5, 1.75, 2.25, 2.5], [2.5, 2.75, 3.25, 3.5], [3, 3.25, 3.75, 4]],
    )
    np.testing.assert_array_equal(out["nearest"][:, :, 0], np.repeat(np.repeat([[1, 2], [3, 4]], 2, 0), 2, 1))
    view.grab()


def test_hovered_cell_sources_and_weights_follow_the_probe(qtbot):
    document, view = make(qtbot)
    document.set_probe(1, (1, 2, 0))
    assert view.cell == (1, 2)
    lines = view.formula_text().split("<br>")
    assert lines[0].endswith("y[1,2] = x[1//2, 2//2] = x[0,1] = 2")
    assert "row 1: (1 + 0.5)·2/4 − 0.5 = 0.25 → row 0 × 0.75 and row 1 × 0.25" in lines[1]
    assert "col 2: (2 + 0.5)·2/4 − 0.5 = 0.75 → col 0 × 0.25 and col 1 × 0.75" in lines[1]
    assert lines[2].endswith("= 2.25") and "0.75·0.75·x[0,1]" in lines[2]
    bil = view.provenance("bilinear")
    assert {t.cell: t.coefficient for t in bil.terms} == {
        (0, 0, 0): 0.75 * 0.25,
        (0, 1, 0): 0.75 * 0.75,
        (1, 0, 0): 0.25 * 0.25,
        (1, 1, 0): 0.25 * 0.75,
    }
    assert bil.value == document.outputs[0][1, 2, 0]


def test_edge_cells_clip_to_the_input():
    # factor 3: output row 0 maps to source −1/3, clipped to 0 (docs/layers.md, UpSampling2D)
    assert axis_text(0, 2, 3, "row") == "row 0: (0 + 0.5)·2/6 − 0.5 = −0.33 → clipped to 0 → row 0 with weight 1"
    assert axis_text(2, 2, 3, "row").endswith("→ row 0 × 0.67 and row 1 × 0.33")


def test_hovering_an_output_grid_sets_the_probe(qtbot):
    document, view = make(qtbot, factor=3, interpolation="nearest")
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: "bilinear" in view.canvas.geometries, timeout=2000)
    qtbot.mouseMove(view.canvas, view.canvas.cell_center("bilinear", (4, 1)).toPoint())
    qtbot.waitUntil(lambda: view.cell == (4, 1), timeout=2000)
    assert document.probe.level == 1 and document.probe.cell == (4, 1, 0)
    assert lit(document.probe.fields[0]) == {(1, 0, 0)}  # nearest layer: the receptive field is one cell



def test_a_pinned_cell_carried_into_a_pipeline_without_up_sampling_is_not_an_error(qtbot):
    """Opening a session keeps a pinned cell whose level now holds a Conv2DTranspose: the probe can reach
    the view before the new pipeline does."""
    doc = Document()  # the lecture: UpSampling2D is layer 3
    view = UpsamplingView(doc)
    qtbot.addWidget(view)
    doc.set_probe(3, (1, 1, 0), pinned=True)
    conv = core.Conv2D(1, 3)
    pipeline = core.Pipeline((6, 6, 1), [conv, core.MaxPooling2D(2), core.Conv2DTranspose(1, 3, strides=3)])
    doc.outputsChanged.disconnect(view._document_changed)  # the order Document.set_pipeline may use
    doc.set_pipeline(pipeline, core.seed_input())
    doc.outputsChanged.connect(view._document_changed)
    view.probe_changed(doc.probe)
    assert view._index == 0 and view.formula.text() == ""
