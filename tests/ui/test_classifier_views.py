"""A classifier Conv2D → MaxPooling2D → Flatten → Dense(softmax): its vector levels on screen and in figures,
the hover links through the Flatten, and the Dense output written out as an inner product (the lecture's ANN)."""

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication, QLabel, QPushButton

from cnnviz import core
from cnnviz.core.pipeline import Pipeline
from cnnviz.core.provenance import cell_provenance
from cnnviz.ui.arithmetic.dense_view import DenseView, dense_step, inner_product_text
from cnnviz.ui.colormaps import format_value
from cnnviz.ui.document import Document
from cnnviz.ui.figure import pipeline_figure, render_bytes
from cnnviz.ui.vector_view import VectorCard
from ui_support import lit, make_window

CLASSES = 3


def classifier_document(activation="softmax"):
    x = core.example_input("lecture", (6, 6, 1))
    layers = [core.Conv2D(2, 3), core.MaxPooling2D(2), core.Flatten(), core.Dense(CLASSES, activation=activation)]
    pipeline = Pipeline(x.shape, layers)
    pipeline.build()
    rng = np.random.default_rng(3)
    for layer in layers:
        layer.set_weights([rng.uniform(-1, 1, w.shape).astype(np.float32) for w in layer.get_weights()])
    return Document(pipeline, x.astype(np.float32))


@pytest.fixture
def window(qtbot, tmp_path):
    return make_window(qtbot, tmp_path, classifier_document())


def test_vector_levels_are_strips_and_the_softmax_reads_as_bars(window):
    views, doc = window.layer_views, window.document
    assert [len(c.cards) for c in views.columns] == [1, 2, 2, 1, 1]
    flat, probs = views.columns[3].cards[0], views.columns[4].cards[0]
    assert isinstance(flat, VectorCard) and isinstance(probs, VectorCard)
    assert not flat.heatmap.bars and probs.heatmap.bars
    np.testing.assert_array_equal(flat.heatmap.values, doc.levels[3])  # 2×2×2 → 8, channels-last
    np.testing.assert_allclose(probs.heatmap.values.sum(), 1.0, rtol=1e-6)
    assert "8 numbers" in flat.caption.text() and "probabilities of 3 classes" in probs.caption.text()


def test_hovering_a_class_lights_every_flattened_input_and_every_cell_behind_it(window, qtbot):
    views, doc = window.layer_views, window.document
    strip = views.columns[4].cards[0].heatmap
    qtbot.mouseMove(strip, strip.cell_center(1))
    QApplication.processEvents()
    probe = doc.probe
    assert probe.level == 4 and probe.cell == (1,)
    assert probe.fields[3].all() and probe.fields[2].all()  # a Dense output depends on every input
    assert views.columns[3].cards[0].heatmap.highlight.all()
    # one flattened entry comes from one cell of the pooled maps: index (r·W + c)·C + ch
    flat = views.columns[3].cards[0].heatmap
    qtbot.mouseMove(flat, flat.cell_center(5))
    QApplication.processEvents()
    assert lit(doc.probe.fields[2]) == {(1, 0, 1)}


def test_the_dense_view_writes_the_inner_product_with_the_core_numbers(window, qtbot):
    doc = window.document
    view = window.arithmetic_views["dense"]
    window.show_panel("arithmetic_dense")
    QApplication.processEvents()
    dense, x = doc.layer(4), doc.levels[3]
    for j in range(CLASSES):
        step = dense_step(dense, x, j)
        prov = cell_provenance(dense, x, (j,))
        np.testing.assert_allclose(step["x"], [t.value for t in prov.terms], rtol=1e-6)
        np.testing.assert_allclose(step["w"], [t.coefficient for t in prov.terms], rtol=1e-6)
        np.testing.assert_allclose(step["z"], sum(t.value * t.coefficient for t in prov.terms) + prov.bias, rtol=1e-5)
    # hovering output entry 2 on the canvas shows unit 2, and its softmax line gives the layer's own output
    view.canvas.repaint()  # the geometries of the picture now on screen
    qtbot.mouseMove(view.canvas, view.canvas.cell_center("output", (2, 0)).toPoint())
    qtbot.waitUntil(lambda: view.unit == 2, timeout=2000)
    text = view.formula.text()
    assert inner_product_text(dense_step(dense, x, 2), 2) in text
    assert f"<b>{format_value(doc.levels[4][2])}</b>" in text and "softmax" in text


def test_a_dense_on_a_map_offers_the_flatten_a_classifier_needs(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    doc, panel = window.document, window.pipeline_panel
    doc.select_layer(3)  # after UpSampling2D #3 (6×6×2)
    panel.add_layer("Dense")
    assert doc.level_shape(4)[:2] == (6, 6)  # on each cell's channels: a 1×1 convolution
    note = panel.findChild(QLabel, "denseOnMapNote")
    assert note is not None and "1×1 convolution" in note.text() and "all 72 numbers" in note.text()
    panel.fields["units"].setValue(3)
    assert "every cell gets 3 numbers" in note.text()  # the note follows the setting
    panel.findChild(QPushButton, "insertFlatten").click()
    assert panel.error.isHidden(), panel.error.text()
    assert [type(layer).__name__ for layer in doc.pipeline.layers][3:] == ["Flatten", "Dense"]
    assert doc.level_shape(4) == (72,) and len(doc.level_shape(5)) == 1
    assert panel.findChild(QLabel, "denseOnMapNote") is None or not panel.findChild(QLabel, "denseOnMapNote").isVisible()
    doc.undo_stack.undo()  # one step
    assert [type(layer).__name__ for layer in doc.pipeline.layers][3:] == ["Dense"]


def test_a_classifier_figure_draws_its_vectors(qapp):
    doc = classifier_document()
    figure = pipeline_figure(doc.input, doc.pipeline, doc.outputs)
    assert [v.bars for _, _, v in figure.vectors] == [False, True]
    assert render_bytes(figure, "png")[:4] == b"\x89PNG"


def test_the_dense_view_is_empty_without_a_dense(qtbot):
    view = DenseView(Document())
    qtbot.addWidget(view)
    assert view.empty_message() == DenseView.EMPTY
