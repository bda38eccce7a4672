"""Your own image: PNG/JPEG -> (H, W, C) float32 in 0..1, grey or RGB, resized with Pillow."""

import numpy as np
import pytest
from PIL import Image

from cnnviz.io import SessionError, load_image
from cnnviz.io.image import default_grid, image_size


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


def test_sixteen_bit_grey_png_keeps_its_levels(tmp_path):
    levels = (np.arange(12).reshape(3, 4) * 5000).astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(levels).save(path)  # a 16-bit PNG (mode I;16): converting to 8-bit "L" clips at 255
    np.testing.assert_allclose(load_image(path, size=(3, 4))[:, :, 0], levels / 65535, atol=1e-6)
    rgb = load_image(path, size=(3, 4), mode="rgb")
    assert rgb.shape == (3, 4, 3)
    for channel in range(3):
        np.testing.assert_allclose(rgb[:, :, channel], levels / 65535, atol=1e-6)


def test_half_transparent_non_square_rgba_is_blended_on_white(tmp_path):
    rgba = np.zeros((3, 5, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 128  # red at half opacity over white: (255, 127, 127)
    x = load_image(save(tmp_path, rgba, "half.png", "RGBA"), size=(3, 5), mode="rgb")
    assert x.shape == (3, 5, 3)
    np.testing.assert_allclose(x[1, 4], [1, 127 / 255, 127 / 255], atol=1 / 255)


def _png_header_only(path, width, height):
    """A PNG whose header claims width × height pixels (Pillow reads the size before any pixel)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("side", [100000, 12000])  # beyond Pillow's bomb error / within its warning band
def test_a_huge_image_is_refused_by_size_before_decoding(tmp_path, side):
    path = _png_header_only(tmp_path / "huge.png", side, side)
    for read in (image_size, lambda p: load_image(p, size=(6, 6))):
        with pytest.raises(SessionError, match=r"^huge\.png: image is too large to import \((\d+×\d+ pixels; )?"
                                               r"at most 67108864 pixels\)$"):
            read(path)


def test_a_truncated_png_says_so(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)  # does not compress
    path = save(tmp_path, noise)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(SessionError, match=r"^pic\.png: damaged or truncated image"):
        load_image(path, size=(6, 6))


def test_a_phone_photo_is_imported_upright(tmp_path):
    """Phones store pictures sideways with an EXIF orientation tag; viewers (and so the user) see them
    turned. The grid must show what the user sees: here a 4 wide × 2 high picture tagged "rotate 90° clockwise"
    is 2 wide × 4 high, its white left column becoming the top row."""
    stored = np.zeros((2, 4), np.uint8)
    stored[:, 0] = 255  # white left column as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the viewer rotates 90° clockwise
    path = tmp_path / "phone.png"
    Image.fromarray(stored).save(path, exif=exif)
    assert image_size(path) == (4, 2)
    x = load_image(path, size=(4, 2))[:, :, 0]
    np.testing.assert_allclose(x, [[1, 1], [0, 0], [0, 0], [0, 0]], atol=1e-6)


@pytest.mark.parametrize(
    ("image_hw", "grid_hw", "expected"),
    [((28, 56), (6, 6), (3, 6)), ((100, 50), (8, 8), (8, 4)), ((6, 6), (6, 6), (6, 6)),
     ((1, 1000), (12, 4), (1, 12)), ((3000, 4000), (300, 300), (192, 256))],
)
def test_default_grid_keeps_the_pictures_proportions(image_hw, grid_hw, expected):
    assert default_grid(image_hw, grid_hw) == expected
