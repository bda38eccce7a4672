"""Your own image: PNG/JPEG -> (H, W, C) float32 in 0..1, grey or RGB, resized with Pillow."""

import numpy as np
import pytest
from PIL import Image

from cnnviz.io import SessionError, load_image
from cnnviz.io.image import image_size


def save(tmp_path, array, name="pic.png", mode=None):
    path = tmp_path / name
    Image.fromarray(array, mode).save(path)
    return path


def test_grey_png_same_size_is_exact(tmp_path):
    pixels = np.arange(0, 256, 8, dtype=np.uint8)[:30].reshape(5, 6)
    x = load_image(save(tmp_path, pixels), size=(5, 6), mode="grey")
    assert x.shape == (5, 6, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, :, 0], pixels / 255.0, atol=1e-7)


def test_rgb_channels_keep_their_order(tmp_path):
    pixels = np.zeros((2, 2, 3), np.uint8)
    pixels[0, 0] = (255, 0, 0)
    pixels[1, 1] = (0, 0, 255)
    x = load_image(save(tmp_path, pixels), size=(2, 2), mode="rgb")
    assert x.shape == (2, 2, 3)
    assert x[0, 0].tolist() == [1, 0, 0] and x[1, 1].tolist() == [0, 0, 1] and x[0, 1].tolist() == [0, 0, 0]


def test_shrinking_averages_the_pixels_a_cell_covers(tmp_path):
    pixels = np.zeros((4, 4), np.uint8)
    pixels[:2, :2] = 255  # top-left quarter white
    pixels[2:, 2:] = 51
    x = load_image(save(tmp_path, pixels), size=(2, 2), mode="grey")
    np.testing.assert_allclose(x[:, :, 0], [[1, 0], [0, 0.2]], atol=1e-6)


def test_grey_from_colour_jpeg_and_transparency_on_white(tmp_path):
    rgb = np.full((8, 8, 3), (200, 100, 50), np.uint8)
    x = load_image(save(tmp_path, rgb, "photo.jpg"), size=(4, 4), mode="grey")
    assert x.shape == (4, 4, 1)
    assert abs(float(x.mean()) - (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255) < 0.03  # JPEG is lossy
    rgba = np.zeros((2, 2, 4), np.uint8)  # fully transparent: shows as white, not black
    assert load_image(save(tmp_path, rgba, "clear.png"), size=(2, 2)).min() == 1.0


def test_enlarging_and_values_stay_in_range(tmp_path):
    pixels = np.array([[0, 255], [255, 0]], np.uint8)
    x = load_image(save(tmp_path, pixels), size=(6, 6))
    assert x.shape == (6, 6, 1) and 0 <= x.min() and x.max() <= 1


def test_image_size(tmp_path):
    assert image_size(save(tmp_path, np.zeros((3, 7), np.uint8))) == (3, 7)


def test_bad_images_are_refused_by_name(tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(SessionError, match=r"^notes\.png: not a readable PNG or JPEG image"):
        load_image(tmp_path / "notes.png")
    with pytest.raises(SessionError, match=r"^gone\.png: no such file$"):
        load_image(tmp_path / "gone.png")
    ok = save(tmp_path, np.zeros((2, 2), np.uint8))
    with pytest.raises(SessionError, match=r"grid size must be between 1×1 and 4096×4096, got 0×3"):
        load_image(ok, size=(0, 3))
    with pytest.raises(SessionError, match="image mode must be one of grey, rgb"):
        load_image(ok, mode="cmyk")
