"""The step-through's other view of Conv2DTranspose: a forward convolution of the flipped kernel over the
zero-inserted, padded input, stepped output cell by output cell, with the layer's own output numbers."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QPoint

from cnnviz import core
from cnnviz.ui.arithmetic.step_model import StepModel
from cnnviz.ui.arithmetic.stepper import StepperView
from cnnviz.ui.document import Document
from cnnviz.ui.grid_painter import INSERTED_FILL
from tests.ui.test_arithmetic_stepper import final_value, products


def transpose_document(layer, x):
    document = Document()
    document.set_pipeline(core.Pipeline(x.shape, [layer]), x)
    document.select_layer(1)
    return document


X = np.array([[1, 0, 2], [0, 3, 1], [2, 1, 0]], np.float32).reshape(3, 3, 1)


@pytest.fixture
def direct(qtbot):
    document = transpose_document(core.Conv2DTranspose(1, 3, strides=2, padding="same"), X)
    view = StepperView(document)
    qtbot.addWidget(view)
    view.resize(1200, 500)
    view.show()
    assert view.transpose_switch.isVisible()
    view.set_step(4)
    view.transpose_switch.direct.click()
    return document, view


def test_the_switch_steps_output_cells_with_the_layers_numbers(direct):
    document, view = direct
    out = document.outputs[0]
    assert view.model.direct is not None and view.step == 0  # another way of stepping starts again
    assert len(view.steps) == out.size  # one step per output cell, as a forward convolution
    for k in range(len(view.steps)):
        view.set_step(k)
        step = view.steps[k]
        [line] = view.formula_lines()
        assert final_value(line) == pytest.approx(float(out[step.cell[0], step.cell[1], step.channel]), abs=0.006)
        # the products are the stretched input's window times the flipped kernel
        prov = view.provenance()
        assert products(line) == [(pytest.approx(t.value, abs=0.006), pytest.approx(t.coefficient, abs=0.006))
                                  for t in prov.terms]
        assert prov.value == pytest.approx(float(out[(*step.cell, step.channel)]), abs=1e-5)
    view.transpose_switch.scatter.click()
    assert view.model.direct is None and len(view.steps) == X.size


def test_the_picture_shows_the_stretched_input_padding_and_inserted_zeros(direct, qtbot):
    _, view = direct
    qtbot.waitUntil(lambda: ("input", 0) in view.canvas.geometries, timeout=2000)
    geo = view.canvas.geometries[("input", 0)]
    assert geo.shape == (5, 5) and geo.pad == (2, 1, 2, 1)  # (3 − 1)·2 + 1 cells, framed by the padding
    assert view.model.inserted().sum() == 25 - 9
    assert view.model.window(0) == [(r, c) for r in range(-2, 1) for c in range(-2, 1)]
    # hovering an input cell probes the layer's input cell it shows; an inserted zero probes nothing
    assert view.probe_target(("input", 0), (2, 4)) == (0, (1, 2, 0))
    assert view.probe_target(("input", 0), (1, 0)) is None
    # the pale amber of an inserted zero, whatever the input's colour map says about 0
    image = view.canvas.grab().toImage()
    corner = geo.cell_rect(1, 1).topLeft().toPoint() + QPoint(3, 3)
    assert image.pixelColor(corner).getRgb()[:3] == INSERTED_FILL.getRgb()[:3]


def test_the_switch_shows_only_for_a_transposed_convolution(qtbot):
    view = StepperView(Document())
    qtbot.addWidget(view)
    view.show()
    assert not view.transpose_switch.isVisible()


@settings(max_examples=40, deadline=None)
@given(h=st.integers(1, 4), w=st.integers(1, 4), c=st.integers(1, 2), f=st.integers(1, 2), k=st.integers(1, 4),
       s=st.integers(1, 3), d=st.integers(1, 2), padding=st.sampled_from(["valid", "same"]),
       op=st.one_of(st.none(), st.integers(0, 2)), seed=st.integers(0, 2**16))
def test_every_step_of_the_direct_view_equals_the_layer_output(h, w, c, f, k, s, d, padding, op, seed):
    x = np.random.default_rng(seed).normal(size=(h, w, c)).astype(np.float32)
    try:
        pipeline = core.Pipeline(x.shape, [core.Conv2DTranspose(f, k, s, padding, op, d)])
        (y,) = pipeline.run(x)
    except core.ConfigError:
        assume(False)
    model = StepModel(pipeline.layers[0], x, y, 1, as_convolution=True)
    assert len(model.steps) == y.size
    got = np.zeros_like(y)
    for i in range(len(model.steps)):
        step = model.steps[i]
        got[(*step.cell, step.channel)] = model.provenance(i).value
    np.testing.assert_allclose(got, y, rtol=1e-4, atol=1e-4)


def test_a_large_stretched_input_is_cropped_with_its_inserted_zeros(qtbot):
    """10×10 input, stride 2: the stretched input is 23×23 and drawn as a crop around the window; the crop
    keeps its amber zeros in place and a hovered cell of it probes the input cell it shows."""
    x = np.arange(100, dtype=np.float32).reshape(10, 10, 1)
    document = transpose_document(core.Conv2DTranspose(1, 3, strides=2, padding="same"), x)
    view = StepperView(document)
    qtbot.addWidget(view)
    view.transpose_switch.direct.click()
    model = view.model
    view.set_step(model.steps.index(model.steps[0].__class__(0, (12, 12))))
    crop = view.crop_cells()
    values, pad, (r0, c0) = model.input_view(view.step, 0, crop)
    inserted = model.inserted_view(view.step, crop)
    assert values.shape == inserted.shape and values.shape[0] + pad[0] + pad[1] == crop[0] < 23
    np.testing.assert_array_equal(inserted, model.inserted()[r0:r0 + values.shape[0], c0:c0 + values.shape[1]])
    i, j = np.argwhere(~inserted)[0]  # an input cell of the crop
    target = view.probe_target(("input", 0), (int(i), int(j)))
    assert target is not None and x[target[1][0], target[1][1], 0] == values[i, j]
    i, j = np.argwhere(inserted)[0]
    assert view.probe_target(("input", 0), (int(i), int(j))) is None


def ink(image, rect) -> int:
    """How many pixels inside `rect` (shrunk by 2 px, off the grid lines) differ from its centre-left colour."""
    inner = rect.adjusted(2, 2, -2, -2).toRect()
    base = image.pixelColor(inner.left(), inner.center().y()).getRgb()
    return sum(image.pixelColor(x, y).getRgb() != base
               for x in range(inner.left(), inner.right()) for y in range(inner.top(), inner.bottom()))


def test_at_1366x768_the_direct_view_writes_its_numbers(qtbot, tmp_path):
    """At 1366×768 the direct view's cells were about 12 px: colours without numbers."""
    from PySide6.QtWidgets import QApplication

    from cnnviz.ui.grid_painter import MIN_TEXT_PX
    from tests.ui.ui_support import make_window

    window = make_window(qtbot, tmp_path)
    window.resize(1366, 768)
    window.document.set_pipeline(core.Pipeline(X.shape, [core.Conv2DTranspose(1, 3, strides=2, padding="same")]), X)
    window.document.select_layer(1)
    window.show_panel("arithmetic_stepper")
    view = window.arithmetic_views["stepper"]
    view.transpose_switch.direct.click()
    view.set_step(7)  # output (1, 1): its window holds the input's 3 at stretched cell (2, 2)
    QApplication.processEvents()
    view.canvas.repaint()
    image = view.canvas.grab().toImage()  # the whole picture, scrolled part included
    inputs, kernel = view.canvas.geometries[("input", 0)], view.canvas.geometries[("filter", 0)]
    for key in (("input", 0), ("filter", 0)):  # what the last paint drew: cells large enough for numbers
        assert view.canvas.geometries[key].cell * 0.4 >= MIN_TEXT_PX, key
    three = inputs.cell_rect(2, 2)
    assert ink(image, three) > 10  # the "3" is written in its cell
    assert ink(image, inputs.cell_rect(1, 1)) > 5  # so is an inserted zero's "0"
    assert all(ink(image, kernel.cell_rect(r, c)) > 5 for r in range(3) for c in range(3))  # every weight
    # the legend of the two kinds of zeros is whole: nothing drawn at the picture's left edge (it was cut
    # there), and both of its lines are written below the input
    white = image.pixelColor(0, 0)
    assert all(image.pixelColor(x, y) == white for x in range(3) for y in range(image.height()))
    below = int(inputs.cell_rect(inputs.shape[0] - 1 + inputs.pad[1], 0).bottom()) + 2  # under the padding frame
    lines = [y for y in range(below, image.height())
             if any(image.pixelColor(x, y) != white for x in range(0, int(kernel.cell_rect(0, 0).left())))]
    assert lines and lines[-1] - lines[0] > 14  # two lines of text, not one squeezed line
    # the picture is taller than the dock leaves it: it scrolls, with the current window in view
    viewport = view.scroll.viewport()
    top = view.canvas.mapTo(viewport, three.topLeft().toPoint()).y()
    assert view.scroll.verticalScrollBar().maximum() > 0
    assert 0 <= top and top + three.height() <= viewport.height()
