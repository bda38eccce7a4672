"""`cnnviz render --animate` in subprocesses: the step-through of a layer (forward, or --backward) as GIF, APNG
or numbered PNGs at the size its content needs or the --size asked, and one-line refusals (status 2) of bad
rates, scales, sizes, layers, cells and names."""

import numpy as np
import pytest
from PIL import Image, ImageSequence

from tests.test_cli import LECTURE, RESOURCES, run


def frames_of(path):
    with Image.open(path) as im:
        return im.format, im.size, im.info.get("duration"), [np.asarray(f.convert("RGB"))
                                                             for f in ImageSequence.Iterator(im)]


FILTER_LEARNS = str(RESOURCES / "the-filter-learns.cnnviz.json")
DIGITS = str(RESOURCES / "digits.cnnviz.json")


def test_gif_of_the_lecture_conv_has_a_frame_per_step_at_its_natural_size(tmp_path, qapp):
    from cnnviz.io import load_session
    from cnnviz.ui.arithmetic.step_animation import frame_layout, natural_canvas, session_step_model

    out = run(["render", LECTURE, "--animate", "-o", "steps.gif", "--fps", "4"], tmp_path)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    fmt, size, duration, frames = frames_of(tmp_path / "steps.gif")
    assert fmt == "GIF" and len(frames) == 4 * 4 * 2 and duration == 250  # Conv2D #1: 16 cells × 2 filters
    model = session_step_model(load_session(LECTURE), 1)
    canvas = natural_canvas(model)
    layout = frame_layout(model, canvas)
    assert size == (layout.pixels.width(), layout.pixels.height())
    # the content's own size: a 6×6 input, two 3×3 grids and a 4×4 output in a row, about 40 px a cell
    assert 700 < canvas.width() < 1200 and 200 < canvas.height() < 400


def test_size_sets_the_picture_and_scale_multiplies_it(tmp_path, qapp):
    from PySide6.QtCore import QSize

    from cnnviz.io import load_session
    from cnnviz.ui.arithmetic.step_animation import frame_layout, image_array, render_frame, session_step_model

    out = run(["render", LECTURE, "--animate", "--size", "800x300", "--scale", "1.5", "-o", "s.apng"], tmp_path)
    assert out.returncode == 0, out.stderr
    fmt, size, _, frames = frames_of(tmp_path / "s.apng")
    model = session_step_model(load_session(LECTURE), 1)
    layout = frame_layout(model, QSize(800, 300), 1.5)
    assert size == (1200, round((300 + layout.formula_h) * 1.5)) and len(frames) == 32
    assert (frames[5] == image_array(render_frame(model, 5, layout))[:, :, :3]).all()


def test_apng_of_a_layer_at_a_scale_equals_the_step_painter(tmp_path, qapp):
    """--layer 2 (max pooling) at --scale 1.5: the frames are the step-through's, painted at that scale."""
    from PySide6.QtCore import QSize

    from cnnviz.io import load_session
    from cnnviz.ui.arithmetic.step_animation import frame_layout, image_array, natural_canvas, render_frame, \
        session_step_model

    out = run(["render", LECTURE, "--animate", "--layer", "2", "--scale", "1.5", "-o", "pool.apng"], tmp_path)
    assert out.returncode == 0, out.stderr
    fmt, size, duration, frames = frames_of(tmp_path / "pool.apng")
    model = session_step_model(load_session(LECTURE), 2)
    canvas = natural_canvas(model)
    layout = frame_layout(model, canvas, 1.5)
    assert fmt == "PNG" and len(frames) == len(model.steps) == 2 * 2 * 2 and duration == 500
    assert size == (layout.pixels.width(), layout.pixels.height()) == (round(canvas.width() * 1.5), size[1])
    assert isinstance(canvas, QSize)
    assert all((f == image_array(render_frame(model, k, layout))[:, :, :3]).all() for k, f in enumerate(frames))


