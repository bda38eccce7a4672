"""The backward step-through's steps against a naive reference: a weight's terms are x_pad[i·s + a·d, j·s + b·d]
· dy[i, j] in row-major window order and sum to the backward pass's dL/dw; an input cell's terms sum to its
dL/dx; the sum written at each step is the running total; the Backpropagation dock plays them."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.core import Pipeline
from cnnviz.core.backprop import backward_pass
from cnnviz.core.layers import Conv2D, MaxPooling2D
from cnnviz.core.presets import LECTURE
from cnnviz.ui.arithmetic.backward_steps import input_steps, weight_steps
from cnnviz.ui.arithmetic.backward_steps import RULES


def written(v) -> str:
    """How the sums write a number: three significant digits, in powers of ten below 0.001 and from 10⁴ on,
    and a real minus (a transposed kernel's gradient of −0.000828 is written −8.28e−04)."""
    v = float(v) + 0.0
    return (f"{v:.3g}" if v == 0 or 1e-3 <= abs(v) < 1e4 else f"{v:.2e}").replace("-", "−")


def factor(v) -> str:
    return f"({written(v)})" if v < 0 else written(v)


def gradients(layer, x, seed=0):
    """The layer's input, dL/dy, dL/dx and dL/dW under MSE to a random target (float64); a vector comes out of
    a Flatten of a 1×N map."""
    from cnnviz.core.layers import Flatten

    vector = x.ndim == 1
    pipeline = Pipeline((1, x.size, 1), [Flatten(), layer]) if vector else Pipeline(x.shape, [layer])
    x = x.reshape(1, -1, 1) if vector else x
    pipeline.build()
    target = np.random.default_rng(seed).normal(size=pipeline.run(x)[-1].shape)
    _, levels = backward_pass(pipeline, x, target)
    return levels[-1]


def naive_weight_terms(x, dy, a, b, c, o, strides, dilation, pad):
    top, bottom, left, right = pad
    xp = np.pad(x[:, :, c], ((top, bottom), (left, right)))
    (sh, sw), (dh, dw) = strides, dilation
    return [xp[i * sh + a * dh, j * sw + b * dw] * dy[i, j, o] for i in range(dy.shape[0]) for j in range(dy.shape[1])]


def test_the_lecture_weight_sums_over_its_16_window_positions():
    layer = Conv2D(1, 3, name="student")
    g = gradients(layer, LECTURE[:, :, None].astype(float))
    steps = weight_steps(layer, g.x, g.dy, g.grads[0], 0, 2, 0, 0)
    assert len(steps.steps) == 16 and steps.dims == (1, 1, 4, 4)
    assert [s.dy_cell for s in steps.steps[:5]] == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0)]
    assert [s.x_cell for s in steps.steps[:2]] == [(0, 2), (0, 3)]  # window (i, j) reads x[i + 0, j + 2]
    np.testing.assert_allclose(steps.partial[-1], g.grads[0][0, 2, 0, 0], rtol=1e-12)
    lines = steps.formula_lines(0)
    x = g.x[0, 2, 0]
    assert lines[0] == "dL/dw[0,2] (filter 1, channel 1) = Σ x[i·1+0, j·1+2] · dy[i,j] over the 16 window positions"
    assert lines[1].startswith(f"window 1 of 16: x[0,2] · dy[0,0] = {x:.3g}·")
    last = steps.formula_lines(15)[2]
    assert last.endswith(f"= dL/dw[0,2] (the backward pass: {written(g.grads[0][0, 2, 0, 0])})")


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([1, 2]), st.sampled_from([1, 2]), st.sampled_from(["valid", "same"]),
       st.integers(1, 2), st.integers(1, 2))
def test_weight_steps_equal_the_naive_sum_term_by_term(seed, stride, dilation, padding, channels, filters):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(7, 6, channels))
    layer = Conv2D(filters, 3, strides=stride, dilation_rate=dilation if stride == 1 else 1, padding=padding)
    g = gradients(layer, x, seed)
    a, b, c, o = rng.integers(3), rng.integers(3), rng.integers(channels), rng.integers(filters)
    steps = weight_steps(layer, g.x, g.dy, g.grads[0], a, b, c, o)
    from cnnviz.core.arithmetic import conv_padding

    d = layer.dilation_rate
    pad = (*conv_padding(7, 3, stride, padding, d[0]), *conv_padding(6, 3, stride, padding, d[1]))
    naive = naive_weight_terms(g.x, g.dy, a, b, c, o, layer.strides, d, pad)
    np.testing.assert_allclose([s.value for s in steps.steps], naive, atol=1e-12)
    np.testing.assert_allclose(steps.partial, np.cumsum(naive), atol=1e-12)
    np.testing.assert_allclose(steps.total, g.grads[0][a, b, c, o], atol=1e-12)
    assert all(s.factor == 0.0 for s in steps.steps if s.x_cell is None)  # padding reads 0


