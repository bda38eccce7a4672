"""The Batch norm tab: one cell of a BatchNormalization written out with its channel's four numbers."""

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from cnnviz import core
from cnnviz.core.pipeline import Pipeline
from cnnviz.core.provenance import cell_provenance
from cnnviz.ui.arithmetic.batchnorm_view import BatchNormView, channel_numbers
from cnnviz.ui.colormaps import format_value
from cnnviz.ui.document import Document

GAMMA, BETA, MEAN, VAR = [1.5, -2.0], [0.25, 1.0], [0.5, -1.0], [4.0, 0.25]


def batchnorm_document(flatten=False, **kwargs):
    x = core.example_input("lecture", (6, 6, 1))
    layers = [core.Conv2D(2, 3), *([core.Flatten()] if flatten else []), core.BatchNormalization(**kwargs)]
    pipeline = Pipeline(x.shape, layers)
    pipeline.build()
    bn = layers[-1]
    n = 32 if flatten else 2
    arrays = {"gamma": np.resize(GAMMA, n), "beta": np.resize(BETA, n), "moving_mean": np.resize(MEAN, n),
              "moving_variance": np.resize(VAR, n)}
    bn.set_weights([np.asarray(arrays[spec.name], np.float32) for spec in bn.weight_specs()])
    return Document(pipeline, x)


@pytest.mark.parametrize("center, scale", [(True, True), (False, True), (True, False)])
def test_a_cell_written_out_is_the_layer_output_and_its_channel_line(qtbot, center, scale):
    doc = batchnorm_document(center=center, scale=scale)
    view = BatchNormView(doc)
    qtbot.addWidget(view)
    doc.set_probe(2, (1, 2, 1))
    assert view.cell == (1, 2, 1)
    x, y = doc.levels[1], doc.levels[2]
    numbers = channel_numbers(view.weights(), 1, 1e-3)
    assert numbers["gamma"] == (GAMMA[1] if scale else 1.0) and numbers["beta"] == (BETA[1] if center else 0.0)
    assert numbers["a"] * x[1, 2, 1] + numbers["c"] == pytest.approx(float(y[1, 2, 1]), abs=1e-5)
    prov = cell_provenance(doc.layer(2), x, (1, 2, 1))
    assert prov.value == pytest.approx(float(y[1, 2, 1]), abs=1e-5)
    text = view.formula.text()
    assert f"<b>{format_value(y[1, 2, 1])}</b>" in text and "√(" in text and "channel 2" in text
    assert f"({format_value(x[1, 2, 1])} − {format_value(MEAN[1]).replace('−', '(−') + (')' if MEAN[1] < 0 else '')})" in text


def test_hovering_the_output_grid_chooses_the_cell(qtbot):
    doc = batchnorm_document()
    view = BatchNormView(doc)
    qtbot.addWidget(view)
    view.resize(900, 300)
    view.show()
    qtbot.waitExposed(view)
    view.canvas.update()
    qtbot.waitUntil(lambda: "output" in view.canvas.geometries, timeout=2000)
    qtbot.mouseMove(view.canvas, view.canvas.cell_center("output", (3, 0)).toPoint())
    qtbot.waitUntil(lambda: view.cell == (3, 0, 0), timeout=2000)
    view.channel.setValue(2)
    assert view.cell == (3, 0, 1)


def test_a_batchnorm_on_a_vector_is_written_per_entry(qtbot):
    doc = batchnorm_document(flatten=True)
    view = BatchNormView(doc)
    qtbot.addWidget(view)
    doc.set_probe(3, (5,))
    assert view.cell == (5,)
    assert "entry 5" in view.formula.text()
    QApplication.processEvents()
