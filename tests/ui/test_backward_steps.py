"""The backward step-through's steps against a naive reference: a weight's terms are x_pad[i·s + a·d, j·s + b·d]
· dy[i, j] in row-major window order and sum to the backward pass's dL/dw; an input cell's terms sum to its
dL/dx; the sum written at each step is the running total; the Backpropagation dock plays them."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.core import Pipeline
from cnnviz.core.backprop import backward_pass
from cnnviz.core.layers import Conv2D, MaxPooling2D
from cnnviz.core.presets import LECTURE
from cnnviz.ui.arithmetic.backward_steps import input_steps, weight_steps
from cnnviz.ui.arithmetic.backward_steps import RULES


def written(v) -> str:
    """How the sums write a number: three significant digits, a real minus."""
    return f"{v + 0.0:.3g}".replace("-", "−")


def factor(v) -> str:
    return f"({written(v)})" if v < 0 else written(v)


def gradients(layer, x, seed=0):
    """The layer's input, dL/dy, dL/dx and dL/dW under MSE to a random target (float64)."""
    pipeline = Pipeline(x.shape, [layer])
    pipeline.build()
    target = np.random.default_rng(seed).normal(size=pipeline.run(x)[-1].shape)
    _, levels = backward_pass(pipeline, x, target)
    return levels[0]


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