def test_an_input_cell_gathers_from_every_output_it_fed():
    layer = Conv2D(2, 3, name="two")
    g = gradients(layer, LECTURE[:, :, None].astype(float), seed=3)
    centre = input_steps(layer, g.x, g.dy, g.dx, 2, 2, 0, RULES["Conv2D"])
    assert len(centre.steps) == 2 * 9  # every tap of both filters read the middle cell
    np.testing.assert_allclose(centre.partial[-1], g.dx[2, 2, 0], rtol=1e-12)
    corner = input_steps(layer, g.x, g.dy, g.dx, 0, 0, 0, RULES["Conv2D"])
    assert [(s.dy_cell, s.tap, s.channel) for s in corner.steps] == [((0, 0), (0, 0), 0), ((0, 0), (0, 0), 1)]
    w = layer.get_weights()[0]
    w, d = layer.get_weights()[0][0, 0, 0, 1], g.dy[0, 0, 1]
    assert corner.formula_lines(1)[1] == f"term 2 of 2: w[0,0] (filter 2) · dy[0,0] = {factor(w)}·{factor(d)} = {written(w * d)}"


def test_max_pooling_sends_the_gradient_to_the_maximum_only(qtbot):
    from cnnviz.ui.document import Document
    from cnnviz.ui.backprop_view import BackpropView

    x = np.random.default_rng(0).permutation(36).reshape(6, 6, 1).astype(np.float32)  # one maximum per window
    doc = Document(Pipeline((6, 6, 1), [MaxPooling2D(2)]), x)
    view = BackpropView(doc, target=lambda x: np.ones((3, 3, 1)))
    qtbot.addWidget(view)
    view.lazy = False
    doc.select_layer(1)
    view.refresh()
    g = view.levels[0]
    maximum = tuple(int(v) for v in np.unravel_index(np.argmax(x[:2, :2, 0]), (2, 2)))
    view.pick_input(*maximum)
    steps = view.stepper.model
    assert steps.kind == "input" and len(steps.steps) == 1 and steps.steps[0].dy_cell == (0, 0)
    np.testing.assert_allclose(steps.total, g.dx[maximum + (0,)])
    other = (1 - maximum[0], maximum[1])
    view.pick_input(*other)
    assert view.stepper.steps == [] and not view.stepper.export_action.isEnabled()


def test_the_dock_plays_the_picked_weight_window_by_window(qtbot):
    from cnnviz.ui.document import Document
    from cnnviz.ui.backprop_view import BackpropView

    doc = Document(Pipeline((6, 6, 1), [Conv2D(1, 3, name="student")]), LECTURE[:, :, None])
    teacher = Pipeline((6, 6, 1), [Conv2D(1, 3, name="teacher")])
    view = BackpropView(doc, target=lambda x: teacher.run(x)[-1])
    qtbot.addWidget(view)
    view.lazy = False
    view.show()
    doc.select_layer(1)
    view.refresh()
    view.pick_weight(1, 1)
    stepper = view.stepper
    assert len(stepper.steps) == 16 and stepper.bar.position.text() == "window 1/16: dy[0,0]"
    stepper.bar.forward_action.trigger()
    stepper.bar.forward_action.trigger()
    assert stepper.step == 2 and stepper.bar.position.text() == "window 3/16: dy[0,2]"
    assert stepper.formula.text().split("<br>")[1].startswith("window 3 of 16: x[1,3] · dy[0,2]")
    stepper.bar.scrub_to(3, 3)
    assert stepper.step == 15 and "(the backward pass:" in stepper.formula.text()
    doc.set_input(np.flipud(LECTURE)[:, :, None].copy())  # new numbers, the same sum: the step stays
    assert stepper.step == 15 and len(stepper.steps) == 16
    view.pick_input(0, 0)  # another sum starts at its first term
    assert stepper.step == 0 and stepper.model.kind == "input" and len(stepper.steps) == 1
    assert stepper.bar.position.text() == "term 1/1: dy[0,0]"
    assert not stepper.bar.row_slider.isVisible()  # its terms are one row: no row slider


