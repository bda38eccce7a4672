"""Your own picture as the input grid: PNG/JPEG -> (H, W, C) float32 in 0..1 (Pillow, no Qt)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from cnnviz.io.errors import SessionError
from cnnviz.io.session import check_regular_file

MODES = {"grey": ("L", 1), "rgb": ("RGB", 3)}
MAX_GRID = 4096  # the core refuses larger inputs; refuse here first with a clearer message


def load_image(path, size=(6, 6), mode="grey") -> np.ndarray:
    """Read an image file, convert to grey (1 channel) or RGB (3 channels), resize to `size` = (H, W).

    Resizing uses Pillow's box filter when shrinking (each cell is the mean of the pixels it covers, so a
    28×28 digit shrunk to 7×7 keeps its strokes) and bilinear when enlarging. Values are scaled to 0..1.
    """
    name = os.path.basename(os.fspath(path))
    if mode not in MODES:
        raise SessionError(f"{name}: image mode must be one of {', '.join(MODES)}, got {mode!r}")
    rows, cols = _grid_size(name, size)
    check_regular_file(Path(path), "an image")
    try:
        with Image.open(path) as im:
            im.load()
            picture = _flatten_alpha(im).convert(MODES[mode][0])
    except FileNotFoundError:
        raise SessionError(f"{name}: no such file") from None
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as e:
        raise SessionError(f"{name}: not a readable PNG or JPEG image ({e.__class__.__name__})") from None
    shrinking = rows <= picture.height and cols <= picture.width
    resample = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    picture = picture.resize((cols, rows), resample=resample)
    values = np.asarray(picture, dtype=np.float32) / np.float32(255.0)
    return np.ascontiguousarray(values.reshape(rows, cols, MODES[mode][1]))


def image_size(path) -> tuple[int, int]:
    """(H, W) of an image file in pixels, for the import dialog's default grid size."""
    name = os.path.basename(os.fspath(path))
    check_regular_file(Path(path), "an image")
    try:
        with Image.open(path) as im:
            return im.height, im.width
    except FileNotFoundError:
        raise SessionError(f"{name}: no such file") from None
    except (UnidentifiedImageError, OSError) as e:
        raise SessionError(f"{name}: not a readable PNG or JPEG image ({e.__class__.__name__})") from None


def _grid_size(name: str, size) -> tuple[int, int]:
    try:
        rows, cols = (int(v) for v in size)
    except (TypeError, ValueError):
        raise SessionError(f"{name}: grid size must be two integers (rows, cols), got {size!r}") from None
    if not (1 <= rows <= MAX_GRID and 1 <= cols <= MAX_GRID):
        raise SessionError(f"{name}: grid size must be between 1×1 and {MAX_GRID}×{MAX_GRID}, got {rows}×{cols}")
    return rows, cols


def _flatten_alpha(im: Image.Image) -> Image.Image:
    """Composite a transparent image on white, as it looks in a viewer (transparent is not black)."""
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba)
    return im
