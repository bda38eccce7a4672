"""`cnnviz render --animate` in subprocesses: the step-through of a layer as GIF, APNG or numbered PNGs,
and one-line refusals (status 2) of bad rates, scales, layers and names."""

import numpy as np
import pytest
from PIL import Image, ImageSequence

from tests.test_cli import LECTURE, RESOURCES, run


def frames_of(path):
    with Image.open(path) as im:
        return im.format, im.size, im.info.get("duration"), [np.asarray(f.convert("RGB"))
                                                             for f in ImageSequence.Iterator(im)]


def test_gif_of_the_lecture_conv_has_a_frame_per_step(tmp_path):
    out = run(["render", LECTURE, "--animate", "-o", "steps.gif", "--fps", "4"], tmp_path)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    fmt, size, duration, frames = frames_of(tmp_path / "steps.gif")
    assert fmt == "GIF" and len(frames) == 4 * 4 * 2 and duration == 250  # Conv2D #1: 16 cells × 2 filters
    assert size[0] == 1200


def test_apng_of_a_layer_at_a_scale_equals_the_step_painter(tmp_path, qapp):
    """--layer 2 (max pooling) at --scale 1.5: the frames are the step-through's, painted at that scale."""
    from PySide6.QtCore import QSize

    from cnnviz.io import load_session
    from cnnviz.ui.arithmetic.step_animation import CANVAS, frame_layout, image_array, render_frame, \
        session_step_model

    out = run(["render", LECTURE, "--animate", "--layer", "2", "--scale", "1.5", "-o", "pool.apng"], tmp_path)
    assert out.returncode == 0, out.stderr
    fmt, size, duration, frames = frames_of(tmp_path / "pool.apng")
    model = session_step_model(load_session(LECTURE), 2)
    layout = frame_layout(model, QSize(CANVAS), 1.5)
    assert fmt == "PNG" and len(frames) == len(model.steps) == 2 * 2 * 2 and duration == 500
    assert size == (layout.pixels.width(), layout.pixels.height()) == (1800, size[1])
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


BAD = [
    (["--animate", "--fps", "0", "-o", "a.gif"], "--fps must be between 0.1 and 50, got 0"),
    (["--animate", "--fps", "120", "-o", "a.gif"], "--fps must be between 0.1 and 50, got 120"),
    (["--animate", "--fps", "fast", "-o", "a.gif"], "argument --fps: invalid float value: 'fast'"),
    (["--fps", "2", "-o", "a.gif"], "--fps is for --animate"),
    (["--transpose-as", "convolution", "-o", "a.gif"], "--transpose-as is for --animate"),
    (["--animate", "--scale", "0", "-o", "a.gif"], "--scale must be between 0.1 and 16, got 0"),
    (["--animate", "--scale", "16", "-o", "a.gif"], None),  # 32 frames of 19200×7264 pixels: refused by size
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
                  "--fps F", "0.1 to 50 (default 2)", "--transpose-as {scatter,convolution}"):
        assert words in text, words
