"""Animation files decode with Pillow to the frames given: count, size, timing, pixels."""

import numpy as np
import pytest
from PIL import Image, ImageSequence

from cnnviz.io import SessionError
from cnnviz.io.animation import (
    animation_kind,
    check_animation,
    check_fps,
    frame_paths,
    write_animation,
)


def frames(count=5, size=(30, 40)):
    """Distinct frames: a white picture with a coloured block that moves one step per frame."""
    out = []
    for k in range(count):
        f = np.full((*size, 3), 255, np.uint8)
        f[2:10, 3 + 4 * k: 9 + 4 * k] = (200, 30, 40)
        f[20:, :] = (20, 90, 200)
        out.append(f)
    return out


def decoded(path):
    with Image.open(path) as im:
        return [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)], im.info


def test_apng_holds_every_frame_pixel_for_pixel(tmp_path):
    given = frames()
    path = tmp_path / "steps.apng"
    assert write_animation(iter(given), path, fps=4, count=5) == [path]
    got, info = decoded(path)
    assert len(got) == 5 and all((g == f).all() for g, f in zip(got, given))
    with Image.open(path) as im:
        assert im.format == "PNG" and im.n_frames == 5 and im.size == (40, 30)
        im.seek(1)
        assert im.info["duration"] == 250 and im.info["loop"] == 0


def test_gif_frames_count_size_timing_and_colours(tmp_path):
    given = frames(7)
    path = tmp_path / "steps.gif"
    write_animation(given, path, fps=2.5, count=7)
    got, info = decoded(path)
    with Image.open(path) as im:
        assert im.format == "GIF" and im.n_frames == 7 and im.size == (40, 30)
        assert info["duration"] == 400 and info["loop"] == 0
    # these frames have three colours: the palette keeps them exactly
    assert all((g == f).all() for g, f in zip(got, given))


def test_png_writes_numbered_frames(tmp_path):
    given = frames(3)
    written = write_animation(given, tmp_path / "steps.png", fps=1, count=3)
    assert [p.name for p in written] == ["steps-001.png", "steps-002.png", "steps-003.png"]
    for p, f in zip(written, given):
        assert (np.asarray(Image.open(p).convert("RGB")) == f).all()
    assert frame_paths(tmp_path / "a.png", 1234)[-1].name == "a-1234.png"


def test_rgba_frames_lose_only_alpha_and_mixed_sizes_are_refused(tmp_path):
    rgba = [np.dstack([f, np.full(f.shape[:2], 255, np.uint8)]) for f in frames(2)]
    write_animation(rgba, tmp_path / "a.apng", fps=1, count=2)
    assert (decoded(tmp_path / "a.apng")[0][1] == rgba[1][:, :, :3]).all()
    with pytest.raises(ValueError, match="every frame must be 40×30"):
        write_animation([frames(1)[0], frames(1, (31, 40))[0]], tmp_path / "b.gif", fps=1, count=2)


@pytest.mark.parametrize("name, kind", [("a.gif", "gif"), ("a.APNG", "apng"), ("a.png", "frames")])
def test_the_name_says_the_format(name, kind):
    assert animation_kind(name) == kind


def test_bad_names_rates_and_sizes_are_refused_with_the_reason():
    with pytest.raises(SessionError, match=r"steps\.mp4: cannot tell the animation format"):
        animation_kind("steps.mp4")
    for fps in (0, -1, 51, float("nan"), float("inf")):
        with pytest.raises(SessionError, match="frames per second must be between 0.1 and 50"):
            check_fps(fps)
    with pytest.raises(SessionError, match="6000 steps are more than 5000 frames"):
        check_animation("a.gif", 6000, 10, 10)
    with pytest.raises(SessionError, match=r"a.apng: 200 frames of 1000×1000 pixels take 572 MB until the file "
                                           r"is written, more than 512 MB: use a smaller scale, or numbered .png"):
        check_animation("a.apng", 200, 1000, 1000)
    check_animation("a.gif", 200, 1000, 1000)  # 1 byte a pixel once quantised
    check_animation("a.png", 5000, 4000, 4000)  # numbered frames are written one by one: no memory bound