def test_numbered_frames_and_a_transpose_as_a_convolution(tmp_path):
    session = str(RESOURCES / "transposed-back-to-6x6.cnnviz.json")
    out = run(["render", session, "--animate", "--layer", "3", "--transpose-as", "convolution", "-o", "t.png"],
              tmp_path)
    assert out.returncode == 0, out.stderr
    names = sorted(p.name for p in tmp_path.glob("t-*.png"))
    assert names == [f"t-{k:03d}.png" for k in range(1, 37)]  # one per output cell of the 6×6 output
    out = run(["render", session, "--animate", "--layer", "3", "-o", "s.png"], tmp_path)
    assert len(list(tmp_path.glob("s-*.png"))) == 4  # scatter: one per input cell of the 2×2 input


@pytest.mark.parametrize("session, layer, kind, cell, count", [
    (FILTER_LEARNS, None, "weight", "0,2", 16), (FILTER_LEARNS, None, "input", "2,2", 9),
    (FILTER_LEARNS, None, "input", "0,0", 1),
    (DIGITS, 5, "weight", "3,2", 1), (DIGITS, 5, "input", "0,7", 10), (DIGITS, 1, "bias", "0,0", 36)])
def test_backward_steps_of_the_filter_that_learns(tmp_path, qapp, session, layer, kind, cell, count):
    """The Backpropagation dock's sums, frame for frame: a weight over its 16 window positions, the middle
    input cell from its 9 outputs, the corner from its one; the digits' Dense weight x[i]·dz[j] in one step,
    a Dense input from its 10 units, the Conv2D's bias over its 6×6 map."""
    from cnnviz.io import load_session
    from cnnviz.ui.arithmetic.backward_steps import session_backward_steps
    from cnnviz.ui.arithmetic.step_animation import frame_layout, image_array, natural_canvas, render_frame

    which = [] if layer is None else ["--layer", str(layer)]
    out = run(["render", session, "--animate", *which, "--backward", kind, "--cell", cell, "-o", "b.apng"], tmp_path)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    fmt, size, _, frames = frames_of(tmp_path / "b.apng")
    model = session_backward_steps(load_session(session), layer, kind, tuple(map(int, cell.split(","))))
    layout = frame_layout(model, natural_canvas(model))
    assert fmt == "PNG" and len(frames) == len(model.steps) == count
    assert size == (layout.pixels.width(), layout.pixels.height())
    assert all((f == image_array(render_frame(model, k, layout))[:, :, :3]).all() for k, f in enumerate(frames))


BACKWARD_BAD = [
    (LECTURE, ["--backward", "weight"], "--backward needs a loss: the session's pipeline must end in class "
     "probabilities, or its training section must use the teacher task (as the-filter-learns does)"),
    (FILTER_LEARNS, ["--backward", "weight", "--cell", "3,0"], "--cell 3,0: Conv2D #1's kernel is 3×3, so the cell "
     "must be 0..2,0..2"),
    (FILTER_LEARNS, ["--backward", "input", "--cell", "a,b"], "--cell must be two numbers from 0, ROW,COL (e.g. 0,2), "
     "got 'a,b'"),
    (FILTER_LEARNS, ["--backward", "weight", "--filter", "2"], "--filter 2: Conv2D #1 has filters 1 to 1"),
    (FILTER_LEARNS, ["--backward", "weight", "--channel", "0"], "--channel counts from 1, got 0"),
    (FILTER_LEARNS, ["--cell", "1,1"], "--cell is for --backward"),
    (DIGITS, ["--layer", "3", "--backward", "weight"], "--backward weight: MaxPooling2D #3 has no trainable weights: "
     "step through its input gradient (--backward input) or a layer with weights"),
    (DIGITS, ["--layer", "4", "--backward", "input"], "--backward input: Flatten #4 works on vectors, so its input "
     "gradient is not gathered number by number; a Dense's input is (give --layer of the Dense)"),
    (DIGITS, ["--layer", "5", "--backward", "weight", "--cell", "72,0"], "--cell 72,0: Dense #5's W is 72×10, so "
     "the cell must be 0..71,0..9"),
    (FILTER_LEARNS, ["--backward", "input", "--transpose-as", "scatter"],
     "--transpose-as is for the forward step-through, not --backward"),
]


