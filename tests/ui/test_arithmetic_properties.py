"""Property tests: for random sliding layers the step-through writes the document's numbers, and the transposed
conv's step-by-step scatter canvas ends, filter by filter, exactly at the layer's output."""

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cnnviz import core
from cnnviz.core import ConfigError
from cnnviz.ui.arithmetic.stepper import StepperView
from cnnviz.ui.document import Document

pairs = st.tuples(st.integers(1, 3), st.integers(1, 3))


def number(text: str) -> float:
    return float(text.strip().strip("()").replace("−", "-"))


def stepper_for(qapp, layer, shape, seed):
    x = np.random.default_rng(seed).uniform(-2, 2, shape).astype(np.float32)
    try:
        pipeline = core.Pipeline(shape, [layer])
        pipeline.output_shapes()
    except ConfigError:
        return None
    document = Document(pipeline, x)
    return document, StepperView(document)


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(["conv", "max", "average"]),
    kernel=pairs,
    strides=pairs,
    dilation=st.sampled_from([(1, 1), (2, 1), (1, 2)]),
    padding=st.sampled_from(["valid", "same"]),
    size=st.tuples(st.integers(3, 7), st.integers(3, 7), st.integers(1, 2)),
    seed=st.integers(0, 99),
)
def test_every_shown_final_value_is_the_output_cell(qapp, kind, kernel, strides, dilation, padding, size, seed):
    if kind == "conv":
        layer = core.Conv2D(
            2, kernel, strides=strides, padding=padding, dilation_rate=dilation if strides == (1, 1) else (1, 1)
        )
    elif kind == "max":
        layer = core.MaxPooling2D(kernel, strides=strides, padding=padding)
    else:
        layer = core.AveragePooling2D(kernel, strides=strides, padding=padding)
    made = stepper_for(qapp, layer, size, seed)
    assume(made is not None)  # a setting the core refuses (kernel larger than the input)
    document, view = made
    out = document.outputs[0]
    for k in {0, len(view.steps) - 1, len(view.steps) // 2}:
        view.set_step(k)
        step = view.steps[k]
        shown = number(view.formula_lines()[-1].rsplit("=", 1)[1].split("   ")[0])
        assert abs(shown - out[step.cell[0], step.cell[1], step.channel]) <= 0.006  # two decimals shown
        prov = view.provenance()
        assert prov.value == out[step.cell[0], step.cell[1], step.channel] or np.isclose(
            prov.value, out[step.cell[0], step.cell[1], step.channel], atol=1e-5
        )
    view.close()


@settings(max_examples=40, deadline=None)
@given(
    kernel=pairs,
    strides=pairs,
    padding=st.sampled_from(["valid", "same"]),
    size=st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 2)),
    filters=st.integers(1, 2),
    seed=st.integers(0, 99),
)
def test_transposed_scatter_canvas_ends_at_the_output(qapp, kernel, strides, padding, size, filters, seed):
    layer = core.Conv2DTranspose(filters, kernel, strides=strides, padding=padding)
    made = stepper_for(qapp, layer, size, seed)
    assume(made is not None)  # a setting the core refuses (kernel larger than the input)
    document, view = made
    out = document.outputs[0]
    per_filter = len(view.steps) // filters
    for o in range(filters):
        last = (o + 1) * per_filter - 1
        view.set_step(last)
        canvas, touched, (top, left), (oh, ow) = view.transpose_canvas()
        bias = document.layer(1).bias[o]
        np.testing.assert_allclose(canvas[top : top + oh, left : left + ow] + bias, out[:, :, o], atol=1e-5)
        # a cell touched by no input cell is exactly the bias
        untouched = ~touched[top : top + oh, left : left + ow]
        np.testing.assert_allclose(out[:, :, o][untouched], bias, atol=1e-6)
    view.close()