@pytest.mark.parametrize("kind", ["weight", "input"])
def test_a_large_input_is_drawn_as_a_crop_around_the_window(qtbot, kind):
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QImage, QPainter

    layer = Conv2D(1, 3)
    x = np.random.default_rng(1).random((30, 30, 1))
    g = gradients(layer, x)
    steps = (weight_steps(layer, g.x, g.dy, g.grads[0], 0, 0, 0, 0) if kind == "weight"
             else input_steps(layer, g.x, g.dy, g.dx, 20, 20, 0, RULES["Conv2D"]))
    image = QImage(1000, 300, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    geometries = steps.paint(painter, QRectF(0, 0, 1000, 300), len(steps.steps) - 1)
    painter.end()
    assert all(max(geo.shape) <= 16 for geo in geometries.values())


# ------------------------------------------------------------------ every layer with weights
def random_layer(kind, rng):
    """(layer, input) of one kind with random weights (BatchNormalization: a positive moving variance)."""
    from cnnviz.core.layers import BatchNormalization, Conv2DTranspose, Dense, DepthwiseConv2D

    make = {"depthwise": lambda: (DepthwiseConv2D(3, strides=int(rng.integers(1, 3)), padding="same",
                                                  depth_multiplier=2), (6, 5, 2)),
            "transpose": lambda: (Conv2DTranspose(2, 3, strides=2, padding=str(rng.choice(["valid", "same"]))),
                                  (3, 4, 2)),
            "dense": lambda: (Dense(4, activation="relu"), (6,)),
            "dense map": lambda: (Dense(3), (3, 2, 4)),
            "batchnorm": lambda: (BatchNormalization(), (4, 3, 2))}[kind]
    layer, shape = make()
    layer.build(shape)
    arrays = [rng.standard_normal(w.shape) for w in layer.get_weights()]
    layer.set_weights([(np.abs(a) + 0.5 if spec.name == "moving_variance" else a).astype(np.float32)
                       for spec, a in zip(layer.weight_specs(), arrays)])
    return layer, rng.standard_normal(shape)


KINDS = ["depthwise", "transpose", "dense", "dense map", "batchnorm"]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(KINDS), st.sampled_from(["weight", "bias", "input"]), st.integers(0, 2**31 - 1))
def test_every_pick_sums_term_by_term_to_the_backward_pass(kind, pick, seed):
    """Each step's term is its two factors' product, the running sum is the cumulative sum, and the last equals
    the layer's own backward pass at the picked number (dL/dW, dL/db, dL/dγ, dL/dβ or dL/dx)."""
    from cnnviz.ui.arithmetic.backward_steps import pick_grid, pick_steps

    rng = np.random.default_rng(seed)
    layer, x = random_layer(kind, rng)
    g = gradients(layer, x, seed)
    grid = pick_grid(layer, g, pick)
    cell = tuple(int(rng.integers(n)) for n in grid)
    o, c = int(rng.integers(np.shape(g.y)[-1])), int(rng.integers(np.shape(g.x)[-1]))
    steps = pick_steps(layer, g, pick, cell, o, c)
    values = [s.value for s in steps.steps]
    if pick != "input" or kind.startswith("dense") or kind in ("depthwise", "transpose"):
        np.testing.assert_allclose(values, [s.factor * s.dy for s in steps.steps], rtol=1e-12)
    np.testing.assert_allclose(steps.partial, np.cumsum(values), atol=1e-12)
    if pick == "input":
        dx = np.asarray(g.dx)
        expected = dx[cell[1]] if dx.ndim == 1 else dx[cell + (c,)]
    elif pick == "bias":
        expected = g.grads[1][cell[1]]
    elif kind == "batchnorm":
        expected = g.grads[0][cell[1]]
    elif kind == "depthwise":
        expected = g.grads[0][cell + (o // 2, o % 2)]
    elif kind == "transpose":
        expected = g.grads[0][cell + (o, c)]
    else:
        expected = g.grads[0][cell]
    assert steps.total == pytest.approx(expected, abs=1e-12)
    assert float(steps.partial[-1]) == pytest.approx(expected, abs=1e-6)
    assert steps.formula_lines(len(steps.steps) - 1)[2].endswith(f"(the backward pass: {written(expected)})")


def test_a_dense_weight_is_one_product_of_the_outer_product():
    from cnnviz.core.layers import Dense

    layer = Dense(3, name="head")
    x = np.array([0.5, -1.0, 2.0, 0.25])
    g = gradients(layer, x)
    steps = weight_steps(layer, g.x, g.dz, g.grads[0], 2, 1)
    assert len(steps.steps) == 1 and steps.dims == (1, 1, 1, 1)
    d = g.dz[1]
    assert steps.formula_lines(0)[:2] == [
        "dL/dW[2,1] = x[2] · dz[1]: dL/dW is the outer product x ⊗ dz, one product per weight",
        f"term 1 of 1: x[2] · dz[1] = 2·{factor(d)} = {written(2 * d)}"]
    np.testing.assert_allclose(g.grads[0], np.outer(x, g.dz), atol=1e-12)


def test_a_depthwise_weight_reads_only_its_own_channels_map():
    from cnnviz.core.layers import DepthwiseConv2D

    layer = DepthwiseConv2D(3, depth_multiplier=2)
    x = np.random.default_rng(4).random((5, 5, 2))
    g = gradients(layer, x, 4)
    steps = weight_steps(layer, g.x, g.dy, g.grads[0], 1, 2, 1, 0)  # channel 2's first filter: output map 3
    assert {s.channel for s in steps.steps} == {2} and len(steps.steps) == 9
    assert steps.formula_lines(0)[0] == ("dL/dw[1,2] (channel 2's filter 1, output map 3) = Σ x[i·1+1, j·1+2] · "
                                         "dy[i,j] over the 9 window positions")
    assert steps.steps[0].x_cell == (1, 2) and steps.steps[0].factor == x[1, 2, 1]


def view_of(qtbot, pipeline, x, size=(900, 700)):
    from cnnviz.ui.backprop_view import BackpropView
    from cnnviz.ui.document import Document

    doc = Document(pipeline, x)
    view = BackpropView(doc, target=lambda x: np.full(pipeline.output_shapes()[-1], 0.5))
    qtbot.addWidget(view)
    view.lazy = False
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    return doc, view


def click(qtbot, heat, cell):
    qtbot.mouseClick(heat.viewport(), Qt.MouseButton.LeftButton, pos=heat.cell_center(*cell))


def test_clicking_a_dense_weight_and_bias_in_the_dock_steps_their_sums(qtbot):
    from cnnviz.core.layers import Dense, Flatten

    x = np.random.default_rng(2).random((3, 3, 1))
    doc, view = view_of(qtbot, Pipeline((3, 3, 1), [Flatten(), Dense(4, name="head")]), x)
    doc.select_layer(2)
    view.refresh()  # the layer may have been selected already
    assert view.maps["w"].shape == (9, 4) and view.titles["w"].text() == "W (rows: inputs, cols: units)"
    click(qtbot, view.maps["w"], (5, 3))
    model = view.stepper.model
    g = view.levels[1]
    assert model.symbol == "dL/dW[5,3]" and len(view.stepper.steps) == 1
    assert model.total == pytest.approx(g.grads[0][5, 3]) == pytest.approx(g.x[5] * g.dz[3])
    assert "<b>dL/dW[5,3]</b> = x[5] · dz[3]" in view.weight_text.text()
    click(qtbot, view.maps["db"], (0, 2))
    assert view.stepper.model.symbol == "dL/db[2]" and view.stepper.model.total == pytest.approx(g.grads[1][2])
    click(qtbot, view.maps["x"], (7, 0))  # a long vector is drawn as a column
    model = view.stepper.model
    assert model.symbol == "dL/dx[7]" and len(model.steps) == 4
    assert model.total == pytest.approx(g.dx[7]) and float(model.partial[-1]) == pytest.approx(g.dx[7])


def test_clicking_a_depthwise_weight_steps_its_channels_windows(qtbot):
    from cnnviz.core.layers import DepthwiseConv2D

    x = np.random.default_rng(3).random((5, 5, 2))
    doc, view = view_of(qtbot, Pipeline((5, 5, 2), [DepthwiseConv2D(3, depth_multiplier=2, name="dw")]), x)
    doc.select_layer(1)
    view.refresh()
    view.filter.setValue(4)  # output map 4: channel 2's second filter
    assert view.channel.value() == 2
    click(qtbot, view.maps["dw"], (2, 0))
    model, g = view.stepper.model, view.levels[0]
    assert model.symbol == "dL/dw[2,0]" and len(model.steps) == 9
    assert model.total == pytest.approx(g.grads[0][2, 0, 1, 1])
    np.testing.assert_allclose(view.maps["w"].overlay.values, doc.layer(1).get_weights()[0][:, :, 1, 1])


def test_a_pick_that_makes_no_sense_is_said_not_left_blank(qtbot):
    from cnnviz.core.layers import Conv2D as C, Flatten

    x = np.random.default_rng(5).random((4, 4, 1))
    doc, view = view_of(qtbot, Pipeline((4, 4, 1), [C(1, 3, use_bias=False), Flatten()]), x)
    doc.select_layer(1)
    view.refresh()
    assert not view.maps["b"].isVisible() and not view.titles["b"].isVisible()
    view.pick_bias(0)
    assert "has no bias (use_bias is off)" in view.weight_text.text() and view.stepper.model is None
    doc.select_layer(2)
    view.refresh()
    assert "has no trainable weights" in view.weight_text.text()
    assert "works on a vector" in view.input_text.text()
