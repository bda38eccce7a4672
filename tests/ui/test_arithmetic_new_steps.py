"""The step-through of Dense, ZeroPadding2D / Cropping2D and DepthwiseConv2D, driven as a student would: every
step's number is the layer's own output, the terms it writes out sum to it, hovering links both ways, and the
playback bar names what it steps through."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageSequence

from cnnviz import core
from cnnviz.core import ConfigError
from cnnviz.core.pipeline import Pipeline
from cnnviz.core.provenance import cell_provenance
from cnnviz.io import SessionError
from cnnviz.ui.arithmetic.dense_steps import DenseStepModel, written_terms
from cnnviz.ui.arithmetic.sides_steps import SidesStepModel
from cnnviz.ui.arithmetic.step_animation import (
    export_animation,
    frame_layout,
    image_array,
    render_frame,
    session_step_model,
)
from cnnviz.ui.arithmetic.step_kinds import STEPPED_KINDS, has_steps, step_model_for
from cnnviz.ui.arithmetic.step_model import StepModel
from cnnviz.ui.arithmetic.stepper import StepperView
from cnnviz.ui.colormaps import format_value
from cnnviz.ui.document import Document
from ui_support import lit


def number(text: str) -> float:
    return float(text.strip().strip("()").replace("−", "-"))


def shown(v: float) -> float:
    """A number as the step-through writes it, read back."""
    return number(format_value(v))


def final_value(line: str) -> float:
    return number(line.rsplit("=", 1)[1].split("   ")[0])


def written_products(line: str) -> list[tuple[float, float]]:
    """'… = a·b + c·d + … + bias = z' -> [(a, b), (c, d), …] (the x·w pairs written, "…" skipped)."""
    rhs = line.split(":", 1)[1] if line.startswith("map ") else line
    rhs = rhs.split(" = ", 2)[-1] if "Σ" in rhs else rhs.split("=", 1)[1]
    rhs = rhs.rsplit("=", 1)[0]
    return [tuple(number(v) for v in p.split("·")) for p in rhs.split(" + ") if "·" in p and "Σ" not in p]


def built(layers, shape, seed=0):
    """A document of `layers` on a random input with random weights; None when the core refuses the setting."""
    rng = np.random.default_rng(seed)
    try:
        pipeline = Pipeline(shape, layers)
        pipeline.build()
    except ConfigError:
        return None
    for layer in layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([rng.uniform(-1, 1, w.shape).astype(np.float32) for w in weights])
    return Document(pipeline, rng.uniform(-2, 2, shape).astype(np.float32))


def models(document):
    layers, levels = document.pipeline.layers, document.levels
    return [step_model_for(layers, levels, i) for i, layer in enumerate(layers, start=1) if has_steps(layer)]


# ---------------------------------------------------------------------------------------------------- Dense
@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 20), units=st.integers(1, 5), activation=st.sampled_from([None, "relu", "softmax", "tanh"]),
       use_bias=st.booleans(), on_map=st.booleans(), seed=st.integers(0, 99))
def test_every_dense_step_is_the_layers_output_and_its_terms_sum_to_it(qapp, n, units, activation, use_bias, on_map,
                                                                        seed):
    dense = core.Dense(units, activation=activation, use_bias=use_bias)
    # a vector is a flattened map (the pipeline's input is a map)
    document = built([dense] if on_map else [core.Flatten(), dense], (2, 3, n) if on_map else (1, 1, n), seed)
    [model] = models(document)
    layer = dense
    x, y = document.levels[model.level - 1], document.levels[model.level]
    assert isinstance(model, DenseStepModel) and len(model.steps) == units * (6 if on_map else 1)
    for k in range(len(model.steps)):
        cell = model.output_cell(k)
        prov = cell_provenance(layer, x, cell)
        step = model.inner_product(k)
        # the terms are the core's terms, and they (with the bias) sum to the pre-activation value exactly
        np.testing.assert_array_equal(step["x"], [t.value for t in prov.terms])
        np.testing.assert_array_equal(step["w"], [t.coefficient for t in prov.terms])
        assert step["z"] == float(np.sum(step["x"] * step["w"]) + step["bias"])
        assert step["bias"] == prov.bias
        # every step's value is the layer's output; the activation of the written sum gives it
        assert model.value(k) == y[cell]
        assert prov.value == pytest.approx(y[cell], abs=1e-5)
        lines = model.formula_lines(k)
        sum_line = next(line for line in lines if "Σ x[i]·W[i" in line)
        assert [pair for pair in written_products(sum_line)] == [
            (shown(step["x"][i]), shown(step["w"][i])) for i in written_terms(len(step["x"]))
            if i is not None]
        assert final_value(lines[-1]) == pytest.approx(y[cell], abs=0.006)  # two decimals shown
        assert sum_line.startswith(f"{'y' if layer.activation == 'linear' else 'z'}[{model.unit(k)}] = Σ")


def test_dense_steps_unit_by_unit_and_writes_the_lecture_sum(qtbot):
    x = np.array([1, 0, 2], np.float32).reshape(1, 1, 3)
    layer = core.Dense(2)
    pipeline = Pipeline((1, 1, 3), [core.Flatten(), layer])
    pipeline.build()
    layer.set_weights([np.array([[1, -1], [3, 2], [0.5, 1]], np.float32), np.array([0.25, -1], np.float32)])
    document = Document(pipeline, x)
    view = StepperView(document)
    qtbot.addWidget(view)
    assert view.layer_index == 2 and len(view.steps) == 2
    assert view.formula_lines() == ["y[0] = Σ x[i]·W[i, 0] + b[0] = 1·1 + 0·3 + 2·0.5 + 0.25 = 2.25"]
    assert view.position.text() == "unit 1/2"
    view.step_by(1)
    assert view.formula_lines() == ["y[1] = Σ x[i]·W[i, 1] + b[1] = 1·(−1) + 0·2 + 2·1 + (−1) = 0"]
    assert view.position.text() == "unit 2/2"
    assert not view.bar.filter_box.isVisibleTo(view) and not view.bar.row_slider.isVisibleTo(view)


def test_dense_after_a_flatten_labels_each_input_with_its_map_cell_and_links_hovers(qtbot):
    document = built([core.Conv2D(2, 3), core.Flatten(), core.Dense(3, activation="softmax")], (4, 4, 1), seed=5)
    view = StepperView(document)
    qtbot.addWidget(view)
    view.resize(1000, 420)
    document.select_layer(3)
    model = view.model
    assert isinstance(model, DenseStepModel) and model.flat_shape == (2, 2, 2)
    # channels-last: entry (r·W + c)·C + ch
    assert [model.input_label(i) for i in (0, 1, 2, 7)] == ["0 ← 0,0,0", "1 ← 0,0,1", "2 ← 0,1,0", "7 ← 1,1,1"]
    # hovering output unit 2 of the layer views moves the step there; a hovered input entry probes the Flatten
    document.set_probe(3, (2,))
    assert view.step == 2 and view.position.text() == "unit 3/3"
    assert view.probe_target("x", (5, 0)) == (2, (5,))
    assert view.probe_target("output", (1, 0)) == (3, (1,))
    # the softmax step writes the sum and then the probability the layer outputs
    lines = view.formula_lines()
    assert lines[0].startswith("z[2] = Σ x[i]·W[i, 2] + b[2] = ") and lines[1].startswith("softmax: y[2] = ")
    assert final_value(lines[1]) == pytest.approx(document.outputs[2][2], abs=0.006)
    # the picture: units later steps compute are not drawn yet
    view.set_step(0)
    assert model.not_yet(0).tolist() == [False, True, True]
    # the mouse on input entry 5 of the picture lights the map cell it was, through the Flatten's provenance
    view.show()
    qtbot.waitExposed(view)
    qtbot.wait(50)  # the layout settles (the formula box takes its height)
    view.canvas.grab()  # paints: the geometries of the picture
    qtbot.mouseMove(view.canvas, view.canvas.cell_center("x", (5, 0)).toPoint())
    qtbot.waitUntil(lambda: document.probe is not None and document.probe.level == 2)
    assert document.probe.cell == (5,) and lit(document.probe.fields[1]) == {(1, 0, 1)}
    # and the mouse on output unit 1 lights every flattened input and every map cell behind them
    qtbot.mouseMove(view.canvas, view.canvas.cell_center("output", (1, 0)).toPoint())
    qtbot.waitUntil(lambda: document.probe.level == 3)
    assert document.probe.fields[2].all() and document.probe.fields[1].all()


def test_a_dense_on_a_map_steps_unit_by_unit_then_cell_by_cell(qtbot):
    document = built([core.Dense(2)], (2, 3, 4), seed=2)
    view = StepperView(document)
    qtbot.addWidget(view)
    assert view.bar.filter_box.prefix() == "unit " and view.position.text() == "row 1/2  col 1/3"
    view.set_step(7)  # unit 2, cell (0, 1)
    assert view.model.output_cell(7) == (0, 1, 1)
    assert view.formula_lines()[0].startswith("cell (row 1, col 2): a Dense on a map acts on each cell's 4 channels")
    assert view.probe_target("x", (3, 0)) == (0, (0, 1, 3))
    document.set_probe(1, (1, 2, 0))
    assert view.model.output_cell(view.step) == (1, 2, 0)


# ---------------------------------------------------------------------------------------------- padding
side = st.integers(0, 2)
sides = st.one_of(side, st.tuples(side, side), st.tuples(st.tuples(side, side), st.tuples(side, side)))


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["pad", "crop"]), amount=sides, size=st.tuples(st.integers(1, 6), st.integers(1, 6),
                                                                           st.integers(1, 2)), seed=st.integers(0, 99))
def test_every_padding_or_cropping_step_is_the_output_cell_it_copies(qapp, kind, amount, size, seed):
    layer = core.ZeroPadding2D(amount) if kind == "pad" else core.Cropping2D(amount)
    document = built([layer], size, seed)
    assume(document is not None)  # cropping more than the input has
    [model] = models(document)
    x, y = document.input, document.outputs[0]
    assert isinstance(model, SidesStepModel) and len(model.steps) == y.size
    for k in range(len(model.steps)):
        step = model.steps[k]
        cell = (*step.cell, step.channel)
        prov = cell_provenance(layer, x, cell)
        [term] = prov.terms
        source = model.source(k)
        # the cell it copies is the core's term (a padding cell: none, and the value 0)
        assert (source is None) == term.padding
        if source is not None:
            assert (*source, step.channel) == term.cell and x[(*source, step.channel)] == y[cell]
        assert model.value(k) == y[cell] == prov.value
        [line] = model.formula_lines(k)
        shown = line.split("   ")[0].rsplit("=", 1)[1] if source is not None else "0"
        assert number(shown.split(":")[0]) == pytest.approx(y[cell], abs=0.006)
        assert model.step_for_cell(model.level, cell, 0) == k


def test_padding_steps_show_hatched_zeros_and_link_the_input_cell(qtbot):
    x = np.arange(9, dtype=np.float32).reshape(3, 3, 1)
    pipeline = Pipeline((3, 3, 1), [core.ZeroPadding2D(((1, 0), (2, 1)))])
    document = Document(pipeline, x)
    view = StepperView(document)
    qtbot.addWidget(view)
    view.resize(1000, 420)
    assert view.position.text() == "row 1/4  col 1/6" and view.bar.filter_box.isHidden()
    assert view.formula_lines() == ["y[0,0] = 0: a padding cell, outside the 3×3 input   (padding extends the area "
                                    "of the image)"]
    view.set_step(1 * 6 + 3)  # output (1, 3) is input (0, 1)
    assert view.formula_lines() == ["y[1,3] = x[0,1] = 1   (the input cell 1 row up and 2 cols left: padding "
                                    "extends the area of the image)"]
    view.canvas.grab()  # paints: the geometries of the picture
    geo = view.canvas.geometries
    assert geo[("output", 0)].pad == (1, 0, 2, 1)  # the zeros drawn as padding cells (hatched)
    assert view.probe_target(("output", 0), (0, 1)) == (1, (1, 3, 0))
    assert view.probe_target(("input", 0), (2, 2)) == (0, (2, 2, 0))
    document.set_probe(0, (2, 2, 0))  # the input cell in the layer views: the step that copies it
    assert view.model.steps[view.step].cell == (3, 4)


def test_cropping_veils_the_cut_cells(qtbot):
    document = built([core.Cropping2D(((1, 0), (0, 2)))], (4, 5, 1))
    [model] = models(document)
    assert model.cropped().tolist() == [[True] * 5] + [[False, False, False, True, True]] * 3
    assert model.source(0) == (1, 0) and model.formula_lines(0)[0].startswith("y[0,0] = x[1,0] = ")


# -------------------------------------------------------------------------------------------- depthwise
@settings(max_examples=30, deadline=None)
@given(kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)), stride=st.integers(1, 2),
       padding=st.sampled_from(["valid", "same"]), multiplier=st.integers(1, 2),
       size=st.tuples(st.integers(3, 6), st.integers(3, 6), st.integers(1, 3)), seed=st.integers(0, 99))
def test_every_depthwise_step_is_the_output_cell_and_reads_one_channel(qapp, kernel, stride, padding, multiplier,
                                                                       size, seed):
    layer = core.DepthwiseConv2D(kernel, strides=stride, padding=padding, depth_multiplier=multiplier)
    document = built([layer], size, seed)
    assume(document is not None)
    [model] = models(document)
    y = document.outputs[0]
    assert isinstance(model, StepModel) and model.depthwise
    for k in {0, len(model.steps) // 2, len(model.steps) - 1}:
        step = model.steps[k]
        cell = (*step.cell, step.channel)
        c, m = model.depthwise_source(k)
        prov = model.provenance(k)
        assert {t.cell[2] for t in prov.terms} == {c} and c * multiplier + m == step.channel  # one channel only
        assert prov.value == pytest.approx(y[cell], abs=1e-5)
        products = model.products(k)
        # channel c's products and the bias are the output; every other channel's are its own map's (no sum)
        assert products[:, :, c].sum() + model.bias(step.channel) == pytest.approx(y[cell], abs=1e-5)
        for other in range(size[2]):
            own = other * multiplier + m
            assert products[:, :, other].sum() + model.bias(own) == pytest.approx(y[(*step.cell, own)], abs=1e-5)
        lines = model.formula_lines(k)
        assert final_value(lines[0]) == pytest.approx(y[cell], abs=0.006)
        assert written_products(lines[0]) == [(shown(t.value), shown(t.coefficient)) for t in prov.terms]
        assert (len(lines) == 2) == (size[2] > 1)


def test_depthwise_shows_every_channels_own_filter_and_the_conv2d_sum_beside(qtbot):
    document = built([core.DepthwiseConv2D(3, use_bias=False)], (5, 5, 3), seed=1)
    view = StepperView(document)
    qtbot.addWidget(view)
    view.resize(1200, 420)
    view.set_step(view.steps.index(core_step(1, (1, 1))))
    assert view.bar.filter_box.prefix() == "map "
    view.canvas.grab()
    geo = view.canvas.geometries
    assert {("filter", c) for c in range(3)} <= set(geo)  # one 2-D filter per input channel
    sums = view.model.products(view.step).sum(axis=(0, 1))
    y = document.outputs[0]
    line = view.formula_lines()[1]
    assert line.startswith("Not added across channels: map 1 gets ")
    assert [number(v) for v in line.split("would add them: ")[1].split(" = ")[0].split(" + ")] == pytest.approx(
        [shown(s) for s in sums], abs=1e-9)
    np.testing.assert_allclose(sums, y[1, 1, :], atol=1e-5)  # no bias: each sum is its own map's number


def core_step(channel, cell):
    from cnnviz.ui.arithmetic.step_model import Step

    return Step(channel, cell)


# --------------------------------------------------------------------------------------------- the tab
def test_the_step_through_shows_only_the_layers_it_applies_to(qtbot):
    layers = [core.ZeroPadding2D(1), core.ReLU(), core.DepthwiseConv2D(3), core.Flatten(), core.Dense(2)]
    document = built(layers, (5, 5, 1))
    view = StepperView(document)
    qtbot.addWidget(view)
    assert [has_steps(layer) for layer in layers] == [True, False, True, False, True]
    document.select_layer(2)  # ReLU has none: the first layer that has one is shown, and the header says so
    assert view.layer_index == 1 and "the selected layer has no step-through" in view.header.text()
    for index in (3, 5):
        document.select_layer(index)
        assert view.layer_index == index and "no step-through" not in view.header.text()
    assert not view.transpose_switch.isVisibleTo(view)  # only a Conv2DTranspose has the switch
    empty = StepperView(Document(Pipeline((4, 4, 1), [core.ReLU()]), np.zeros((4, 4, 1), np.float32)))
    qtbot.addWidget(empty)
    assert not empty.steps and "Dense, ZeroPadding2D and Cropping2D" in empty.empty_message()
    assert core.Dense in STEPPED_KINDS and core.DepthwiseConv2D in STEPPED_KINDS


# ------------------------------------------------------------------------------------------ animations
ANIMATED = {
    "dense": lambda: built([core.Flatten(), core.Dense(3, activation="softmax")], (2, 2, 2), seed=4),
    "zero padding": lambda: built([core.ZeroPadding2D(1)], (3, 3, 1), seed=4),
    "cropping": lambda: built([core.Cropping2D(((1, 0), (0, 1)))], (4, 4, 2), seed=4),
    "depthwise": lambda: built([core.DepthwiseConv2D(2, depth_multiplier=2)], (3, 3, 2), seed=4),
}


@pytest.mark.parametrize("case", ANIMATED)
def test_every_new_step_through_exports_frames_equal_to_the_dock(qtbot, tmp_path, case):
    document = ANIMATED[case]()
    document.select_layer(len(document.pipeline.layers))
    view = StepperView(document)
    qtbot.addWidget(view)
    view.resize(900, 420)
    view.show()
    qtbot.waitExposed(view)
    size = view.canvas.size()
    layout = frame_layout(view.model, size)
    for k in range(len(view.steps)):
        view.set_step(k)
        frame = image_array(render_frame(view.model, k, layout))
        assert (frame[: size.height()] == image_array(view.canvas.grab().toImage())).all(), k
    assert all("<b>" not in line for k in range(len(view.steps)) for line in view.model.formula_lines(k))
    written = export_animation(view.model, tmp_path / "steps.apng", 4, size)
    with Image.open(written[0]) as im:
        frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
    assert len(frames) == len(view.steps) and frames[0].shape[:2] == (layout.pixels.height(), layout.pixels.width())


def test_render_animate_reaches_the_new_layers(qapp, tmp_path):
    from cnnviz.io.session import Session

    document = built([core.ZeroPadding2D(1), core.Flatten(), core.Dense(2)], (2, 2, 1))
    session = Session(document.input, document.pipeline)
    assert isinstance(session_step_model(session), SidesStepModel)
    model = session_step_model(session, 3)
    assert isinstance(model, DenseStepModel) and len(model.steps) == 2
    with pytest.raises(SessionError, match="--layer 2: Flatten #2 has no step-through"):
        session_step_model(session, 2)
