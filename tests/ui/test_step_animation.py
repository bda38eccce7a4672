"""Animations of the step-through: each frame is the dock's canvas at that step, pixel for pixel, with the
step's sum under it; the files decode with Pillow to the right count and size."""

import numpy as np
import pytest
from PIL import Image, ImageSequence
from PySide6.QtCore import QSize

from cnnviz import core
from cnnviz.io import SessionError
from cnnviz.ui.arithmetic.step_animation import (
    export_animation,
    frame_layout,
    image_array,
    render_frame,
)
from cnnviz.ui.arithmetic.stepper import StepperView
from cnnviz.ui.document import Document


def document_with(layer, x):
    document = Document()
    document.set_pipeline(core.Pipeline(x.shape, [layer]), x)
    document.select_layer(1)
    return document


X5 = np.arange(25, dtype=np.float32).reshape(5, 5, 1) % 7 - 3
CASES = {
    "lecture conv": lambda: Document(),
    "max pooling same": lambda: document_with(core.MaxPooling2D(2, padding="same"), X5),
    "transpose scatter": lambda: document_with(core.Conv2DTranspose(1, 3, strides=2), X5[:3, :3]),
    "transpose as a convolution": lambda: document_with(core.Conv2DTranspose(1, 3, strides=2, padding="same"),
                                                        X5[:3, :3]),
}


@pytest.mark.parametrize("case", CASES)
def test_every_frame_is_the_step_through_canvas_at_that_step(qtbot, case):
    view = StepperView(CASES[case]())
    qtbot.addWidget(view)
    view.resize(900, 480)
    view.show()
    qtbot.waitExposed(view)
    if case.endswith("as a convolution"):
        view.transpose_switch.direct.click()
    size = view.canvas.size()
    layout = frame_layout(view.model, size)
    assert layout.pixels == QSize(size.width(), size.height() + int(layout.formula_h)) and layout.formula_h > 0
    for k in range(len(view.steps)):
        view.set_step(k)
        frame = image_array(render_frame(view.model, k, layout))
        assert (frame[: size.height()] == image_array(view.canvas.grab().toImage())).all(), k
        # the band under the picture holds this step's sum: it changes when the written sum changes
        if k and view.formula_lines() != view.model.formula_lines(k - 1):
            previous = image_array(render_frame(view.model, k - 1, layout))
            assert (frame[size.height():] != previous[size.height():]).any(), k


def frames_of(path):
    with Image.open(path) as im:
        return im.format, [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_apng_holds_every_step_pixel_for_pixel_at_the_scale(qtbot, tmp_path, scale):
    view = StepperView(Document())
    qtbot.addWidget(view)
    model, canvas = view.model, QSize(600, 240)
    layout = frame_layout(model, canvas, scale)
    expected = [image_array(render_frame(model, k, layout))[:, :, :3] for k in range(len(model.steps))]
    assert expected[0].shape[:2] == (round((240 + layout.formula_h) * scale), 600 * scale)
    export_animation(model, tmp_path / "steps.apng", 4, canvas, scale)
    fmt, got = frames_of(tmp_path / "steps.apng")
    assert fmt == "PNG" and len(got) == 32 and all((g == e).all() for g, e in zip(got, expected))


def test_gif_and_numbered_frames_hold_every_step(qtbot, tmp_path):
    view = StepperView(Document())
    qtbot.addWidget(view)
    model, canvas = view.model, QSize(600, 240)
    layout = frame_layout(model, canvas)
    expected = [image_array(render_frame(model, k, layout))[:, :, :3] for k in range(len(model.steps))]
    export_animation(model, tmp_path / "steps.gif", 4, canvas)
    fmt, got = frames_of(tmp_path / "steps.gif")
    assert fmt == "GIF" and len(got) == 32 and got[0].shape == expected[0].shape
    # 256 colours a frame: the picture survives, antialiased edges may move to a near colour
    assert all(np.abs(g.astype(int) - e).mean() < 0.5 for g, e in zip(got, expected))
    written = export_animation(model, tmp_path / "steps.png", 4, canvas)
    assert [p.name for p in written] == [f"steps-{k:03d}.png" for k in range(1, 33)]
    assert all((np.asarray(Image.open(p).convert("RGB")) == e).all() for p, e in zip(written, expected))


def test_bad_rate_or_name_is_refused_before_any_frame(qtbot, tmp_path):
    view = StepperView(Document())
    qtbot.addWidget(view)
    with pytest.raises(SessionError, match="frames per second must be between 0.1 and 50, got 0"):
        export_animation(view.model, tmp_path / "a.gif", 0)
    with pytest.raises(SessionError, match="a.mp4: cannot tell the animation format"):
        export_animation(view.model, tmp_path / "a.mp4", 2)
    assert list(tmp_path.iterdir()) == []


BACKWARD_PICKS = {  # (layer, input, pick, cell, o, c, steps)
    "weight": (lambda: core.Conv2D(2, 3, padding="same"), X5, "weight", (0, 0), 1, 0, 25),  # reads padding first
    "input": (lambda: core.Conv2D(2, 3, padding="same"), X5, "input", (2, 3), 0, 0, 18),
    "pooling input": (lambda: core.MaxPooling2D(2, padding="same"), X5, "input", None, 0, 0, 1),
    "depthwise weight": (lambda: core.DepthwiseConv2D(3, padding="same", depth_multiplier=2),
                         np.concatenate([X5, -X5], axis=2), "weight", (1, 2), 3, 1, 25),
    "transpose weight": (lambda: core.Conv2DTranspose(2, 3, strides=2, padding="same"), X5[:3, :3], "weight",
                         (1, 1), 1, 0, 9),
    "transpose input": (lambda: core.Conv2DTranspose(2, 3, strides=2), X5[:3, :3], "input", (1, 1), 0, 0, 18),
    "dense weight": (lambda: core.Dense(3), X5[:2, :, :1], "weight", (0, 2), 0, 0, 10),
    "bias": (lambda: core.Conv2D(2, 3), X5, "bias", (0, 1), 1, 0, 9),
    "batchnorm gamma": (lambda: core.BatchNormalization(), X5, "weight", (0, 0), 0, 0, 25),
}


@pytest.mark.parametrize("kind", BACKWARD_PICKS)
def test_every_backward_frame_is_the_backward_step_through_canvas(qtbot, kind):
    """The Backpropagation dock's step-through exports through the same path: frame k is its canvas at k."""
    from cnnviz.core.backprop import backward_pass
    from cnnviz.ui.arithmetic.backward_stepper import BackwardStepper
    from cnnviz.ui.arithmetic.backward_steps import pick_steps

    make, x, pick, cell, o, c, count = BACKWARD_PICKS[kind]
    layer = make()
    pipeline = core.Pipeline(x.shape, [layer])
    pipeline.build()
    target = np.random.default_rng(2).normal(size=pipeline.run(x)[-1].shape)
    g = backward_pass(pipeline, x, target)[1][0]
    if cell is None:  # the first window's maximum
        cell = tuple(int(v) for v in np.unravel_index(np.argmax(x[:2, :2, 0]), (2, 2)))
    model = pick_steps(layer, g, pick, cell, o, c)
    view = BackwardStepper()
    qtbot.addWidget(view)
    view.resize(900, 420)
    view.show()
    qtbot.waitExposed(view)
    view.set_model(model)
    assert len(view.steps) == count
    size = view.canvas.size()
    layout = frame_layout(model, size)
    for k in range(len(model.steps)):
        view.set_step(k)
        frame = image_array(render_frame(model, k, layout))
        assert (frame[: size.height()] == image_array(view.canvas.grab().toImage())).all(), k
