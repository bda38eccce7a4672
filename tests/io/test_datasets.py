"""The digits kept in resources/ (checksum, counts, scaling) and a folder of images with one sub-folder per class."""

import hashlib

import numpy as np
import pytest
from PIL import Image

from cnnviz.io import SessionError
from cnnviz.io.datasets import DIGITS, load_digits, load_image_folder

DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"


def test_digits_file_is_the_attributed_one():
    assert hashlib.sha256(DIGITS.read_bytes()).hexdigest() == DIGITS_SHA256
    attribution = (DIGITS.parent / "digits.ATTRIBUTION.md").read_text()
    assert "CC BY 4.0" in attribution and "Alpaydin" in attribution and DIGITS_SHA256 in attribution


def test_digits_are_1797_8x8_images_in_0_1():
    images, labels = load_digits()
    assert images.shape == (1797, 8, 8, 1) and images.dtype == np.float32 and labels.shape == (1797,)
    assert images.min() == 0 and images.max() == 1
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    # the first digit is a 0: a ring of ink around an empty centre
    assert labels[0] == 0 and images[0, 3:5, 3:5].max() == 0 and images[0, 1, 2:6].min() > 0.5
    np.testing.assert_array_equal(images[0, 0, :, 0] * 16, [0, 0, 5, 13, 9, 1, 0, 0])


def test_digits_file_errors_name_the_file(tmp_path):
    with pytest.raises(SessionError, match="missing.csv.gz: not found"):
        load_digits(tmp_path / "missing.csv.gz")
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(SessionError, match="bad.csv.gz: not a readable gzip"):
        load_digits(bad)


def save(path, size, mode="L", value=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value, 0, 255)).save(path)


def test_image_folder_classes_labels_resize_and_modes(tmp_path):
    save(tmp_path / "cats" / "a.png", (10, 6))
    save(tmp_path / "cats" / "b.jpg", (4, 4), value=255)
    save(tmp_path / "dogs" / "c.png", (5, 5), mode="RGB")
    (tmp_path / "dogs" / "notes.txt").write_text("not an image: skipped, as Keras does")
    images, labels, classes = load_image_folder(tmp_path, size=(4, 3))
    assert classes == ["cats", "dogs"] and labels.tolist() == [0, 0, 1]
    assert images.shape == (3, 4, 3, 1) and images.dtype == np.float32
    np.testing.assert_allclose(images[1], 1.0)
    rgb, _, _ = load_image_folder(tmp_path, size=(2, 2), mode="rgb")
    assert rgb.shape == (3, 2, 2, 3)
    np.testing.assert_allclose(rgb[2, 0, 0], [128 / 255, 0, 1], atol=1e-6)


def test_image_folder_refusals_name_the_folder_or_file(tmp_path):
    with pytest.raises(SessionError, match="not a folder"):
        load_image_folder(tmp_path / "nowhere")
    save(tmp_path / "only" / "a.png", (3, 3))
    with pytest.raises(SessionError, match="at least two classes, found only 'only'"):
        load_image_folder(tmp_path, size=(3, 3))
    (tmp_path / "empty").mkdir()
    with pytest.raises(SessionError, match=r"empty.: class folder holds no images"):
        load_image_folder(tmp_path, size=(3, 3))
    save(tmp_path / "empty" / "a.png", (3, 3))
    (tmp_path / "zz").mkdir()
    (tmp_path / "zz" / "broken.png").write_bytes(b"\x89PNG but not really")
    with pytest.raises(SessionError, match=r"zz.broken.png: not a readable PNG or JPEG image"):
        load_image_folder(tmp_path, size=(3, 3))
    (tmp_path / "zz" / "broken.png").unlink()
    save(tmp_path / "zz" / "big.png", (5, 4))
    with pytest.raises(SessionError, match=r"zz.big.png: is 4×5, the first image 3×3: give a size"):
        load_image_folder(tmp_path)
    images, _, classes = load_image_folder(tmp_path, size=(3, 3))
    assert classes == ["empty", "only", "zz"] and len(images) == 3
