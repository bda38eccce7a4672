"""Data sets from files: the UCI handwritten digits kept in resources/, and a folder of the user's images
with one sub-folder per class (as keras.utils.image_dataset_from_directory reads it). No Qt here.

Everything is read and checked before anything is returned: a bad file raises SessionError naming it,
and no half-loaded data set is ever handed out.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from pathlib import Path

import numpy as np

from cnnviz.io.errors import SessionError
from cnnviz.io.image import MODES, image_size, load_image

# resources/ sits beside the package in a source checkout and in an editable install (pip install -e .).
RESOURCES = Path(__file__).resolve().parent.parent.parent / "resources"
DIGITS = RESOURCES / "datasets" / "digits.csv.gz"
DIGITS_COUNT, DIGITS_SIDE, DIGITS_MAX = 1797, 8, 16
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # the ones Keras's directory reader takes


def load_digits(path=DIGITS) -> tuple[np.ndarray, np.ndarray]:
    """(images (1797, 8, 8, 1) float32 in 0..1, labels (1797,) int64) of the UCI handwritten digits
    (CC BY 4.0; resources/datasets/digits.ATTRIBUTION.md). Pixel values 0..16 are divided by 16."""
    path = Path(path)
    name = path.name
    try:
        text = gzip.decompress(path.read_bytes()).decode("ascii")
    except FileNotFoundError:
        raise SessionError(f"{name}: not found at {path} (the digits live in the source tree's resources/; "
                           "install cnnviz with `pip install -e .` from a checkout)", path=path) from None
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise SessionError(f"{name}: not a readable gzip text file ({e})", path=path) from None
    try:
        rows = np.array([[int(v) for v in row] for row in csv.reader(io.StringIO(text)) if row], dtype=np.int64)
    except ValueError as e:
        raise SessionError(f"{name}: every value must be an integer ({e})", path=path) from None
    width = DIGITS_SIDE * DIGITS_SIDE + 1
    if rows.ndim != 2 or rows.shape[1] != width:
        raise SessionError(f"{name}: expected {width} values per line (64 pixels and the class)", path=path)
    pixels, labels = rows[:, :-1], rows[:, -1]
    if pixels.min() < 0 or pixels.max() > DIGITS_MAX or labels.min() < 0 or labels.max() > 9:
        raise SessionError(f"{name}: pixels must be in 0..{DIGITS_MAX} and classes in 0..9", path=path)
    images = (pixels / DIGITS_MAX).astype(np.float32).reshape(-1, DIGITS_SIDE, DIGITS_SIDE, 1)
    return images, labels


def class_folders(root: Path) -> list[str]:
    """An image folder's classes: its sub-folders in alphabetical order (hidden ones left out)."""
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def load_image_folder(folder, size=None, mode="grey") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(images (N, H, W, C) float32 in 0..1, labels (N,), class names) from `folder`/<class>/<image>.

    Classes are the sub-folders in alphabetical order (label i is class_names[i]); files in a class
    folder count when their suffix is an image's (.png, .jpg, .jpeg, .bmp, .gif). `mode` is "grey" (1
    channel) or "rgb" (3); `size` = (H, W) resizes every image (a pipeline's input), None keeps them as
    they are, and then they must all have one size.
    """
    root = Path(folder)
    if not root.is_dir():
        raise SessionError(f"{root.name or root}: not a folder", path=root)
    if mode not in MODES:
        raise SessionError(f"image mode must be one of {', '.join(MODES)}, got {mode!r}", path=root)
    classes = class_folders(root)
    if len(classes) < 2:
        found = f"only {classes[0]!r}" if classes else "none"
        raise SessionError(f"{root.name}: needs one sub-folder per class and at least two classes, found {found}",
                           path=root)
    entries = []  # (file, label) in reading order
    for label, name in enumerate(classes):
        files = sorted(p for p in (root / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            raise SessionError(f"{name}{os.sep}: class folder holds no images ({', '.join(IMAGE_SUFFIXES)})",
                               path=root / name)
        entries += [(file, label) for file in files]
    images = [_read(file, classes[label], size, mode) for file, label in entries]
    first = images[0].shape
    for (file, label), image in zip(entries, images):
        if image.shape != first:
            raise SessionError(f"{classes[label]}{os.sep}{file.name}: is {image.shape[0]}×{image.shape[1]}, the "
                               f"first image {first[0]}×{first[1]}: give a size to resize them all", path=file)
    return np.stack(images), np.array([label for _, label in entries]), classes


def _read(file: Path, class_name: str, size, mode) -> np.ndarray:
    try:
        return load_image(file, image_size(file) if size is None else size, mode)
    except SessionError as e:
        raise SessionError(f"{class_name}{os.sep}{e}", path=file) from None