@pytest.mark.parametrize("session, args, message", BACKWARD_BAD, ids=[" ".join(a) for _, a, _ in BACKWARD_BAD])
def test_bad_backward_arguments_exit_2_with_one_line(tmp_path, session, args, message):
    out = run(["render", session, "--animate", *args, "-o", "b.gif"], tmp_path)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and lines == [f"cnnviz: error: {message}"], out.stderr
    assert not any(tmp_path.glob("b*"))


BAD = [
    (["--animate", "--fps", "0", "-o", "a.gif"], "--fps must be between 0.1 and 50, got 0"),
    (["--animate", "--fps", "120", "-o", "a.gif"], "--fps must be between 0.1 and 50, got 120"),
    (["--animate", "--fps", "fast", "-o", "a.gif"], "argument --fps: invalid float value: 'fast'"),
    (["--fps", "2", "-o", "a.gif"], "--fps is for --animate"),
    (["--transpose-as", "convolution", "-o", "a.gif"], "--transpose-as is for --animate"),
    (["--size", "800x300", "-o", "a.gif"], "--size is for --animate"),
    (["--backward", "weight", "-o", "a.gif"], "--backward is for --animate"),
    (["--animate", "--size", "big", "-o", "a.gif"], "--size must be WIDTHxHEIGHT in pixels, e.g. 1200x420, got 'big'"),
    (["--animate", "--size", "100x50", "-o", "a.gif"], "--size 100x50: the picture must be 320 to 4096 pixels wide "
     "and 160 to 2160 tall"),
    (["--animate", "--scale", "0", "-o", "a.gif"], "--scale must be between 0.1 and 16, got 0"),
    (["--animate", "--size", "1200x420", "--scale", "16", "-o", "a.gif"], None),  # 32 frames of 19200×… pixels
    (["--animate", "--layer", "3", "-o", "a.gif"], "--layer 3: UpSampling2D #3 has no step-through: the step-through "
     "shows Conv2D, DepthwiseConv2D, Conv2DTranspose, MaxPooling2D, AveragePooling2D, Dense, ZeroPadding2D and "
     "Cropping2D layers (here layers 1, 2)"),
    (["--animate", "--layer", "0", "-o", "a.gif"], "--layer 0: lecture.cnnviz.json has layers 1 to 3"),
    (["--animate", "-o", "a.mp4"], "a.mp4: cannot tell the animation format: use a .gif or .apng name for one "
     "animated file, or .png for numbered frames"),
]


@pytest.mark.parametrize("args, message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_animation_arguments_exit_2_with_one_line(tmp_path, args, message):
    out = run(["render", LECTURE, *args], tmp_path)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    if message is None:
        assert lines[0].startswith("cnnviz: error: a.gif: 32 frames of 19200×") and "more than 512 MB" in lines[0]
    else:
        assert lines[0] == f"cnnviz: error: {message}"
    assert not any(tmp_path.glob("a*")), "nothing is written"


def test_render_help_says_what_each_name_writes(tmp_path):
    out = run(["render", "--help"], tmp_path)
    text = " ".join(out.stdout.split())
    assert out.returncode == 0
    for words in ("--animate", "steps.gif (animated GIF)", "steps.apng (animated PNG)", "steps-001.png",
                  "--fps F", "0.1 to 50 (default 2)", "--transpose-as {scatter,convolution}", "--size WxH",
                  "--backward {weight,bias,input}", "--cell R,C"):
        assert words in text, words
